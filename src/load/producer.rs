//! One open-loop producer: a thread that follows its rate schedule, sends Avro records with
//! librdkafka, and measures each delivery in a callback on the same thread (no future per
//! record). Waiting for the next intended send time is done inside `poll`, so acks are served —
//! and timestamped — while the producer waits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use apache_avro::Schema;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::delivery::{micros, Ctx};
use super::draw::{Follow, RecordDraw, Stamp};
use super::pace::{Clock, LagStats, Pacer, Slot};
use super::payload::KeyDraw;
use super::ready::{self, Readiness};
use super::schedule::{RateProfile, Schedule};
use crate::audit::ledger::Ledger;
use crate::avro::generate::Sizes;
use crate::cancel::Cancel;
use crate::faults::observe::AckTimeline;
use crate::metrics::bytes::SentBytes;
use crate::metrics::Recorder;

/// How many replicas must have a record before the broker acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Acks {
    /// Every in-sync replica (`acks=all`); the only setting idempotence allows.
    #[default]
    #[serde(rename = "all")]
    All,
    /// The leader alone (`acks=1`).
    #[serde(rename = "1")]
    Leader,
    /// None: the record counts as acknowledged once sent (`acks=0`).
    #[serde(rename = "0")]
    None,
}

impl Acks {
    /// The value librdkafka's `acks` property takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::Leader => "1",
            Acks::None => "0",
        }
    }

    /// `all` / `-1`, `1`, `0` as the scenario file may write them.
    pub fn parse(s: &str) -> Option<Acks> {
        match s {
            "all" | "-1" => Some(Acks::All),
            "1" => Some(Acks::Leader),
            "0" => Some(Acks::None),
            _ => None,
        }
    }
}

/// Everything one producer thread needs.
#[derive(Clone)]
pub struct ProducerConfig {
    /// Producer number, used in its `client.id`, in every record's header and in the seed.
    pub id: u32,
    /// The brokers and how to connect to them.
    pub brokers: crate::kafka::Brokers,
    /// Topic to write to.
    pub topic: String,
    /// Schema of the records, with kbench's header fields, as registered.
    pub schema: Arc<Schema>,
    /// The run's schema versions: switch to newer ones as they are published (`None`: write
    /// `schema` throughout).
    pub board: Option<Arc<super::versions::SchemaBoard>>,
    /// Registry id of `schema`, written in every record's wire prefix.
    pub schema_id: u32,
    /// String, bytes and collection lengths of the generated records.
    pub sizes: Sizes,
    /// Size spread, compressibility and keys of the records.
    pub payload: super::payload::PayloadPlan,
    /// Seeds record generation; combined with `id` so each producer draws its own records.
    pub seed: u64,
    /// This producer's share of the rate.
    pub profile: RateProfile,
    /// Intended send times run from `start` (offset from the origin) for `duration`.
    pub start: Duration,
    /// Start the schedule once the producer is ready (see `ready`), not at `start`: for
    /// `kbench produce`, which has no load start shared with other producers. A run's
    /// producers wait for readiness only until `start`.
    pub start_when_ready: bool,
    /// Length of the schedule: no intended send time falls at or after `start + duration`.
    pub duration: Duration,
    /// Stop after this many records even if the schedule has more (`kbench produce --count`).
    pub max_records: Option<u64>,
    /// Which replicas must have a record before the broker acknowledges it.
    pub acks: Acks,
    /// librdkafka's `enable.idempotence`.
    pub idempotence: bool,
    /// librdkafka producer properties, applied over kbench's defaults.
    pub properties: Vec<(String, String)>,
    /// The run's monotonic origin; send and ack times are µs since it.
    pub origin: Instant,
    /// Wall clock (ms since the epoch) at `origin`.
    pub wall_origin_ms: i64,
    /// Ack and failure times per partition, shared by all producers of a run.
    pub timeline: Arc<Mutex<AckTimeline>>,
    /// How long outstanding deliveries are awaited once the load was stopped early (a signal
    /// or `stop`); a second signal ends the wait at once.
    pub abort_drain: Duration,
}

