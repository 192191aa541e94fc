//! `results.json`: everything a run measured, in one documented structure (see README, "Results
//! file"). The .hlog files next to it hold the per-second histograms.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use super::aborted::{AbortKind, Aborted};
pub use super::judge::max_unavailability_s;
use crate::audit::ledger::Verdict;
use crate::metrics::{Counts, Kind, PhaseSummary, SecondRow, Summary};
use crate::names::Phase;
use crate::scenario::Scenario;

/// Bumped whenever a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

/// The contents of results.json: everything one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// [`FORMAT_VERSION`] of the kbench that wrote the file.
    pub format_version: u32,
    /// Version of the kbench that wrote the file.
    pub kbench_version: String,
    /// The scenario as run.
    pub scenario: ScenarioEcho,
    /// Where and when the run ran.
    pub environment: Environment,
    /// The schema as registered, with the sizes records were generated with.
    pub schema: SchemaInfo,
    /// Target against achieved rates.
    pub rate: RateInfo,
    /// Events over the whole run.
    pub counts: Counts,
    /// Counts and latency per phase (warm-up, measured, windows around each fault).
    pub phases: Vec<PhaseSummary>,
    /// Failed deliveries by librdkafka error name, whole run.
    pub errors: BTreeMap<String, u64>,
    /// The audit's verdict: lost, duplicated and reordered records.
    pub audit: Verdict,
    /// Per producer thread.
    pub producers: Vec<ProducerInfo>,
    /// Per consumer thread.
    pub consumers: Vec<ConsumerInfo>,
    /// One row per second of the run, ordered by `t`.
    pub series: Vec<SecondRow>,
    /// Latency kind -> .hlog file name in this directory.
    pub hlog_files: BTreeMap<String, String>,
    /// Values above the histograms' 1 h ceiling, by kind (counted, never dropped).
    pub overflow: BTreeMap<String, u64>,
    /// Intervals that arrived after their second was finalized; merged, never dropped.
    pub late_intervals: u64,
    /// Offset of the first intended send from the run's origin (s); `series[].t` counts from the
    /// origin too.
    #[serde(default)]
    pub load_start_s: f64,
    /// One entry per `[[fault]]`, in firing order.
    #[serde(default)]
    pub faults: Vec<crate::faults::report::FaultReport>,
    /// The scenario's `[slo]` objectives, checked (not evaluated for a run cut short).
    #[serde(default)]
    pub slos: Vec<crate::slo::SloResult>,
    /// The registry's availability (probed every 200 ms), for runs that fault the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<crate::faults::registry_probe::RegistryAvailability>,
    /// The audit's schema column: per version produced / acked / consumed / decoded, the
    /// evolution events, records that could not be decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<crate::audit::versions::SchemaAudit>,
    /// `[[consumer.cold]]` groups: when each started, caught up, and what it read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cold_groups: Vec<crate::audit::cold::ColdGroupReport>,
    /// Record sizes, compressibility, keys and the compression achieved.
    #[serde(default)]
    pub payload: Option<crate::report::payload::PayloadInfo>,
    /// Set when the run was cut short after its load began; every figure then covers the run
    /// up to the stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Aborted>,
    /// For a shard of a distributed load: which one, and its start against the barrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardInfo>,
    /// For merged results (`kbench merge`): every shard, and whether all of them reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<super::shard::Distribution>,
}

impl Results {
    /// The measured phase, the one the objectives are judged on.
    pub fn measured(&self) -> Option<&PhaseSummary> {
        PhaseSummary::find(&self.phases, Phase::Measured)
    }

    /// The longest time any partition got no ack, over all faults (s).
    pub fn max_unavailability_s(&self) -> f64 {
        max_unavailability_s(&self.faults)
    }

    /// The figures the scenario's objectives are judged on.
    pub fn numbers(&self) -> crate::slo::Numbers<'_> {
        let n = super::judge::numbers(
            &self.phases,
            &self.faults,
            &self.audit,
            self.counts.failed,
            self.rate.achieved_ratio,
        );
        crate::slo::Numbers {
            schema_rejections: super::judge::rejections(self.schemas.as_ref()),
            ..n
        }
    }

    /// Whether the registry took part in the experiment (a registry fault, an evolving schema,
    /// a cold consumer group), so the report gives it a section and charts.
    pub fn registry_in_play(&self) -> bool {
        self.registry.is_some()
            || self.schemas.as_ref().is_some_and(|a| a.full_decode)
            || !self.cold_groups.is_empty()
    }

    /// Every client of the run that used the registry: consumers, cold groups, the evolver.
    pub fn registry_clients(&self) -> Vec<&crate::avro::schema_cache::ClientStats> {
        let consumers = self.consumers.iter().map(|c| &c.registry);
        let cold = self.cold_groups.iter().map(|g| &g.registry);
        let evolver = self.schemas.iter().filter_map(|a| a.evolver.as_ref());
        consumers.chain(cold).chain(evolver).collect()
    }

    /// Whether the run passed its checks: it ran to its end, and the audit and every SLO held.
    pub fn passed(&self) -> bool {
        self.aborted.is_none()
            && self.audit.ok
            && (self.schemas.as_ref()).is_none_or(|s| !s.full_decode || s.clean())
            && self.cold_groups.iter().all(|g| g.clean())
            && self.slos.iter().all(|s| s.pass)
            && self.distribution.as_ref().is_none_or(|d| d.complete())
    }
}

