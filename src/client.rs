//! The seed's producer and consumer scripts, as kbench commands: `kbench produce` writes Avro
//! records (registered schema, Confluent wire format) to a topic through the same open-loop
//! producer a run uses; `kbench consume` decodes records of any Confluent-format Avro producer
//! through the registry and prints each as one JSON line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use schema_registry_converter::async_impl::easy_avro::EasyAvroDecoder;

use crate::audit::ledger::{Ledger, Verdict};
use crate::avro::generate::Sizes;
use crate::cancel::Cancel;
use crate::kafka::admin::{self, TopicSpec};
use crate::load::consumer;
use crate::load::producer::{ProducerConfig, ProducerReport};
use crate::load::schedule::RateProfile;
use crate::metrics::{PhaseSpan, Summary};
use crate::names::Phase;
use crate::run::wiring::{
    prepare_schema, producer_base, spawn_producer, MetricsPipe, PreparedSchema, RunClock,
};

/// The schema `kbench produce` uses unless given one: a timestamp plus field values, as the
/// seed's producer wrote.
pub const DEFAULT_SCHEMA: &str = include_str!("../scenarios/schemas/reading.avsc");

pub use crate::cluster::Endpoints;

/// What `kbench produce` writes; its flags are these fields.
#[derive(Debug, clap::Args)]
pub struct ProduceOptions {
    /// Topic to write to; created if missing (3 partitions, replication 3, min ISR 2).
    #[arg(long, default_value = "test")]
    pub topic: String,
    /// How many records to write.
    #[arg(long, default_value_t = 10)]
    pub count: u64,
    /// Records per second (open loop).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Avro schema (.avsc) of the records; default: a timestamp plus field values.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Seeds record generation: the same seed writes the same records.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Target encoded record size in bytes (calibrates the schema's strings and bytes).
    #[arg(long)]
    pub record_size: Option<usize>,
    /// A librdkafka producer property, e.g. -X linger.ms=5 (repeatable).
    #[arg(short = 'X', long = "property", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,
}

/// `key=value`, both sides trimmed; the key may not be empty.
pub fn parse_property(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("\"{s}\" is not key=value"))
}

/// What `kbench produce` reports when done (printed as JSON with `--json`).
#[derive(Debug, serde::Serialize)]
pub struct ProduceSummary {
    /// Registry id of the schema the records were written with.
    pub schema_id: u32,
    /// Registry subject the schema is registered under (`<topic>-value`).
    pub subject: String,
    /// Records the brokers acknowledged.
    pub acked: u64,
    /// Records whose delivery was reported failed.
    pub failed: u64,
    /// How long the producer took to be ready to send (producer id, partition leaders known
    /// and connected); the schedule's clock starts then, so no record is charged for it.
    /// `None`: not seen ready within 10 s, and the schedule started anyway (see `waiting_for`).
    pub ready_after_s: Option<f64>,
    /// What readiness still lacked when the schedule started without it.
    pub waiting_for: Option<String>,
    /// Wall time from the first intended send to the last delivery report.
    pub elapsed_s: f64,
    /// Acked records per second over `elapsed_s`.
    pub acked_rate: f64,
    /// Ack latency from the intended send time (coordinated-omission corrected).
    pub ack: Option<crate::metrics::Percentiles>,
    /// Ack latency from the actual send, comparable with tools that time from send.
    pub ack_raw: Option<crate::metrics::Percentiles>,
    /// Actual − intended send time.
    pub send_lag: Option<crate::metrics::Percentiles>,
    /// The producer could not keep up with `--rate` (see `LagStats::saturated`).
    pub generator_saturated: bool,
    /// ProduceRequests and records sent to the brokers, from librdkafka's last statistics.
    pub requests: Option<crate::load::tally::RequestTally>,
    /// Records per ProduceRequest (librdkafka sends one partition per request).
    pub records_per_request: Option<f64>,
    /// One row per second (`t` counts from the producer's clock origin): sent, acked, failed,
    /// ack latency p50 / p99 / max — where a run's start-up or a stall shows.
    pub seconds: Vec<crate::metrics::SecondRow>,
}