/// What a producer reports when it is done.
#[derive(Debug, Clone, Default)]
pub struct ProducerReport {
    /// The producer's number.
    pub id: u32,
    /// Records handed to librdkafka.
    pub sent: u64,
    /// Send lag of the producer's pacer over the whole schedule.
    pub lag: LagStats,
    /// The producer could not keep up with its schedule (see `LagStats::saturated`).
    pub saturated: bool,
    /// Time spent waiting for room in librdkafka's queue: the cluster, not the generator,
    /// holding the schedule back.
    pub queue_full: Duration,
    /// Deliveries still unresolved when the flush timed out.
    pub unresolved: u64,
    /// When the schedule started, as an offset from the origin.
    pub start: Duration,
    /// When its first record was handed to librdkafka, from the schedule's start (`None` if
    /// it sent none).
    pub first_send: Option<Duration>,
    /// How long after its creation the producer was ready to send; `None` when it was not
    /// seen ready before the schedule had to start (see `waiting_for`).
    pub ready_after: Option<Duration>,
    /// What readiness still lacked when the schedule started without it.
    pub waiting_for: Option<String>,
    /// ProduceRequests and records sent, from the producer's last statistics; `None` when
    /// statistics are off or none came in time.
    pub requests: Option<super::tally::RequestTally>,
    /// Value and key bytes handed to librdkafka.
    pub bytes: SentBytes,
    /// Batches as they left, from librdkafka's statistics (compressed size).
    pub wire: super::wire_stats::WireBatches,
}

/// The schedule's clock: time since this producer's schedule starts, and one precise sleep per
/// wait. Delivery reports are served by the producer's own poller thread meanwhile, so they are
/// timestamped when they arrive, not when the sender next wakes up.
struct SendClock {
    base: Instant,
}

impl Clock for SendClock {
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.base)
    }

    /// Keeps `Clock`'s contract (returns only once `now() >= t`): on VMs a sleep has been seen to
    /// end a few µs before the clock read afterwards reaches `t`, which made sends look early.
    fn sleep_until(&self, t: Duration) {
        let mut now = self.now();
        while t > now {
            std::thread::sleep(t - now);
            now = self.now();
        }
    }
}

fn client_config(cfg: &ProducerConfig) -> ClientConfig {
    let mut cc = cfg.brokers.client_config();
    cc.set("acks", cfg.acks.as_str())
        .set("enable.idempotence", cfg.idempotence.to_string())
        .set("client.id", format!("kbench-producer-{}", cfg.id))
        // A failover run wants a bounded answer for every record; librdkafka's default is 5 min.
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "5")
        // Java clients always set TCP_NODELAY; librdkafka leaves Nagle on unless told, which
        // holds a small produce request back until the previous one is acked.
        .set("socket.nagle.disable", "true")
        .set(
            "statistics.interval.ms",
            ready::STATS_INTERVAL_MS.to_string(),
        )
        // Connect to every broker at once rather than on the first record for it, so the
        // producer is ready (see `ready`) before its schedule starts and no record pays for a
        // connection set-up.
        .set("enable.sparse.connections", "false");
    if cfg.payload.spec.keys != super::payload::KeyDist::None {
        cc.set("partitioner", super::payload::KEYED_PARTITIONER);
    }
    for (k, v) in &cfg.properties {
        cc.set(k, v);
    }
    cc
}

/// How large the in-flight ring must be and how long a delivery may take, from the producer's
/// effective properties.
struct Limits {
    ring_len: u64,
    delivery_timeout: Duration,
}

