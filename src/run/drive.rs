//! Step 4 of a run, and what follows from it: producers on their schedule while the fault plan
//! fires on the backend and a poller watches the topic's metadata; after the drain, the cluster
//! given time to heal and every fault analysed from what was observed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::evolve::{Evolution, EvolveContext, Evolved};
use super::remote::{self, Remote};
use super::wiring::{self, MetricsPipe, PreparedSchema, RunClock};
use super::workers::{joined, Worker};
use super::{LoadWindow, StartedCluster};
use crate::audit::ledger::Ledger;
use crate::cancel::Cancel;
use crate::cluster::watch::Watch;
use crate::cluster::ClusterBackend;
use crate::cluster::Endpoints;
use crate::faults::analysis;
use crate::faults::executor::{self, ExecContext};
use crate::faults::observe::{self, AckTimeline, MetadataTimeline};
use crate::faults::plan::Target;
use crate::faults::registry_probe::{self, Probe, RegistryAvailability};
use crate::faults::report::FaultReport;
use crate::kafka::admin;
use crate::kafka::Brokers;
use crate::load::producer::{ProducerConfig, ProducerReport};
use crate::metrics::{Live, Summary};
use crate::progress::Progress;
use crate::report::results::ProducerInfo;
use crate::scenario::{ClusterSpec, ExternalFaults, Scenario};

/// What the load step needs from the run.
pub(super) struct DriveInputs<'a> {
    pub sc: &'a Scenario,
    pub backend: &'a mut dyn ClusterBackend,
    pub endpoints: &'a Endpoints,
    pub schema: &'a PreparedSchema,
    pub clock: &'a RunClock,
    pub window: &'a LoadWindow,
    /// Dropped once the producers hold their recorders, so the aggregator can finish.
    pub pipe: MetricsPipe,
    pub ledger: &'a Arc<Mutex<Ledger>>,
    pub progress: &'a Progress,
    /// The schema versions producers write with, and those still to be registered.
    pub evolution: &'a Evolution,
    /// The run's root: the load and the fault plan hang on branches the first signal cancels,
    /// the observers on branches that outlive the load.
    pub cancel: &'a Cancel,
    /// For the coordinator of a distributed load: the engine whose shards are the producers.
    pub remote: Option<&'a mut Remote>,
}

/// What watched the faults, kept until the cluster has healed.
pub(super) struct FaultObservers {
    reports: Vec<FaultReport>,
    acks: Arc<Mutex<AckTimeline>>,
    poller: Option<(Worker<MetadataTimeline>, Cancel)>,
    /// The registry's availability probe, for runs that fault the registry.
    registry_probe: Option<ProbeWorker>,
}

impl FaultObservers {
    /// The acks timeline, closed at `end` (from the origin), written to `dir` for the
    /// coordinator of a distributed load to join with its other shards'.
    pub(super) fn write_acks(&self, dir: &std::path::Path, end: Duration) -> Result<()> {
        let mut acks = self.acks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        acks.finish(end.as_micros() as u64);
        acks.write_file(dir)
    }
}

/// What the load step leaves.
pub(super) struct Driven {
    pub producers: Vec<ProducerInfo>,
    pub observers: FaultObservers,
    /// The live figures, for the progress line during the drain.
    pub live: Arc<Mutex<Live>>,
    /// What the fault plan left down, to keep watching the cluster after the load.
    pub watch: Watch,
    /// What ended the load early (a producer's error, a process dying outside the plan), and
    /// when the load was stopped for it.
    pub failure: Option<(anyhow::Error, Instant)>,
    /// What the registry said to each `[[schema.evolve]]` version registered during the load.
    pub evolved: Evolved,
}

/// Producers still running, the reports of those that ended, and the first error among them.
struct Fleet<'a> {
    running: Vec<Worker<ProducerReport>>,
    done: Vec<ProducerReport>,
    failure: Option<anyhow::Error>,
    /// A distributed load's shards, while any runs.
    remote: Option<&'a mut Remote>,
    remote_running: bool,
}

