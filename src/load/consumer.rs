//! One consumer of the run's topic: reads every record back, times end-to-end latency against
//! the record's intended send time, and feeds the audit. Writer schemas are resolved by id
//! through the registry (and cached); a run that evolves its schema decodes every record whole
//! with its writer schema and checks its id against the one its producer wrote it with,
//! otherwise the first record of each id is decoded whole and the header read off the rest
//! (the header fields come first).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use apache_avro::reader::datum::GenericDatumReader;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

use apache_avro::Schema;

use super::catchup::CatchUp;
use super::versions::SchemaBoard;
use crate::audit::ledger::Ledger;
use crate::audit::versions::ReadTallies;
use crate::avro::header::{Header, HeaderSlots};
use crate::avro::schema_cache::{ClientStats, SchemaCache};
use crate::avro::wire;
use crate::cancel::Cancel;
use crate::metrics::{Counter, Kind, Recorder};

/// Everything one consumer thread needs.
#[derive(Clone)]
pub struct ConsumerConfig {
    /// This consumer's number.
    pub id: u32,
    /// Its name in reports and in its `client.id` (`kbench-<label>`), e.g. `consumer-0`.
    pub label: String,
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
    /// The run's schema versions: which id each producer wrote each sequence with, and whether
    /// to decode every record whole (`None`: header only, as `kbench consume` does).
    pub board: Option<Arc<SchemaBoard>>,
    /// Whether its reads count in the run's consumed series and end-to-end latency: not for a
    /// cold group, whose backlog says nothing of the cluster. Its registry requests always do.
    pub counts_in_run: bool,
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
    /// Reads and decodes by schema id, mismatches, undecodable records by reason.
    pub tallies: ReadTallies,
    /// Its use of the registry: cache hits and misses, requests, failures.
    pub registry: ClientStats,
    /// When every partition it held was read live (s since the origin); see [`CatchUp`].
    pub caught_up_s: Option<f64>,
}

/// A consumer in `cfg.group` subscribed to `cfg.topic`, starting from the earliest
/// offset where the group has none.
pub fn create(cfg: &ConsumerConfig) -> Result<BaseConsumer> {
    let mut cc = cfg.brokers.client_config();
    cc.set("group.id", &cfg.group)
        .set("client.id", format!("kbench-{}", cfg.label))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.partition.eof", "false")
        // As the Java clients do (TCP_NODELAY): a fetch request is never held back by Nagle.
        .set("socket.nagle.disable", "true");
    for (k, v) in &cfg.properties {
        cc.set(k, v);
    }
    let c: BaseConsumer = cc
        .create()
        .with_context(|| format!("cannot create {} (check [consumer.properties])", cfg.label))?;
    c.subscribe(&[&cfg.topic]).context("cannot subscribe")?;
    Ok(c)
}

/// Decodes records by their writer schema's id, fetched from the registry once per id.
struct Decoder {
    cache: SchemaCache,
    /// Ids whose fast header read was checked against a full decode.
    checked: HashSet<u32>,
    board: Option<Arc<SchemaBoard>>,
    /// The run's origin, for timing registry answers.
    origin: Instant,
    /// Lookups asked again because the registry did not answer (or did not find an id it
    /// gave out), and the time spent waiting.
    retries: u64,
    stalled: Duration,
}

/// How long a consumer keeps asking an unreachable registry for a writer schema before it
/// counts the record as undecodable: longer than any registry outage a scenario plans.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(300);
/// How long it keeps asking a registry that says a schema this run registered does not exist.
const STALE_PATIENCE: Duration = Duration::from_secs(60);

