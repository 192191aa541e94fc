//! The schema inside the experiment: before the load, the subject's compatibility mode is set
//! and every `[[schema.evolve]]` version is prepared (header added, sizes calibrated, a record
//! generated and decoded); during the load, each is registered at its time and — when the
//! registry accepts it — published to the producers; after the drain, the counts per version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::wiring::PreparedSchema;
use crate::audit::ledger::Ledger;
use crate::audit::versions::{self, ReadTallies, SchemaAudit, SchemaEvent, VersionCounts};
use crate::avro::generate::{self, Generator};
use crate::avro::header::{self, Header, HeaderSlots};
use crate::avro::registry::{self, Registration};
use crate::avro::schema_cache::ClientStats;
use crate::cancel::Cancel;
use crate::cluster::Endpoints;
use crate::load::versions::{SchemaBoard, WriterVersion};
use crate::metrics::{Kind, Recorder};
use crate::scenario::{Scenario, Switch};
use crate::security::registry::Registry;
use crate::security::registry::RequestFailure;

/// A version waiting for its time.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    index: usize,
    /// From the load's start.
    at: Duration,
    label: String,
    json: String,
    version: WriterVersion,
}

/// The run's schema versions: the board producers and consumers share, what is still to be
/// registered, and under which subject.
pub(super) struct Evolution {
    pub board: Arc<SchemaBoard>,
    pending: Vec<Pending>,
    subject: String,
    compatibility: Option<String>,
}