impl Fleet<'_> {
    /// Join every producer that has ended, and see whether the shards still run; the first
    /// error is kept.
    fn reap(&mut self) {
        if let Some(r) = self.remote.as_deref_mut() {
            match r.running() {
                Ok(running) => self.remote_running = running,
                Err(e) => {
                    self.remote_running = false;
                    self.failure.get_or_insert(e);
                }
            }
        }
        let (ended, running) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(Worker::is_finished);
        self.running = running;
        for w in ended {
            match w.join() {
                Ok(r) => self.done.push(r),
                Err(e) => {
                    self.failure.get_or_insert(e);
                }
            }
        }
    }

    /// Reap producers until every one has ended; at the first failure, or when the fault
    /// executor ended early (a process died outside the plan), tell them all to stop. A signal
    /// they see themselves; it is said once, with what comes next. When they were told to stop.
    fn run_out(
        &mut self,
        load: &Cancel,
        executor_ended: impl Fn() -> bool,
        progress: &Progress,
        (elapsed, drain): (impl Fn() -> Duration, Duration),
        live: &Arc<Mutex<Live>>,
    ) -> Option<Instant> {
        let mut stopped_at = None;
        let mut signal_said = false;
        while !self.running.is_empty() || self.remote_running {
            self.reap();
            if !signal_said && crate::signals::requested() {
                signal_said = true;
                self.remote.iter_mut().for_each(|r| r.stop());
                let name = crate::signals::first_name().unwrap_or("a signal");
                progress.note(&format!(
                    "{name}: stopping the load, then draining for at most {} (a second signal \
                     skips the drain, a third exits at once)",
                    crate::duration::display(drain)
                ));
            }
            if (self.failure.is_some() || executor_ended()) && stopped_at.is_none() {
                load.cancel();
                self.remote.iter_mut().for_each(|r| r.stop());
                stopped_at = Some(Instant::now());
                if let Some(e) = &self.failure {
                    progress.note(&format!("stopping the load: {e:#}"));
                }
            }
            progress.update(elapsed(), live);
            std::thread::sleep(Duration::from_millis(250));
        }
        stopped_at
    }
}

impl Fleet<'_> {
    /// Every producer that ran: this run's own, and a distributed load's shards', whose acks
    /// and ack timelines are taken into `ledger` and `acks` now (their load began at `start`).
    fn producers(
        &self,
        ledger: &Mutex<Ledger>,
        acks: &Mutex<AckTimeline>,
        start: Duration,
        log: &dyn Fn(&str),
    ) -> Vec<ProducerInfo> {
        let mut producers: Vec<ProducerInfo> = self.done.iter().map(producer_info).collect();
        if let Some(r) = &self.remote {
            producers.extend(remote::take_in(
                r.ends(),
                ledger,
                acks,
                start.as_secs(),
                log,
            ));
        }
        producers
    }
}

/// What the fault executor works with: the run's clock, the brokers, the operator's commands
/// of an external cluster.
fn exec_context<'a>(
    sc: &'a Scenario,
    endpoints: &'a Endpoints,
    (origin, load_start): (Instant, Duration),
    cancel: &'a Cancel,
    log: &'a (dyn Fn(&str) + Sync),
) -> ExecContext<'a> {
    ExecContext {
        origin,
        load_start,
        brokers: &endpoints.brokers,
        commands: match &sc.cluster {
            ClusterSpec::External {
                faults: ExternalFaults::Commands(c),
                ..
            } => Some(c),
            _ => None,
        },
        topic: &sc.topic.name,
        seed: sc.seed,
        cancel,
        log,
    }
}

