//! `results.json`: everything a run measured, in one documented structure (see README, "Results
//! file"). The .hlog files next to it hold the per-second histograms.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::audit::ledger::Verdict;
use crate::avro::generate::Sizes;
use crate::avro::registry::Registered;
use crate::cluster::Versions;
use crate::load::consumer::ConsumerReport;
use crate::load::producer::ProducerReport;
use crate::metrics::{Counts, Kind, PhaseSummary, SecondRow, Summary};
use crate::scenario::Scenario;

/// Bumped whenever a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub format_version: u32,
    pub kbench_version: String,
    pub scenario: ScenarioEcho,
    pub environment: Environment,
    pub schema: SchemaInfo,
    pub rate: RateInfo,
    pub counts: Counts,
    pub phases: Vec<PhaseSummary>,
    pub errors: BTreeMap<String, u64>,
    pub audit: Verdict,
    pub producers: Vec<ProducerInfo>,
    pub consumers: Vec<ConsumerInfo>,
    pub series: Vec<SecondRow>,
    /// Latency kind -> .hlog file name in this directory.
    pub hlog_files: BTreeMap<String, String>,
    /// Values above the histograms' 1 h ceiling, by kind (counted, never dropped).
    pub overflow: BTreeMap<String, u64>,
    pub late_intervals: u64,
    /// Offset of the first intended send from the run's origin (s); `series[].t` counts from the
    /// origin too.
    #[serde(default)]
    pub load_start_s: f64,
    /// One entry per `[[fault]]`, in firing order.
    #[serde(default)]
    pub faults: Vec<crate::faults::report::FaultReport>,
    /// The scenario's `[slo]` objectives, checked.
    #[serde(default)]
    pub slos: Vec<crate::slo::SloResult>,
}

impl Results {
    /// The longest time any partition got no ack, over all faults (s).
    pub fn max_unavailability_s(&self) -> f64 {
        self.faults
            .iter()
            .filter_map(|f| f.metrics.as_ref())
            .flat_map(|m| {
                m.partition_ack_gaps_s
                    .values()
                    .copied()
                    .chain([m.longest_ack_gap_s])
            })
            .fold(0.0, f64::max)
    }