/// The scenario as results.json echoes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioEcho {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// Path of the scenario file.
    pub file: String,
    /// Length of the measured phase, after the warm-up (s).
    pub duration_s: f64,
    /// Length of the warm-up (s).
    pub warmup_s: f64,
    /// Random seed: record contents and random fault targets.
    pub seed: u64,
    /// Number of producer threads.
    pub producers: u32,
    /// Number of consumer threads.
    pub consumers: u32,
    /// Topic the load went to.
    pub topic: String,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Replication factor of the topic.
    pub replication_factor: i32,
    /// The scenario file exactly as it was run.
    pub text: String,
}

/// Where and when a run ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// Kafka version of the cluster.
    pub kafka_version: String,
    /// Schema registry version.
    pub registry_version: String,
    /// How the cluster was run: local processes, Docker or external.
    pub backend: crate::names::BackendKind,
    /// Bootstrap servers the clients connected to.
    pub bootstrap_servers: String,
    /// Schema registry URL.
    pub registry_url: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the run finished, just before teardown (RFC 3339, UTC).
    pub finished_at: String,
    /// Time the cluster took to start and become ready (s).
    pub cluster_ready_s: f64,
    /// What the cluster's JVMs were started with beyond their defaults to start faster
    /// (class-data sharing archives, the registry's JIT), in words.
    #[serde(default)]
    pub jvm_tuning: Vec<String>,
    /// How kbench's clients connected (protocol, SASL mechanism and user, CA; never a secret);
    /// `None` for plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_security: Option<String>,
    /// Time the consumers spent reading back after the producers stopped (s).
    pub drain_s: f64,
    /// CPUs available to kbench.
    pub cpus: usize,
    /// Operating system kbench ran on, e.g. "linux".
    pub os: String,
    /// Peak resident memory of the cluster's processes (MiB), read just before teardown.
    #[serde(default)]
    pub cluster_peak_rss_mib: BTreeMap<String, f64>,
    /// kbench's own peak resident memory (MiB) and CPU seconds over the whole run.
    #[serde(default)]
    pub kbench_peak_rss_mib: f64,
    /// kbench's own CPU time over the whole run (s).
    #[serde(default)]
    pub kbench_cpu_s: f64,
    /// `[cluster.broker]` settings and the value each broker reported running with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broker_settings: Vec<crate::kafka::broker_config::BrokerSetting>,
    /// On Docker, the image each role's containers ran (reference, origin, id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<crate::images::Resolved>,
}

/// The schema as registered, with the sizes records were generated with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaInfo {
    /// Registry subject the schema was registered under.
    pub subject: String,
    /// Schema id the registry assigned.
    pub id: u32,
    /// Length of each generated string.
    pub string_length: usize,
    /// Length of each generated bytes value.
    pub bytes_length: usize,
    /// Items per generated array and entries per map.
    pub collection_length: usize,
}

/// Offered load against achieved throughput.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateInfo {
    /// Records the schedule asked for over warm-up + measured time.
    pub target_records: u64,
    /// Records per second the schedule asked for over warm-up + measured time.
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
    /// Highest send lag of any producer (µs).
    pub send_lag_max_us: u64,
}

/// What one producer thread reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProducerInfo {
    /// Producer id, as carried in its records.
    pub id: u32,
    /// Records sent.
    pub sent: u64,
    /// The producer could not keep to its schedule (see `LagStats::saturated`).
    pub saturated: bool,
    /// Highest send lag (µs).
    pub max_lag_us: u64,
    /// Records sent more than 1 ms behind their intended time.
    pub behind_count: u64,
    /// Seconds it waited for room in librdkafka's queue (the cluster holding it back).
    #[serde(default)]
    pub queue_full_s: f64,
    /// Value and key bytes it handed to librdkafka.
    #[serde(default)]
    pub bytes: crate::metrics::bytes::SentBytes,
    /// Batches as they left it (compressed size), from librdkafka's statistics.
    #[serde(default)]
    pub wire: crate::metrics::bytes::WireBatches,
    /// Deliveries still unresolved when the flush timed out.
    pub unresolved: u64,
    /// When it handed its first record to librdkafka, from its schedule's start (µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_send_us: Option<u64>,
}

/// What one consumer thread reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerInfo {
    /// Consumer id, as in its client id `kbench-consumer-<id>`.
    pub id: u32,
    /// kbench records consumed and decoded.
    pub consumed: u64,
    /// Messages that were not kbench records (wrong framing, unknown schema, bad header).
    pub undecodable: u64,
    /// The first errors (up to 10): undecodable messages and consumer errors.
    pub errors: Vec<String>,
    /// Its use of the schema registry: cache hits and misses, requests, failures.
    #[serde(default)]
    pub registry: crate::avro::schema_cache::ClientStats,
}

