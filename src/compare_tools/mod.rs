//! kbench side by side with Kafka's own `kafka-producer-perf-test` (`ProducerPerformance` from
//! kafka-tools, fetched by the same pinned Maven mechanism), against one cluster kbench starts:
//! same record size, acks=all, batching, compression and record count; each side run alternately
//! as a separate process so its CPU time comes from the kernel's rusage, not wall time. The whole
//! protocol repeats for each topic layout asked for, because how many partitions each broker
//! leads changes what the two clients put on the wire (librdkafka sends one partition per
//! produce request, the Java client one request per broker).

mod render;
mod stats;
mod tools;

use anyhow::Result;
use serde::Serialize;

use crate::cluster::dist::Dist;
use crate::cluster::Endpoints;
use crate::kafka::admin::{create_topic, TopicSpec};

pub use render::render;
use stats::phase;
pub use stats::{stat, PhaseResult, Stat};
pub use tools::{
    kbench, kbench_properties, parse_perf_test, perf_test, shared_properties, Sample, Workload,
};

/// Options of `kbench compare-tools`; the field docs are its `--help`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Records per run in the unthrottled phase (same count for both tools).
    #[arg(long, default_value_t = 200_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub records: u64,
    /// Record size in bytes: kbench calibrates its Avro records to it, perf-test sends
    /// payloads of exactly this size.
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Measured runs of each tool per phase, alternating which goes first; median and
    /// spread are reported.
    #[arg(long, default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub repeats: usize,
    /// Unmeasured runs of each tool before the first measured one of each partition count,
    /// so neither is charged for the fresh cluster's or topic's warm-up (the brokers' JIT
    /// takes a few minutes of load to settle: on a 2-core machine one round left the first
    /// measured runs up to 2x slower).
    #[arg(long, default_value_t = 3)]
    pub warmup_rounds: usize,
    /// Seconds of load per run in the fixed-rate phase. The p99 is the worst 1% of a run's
    /// records, so over 40 s a one-off stall shorter than 0.4 s (a start-up, a GC pause, a
    /// segment roll) cannot be the p99 by itself; over 20 s half a second could.
    #[arg(long, default_value_t = 40.0)]
    pub fixed_rate_seconds: f64,
    /// linger.ms given to both tools (5 is both clients' default). Larger values trade
    /// latency for bigger batches in both clients.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u32,
    /// Partition counts to compare on, comma-separated: the whole comparison runs once per
    /// count, each on a topic of its own (replication 3, min.insync.replicas 2). The layout
    /// can matter: librdkafka (kbench) sends one partition per produce request, the Java
    /// client (perf-test) one request per broker for every partition it leads that has a
    /// batch ready, so with 6 partitions (two per broker) a saturated perf-test sends fewer,
    /// larger requests; the tables' records_per_request row shows how many each tool packed.
    #[arg(long, value_delimiter = ',', default_values_t = [3, 6],
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub partitions: Vec<u32>,
}

/// Replication of every comparison topic: each partition on all three brokers, acks=all waits
/// for two of them.
const REPLICATION_FACTOR: i32 = 3;
const MIN_INSYNC_REPLICAS: u32 = 2;

/// Settings of every comparison topic: two of three replicas in sync, and a bounded size — the
/// runs write tens of GB at today's rates, more than a development machine's disk holds, and
/// only the newest records matter (the brokers enforce retention every 10 s, see topology).
fn topic_configs() -> Vec<(String, String)> {
    vec![
        (
            "min.insync.replicas".into(),
            MIN_INSYNC_REPLICAS.to_string(),
        ),
        ("retention.bytes".into(), (256u64 << 20).to_string()),
        ("segment.bytes".into(), (64u64 << 20).to_string()),
    ]
}

/// Result of `kbench compare-tools`: the settings both tools got and one result per
/// topic layout.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Kafka version of the cluster and of the perf-test tool.
    pub kafka_version: String,
    /// Size of every record in bytes.
    pub record_size: usize,
    /// Measured runs of each tool per phase and layout.
    pub repeats: usize,
    /// Unmeasured rounds of both tools before each layout's first measured one.
    pub warmup_rounds: usize,
    /// Seconds of load per run in the fixed-rate phase.
    pub fixed_rate_seconds: f64,
    /// Producer settings given to both tools.
    pub properties: Vec<(String, String)>,
    /// Given to kbench only: perf-test's default buffer bound and delivery timeout.
    pub kbench_properties: Vec<(String, String)>,
    /// One comparison per topic layout.
    pub layouts: Vec<LayoutResult>,
}