/// Why a record could not be decoded, and the error behind it.
struct Undecodable(&'static str, anyhow::Error);

impl Decoder {
    /// A decoder with an empty schema cache for consumer `cfg`.
    fn new(cfg: &ConsumerConfig) -> Result<Decoder> {
        Ok(Decoder {
            cache: SchemaCache::new(&cfg.registry, &cfg.label)?,
            checked: HashSet::new(),
            board: cfg.board.clone(),
            origin: cfg.origin,
            retries: 0,
            stalled: Duration::ZERO,
        })
    }

    /// The record's id and header; every record decoded whole where the board says so.
    fn decode(
        &mut self,
        payload: &[u8],
        cancel: &Cancel,
        recorder: &mut Recorder,
    ) -> Result<(u32, Header, bool), Undecodable> {
        let (id, datum) =
            wire::split(payload).map_err(|e| Undecodable("not Confluent framing", e.into()))?;
        let schema = self.writer_schema(id, cancel, recorder)?;
        let full = self.board.as_ref().is_some_and(|b| b.full_decode());
        if full || !self.checked.contains(&id) {
            let h = whole_header(&schema, id, datum)?;
            self.checked.insert(id);
            return Ok((id, h, true));
        }
        let h = wire::read_header(datum).map_err(|e| Undecodable("bad kbench header", e.into()))?;
        Ok((id, h, false))
    }
}

impl Decoder {
    /// Writer schema `id`. While the registry does not answer, a real consumer cannot decode
    /// and waits: so does this one (until it is stopped, or [`LOOKUP_PATIENCE`]), counting
    /// the retries and the time, rather than call a record undecodable that is not.
    fn writer_schema(
        &mut self,
        id: u32,
        cancel: &Cancel,
        recorder: &mut Recorder,
    ) -> Result<Arc<Schema>, Undecodable> {
        let t0 = Instant::now();
        let outcome = loop {
            let found = self.cache.lookup(id);
            if let Some(took) = self.cache.take_answer_time() {
                let now = self.origin.elapsed().as_micros() as u64;
                recorder.record(Kind::RegistryById, now, took.as_micros() as u64);
            }
            let e = match found {
                Ok(s) => break Ok(s),
                Err(e) => e,
            };
            // A registry that just restarted can answer "not found" for an id it gave this
            // very run, until its storage has caught up: that is the registry being wrong,
            // not the record, so it is asked again (and counted under its HTTP status).
            let stale = !e.retriable && self.registered(id) && t0.elapsed() < STALE_PATIENCE;
            let waiting = (e.retriable && t0.elapsed() < LOOKUP_PATIENCE) || stale;
            if !waiting || cancel.is_cancelled() {
                let reason = match (e.retriable, self.registered(id)) {
                    (true, _) => "registry unreachable",
                    (false, true) => "registry does not find a registered id",
                    (false, false) => "unknown schema id",
                };
                break Err(Undecodable(reason, e.error));
            }
            self.retries += 1;
            std::thread::sleep(Duration::from_millis(200));
        };
        self.stalled += t0.elapsed();
        outcome
    }

    /// Whether the run's registry gave out `id` (so a "not found" for it is the registry's
    /// error).
    fn registered(&self, id: u32) -> bool {
        self.board.as_ref().is_some_and(|b| b.registered(id))
    }
}

/// Decode `datum` whole with writer schema `id`, and check that the fast header read agrees
/// with it, so a schema whose header fields are not first can never be mis-read silently.
fn whole_header(schema: &Schema, id: u32, datum: &[u8]) -> Result<Header, Undecodable> {
    let slots = HeaderSlots::new(schema).map_err(|e| {
        Undecodable(
            "no kbench header",
            anyhow::anyhow!("schema id {id} has no kbench header fields: {e}"),
        )
    })?;
    let value = GenericDatumReader::builder(schema)
        .build()
        .and_then(|r| r.read_value(&mut &datum[..]))
        .map_err(|e| {
            let e = anyhow::Error::from(e).context("record does not decode with its writer schema");
            Undecodable("does not decode with its writer schema", e)
        })?;
    let full = slots.get(&value).ok_or_else(|| {
        let e = anyhow::anyhow!("header fields missing from the decoded record");
        Undecodable("bad kbench header", e)
    })?;
    let fast = wire::read_header(datum).map_err(|e| Undecodable("bad kbench header", e.into()))?;
    if full != fast {
        let e = anyhow::anyhow!(
            "schema id {id}: the kbench header fields are not the first fields of the record"
        );
        return Err(Undecodable("header fields not first", e));
    }
    Ok(full)
}

/// Count a decoded record under its id, and check that id against its producer's.
fn tally(t: &mut ReadTallies, board: Option<&SchemaBoard>, id: u32, h: &Header, whole: bool) {
    let by = t.by_id.entry(id).or_default();
    by.read += 1;
    by.decoded += u64::from(whole);
    let expected = board.and_then(|b| b.id_for(h.producer as u32, h.seq.max(0) as u64));
    if expected.is_some_and(|e| e != id) {
        t.mismatched += 1;
    }
}

/// Consume until `cancel`led; `assigned` tracks how many partitions this consumer holds.
pub fn run(
    cfg: ConsumerConfig,
    mut recorder: Recorder,
    ledger: Arc<Mutex<Ledger>>,
    cancel: Cancel,
    assigned: Arc<AtomicUsize>,
) -> Result<ConsumerReport> {
    let consumer = create(&cfg)?;
    let mut decoder = Decoder::new(&cfg)?;
    let mut report = ConsumerReport {
        id: cfg.id,
        ..Default::default()
    };
    let mut catch_up = CatchUp::default();
    let mut held = 0;
    let mut last_assignment_check = Instant::now() - Duration::from_secs(1);
    while !cancel.is_cancelled() {
        let msg = consumer.poll(Duration::from_millis(100));
        match msg {
            Some(Ok(m)) => {
                match decoder.decode(m.payload().unwrap_or_default(), &cancel, &mut recorder) {
                    Ok((id, h, whole)) => {
                        // After the decode: a lookup may have waited for the registry.
                        let now = cfg.origin.elapsed().as_micros() as u64;
                        let intended = h.intended_us.max(0) as u64;
                        catch_up.on_record(m.partition(), intended, now, held);
                        if cfg.counts_in_run {
                            let e2e = now.saturating_sub(intended);
                            recorder.record(Kind::EndToEnd, now, e2e);
                            recorder.count(Counter::Consumed, now, 1);
                        }
                        report.consumed += 1;
                        tally(&mut report.tallies, cfg.board.as_deref(), id, &h, whole);
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
                    Err(Undecodable(reason, e)) => {
                        report.undecodable += 1;
                        let (p, o) = (m.partition(), m.offset());
                        let example = || format!("partition {p} offset {o}: {e:#}");
                        report.tallies.undecodable(reason, example);
                        if report.errors.len() < 10 {
                            report.errors.push(example());
                        }
                    }
                }
            }
            Some(Err(e)) if report.errors.len() < 10 => report.errors.push(format!("{e}")),
            Some(Err(_)) => {}
            None => {}
        }
        recorder.tick(cfg.origin.elapsed().as_micros() as u64);
        if last_assignment_check.elapsed() >= Duration::from_millis(200) {
            last_assignment_check = Instant::now();
            held = consumer.assignment().map(|a| a.count()).unwrap_or(0);
            assigned.store(held, Ordering::Relaxed);
        }
    }
    recorder.finish();
    report.tallies.lookup_retries = decoder.retries;
    report.tallies.lookup_stall_s = decoder.stalled.as_secs_f64();
    report.registry = decoder.cache.stats().clone();
    report.caught_up_s = catch_up.at_us().map(|us| us as f64 / 1e6);
    close_within(consumer, CLOSE_BOUND);
    Ok(report)
}

/// How long a consumer may take to commit and leave its group when it stops.
const CLOSE_BOUND: Duration = Duration::from_secs(10);

/// Commit, leave the group and close, for at most `bound`. rust-rdkafka's drop waits for the
/// close without end, and with every broker gone (a cluster killed from outside) librdkafka
/// keeps retrying the commit and the LeaveGroup: past the bound the handle is let go instead
/// (its threads end with the process), so a dead cluster cannot hold the run's teardown.
fn close_within(consumer: BaseConsumer, bound: Duration) {
    if consumer.close_queue().is_err() {
        return;
    }
    let end = Instant::now() + bound;
    while !consumer.closed() {
        if Instant::now() >= end {
            std::mem::forget(consumer);
            return;
        }
        consumer.poll(Duration::from_millis(100));
    }
}