/// What a run hands over to be written down: the scenario, the environment it ran in, and what
/// each part measured. Everything here is data; the report never reaches back into the run.
pub struct Inputs<'a> {
    /// The scenario as validated.
    pub scenario: &'a Scenario,
    /// Where and when it ran.
    pub environment: Environment,
    /// The schema as registered, with the sizes records were drawn with.
    pub schema: SchemaInfo,
    /// Records the schedule asked for over warm-up and measured time, all producers.
    pub target_total: u64,
    /// Offset of the load's start from the run's origin (s).
    pub load_start_s: f64,
    /// One report per fault, analysed.
    pub faults: Vec<crate::faults::report::FaultReport>,
    /// The registry probe's findings, for runs that fault the registry.
    pub registry: Option<crate::faults::registry_probe::RegistryAvailability>,
    /// Per schema version: counts, evolution events, undecodable records.
    pub schemas: Option<crate::audit::versions::SchemaAudit>,
    /// What each `[[consumer.cold]]` group read.
    pub cold_groups: Vec<crate::audit::cold::ColdGroupReport>,
    /// The metrics aggregator's summary: phases, series, errors.
    pub summary: Summary,
    /// The audit's verdict.
    pub verdict: Verdict,
    /// Per producer thread.
    pub producers: Vec<ProducerInfo>,
    /// Per consumer thread.
    pub consumers: Vec<ConsumerInfo>,
    /// What the records were like.
    pub payload: Option<crate::report::payload::PayloadInfo>,
    /// Set when the run was cut short.
    pub aborted: Option<Aborted>,
}

/// The scenario as results.json echoes it.
fn scenario_echo(sc: &Scenario) -> ScenarioEcho {
    ScenarioEcho {
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
    }
}

/// Scheduled against achieved rates of the measured phase.
fn rate_info(i: &Inputs<'_>) -> RateInfo {
    let sc = i.scenario;
    let measured = PhaseSummary::find(&i.summary.phases, Phase::Measured);
    let mut measured_s = sc.duration.as_secs_f64();
    if let Some(a) = &i.aborted {
        measured_s = measured_s.min(a.load_s - sc.warmup.as_secs_f64());
    }
    let measured_s = measured_s.max(1e-9);
    let total_s = sc.total_duration().as_secs_f64().max(1e-9);
    let target_rate = i.target_total as f64 / total_s;
    let achieved_rate = measured.map_or(0.0, |p| p.counts.acked as f64 / measured_s);
    RateInfo {
        target_records: i.target_total,
        target_rate,
        achieved_rate,
        sent_rate: measured.map_or(0.0, |p| p.counts.sent as f64 / measured_s),
        achieved_ratio: if target_rate > 0.0 {
            achieved_rate / target_rate
        } else {
            0.0
        },
        generator_saturated: i.producers.iter().any(|p| p.saturated),
        send_lag_max_us: i.producers.iter().map(|p| p.max_lag_us).max().unwrap_or(0),
    }
}

/// The scenario's objectives judged on this run's numbers.
fn judge(i: &Inputs<'_>, rate: &RateInfo) -> Vec<crate::slo::SloResult> {
    let n = super::judge::numbers(
        &i.summary.phases,
        &i.faults,
        &i.verdict,
        i.summary.totals.failed,
        rate.achieved_ratio,
    );
    let n = crate::slo::Numbers {
        schema_rejections: super::judge::rejections(i.schemas.as_ref()),
        ..n
    };
    crate::slo::evaluate(&i.scenario.slos, &n)
}

/// Assemble the results of a run, objectives judged — unless it was cut short: then the
/// objectives are listed unjudged and the audit is marked incomplete.
pub fn build(i: Inputs<'_>) -> Results {
    let rate = rate_info(&i);
    let mut slos = judge(&i, &rate);
    let mut audit = i.verdict.clone();
    audit.in_flight = i.producers.iter().map(|p| p.unresolved).sum();
    if i.aborted.is_some() {
        slos = slos.into_iter().map(|s| s.not_evaluated()).collect();
        audit = audit.cut_short();
    }
    Results {
        format_version: FORMAT_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario_echo(i.scenario),
        environment: i.environment,
        schema: i.schema,
        rate,
        counts: i.summary.totals,
        phases: i.summary.phases,
        errors: i.summary.errors,
        audit,
        producers: i.producers,
        consumers: i.consumers,
        series: i.summary.series,
        hlog_files: Kind::ALL
            .iter()
            .map(|k| (k.name().to_string(), k.file_name()))
            .collect(),
        overflow: i.summary.overflow,
        late_intervals: i.summary.late_intervals,
        load_start_s: i.load_start_s,
        faults: i.faults,
        registry: i.registry,
        schemas: i.schemas,
        cold_groups: i.cold_groups,
        payload: i.payload,
        slos,
        aborted: i.aborted,
        shard: None,
        distribution: None,
    }
}

/// Reads `results.json` from the run directory `dir`.
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

/// Writes `r` to `dir` as `results.json` (pretty-printed).
pub fn write(dir: &Path, r: &Results) -> Result<()> {
    let path = dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(r)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
#[path = "results_tests.rs"]
mod tests;