/// Both phases on one topic.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutResult {
    /// Topic this layout's runs wrote to.
    pub topic: String,
    /// Partitions of the topic.
    pub partitions: u32,
    /// Replicas of each partition.
    pub replication_factor: i32,
    /// The topic's `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// Both tools sending as fast as they can.
    pub unthrottled: PhaseResult,
    /// Both tools at half the saturation rate the unthrottled phase found.
    pub fixed_rate: PhaseResult,
}

/// Every layout in `o.partitions` against a running cluster, each on a topic of its own.
pub fn compare(dist: &Dist, ep: &Endpoints, o: &Options, log: &dyn Fn(&str)) -> Result<Comparison> {
    let properties = shared_properties(o.linger_ms);
    let mut layouts = Vec::new();
    for &partitions in &o.partitions {
        let topic = format!("kbench-compare-tools-p{partitions}");
        log(&format!(
            "topic {topic}: {partitions} partitions, replication {REPLICATION_FACTOR}"
        ));
        create_topic(
            &ep.brokers,
            &TopicSpec {
                name: topic.clone(),
                partitions: partitions as i32,
                replication_factor: REPLICATION_FACTOR,
                configs: topic_configs(),
            },
            true,
        )?;
        let w = Workload {
            topic: topic.clone(),
            records: o.records,
            record_size: o.record_size,
            rate: None,
            properties: properties.clone(),
        };
        let (unthrottled, fixed_rate) = layout(dist, ep, w, o, log)?;
        layouts.push(LayoutResult {
            topic,
            partitions,
            replication_factor: REPLICATION_FACTOR,
            min_insync_replicas: MIN_INSYNC_REPLICAS,
            unthrottled,
            fixed_rate,
        });
    }
    Ok(Comparison {
        kafka_version: dist.kafka_version.clone(),
        record_size: o.record_size,
        repeats: o.repeats,
        warmup_rounds: o.warmup_rounds,
        fixed_rate_seconds: o.fixed_rate_seconds,
        properties,
        kbench_properties: kbench_properties(),
        layouts,
    })
}

/// Warm-up, then both phases on `w`'s topic: unthrottled, then at half the saturation found.
fn layout(
    dist: &Dist,
    ep: &Endpoints,
    mut w: Workload,
    o: &Options,
    log: &dyn Fn(&str),
) -> Result<(PhaseResult, PhaseResult)> {
    let warming = std::cell::Cell::new(false);
    let mut alternate = |i: usize, w: &Workload| -> Result<Vec<Sample>> {
        // Alternate which tool goes first, so neither always gets the warmer cluster.
        let mut out = Vec::new();
        let even = i.is_multiple_of(2);
        for first_kbench in [even, !even] {
            crate::signals::check()?;
            let s = if first_kbench {
                kbench(ep, w)?
            } else {
                perf_test(dist, &ep.brokers, w)?
            };
            let round = match warming.get() {
                true => format!("warm-up round {} (not counted)", i + 1),
                false => format!("run {}", i + 1),
            };
            log(&format!(
                "{} {round}: {:.0} records/s, {:.2} CPU-s per million, p99 {:.1} ms",
                s.tool, s.records_per_s, s.cpu_s_per_million, s.p99_ms
            ));
            out.push(s);
        }
        Ok(out)
    };
    warming.set(true);
    for i in 0..o.warmup_rounds {
        alternate(i, &w)?;
    }
    warming.set(false);
    let unthrottled = phase("unthrottled", &w, o.repeats, &mut alternate)?;
    let saturation = unthrottled
        .stats
        .values()
        .map(|p| p["records_per_s"].median)
        .fold(0.0, f64::max);
    let rate = (saturation / 2.0).max(1.0).round();
    log(&format!(
        "{}: saturation ~{saturation:.0} records/s; fixed-rate phase at {rate:.0} records/s",
        w.topic
    ));
    w.rate = Some(rate);
    w.records = (rate * o.fixed_rate_seconds).round().max(1.0) as u64;
    let fixed_rate = phase("fixed_rate", &w, o.repeats, &mut alternate)?;
    Ok((unthrottled, fixed_rate))
}