/// Run every producer to the end of its schedule while the fault plan fires. A producer that
/// fails, or a cluster process dying outside the plan, stops the others (`Driven::failure`);
/// a signal stops them too. Only failing to start a producer is an error here.
pub(super) fn producers_and_faults(mut i: DriveInputs<'_>) -> Result<Driven> {
    let acks = Arc::new(Mutex::new(AckTimeline::default()));
    let load = i.cancel.child_on_signal();
    let producers = spawn_producers(&i, &acks, &load)?;
    let remote = launch_shards(i.remote.take(), &i)?;
    let live = Arc::clone(&i.pipe.live);
    let evolver_recorder = i.pipe.recorder("schema-evolver".into());
    drop(i.pipe);
    i.progress
        .begin_load(i.window.total, i.window.target_total(i.sc));
    let poller = start_metadata_poller(i.sc, i.endpoints, i.clock, i.cancel)?;
    let registry_probe = start_registry_probe(i.sc, i.endpoints, i.clock, i.cancel)?;
    // The fault plan and the schema evolution run until the producers have all ended.
    let faults = i.cancel.child_on_signal();
    let (progress, window, clock) = (i.progress, i.window, i.clock);
    let log = |m: &str| progress.note(m);
    let cx = exec_context(
        i.sc,
        i.endpoints,
        (clock.origin, window.start),
        &faults,
        &log,
    );
    let mut fleet = Fleet {
        running: producers,
        done: Vec::new(),
        failure: None,
        remote_running: remote.is_some(),
        remote,
    };
    let ecx = EvolveContext {
        registry: i.endpoints.registry.clone(),
        origin: i.clock.origin,
        load_start: i.window.start,
        cancel: faults.clone(),
    };
    let (executed, evolved, stopped_at) = std::thread::scope(|s| {
        let exec = s.spawn(|| executor::execute(&i.sc.faults, i.backend, &cx));
        let ecx = &ecx;
        let evolver = s.spawn(move || {
            i.evolution
                .run(ecx, evolver_recorder, &|m: &str| progress.note(m))
        });
        // The executor only ends early when a process died outside the plan (or on a signal,
        // which the producers see themselves).
        let elapsed = || window.elapsed(clock);
        let pace = (elapsed, i.sc.abort_drain);
        let stopped_at = fleet.run_out(&load, || exec.is_finished(), progress, pace, &live);
        faults.cancel();
        let events = evolver.join().unwrap_or_default();
        (
            joined("the fault executor", exec.join()),
            events,
            stopped_at,
        )
    });
    let producers = fleet.producers(i.ledger, &acks, window.start, &log);
    let (executed, failure) = first_failure(executed, fleet.failure, stopped_at);
    let (reports, watch) = executed.map_or_else(Default::default, |x| (x.reports, x.watch));
    Ok(Driven {
        producers,
        observers: FaultObservers {
            reports,
            acks,
            poller,
            registry_probe,
        },
        live,
        watch,
        failure,
        evolved,
    })
}

/// A distributed load's shards, launched on their engine to start at the run's load start;
/// none for a run whose producers are its own.
fn launch_shards<'a>(
    remote: Option<&'a mut Remote>,
    i: &DriveInputs<'_>,
) -> Result<Option<&'a mut Remote>> {
    let Some(r) = remote else { return Ok(None) };
    let origin = i.clock.wall_origin_ms as u64;
    let barrier = origin + i.window.start.as_millis() as u64;
    let job = r.launch(i.endpoints, (origin, barrier))?;
    i.progress.note(&format!(
        "{} shards launched on {}, their load starting at {} ms since the epoch; they write under {} \
         (the line below counts what this coordinator reads: the shards' sent and acked come with \
         the merge)",
        job.shards,
        r.engine_name(),
        barrier,
        job.out.display()
    ));
    Ok(Some(r))
}

/// Every producer of the scenario, started; none for a coordinator, whose shards produce.
fn spawn_producers(
    i: &DriveInputs<'_>,
    acks: &Arc<Mutex<AckTimeline>>,
    load: &Cancel,
) -> Result<Vec<Worker<ProducerReport>>> {
    if i.remote.is_some() {
        return Ok(Vec::new());
    }
    let base = ProducerConfig {
        board: Some(Arc::clone(&i.evolution.board)),
        ..wiring::producer_base(i.endpoints, &i.sc.topic.name, i.schema, i.sc.seed, i.clock)
    };
    (0..i.sc.producer.count)
        .map(|id| {
            let cfg = producer_config(i.sc, i.window, &base, i.window.first_id + id, acks);
            wiring::spawn_producer(cfg, &i.pipe, i.ledger, load)
        })
        .collect()
}