    /// Whether the run passed its checks: the audit and every SLO.
    pub fn passed(&self) -> bool {
        self.audit.ok && self.slos.iter().all(|s| s.pass)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioEcho {
    pub name: String,
    pub description: String,
    pub file: String,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub seed: u64,
    pub producers: u32,
    pub consumers: u32,
    pub topic: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// The scenario file exactly as it was run.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub kafka_version: String,
    pub registry_version: String,
    pub backend: String,
    pub bootstrap_servers: String,
    pub registry_url: String,
    pub started_at: String,
    pub finished_at: String,
    pub cluster_ready_s: f64,
    pub drain_s: f64,
    pub cpus: usize,
    pub os: String,
    /// Peak resident memory of the cluster's processes (MiB), read just before teardown.
    #[serde(default)]
    pub cluster_peak_rss_mib: BTreeMap<String, f64>,
    /// kbench's own peak resident memory (MiB) and CPU seconds over the whole run.
    #[serde(default)]
    pub kbench_peak_rss_mib: f64,
    #[serde(default)]
    pub kbench_cpu_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaInfo {
    pub subject: String,
    pub id: u32,
    pub string_length: usize,
    pub bytes_length: usize,
    pub collection_length: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateInfo {
    /// Records the schedule asked for over warm-up + measured time.
    pub target_records: u64,
    pub target_rate: f64,
    /// Acked records per second over the measured phase.
    pub achieved_rate: f64,
    /// Records per second sent over the measured phase.
    pub sent_rate: f64,
    /// achieved / target for the measured phase.
    pub achieved_ratio: f64,
    /// The generator could not keep to its schedule: latencies include its lag (they stay
    /// corrected) but the offered load was lower than asked.
    pub generator_saturated: bool,
    pub send_lag_max_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProducerInfo {
    pub id: u32,
    pub sent: u64,
    pub saturated: bool,
    pub max_lag_us: u64,
    pub behind_count: u64,
    pub unresolved: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerInfo {
    pub id: u32,
    pub consumed: u64,
    pub undecodable: u64,
    pub errors: Vec<String>,
}

pub struct Inputs<'a> {
    pub scenario: &'a Scenario,
    pub versions: Versions,
    pub started_at: String,
    pub cluster_ready_s: f64,
    pub drain_s: f64,
    pub bootstrap: String,
    pub registry_url: String,
    pub registered: &'a Registered,
    pub sizes: Sizes,
    pub target_total: u64,
    pub load_start_s: f64,
    pub faults: Vec<crate::faults::report::FaultReport>,
    pub cluster_peak_rss_mib: BTreeMap<String, f64>,
    pub summary: Summary,
    pub verdict: Verdict,
    pub producers: Vec<ProducerReport>,
    pub consumers: Vec<ConsumerReport>,
}

pub fn build(i: Inputs<'_>) -> Results {
    let sc = i.scenario;
    let measured = i.summary.phases.iter().find(|p| p.name == "measured");
    let measured_s = sc.duration.as_secs_f64().max(1e-9);
    let total_s = sc.total_duration().as_secs_f64().max(1e-9);
    let target_rate = i.target_total as f64 / total_s;
    let achieved_rate = measured.map_or(0.0, |p| p.counts.acked as f64 / measured_s);
    let sent_rate = measured.map_or(0.0, |p| p.counts.sent as f64 / measured_s);
    let producers: Vec<ProducerInfo> = i
        .producers
        .iter()
        .map(|p| ProducerInfo {
            id: p.id,
            sent: p.sent,
            saturated: p.saturated,
            max_lag_us: p.lag.max_lag.as_micros() as u64,
            behind_count: p.lag.behind_count,
            unresolved: p.unresolved,
        })
        .collect();
    Results {
        format_version: FORMAT_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: ScenarioEcho {
            name: sc.name.clone(),
            description: sc.description.clone(),
            file: sc.file.display().to_string(),
            duration_s: sc.duration.as_secs_f64(),
            warmup_s: sc.warmup.as_secs_f64(),
            seed: sc.seed,
            producers: sc.producer.count,
            consumers: sc.consumer.count,
            topic: sc.topic.name.clone(),
            partitions: sc.topic.partitions,
            replication_factor: sc.topic.replication_factor,
            text: sc.text.clone(),
        },
        environment: Environment {
            kafka_version: i.versions.kafka,
            registry_version: i.versions.registry,
            backend: match sc.cluster {
                crate::scenario::ClusterSpec::Process { .. } => "process".into(),
                crate::scenario::ClusterSpec::Docker { .. } => "docker".into(),
                crate::scenario::ClusterSpec::External { .. } => "external".into(),
            },
            bootstrap_servers: i.bootstrap,
            registry_url: i.registry_url,
            started_at: i.started_at,
            finished_at: crate::timefmt::now_rfc3339(),
            cluster_ready_s: i.cluster_ready_s,
            drain_s: i.drain_s,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_string(),
            cluster_peak_rss_mib: i.cluster_peak_rss_mib,
            kbench_peak_rss_mib: crate::cluster::proc_ctl::peak_rss_kib(std::process::id() as i32)
                .unwrap_or(0) as f64
                / 1024.0,
            kbench_cpu_s: crate::cluster::proc_ctl::own_cpu_seconds(),
        },
        schema: SchemaInfo {
            subject: i.registered.subject.clone(),
            id: i.registered.id,
            string_length: i.sizes.string_len,
            bytes_length: i.sizes.bytes_len,
            collection_length: i.sizes.collection_len,
        },
        rate: RateInfo {
            target_records: i.target_total,
            target_rate,
            achieved_rate,
            sent_rate,
            achieved_ratio: if target_rate > 0.0 {
                achieved_rate / target_rate
            } else {
                0.0
            },
            generator_saturated: producers.iter().any(|p| p.saturated),
            send_lag_max_us: producers.iter().map(|p| p.max_lag_us).max().unwrap_or(0),
        },
        counts: i.summary.totals.clone(),
        phases: i.summary.phases.clone(),
        errors: i.summary.errors.clone(),
        audit: i.verdict,
        producers,
        consumers: i
            .consumers
            .into_iter()
            .map(|c| ConsumerInfo {
                id: c.id,
                consumed: c.consumed,
                undecodable: c.undecodable,
                errors: c.errors,
            })
            .collect(),
        series: i.summary.series.clone(),
        hlog_files: Kind::ALL
            .iter()
            .map(|k| (k.name().to_string(), k.file_name()))
            .collect(),
        overflow: i.summary.overflow.clone(),
        late_intervals: i.summary.late_intervals,
        load_start_s: i.load_start_s,
        faults: i.faults,
        slos: Vec::new(),
    }
}

pub fn read(dir: &Path) -> Result<Results> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a kbench results file (format {FORMAT_VERSION})",
            path.display()
        )
    })
}

pub fn write(dir: &Path, r: &Results) -> Result<()> {
    let path = dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(r)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
