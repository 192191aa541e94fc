//! The wiring every load shares, `kbench run` and `kbench produce` alike: the run's clock
//! origins, the metrics pipe and its aggregator thread, the schema registered and calibrated,
//! and producer threads configured and started. One place, so the two commands cannot drift
//! apart in how they time, measure or configure a record.

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use super::workers::Worker;
use crate::audit::ledger::Ledger;
use crate::avro::generate::{self, Sizes};
use crate::avro::header;
use crate::avro::registry::{self, Registered};
use crate::cancel::Cancel;
use crate::cluster::Endpoints;
use crate::load::producer::{self, Acks, ProducerConfig, ProducerReport};
use crate::load::schedule::RateProfile;
use crate::metrics::{Aggregator, Interval, Live, PhaseSpan, Recorder, Summary};
use crate::security::registry::Registry;

/// The run's one clock: every send, ack, consume and fault is an offset from `origin`; records
/// also carry wall-clock time, counted from `wall_origin_ms`.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    /// Monotonic origin.
    pub origin: Instant,
    /// Wall clock (ms since the epoch) at `origin`.
    pub wall_origin_ms: i64,
}

impl RunClock {
    /// A clock whose origin is now.
    pub fn start() -> RunClock {
        RunClock {
            origin: Instant::now(),
            wall_origin_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as i64,
        }
    }
}

/// The schema as registered, and the sizes records are drawn with.
#[derive(Debug, Clone)]
pub struct PreparedSchema {
    /// Subject, id and parsed schema (with kbench's header fields).
    pub registered: Registered,
    /// Lengths of strings, bytes and collections.
    pub sizes: Sizes,
    /// How its size follows string/bytes length (for record-size distributions).
    pub model: Option<generate::LenModel>,
}

/// Add kbench's header to `avsc`, register it under `subject`, and calibrate value sizes to
/// `record_size` when one is asked for (else use `sizes`).
pub fn prepare_schema(
    registry: &Registry,
    subject: impl FnOnce(&apache_avro::Schema) -> String,
    avsc: &str,
    seed: u64,
    record_size: Option<usize>,
    sizes: Sizes,
) -> Result<PreparedSchema> {
    let augmented = header::augment_schema(avsc)?;
    let parsed = apache_avro::Schema::parse_str(&augmented)?;
    let registered = registry::register(registry, &subject(&parsed), &augmented)?;
    let sizes = match record_size {
        Some(target) => generate::calibrate(&registered.schema, seed, target)?,
        None => sizes,
    };
    let model = generate::len_model(&registered.schema, seed)?;
    Ok(PreparedSchema {
        registered,
        sizes,
        model,
    })
}

/// Recorders feed the aggregator through this pipe; the aggregator ends once every recorder
/// is finished and the pipe itself dropped.
pub struct MetricsPipe {
    tx: mpsc::Sender<Interval>,
    rx: Option<mpsc::Receiver<Interval>>,
    /// What the aggregator publishes for the live line.
    pub live: Arc<Mutex<Live>>,
}

impl Default for MetricsPipe {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsPipe {
    /// An empty pipe; recorders may be made before the aggregator starts.
    pub fn new() -> MetricsPipe {
        let (tx, rx) = mpsc::channel();
        MetricsPipe {
            tx,
            rx: Some(rx),
            live: Arc::default(),
        }
    }

    /// A recorder for one source (`producer-0`, `consumer-1`, ...).
    pub fn recorder(&self, source: String) -> Recorder {
        Recorder::new(source, self.tx.clone())
    }

    /// Start the aggregator: .hlog files into `dir`, statistics per phase.
    pub fn spawn_aggregator(
        &mut self,
        dir: &Path,
        clock: &RunClock,
        phases: Vec<PhaseSpan>,
    ) -> Result<Worker<Summary>> {
        let aggregator = Aggregator::new(dir, clock.wall_origin_ms as u64, phases)?;
        let rx = self
            .rx
            .take()
            .ok_or_else(|| anyhow::anyhow!("the aggregator was already started"))?;
        let live = Arc::clone(&self.live);
        Worker::spawn("aggregator", move || aggregator.run(rx, live))
    }
}

/// A producer's settings with everything but its load: acks=all with idempotence, no extra
/// properties, a zero rate from the clock's origin. Callers set the load fields.
pub fn producer_base(
    endpoints: &Endpoints,
    topic: &str,
    schema: &PreparedSchema,
    seed: u64,
    clock: &RunClock,
) -> ProducerConfig {
    ProducerConfig {
        id: 0,
        brokers: endpoints.brokers.clone(),
        topic: topic.to_string(),
        schema: Arc::clone(&schema.registered.schema),
        board: None,
        schema_id: schema.registered.id,
        sizes: schema.sizes,
        payload: crate::load::payload::PayloadPlan {
            model: schema.model,
            ..Default::default()
        },
        seed,
        profile: RateProfile::Constant { rate: 0.0 },
        start: Duration::ZERO,
        start_when_ready: false,
        duration: Duration::ZERO,
        max_records: None,
        acks: Acks::All,
        idempotence: true,
        properties: Vec::new(),
        origin: clock.origin,
        wall_origin_ms: clock.wall_origin_ms,
        timeline: Arc::default(),
        abort_drain: Duration::from_secs(5),
    }
}

/// Start producer `cfg.id` on its own thread, measuring into `pipe` and auditing into `ledger`.
pub fn spawn_producer(
    cfg: ProducerConfig,
    pipe: &MetricsPipe,
    ledger: &Arc<Mutex<Ledger>>,
    cancel: &Cancel,
) -> Result<Worker<ProducerReport>> {
    let name = format!("producer-{}", cfg.id);
    let recorder = pipe.recorder(name.clone());
    let (ledger, cancel) = (Arc::clone(ledger), cancel.clone());
    Worker::spawn(name, move || producer::run(cfg, recorder, ledger, cancel))
}