/// What stopped the load, and when: the executor's report of a process that died outside the
/// plan, else a producer's error.
fn first_failure(
    executed: Result<executor::Executed>,
    producer_failure: Option<anyhow::Error>,
    stopped_at: Option<Instant>,
) -> (Option<executor::Executed>, Option<(anyhow::Error, Instant)>) {
    let (executed, failure) = match executed {
        Ok(x) => {
            let broken = x.broken.clone().map(anyhow::Error::msg);
            (Some(x), broken.or(producer_failure))
        }
        Err(e) => (None, Some(e)),
    };
    let failure = failure.map(|e| (e, stopped_at.unwrap_or_else(Instant::now)));
    (executed, failure)
}

/// Producer `id`'s settings: its share of the rate over the run's load window.
fn producer_config(
    sc: &Scenario,
    window: &LoadWindow,
    base: &ProducerConfig,
    id: u32,
    acks: &Arc<Mutex<AckTimeline>>,
) -> ProducerConfig {
    ProducerConfig {
        id,
        payload: crate::load::payload::PayloadPlan {
            spec: sc.payload.clone(),
            model: base.payload.model,
        },
        profile: window.share.clone(),
        start: window.start,
        duration: window.total,
        acks: sc.producer.acks,
        idempotence: sc.producer.idempotence,
        properties: sc.producer.properties.clone(),
        timeline: Arc::clone(acks),
        abort_drain: sc.abort_drain,
        ..base.clone()
    }
}

fn producer_info(p: &ProducerReport) -> ProducerInfo {
    ProducerInfo {
        id: p.id,
        sent: p.sent,
        saturated: p.saturated,
        max_lag_us: p.lag.max_lag.as_micros() as u64,
        behind_count: p.lag.behind_count,
        queue_full_s: p.queue_full.as_secs_f64(),
        bytes: p.bytes,
        wire: p.wire,
        unresolved: p.unresolved,
        first_send_us: p.first_send.map(|d| d.as_micros() as u64),
    }
}

/// Leaders, ISRs and live brokers every 100 ms, for runs with faults.
fn start_metadata_poller(
    sc: &Scenario,
    endpoints: &Endpoints,
    clock: &RunClock,
    run: &Cancel,
) -> Result<Option<(Worker<MetadataTimeline>, Cancel)>> {
    if sc.faults.is_empty() {
        return Ok(None);
    }
    let cancel = run.child();
    let poll_cancel = cancel.clone();
    let (brokers, topic, origin) = (
        endpoints.brokers.clone(),
        sc.topic.name.clone(),
        clock.origin,
    );
    let worker = Worker::spawn("metadata-poller", move || {
        let period = Duration::from_millis(100);
        Ok(observe::poll_metadata(
            &brokers,
            &topic,
            origin,
            period,
            &poll_cancel,
        ))
    })?;
    Ok(Some((worker, cancel)))
}

/// The registry probe's thread and the branch that stops it.
type ProbeWorker = (Worker<Vec<Probe>>, Cancel);

/// `GET /subjects` every 200 ms, for runs that fault the registry.
fn start_registry_probe(
    sc: &Scenario,
    endpoints: &Endpoints,
    clock: &RunClock,
    run: &Cancel,
) -> Result<Option<ProbeWorker>> {
    if !sc.faults.iter().any(|f| f.target == Target::Registry) {
        return Ok(None);
    }
    let cancel = run.child();
    let (registry, origin, probe) = (endpoints.registry.clone(), clock.origin, cancel.clone());
    let worker = Worker::spawn("registry-probe", move || {
        Ok(registry_probe::probe_until(&registry, origin, &probe))
    })?;
    Ok(Some((worker, cancel)))
}

