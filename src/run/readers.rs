//! Step 3 and step 5 of a run, the two ends of reading the topic back: the run's consumer
//! group, started and assigned every partition before any record is sent; and the drain, which
//! reads until every acknowledged record was consumed (by the run's group and every cold group)
//! or its time is up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::cold::ColdGroups;
use super::cutoff::Cutoff;
use super::drive::Driven;
use super::start::StartedCluster;
use super::wiring::{MetricsPipe, RunClock};
use super::workers::Worker;
use super::LoadWindow;
use crate::audit::cold::ColdGroupReport;
use crate::audit::ledger::Ledger;
use crate::audit::versions::ReadTallies;
use crate::cancel::Cancel;
use crate::cluster::Endpoints;
use crate::load::consumer::{self, ConsumerReport};
use crate::load::versions::SchemaBoard;
use crate::progress::Progress;
use crate::report::results::ConsumerInfo;
use crate::scenario::Scenario;

/// The consumer group reading the run's topic back.
pub(super) struct ConsumerGroup {
    workers: Vec<Worker<ConsumerReport>>,
    /// Partitions each consumer holds right now.
    assigned: Vec<Arc<AtomicUsize>>,
    cancel: Cancel,
}

/// What the consumers report into: the audit ledger, and the schema versions they check ids
/// against.
pub(super) struct Readers<'a> {
    pub ledger: &'a Arc<Mutex<Ledger>>,
    pub board: &'a Arc<SchemaBoard>,
}

/// Step 3: the consumers, started before any record is sent.
pub(super) fn start_consumers(
    sc: &Scenario,
    endpoints: &Endpoints,
    clock: &RunClock,
    pipe: &MetricsPipe,
    readers: Readers<'_>,
    cancel: &Cancel,
) -> Result<ConsumerGroup> {
    let mut group = ConsumerGroup {
        workers: Vec::new(),
        assigned: Vec::new(),
        cancel: cancel.child(),
    };
    for id in 0..sc.consumer.count {
        let cfg = consumer::ConsumerConfig {
            id,
            label: format!("consumer-{id}"),
            brokers: endpoints.brokers.clone(),
            topic: sc.topic.name.clone(),
            group: sc.consumer.group.clone(),
            properties: sc.consumer.properties.clone(),
            registry: endpoints.registry.clone(),
            origin: clock.origin,
            board: Some(Arc::clone(readers.board)),
            counts_in_run: true,
        };
        let assigned = Arc::new(AtomicUsize::new(0));
        group.assigned.push(Arc::clone(&assigned));
        let recorder = pipe.recorder(format!("consumer-{id}"));
        let (ledger, cancel) = (Arc::clone(readers.ledger), group.cancel.clone());
        group
            .workers
            .push(Worker::spawn(format!("consumer-{id}"), move || {
                consumer::run(cfg, recorder, ledger, cancel, assigned)
            })?);
    }
    Ok(group)
}

impl ConsumerGroup {
    /// Wait until the group holds every partition, so no early record is read late.
    pub(super) fn wait_for_assignment(&self, partitions: i32) -> Result<()> {
        if self.workers.is_empty() {
            // A shard of a distributed load reads nothing.
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let held = || -> usize {
            self.assigned
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .sum()
        };
        while held() < partitions as usize {
            crate::signals::check()?;
            if Instant::now() > deadline {
                bail!("consumers were not assigned all {partitions} partitions within 60s");
            }
            if self.workers.iter().any(Worker::is_finished) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn all_finished(&self) -> bool {
        self.workers.iter().all(Worker::is_finished)
    }

    /// Stop every consumer and collect the reports of those that ended well, with the first
    /// error (a panic is an error of the run).
    fn stop_and_join(self) -> (Vec<ConsumerReport>, Option<anyhow::Error>) {
        self.cancel.cancel();
        let mut failure = None;
        let reports = (self.workers.into_iter())
            .filter_map(|w| w.join().map_err(|e| failure.get_or_insert(e)).ok())
            .collect();
        (reports, failure)
    }
}

/// What the drain left: how long it took and each consumer's report.
pub(super) struct Drained {
    pub seconds: f64,
    pub consumers: Vec<ConsumerInfo>,
    /// Every consumer's reads by schema id, merged.
    pub tallies: ReadTallies,
    /// What each cold group read.
    pub cold: Vec<ColdGroupReport>,
}

/// Step 5, reading back what was acknowledged, with what it looks at.
pub(super) struct Drain<'a> {
    pub sc: &'a Scenario,
    pub ledger: &'a Arc<Mutex<Ledger>>,
    pub progress: &'a Progress,
    pub clock: &'a RunClock,
    pub window: &'a LoadWindow,
}

impl Drain<'_> {
    /// Read until every acknowledged record was consumed, for up to `drain_timeout` — or, for a
    /// run cut short, `abort_drain` (nothing after a second signal) — then stop the consumers.
    /// A cluster process dying outside the plan meanwhile cuts the run.
    pub(super) fn run(
        &self,
        consumers: ConsumerGroup,
        cold: ColdGroups,
        driven: &Driven,
        cluster: &mut StartedCluster,
        cutoff: &mut Cutoff,
    ) -> Drained {
        self.progress.note(if cutoff.is_cut() {
            "load stopped early; draining consumers (bounded by run.abort_drain; Ctrl-C again skips)"
        } else {
            "producers done; draining consumers"
        });
        let t0 = Instant::now();
        loop {
            cutoff.poll_signal();
            if !cutoff.is_cut() {
                if let Some(m) = driven.watch.outside_plan(cluster.guard.backend()) {
                    cutoff.error(anyhow::anyhow!(m.to_string()), self.progress);
                }
            }
            let unread = {
                let ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
                ledger.verdict().lost + cold.unread(&ledger)
            };
            let left = cutoff.left(self.sc.drain_timeout, t0);
            if unread == 0 || left.is_zero() || consumers.all_finished() {
                break;
            }
            self.progress
                .update(self.window.elapsed(self.clock), &driven.live);
            std::thread::sleep(left.min(Duration::from_millis(200)));
        }
        let seconds = t0.elapsed().as_secs_f64();
        let (reports, failure) = consumers.stop_and_join();
        if let Some(e) = failure {
            cutoff.error(e, self.progress);
        }
        let cold = {
            let ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            cold.stop_and_report(&ledger)
        };
        let mut tallies = ReadTallies::default();
        for r in &reports {
            tallies.merge(r.tallies.clone());
        }
        Drained {
            seconds,
            consumers: reports.into_iter().map(consumer_info).collect(),
            tallies,
            cold,
        }
    }
}

fn consumer_info(c: ConsumerReport) -> ConsumerInfo {
    ConsumerInfo {
        id: c.id,
        consumed: c.consumed,
        undecodable: c.undecodable,
        errors: c.errors,
        registry: c.registry,
    }
}