/// Before the load: the board with the first version, the compatibility mode set on the
/// subject, and every later version prepared — so a schema kbench cannot generate records for
/// fails the run before it starts, not mid-load.
pub(super) fn prepare(sc: &Scenario, ep: &Endpoints, first: &PreparedSchema) -> Result<Evolution> {
    let subject = first.registered.subject.clone();
    let version = registry::version_of(&ep.registry, &subject, &first.registered.json)
        .ok()
        .flatten();
    let first_version = WriterVersion {
        id: first.registered.id,
        version,
        label: file_label(&sc.schema.file),
        schema: Arc::clone(&first.registered.schema),
        sizes: first.sizes,
        from: Duration::ZERO,
        spacing: Duration::ZERO,
    };
    let board = SchemaBoard::new(first_version, !sc.schema.evolve.is_empty());
    if let Some(mode) = sc.schema.compatibility {
        registry::set_compatibility(&ep.registry, &subject, mode.as_str())?;
    }
    let pending = (sc.schema.evolve.iter().enumerate())
        .map(|(index, e)| {
            let label = file_label(&e.file);
            let json = header::augment_schema(&e.avsc)?;
            let schema = Arc::new(apache_avro::Schema::parse_str(&json)?);
            let sizes = match sc.schema.record_size {
                Some(target) => generate::calibrate(&schema, sc.seed, target)?,
                None => sc.schema.sizes,
            };
            check_generates(&schema, sizes).with_context(|| format!("schema {label}"))?;
            let spacing = match e.switch {
                Switch::Together => Duration::ZERO,
                Switch::OneByOne(d) => d,
            };
            let version = WriterVersion {
                id: 0,
                version: None,
                label: label.clone(),
                schema,
                sizes,
                from: Duration::ZERO,
                spacing,
            };
            Ok(Pending {
                index,
                at: e.at,
                label,
                json,
                version,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Evolution {
        board,
        pending,
        subject,
        compatibility: sc.schema.compatibility.map(|c| c.as_str().to_string()),
    })
}

fn file_label(p: &std::path::Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}

/// One record of `schema` generated and decoded back with its kbench header.
fn check_generates(schema: &apache_avro::Schema, sizes: generate::Sizes) -> Result<()> {
    let slots = HeaderSlots::new(schema)?;
    let mut g = Generator::new(schema, 1, sizes)?;
    let header = Header {
        producer: 0,
        seq: 0,
        intended_us: 0,
        wall_ms: 0,
    };
    generate::check_stamped(&mut g, schema, &slots, &header)
}

/// What the evolution thread needs from the run.
pub(super) struct EvolveContext {
    pub registry: Registry,
    pub origin: Instant,
    pub load_start: Duration,
    /// Ends the wait for a version's time: the load is over or stopped.
    pub cancel: Cancel,
}

/// What the evolution thread did: the registry's answer to each version, and its requests.
#[derive(Debug, Default)]
pub(super) struct Evolved {
    pub events: Vec<SchemaEvent>,
    pub requests: ClientStats,
}

/// The evolution thread's registry client: its requests timed into the run's histograms and
/// counted by outcome.
struct Client<'a> {
    cx: &'a EvolveContext,
    recorder: Recorder,
    stats: ClientStats,
}

impl Client<'_> {
    /// Send one request, timing it as `kind` when the registry answered.
    fn timed<T>(&mut self, kind: Kind, request: impl FnOnce(&Registry) -> Result<T>) -> Result<T> {
        let sent = Instant::now();
        let answer = request(&self.cx.registry);
        let at = sent.duration_since(self.cx.origin).as_micros() as u64;
        match &answer {
            Ok(_) => {
                self.recorder
                    .record(kind, at, sent.elapsed().as_micros() as u64);
                self.stats.request(Ok(()));
            }
            Err(e) => self.stats.request(Err(RequestFailure::of_anyhow(e))),
        }
        answer
    }
}

impl Evolution {
    /// During the load: register each pending version at its time and publish what the
    /// registry accepts. One event per version (not reached: not in the list).
    pub fn run(
        &self,
        cx: &EvolveContext,
        recorder: Recorder,
        log: &(dyn Fn(&str) + Sync),
    ) -> Evolved {
        let mut client = Client {
            cx,
            recorder,
            stats: ClientStats::new("schema-evolver"),
        };
        let mut events = Vec::new();
        'versions: for p in &self.pending {
            let due = cx.origin + cx.load_start + p.at;
            if !cx
                .cancel
                .sleep(due.saturating_duration_since(Instant::now()))
            {
                break 'versions;
            }
            let event = self.register(p, &mut client);
            log(&event.describe());
            events.push(event);
        }
        client.recorder.finish();
        Evolved {
            events,
            requests: client.stats,
        }
    }

    fn register(&self, p: &Pending, client: &mut Client<'_>) -> SchemaEvent {
        let cx = client.cx;
        let sent = Instant::now();
        let answer = client.timed(Kind::RegistryRegister, |r| {
            registry::register_version(r, &self.subject, &p.json)
        });
        let mut e = SchemaEvent {
            index: p.index,
            label: p.label.clone(),
            scheduled_s: (cx.load_start + p.at).as_secs_f64(),
            at_s: sent.duration_since(cx.origin).as_secs_f64(),
            latency_ms: sent.elapsed().as_secs_f64() * 1e3,
            ..SchemaEvent::default()
        };
        match answer {
            Ok(Registration::Accepted { id, .. }) => {
                let version = client
                    .timed(Kind::RegistryVersion, |r| {
                        registry::version_of(r, &self.subject, &p.json)
                    })
                    .ok()
                    .flatten();
                let v = WriterVersion {
                    id,
                    version,
                    from: sent.duration_since(cx.origin),
                    ..p.version.clone()
                };
                self.board.publish(v);
                (e.outcome, e.id, e.version) = ("registered".into(), Some(id), version);
            }
            Ok(Registration::Rejected { status, message }) => {
                e.outcome = "rejected".into();
                (e.status, e.message) = (Some(status), Some(message));
            }
            Err(err) => (e.outcome, e.message) = ("failed".into(), Some(format!("{err:#}"))),
        }
        e
    }

    /// After the drain: per version, produced / acked / consumed / decoded, and the events.
    pub fn audit(
        &self,
        evolved: Evolved,
        sent: &std::collections::BTreeMap<u32, u64>,
        ledger: &Ledger,
        reads: ReadTallies,
    ) -> SchemaAudit {
        let counts = versions::per_id(&self.board.switches(), sent, ledger);
        let rows = (self.board.accepted().iter())
            .map(|v| {
                let (produced, acked, consumed) = counts.get(&v.id).copied().unwrap_or_default();
                let read = reads.by_id.get(&v.id).copied().unwrap_or_default();
                VersionCounts {
                    id: v.id,
                    version: v.version,
                    label: v.label.clone(),
                    produced,
                    acked,
                    consumed,
                    read: read.read,
                    decoded: read.decoded,
                }
            })
            .collect();
        SchemaAudit {
            compatibility: self.compatibility.clone(),
            full_decode: self.board.full_decode(),
            evolver: (!self.pending.is_empty()).then_some(evolved.requests),
            events: evolved.events,
            versions: rows,
            mismatched: reads.mismatched,
            undecodable: reads.undecodable,
            undecodable_examples: reads.examples,
            lookup_retries: reads.lookup_retries,
            lookup_stall_s: reads.lookup_stall_s,
            request_latency: Default::default(),
        }
    }
}