/// Wait (up to `timeout`) for the registry to answer again, then stop its probe and summarise
/// what it saw, so an outage that reaches past the load is still closed and measured.
fn finish_registry_probe(
    probe: Option<ProbeWorker>,
    registry: &crate::cluster::Registry,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<RegistryAvailability>> {
    let Some((worker, cancel)) = probe else {
        return Ok(None);
    };
    let answers = || registry.answers(Duration::from_secs(1));
    if !answers() {
        progress.note("waiting for the registry to answer again");
        if !admin::wait_until(timeout, answers) {
            progress.note("the registry did not answer again before the end of the drain");
        }
    }
    // One more probe period, so the probe itself sees it answer.
    std::thread::sleep(registry_probe::PROBE_PERIOD * 2);
    cancel.cancel();
    Ok(Some(RegistryAvailability::of(&worker.join()?)))
}

/// Give the cluster up to `settle_for` to heal, stop the poller, and measure every fault.
pub(super) fn analyse_faults(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    observers: FaultObservers,
    summary: &Summary,
    window: &LoadWindow,
    settle_for: Duration,
    progress: &Progress,
) -> Result<(Vec<FaultReport>, Option<RegistryAvailability>)> {
    let FaultObservers {
        mut reports,
        acks,
        poller,
        registry_probe,
    } = observers;
    let Some((poller, cancel)) = poller else {
        return Ok((reports, None));
    };
    let nodes = cluster.guard.backend().node_ids().len();
    let (brokers, topic) = (&cluster.endpoints.brokers, &sc.topic.name);
    let t0 = Instant::now();
    settle(brokers, topic, nodes, settle_for, progress);
    let registry = &cluster.endpoints.registry;
    let left = settle_for.saturating_sub(t0.elapsed());
    let availability = finish_registry_probe(registry_probe, registry, left, progress)?;
    cancel.cancel();
    let metadata = poller.join()?;
    let mut acks = std::mem::take(&mut *acks.lock().unwrap_or_else(|e| e.into_inner()));
    let end = window.start + window.total;
    acks.finish(end.as_micros() as u64);
    analysis::analyze(
        &mut reports,
        &analysis::Observed {
            acks: &acks,
            metadata: &metadata,
            series: &summary.series,
            phases: &summary.phases,
            load_start_s: window.start.as_secs_f64(),
            load_end_s: end.as_secs_f64(),
        },
    );
    if let Some(a) = &availability {
        registry_outages(sc, &mut reports, a);
    }
    Ok((reports, availability))
}

/// Give each fired registry fault that takes the registry down the outage it caused.
fn registry_outages(sc: &Scenario, reports: &mut [FaultReport], a: &RegistryAvailability) {
    for (f, r) in sc.faults.iter().zip(reports.iter_mut()) {
        if f.target == Target::Registry && f.action.takes_down() && r.fired_s > 0.0 {
            r.registry_outage = a.outage_after(r.fired_s).cloned();
        }
    }
}

/// After a fault run, wait (up to `timeout`) until every broker is registered and every replica
/// is back in sync, so recovery times are measured even when they reach past the load.
fn settle(brokers: &Brokers, topic: &str, nodes: usize, timeout: Duration, progress: &Progress) {
    let Ok(md) = crate::kafka::metadata::MetadataClient::new(brokers) else {
        return;
    };
    let healed = || {
        md.snapshot(topic, Duration::from_secs(1))
            .is_ok_and(|(brokers, parts)| {
                brokers.len() >= nodes
                    && !parts.is_empty()
                    && parts.iter().all(|p| !p.under_replicated())
            })
    };
    if healed() {
        return;
    }
    progress.note("waiting for the cluster to heal (all brokers registered, all replicas in sync)");
    let t0 = Instant::now();
    if admin::wait_until(timeout, healed) {
        progress.note(&format!(
            "cluster healed after {:.1}s more",
            t0.elapsed().as_secs_f64()
        ));
    } else {
        progress.note(&format!(
            "the cluster had not healed {}s after the load ended",
            timeout.as_secs()
        ));
    }
}