/// Produce `count` records at `rate` records/s, creating the topic (RF 3, min ISR 2) if needed.
pub fn produce(ep: &Endpoints, o: &ProduceOptions) -> Result<ProduceSummary> {
    if !(o.rate.is_finite() && o.rate > 0.0) {
        bail!("--rate must be a positive number of records per second");
    }
    let avsc = match &o.schema {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read schema {}", p.display()))?,
        None => DEFAULT_SCHEMA.to_string(),
    };
    let spec = TopicSpec {
        name: o.topic.clone(),
        partitions: 3,
        replication_factor: 3,
        configs: vec![("min.insync.replicas".into(), "2".into())],
    };
    admin::create_topic(&ep.brokers, &spec, false)?;
    let subject = |_: &apache_avro::Schema| format!("{}-value", o.topic);
    let schema = prepare_schema(
        &ep.registry,
        subject,
        &avsc,
        o.seed,
        o.record_size,
        Sizes::default(),
    )?;
    let clock = RunClock::start();
    let tmp = std::env::temp_dir().join(format!("kbench-produce-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let measured = produce_measured(ep, o, &schema, &clock, &tmp);
    std::fs::remove_dir_all(&tmp).ok();
    let (report, summary, verdict) = measured?;
    let elapsed_s = clock
        .origin
        .elapsed()
        .saturating_sub(report.start)
        .as_secs_f64();
    let kind = |k: &str| {
        summary
            .phases
            .first()
            .and_then(|p| p.latency.get(k).cloned())
    };
    Ok(ProduceSummary {
        schema_id: schema.registered.id,
        subject: schema.registered.subject,
        acked: verdict.acked,
        failed: verdict.failed,
        ready_after_s: report.ready_after.map(|d| d.as_secs_f64()),
        waiting_for: report.waiting_for,
        elapsed_s,
        acked_rate: verdict.acked as f64 / elapsed_s.max(1e-9),
        ack: kind("ack_corrected"),
        ack_raw: kind("ack_raw"),
        send_lag: kind("send_lag"),
        generator_saturated: report.saturated,
        requests: report.requests,
        records_per_request: report.requests.and_then(|t| t.records_per_request()),
        seconds: summary.series,
    })
}

/// One producer through the run's own wiring, measured into one phase; .hlog files go to `tmp`.
fn produce_measured(
    ep: &Endpoints,
    o: &ProduceOptions,
    schema: &PreparedSchema,
    clock: &RunClock,
    tmp: &std::path::Path,
) -> Result<(ProducerReport, Summary, Verdict)> {
    let mut pipe = MetricsPipe::new();
    let phase = PhaseSpan {
        name: Phase::All,
        from_us: 0,
        to_us: u64::MAX,
    };
    let aggregator = pipe.spawn_aggregator(tmp, clock, vec![phase])?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let cfg = ProducerConfig {
        profile: RateProfile::Constant { rate: o.rate },
        duration: Duration::from_secs_f64(o.count as f64 / o.rate) + Duration::from_secs(1),
        max_records: Some(o.count),
        start_when_ready: true,
        properties: o.properties.clone(),
        ..producer_base(ep, &o.topic, schema, o.seed, clock)
    };
    // One producer, stopped by its record budget or by the first signal.
    let cancel = Cancel::root().child_on_signal();
    let producer = spawn_producer(cfg, &pipe, &ledger, &cancel)?;
    drop(pipe);
    let report = producer.join();
    let summary = aggregator.join()?;
    let verdict = ledger.lock().unwrap_or_else(|e| e.into_inner()).verdict();
    Ok((report?, summary, verdict))
}

/// What `kbench consume` reads and when it stops.
pub struct ConsumeOptions {
    /// Topic to read, from the beginning.
    pub topic: String,
    /// Consumer group id; `None` uses a fresh group, `kbench-consume-<pid>`.
    pub group: Option<String>,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// Stop when no record arrived for this long.
    pub idle_timeout: Duration,
}

/// Print every record of `topic` (from the beginning) as a JSON line on `out`; returns how many.
pub fn consume(ep: &Endpoints, o: &ConsumeOptions, out: &mut dyn Write) -> Result<u64> {
    let cfg = consumer::ConsumerConfig {
        id: 0,
        label: "consumer-0".into(),
        brokers: ep.brokers.clone(),
        topic: o.topic.clone(),
        group: o
            .group
            .clone()
            .unwrap_or_else(|| format!("kbench-consume-{}", std::process::id())),
        properties: vec![("enable.auto.commit".into(), "false".into())],
        registry: ep.registry.clone(),
        origin: Instant::now(),
        board: None,
        counts_in_run: true,
    };
    let c = consumer::create(&cfg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let decoder = EasyAvroDecoder::new(ep.registry.sr_settings()?);
    let mut n = 0u64;
    let mut last = Instant::now();
    while o.count.is_none_or(|max| n < max) && last.elapsed() < o.idle_timeout {
        crate::signals::check()?;
        let Some(msg) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = msg.context("consumer error")?;
        last = Instant::now();
        let decoded = rt
            .block_on(decoder.decode(m.payload()))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "partition {} offset {} is not a Confluent-format Avro record",
                    m.partition(),
                    m.offset()
                )
            })?;
        let json =
            serde_json::Value::try_from(decoded.value).context("record cannot be shown as JSON")?;
        writeln!(out, "{json}")?;
        n += 1;
    }
    c.unsubscribe();
    Ok(n)
}
