//! `[[consumer.cold]]` at run time: each cold group is a consumer in a group of its own that
//! waits for its time, then starts with no offsets (it reads from the beginning) and an empty
//! schema cache (every writer schema comes from the registry, as for a service deployed
//! mid-incident). What it reads goes to a ledger of its own, set against the run's acks at the
//! drain. Its reads stay out of the run's consumed counts and end-to-end latency (they measure
//! its backlog, not the cluster); its registry requests are timed like every client's.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::wiring::{MetricsPipe, RunClock};
use super::workers::Worker;
use super::LoadWindow;
use crate::audit::cold::ColdGroupReport;
use crate::audit::ledger::Ledger;
use crate::cancel::Cancel;
use crate::cluster::Endpoints;
use crate::load::consumer::{self, ConsumerConfig, ConsumerReport};
use crate::load::versions::SchemaBoard;
use crate::metrics::Recorder;
use crate::scenario::{ColdGroup, Scenario};

/// One cold group, waiting or reading.
struct Cold {
    spec: ColdGroup,
    planned_s: f64,
    ledger: Arc<Mutex<Ledger>>,
    started_s: Arc<OnceLock<f64>>,
    worker: Worker<Option<ConsumerReport>>,
}

/// Every cold group of the run; stopped when dropped.
pub(super) struct ColdGroups {
    groups: Vec<Cold>,
    cancel: Cancel,
}

/// Start a waiting thread for each `[[consumer.cold]]` group.
pub(super) fn start(
    sc: &Scenario,
    endpoints: &Endpoints,
    clock: &RunClock,
    window: &LoadWindow,
    pipe: &MetricsPipe,
    board: &Arc<SchemaBoard>,
    cancel: &Cancel,
) -> Result<ColdGroups> {
    let cancel = cancel.child();
    let mut groups = Vec::new();
    for (i, spec) in sc.consumer.cold.iter().enumerate() {
        let label = format!("cold-{i}");
        let cfg = ConsumerConfig {
            id: i as u32,
            label: label.clone(),
            brokers: endpoints.brokers.clone(),
            topic: sc.topic.name.clone(),
            group: spec.group.clone(),
            properties: sc.consumer.properties.clone(),
            registry: endpoints.registry.clone(),
            origin: clock.origin,
            board: Some(Arc::clone(board)),
            counts_in_run: false,
        };
        let due = clock.origin + window.start + spec.at;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let started_s = Arc::new(OnceLock::new());
        let reader = Reader {
            recorder: pipe.recorder(label.clone()),
            cfg,
            due,
            ledger: Arc::clone(&ledger),
            started_s: Arc::clone(&started_s),
            cancel: cancel.clone(),
        };
        groups.push(Cold {
            spec: spec.clone(),
            planned_s: (window.start + spec.at).as_secs_f64(),
            ledger,
            started_s,
            worker: Worker::spawn(label, move || reader.run())?,
        });
    }
    Ok(ColdGroups { groups, cancel })
}

/// What a cold group's thread holds.
struct Reader {
    cfg: ConsumerConfig,
    recorder: Recorder,
    due: Instant,
    ledger: Arc<Mutex<Ledger>>,
    started_s: Arc<OnceLock<f64>>,
    cancel: Cancel,
}

impl Reader {
    /// Wait for the group's time, then read until stopped; `None` if stopped first.
    fn run(self) -> Result<Option<ConsumerReport>> {
        while Instant::now() < self.due {
            if self.cancel.is_cancelled() {
                return Ok(None);
            }
            std::thread::sleep((self.due - Instant::now()).min(Duration::from_millis(50)));
        }
        let _ = self.started_s.set(self.cfg.origin.elapsed().as_secs_f64());
        let assigned = Arc::new(AtomicUsize::new(0));
        consumer::run(self.cfg, self.recorder, self.ledger, self.cancel, assigned).map(Some)
    }
}

impl ColdGroups {
    /// Records `run` (the run's ledger) holds as acknowledged that a started cold group has
    /// not read yet.
    pub(super) fn unread(&self, run: &Ledger) -> u64 {
        (self.groups.iter())
            .filter(|g| g.started_s.get().is_some())
            .map(|g| run.unread_by(&g.ledger.lock().unwrap_or_else(|e| e.into_inner())))
            .sum()
    }

    /// Stop every group and say what each read, against the run's acks.
    pub(super) fn stop_and_report(mut self, run: &Ledger) -> Vec<ColdGroupReport> {
        self.cancel.cancel();
        std::mem::take(&mut self.groups)
            .into_iter()
            .map(|g| report(g, run))
            .collect()
    }
}

fn report(g: Cold, run: &Ledger) -> ColdGroupReport {
    let outcome = g.worker.join();
    let unread = run.unread_by(&g.ledger.lock().unwrap_or_else(|e| e.into_inner()));
    let mut r = ColdGroupReport {
        group: g.spec.group,
        planned_s: g.planned_s,
        started_s: g.started_s.get().copied(),
        unread,
        ..ColdGroupReport::default()
    };
    match outcome {
        Ok(Some(c)) => {
            r.caught_up_s = c.caught_up_s;
            r.consumed = c.consumed;
            r.undecodable = c.undecodable;
            r.lookup_retries = c.tallies.lookup_retries;
            r.lookup_stall_s = c.tallies.lookup_stall_s;
            r.registry = c.registry;
            r.errors = c.errors;
        }
        Ok(None) => r
            .errors
            .push("the run ended before the group's time".into()),
        Err(e) => r.errors.push(format!("{e:#}")),
    }
    r
}

impl Drop for ColdGroups {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