impl Limits {
    fn of(cc: &ClientConfig) -> Limits {
        let max_msgs: u64 = cc
            .get("queue.buffering.max.messages")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let timeout_ms: u64 = cc
            .get("message.timeout.ms")
            .or_else(|| cc.get("delivery.timeout.ms"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(30_000);
        Limits {
            ring_len: max_msgs.next_power_of_two().max(1024),
            delivery_timeout: Duration::from_millis(timeout_ms),
        }
    }
}

/// What the send loop leaves.
struct SendTotals {
    sent: u64,
    lag: LagStats,
    saturated: bool,
    queue_full: Duration,
    bytes: SentBytes,
    first_send: Option<Duration>,
}

/// Run one producer to the end of its schedule (or until `cancel`led), then wait for every
/// outstanding delivery.
pub fn run(
    cfg: ProducerConfig,
    recorder: Recorder,
    ledger: Arc<Mutex<Ledger>>,
    cancel: Cancel,
) -> Result<ProducerReport> {
    let mut cfg = cfg;
    let cc = client_config(&cfg);
    let limits = Limits::of(&cc);
    let created = Instant::now();
    let producer = create(&cfg, &cc, &limits, recorder, ledger)?;
    let ready = await_ready(&producer, &cfg, &cc, &cancel);
    let ready_after = ready.then(|| created.elapsed());
    if cfg.start_when_ready {
        cfg.start = cfg.origin.elapsed();
    }
    let waiting_for = (!ready).then(|| producer.context().readiness().waiting_for());
    let stamp = Stamp {
        id: cfg.id,
        seed: cfg.seed,
        start: cfg.start,
        wall_origin_ms: cfg.wall_origin_ms,
    };
    let mut draw = RecordDraw::new(
        stamp,
        Arc::clone(&cfg.schema),
        cfg.schema_id,
        cfg.sizes,
        &cfg.payload,
    )?;
    let keys = KeyDraw::new(cfg.payload.spec.keys, super::draw::seed(&stamp));
    // Delivery reports are served on a thread of their own, so each ack is timed when it arrives
    // while the sender sleeps precisely until its next intended send time.
    // The delivery thread ends with the sending (or with the load, whichever is first).
    let sending = cancel.child();
    let totals = std::thread::scope(|s| {
        s.spawn(|| {
            while !sending.is_cancelled() {
                producer.poll(Duration::from_millis(100));
            }
        });
        let totals = send_all(&cfg, &producer, (&mut draw, keys), &cancel);
        sending.cancel();
        totals
    });
    let unresolved = await_deliveries(&producer, &cfg, &limits, &cancel);
    let requests = final_tally(&producer, &cc);
    Ok(ProducerReport {
        id: cfg.id,
        sent: totals.sent,
        lag: totals.lag,
        saturated: totals.saturated,
        queue_full: totals.queue_full,
        unresolved,
        start: cfg.start,
        first_send: totals.first_send,
        ready_after,
        waiting_for,
        requests,
        bytes: totals.bytes,
        wire: producer.context().wire(),
    })
}

/// The request tally from the next statistics document, waited for at most a few intervals.
fn final_tally(
    producer: &BaseProducer<Ctx>,
    cc: &ClientConfig,
) -> Option<super::tally::RequestTally> {
    let interval = cc.get("statistics.interval.ms")?.parse::<u64>().ok()?;
    if interval == 0 || interval > 1000 || crate::signals::hurry() {
        return None; // off, or too slow to wait for at the end of a run
    }
    let tallier = producer.context().tallier();
    tallier.want();
    let deadline = Instant::now() + Duration::from_millis(3 * interval);
    while tallier.taken().is_none() && Instant::now() < deadline {
        producer.poll(Duration::from_millis(interval / 2 + 1));
    }
    tallier.taken()
}

/// Longest `kbench produce` waits for its producer to be ready before starting anyway.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait until librdkafka's statistics say the producer can send (producer id, leaders known and
/// connected) — until the schedule's start at the latest, or [`READY_TIMEOUT`] for a schedule
/// that starts when ready. Whether it became ready.
fn await_ready(
    producer: &BaseProducer<Ctx>,
    cfg: &ProducerConfig,
    cc: &ClientConfig,
    cancel: &Cancel,
) -> bool {
    if cc.get("statistics.interval.ms") == Some("0") {
        return false; // the user turned statistics off: readiness cannot be seen
    }
    let deadline = match cfg.start_when_ready {
        true => Instant::now() + READY_TIMEOUT,
        false => cfg.origin + cfg.start,
    };
    // Asking for the topic's metadata makes it known to the producer, so librdkafka assigns its
    // partitions to their leaders and connects to them before the first record.
    let _ = (producer.client()).fetch_metadata(Some(&cfg.topic), Duration::from_secs(5));
    let readiness = producer.context().readiness();
    while !readiness.is_ready() && Instant::now() < deadline && !cancel.is_cancelled() {
        producer.poll(Duration::from_millis(5));
    }
    readiness.is_ready()
}

fn create(
    cfg: &ProducerConfig,
    cc: &ClientConfig,
    limits: &Limits,
    recorder: Recorder,
    ledger: Arc<Mutex<Ledger>>,
) -> Result<BaseProducer<Ctx>> {
    let ctx = Ctx::new(
        cfg.id,
        cfg.origin,
        limits.ring_len,
        recorder,
        ledger,
        Arc::clone(&cfg.timeline),
        Readiness::new(&cfg.topic, cfg.idempotence),
    );
    cc.create_with_context(ctx).with_context(|| {
        format!(
            "cannot create producer {} (check [producer.properties])",
            cfg.id
        )
    })
}

/// The schedule's next slot, unless the run is stopping or the record budget is spent.
#[inline]
fn next_slot<C: Clock>(
    pacer: &mut Pacer<C>,
    cancel: &Cancel,
    sent: u64,
    max: Option<u64>,
) -> Option<Slot> {
    if cancel.is_cancelled() || max.is_some_and(|m| sent >= m) {
        return None;
    }
    pacer.next()
}

/// Follow the schedule: one record per slot, each sent at (or as soon as possible after) its
/// intended time.
fn send_all(
    cfg: &ProducerConfig,
    producer: &BaseProducer<Ctx>,
    (draw, mut keys): (&mut RecordDraw, Option<KeyDraw>),
    cancel: &Cancel,
) -> SendTotals {
    let clock = SendClock {
        base: cfg.origin + cfg.start,
    };
    // A producer ready before its schedule starts waits for the start: the clock reads 0 until
    // then, so the pacer would release the first record (intended at 0) early, and record it
    // on time.
    if let Some(early) = clock.base.checked_duration_since(Instant::now()) {
        cancel.sleep(early);
    }
    let mut pacer = Pacer::new(Schedule::new(cfg.profile.clone(), cfg.duration), clock);
    let mut follow = Follow::new(cfg.board.as_deref(), cfg.id, draw);
    let mut sent = 0u64;
    let mut queue_full = Duration::ZERO;
    let mut bytes = SentBytes::default();
    let mut first_send = None;
    while let Some(slot) = next_slot(&mut pacer, cancel, sent, cfg.max_records) {
        first_send.get_or_insert(slot.actual);
        follow.before(draw, &slot);
        let key = keys.as_mut().map(KeyDraw::next_key);
        queue_full += send_one(cfg, producer, (draw.draw(&slot), key), &slot, &mut bytes);
        sent += 1;
    }
    SendTotals {
        sent,
        lag: pacer.lag_stats(),
        saturated: pacer.saturated(),
        queue_full,
        bytes,
        first_send,
    }
}

/// Draw, stamp and hand one record to librdkafka; a record it refuses is a failure at once.
/// Returns how long it waited for room in librdkafka's queue.
#[inline]
fn send_one(
    cfg: &ProducerConfig,
    producer: &BaseProducer<Ctx>,
    (payload, key): (&[u8], Option<&[u8]>),
    slot: &Slot,
    bytes: &mut SentBytes,
) -> Duration {
    let start_us = micros(cfg.start);
    bytes.add(payload.len(), key.map_or(0, <[u8]>::len));
    producer.context().lock().on_send(
        slot.seq,
        start_us + micros(slot.intended),
        start_us + micros(slot.actual),
    );
    let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(&cfg.topic, slot.seq as usize)
        .payload(payload);
    if let Some(k) = key {
        record = record.key(k);
    }
    let mut full_since = None;
    loop {
        match producer.send(record) {
            Ok(()) => break,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                full_since.get_or_insert_with(Instant::now);
                // The poller thread drains delivery reports, which frees queue space.
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => {
                // Refused before it left this process: a failure at once, never a silent drop.
                producer.context().resolve(slot.seq, -1, Some(&e));
                break;
            }
        }
    }
    full_since.map_or(Duration::ZERO, |t| t.elapsed())
}

/// Every record gets an answer: acked, failed, or (after the delivery timeout) counted as
/// unresolved. A load stopped early waits `abort_drain` at most, a second signal not at all.
/// Returns how many stayed unresolved.
fn await_deliveries(
    producer: &BaseProducer<Ctx>,
    cfg: &ProducerConfig,
    limits: &Limits,
    cancel: &Cancel,
) -> u64 {
    let mut deadline = Instant::now() + limits.delivery_timeout + Duration::from_secs(10);
    let mut cut = false;
    loop {
        if !cut && cancel.is_cancelled() {
            cut = true;
            deadline = deadline.min(Instant::now() + cfg.abort_drain);
        }
        let now = micros(cfg.origin.elapsed());
        let mut st = producer.context().lock();
        st.tick(now);
        if st.pending() == 0 || Instant::now() >= deadline || crate::signals::hurry() {
            break;
        }
        drop(st);
        producer.poll(Duration::from_millis(50));
    }
    let mut st = producer.context().lock();
    st.finish();
    st.pending()
}
