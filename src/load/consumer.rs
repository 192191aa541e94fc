//! One consumer of the run's topic: reads every record back, times end-to-end latency against
//! the record's intended send time, and feeds the audit. Writer schemas are resolved through the
//! registry; the header fields are read straight off the datum (they come first).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use apache_avro::reader::datum::GenericDatumReader;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

use crate::audit::ledger::Ledger;
use crate::avro::header::HeaderSlots;
use crate::avro::registry::SchemaCache;
use crate::avro::wire;
use crate::metrics::{Counter, Kind, Recorder};

/// Everything one consumer thread needs.
#[derive(Clone)]
pub struct ConsumerConfig {
    /// This consumer's number, used in its `client.id`.
    pub id: u32,
    /// The brokers and how to connect to them.
    pub brokers: crate::kafka::Brokers,
    /// Topic to read.
    pub topic: String,
    /// Consumer group id.
    pub group: String,
    /// librdkafka consumer properties, applied over kbench's defaults.
    pub properties: Vec<(String, String)>,
    /// Schema registry that writer schemas are resolved from.
    pub registry: crate::security::registry::Registry,
    /// The run's monotonic origin; end-to-end latency is timed against it.
    pub origin: Instant,
}

/// What a consumer reports when it is done.
#[derive(Debug, Clone, Default)]
pub struct ConsumerReport {
    /// The consumer's number.
    pub id: u32,
    /// kbench records read and decoded, duplicates included.
    pub consumed: u64,
    /// Messages that were not kbench records (wrong framing, unknown schema, bad header).
    pub undecodable: u64,
    /// The first 10 consumer or decode errors, as messages.
    pub errors: Vec<String>,
}

/// A consumer in `cfg.group` subscribed to `cfg.topic`, starting from the earliest
/// offset where the group has none.
pub fn create(cfg: &ConsumerConfig) -> Result<BaseConsumer> {
    let mut cc = cfg.brokers.client_config();
    cc.set("group.id", &cfg.group)
        .set("client.id", format!("kbench-consumer-{}", cfg.id))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.partition.eof", "false")
        // As the Java clients do (TCP_NODELAY): a fetch request is never held back by Nagle.
        .set("socket.nagle.disable", "true");
    for (k, v) in &cfg.properties {
        cc.set(k, v);
    }
    let c: BaseConsumer = cc.create().with_context(|| {
        format!(
            "cannot create consumer {} (check [consumer.properties])",
            cfg.id
        )
    })?;
    c.subscribe(&[&cfg.topic]).context("cannot subscribe")?;
    Ok(c)
}

/// Checks once per schema id that the fast header read agrees with a full decode, so a schema
/// whose header fields are not first can never be mis-read silently.
fn check_schema(
    cache: &mut SchemaCache,
    checked: &mut HashSet<u32>,
    id: u32,
    datum: &[u8],
) -> Result<()> {
    if checked.contains(&id) {
        return Ok(());
    }
    let schema = cache.get(id)?;
    let slots = HeaderSlots::new(&schema)
        .with_context(|| format!("schema id {id} has no kbench header fields"))?;
    let value = GenericDatumReader::builder(&schema)
        .build()
        .and_then(|r| r.read_value(&mut &datum[..]))
        .context("record does not decode with its writer schema")?;
    let full = slots
        .get(&value)
        .context("header fields missing from the decoded record")?;
    let fast = wire::read_header(datum)?;
    if full != fast {
        bail!("schema id {id}: the kbench header fields are not the first fields of the record");
    }
    checked.insert(id);
    Ok(())
}

/// Consume until `stop`; `assigned` tracks how many partitions this consumer holds.
pub fn run(
    cfg: ConsumerConfig,
    mut recorder: Recorder,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    assigned: Arc<AtomicUsize>,
) -> Result<ConsumerReport> {
    let consumer = create(&cfg)?;
    let mut cache = SchemaCache::new(&cfg.registry)?;
    let mut checked = HashSet::new();
    let mut report = ConsumerReport {
        id: cfg.id,
        ..Default::default()
    };
    let mut last_assignment_check = Instant::now() - Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        let msg = consumer.poll(Duration::from_millis(100));
        let now = cfg.origin.elapsed().as_micros() as u64;
        match msg {
            Some(Ok(m)) => {
                let decoded = wire::split(m.payload().unwrap_or_default())
                    .map_err(anyhow::Error::from)
                    .and_then(|(id, datum)| {
                        check_schema(&mut cache, &mut checked, id, datum)?;
                        Ok(wire::read_header(datum)?)
                    });
                match decoded {
                    Ok(h) => {
                        recorder.record(
                            Kind::EndToEnd,
                            now,
                            now.saturating_sub(h.intended_us.max(0) as u64),
                        );
                        recorder.count(Counter::Consumed, now, 1);
                        report.consumed += 1;
                        ledger
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .on_delivered(
                                h.producer as u32,
                                m.partition(),
                                m.offset(),
                                h.seq.max(0) as u64,
                            );
                    }
                    Err(e) => {
                        report.undecodable += 1;
                        if report.errors.len() < 10 {
                            report.errors.push(format!(
                                "partition {} offset {}: {e:#}",
                                m.partition(),
                                m.offset()
                            ));
                        }
                    }
                }
            }
            Some(Err(e)) if report.errors.len() < 10 => report.errors.push(format!("{e}")),
            Some(Err(_)) => {}
            None => {}
        }
        recorder.tick(now);
        if last_assignment_check.elapsed() >= Duration::from_millis(200) {
            last_assignment_check = Instant::now();
            let n = consumer.assignment().map(|a| a.count()).unwrap_or(0);
            assigned.store(n, Ordering::Relaxed);
        }
    }
    recorder.finish();
    Ok(report)
}
