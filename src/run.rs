//! One scenario run, end to end, in the only order that gives honest numbers — and the only
//! place that knows that order. [`run`] reads as its steps: cluster up, topic and schema,
//! consumers, producers with the fault plan, drain, audit, results, cluster down (the last step
//! also on error and Ctrl-C, through the cluster guard). Everything else is a part it calls.

mod cutoff;
mod drive;
mod evolve;
mod start;
pub use start::KeptCluster;
pub mod wiring;
pub mod workers;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::audit::ledger::Ledger;
use crate::audit::versions::ReadTallies;
use crate::kafka::admin;
use crate::load::consumer::{self, ConsumerReport};
use crate::load::schedule::RateProfile;
use crate::load::versions::SchemaBoard;
use crate::metrics::Phase;
use crate::progress::Progress;
use crate::report::results::{self, ConsumerInfo, Environment, Results, SchemaInfo};
use crate::scenario::Scenario;
use cutoff::Cutoff;
use drive::{DriveInputs, Driven};
use start::{start_cluster, StartedCluster};
use wiring::{Endpoints, MetricsPipe, PreparedSchema, RunClock};
use workers::Worker;

/// Options from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parent of the report directory.
    pub reports_dir: PathBuf,
    /// Leave the cluster running after the run (`--keep-cluster`).
    pub keep_cluster: bool,
}

/// What a finished run produced.
pub struct Outcome {
    /// The run's report directory.
    pub dir: PathBuf,
    /// What was written to its `results.json`.
    pub results: Results,
    /// The cluster left running (`--keep-cluster`), and how to reach and stop it.
    pub kept: Option<start::KeptCluster>,
}

/// Run `sc` and write its results. The cluster is torn down before this returns. A run cut
/// short once its load has begun (signal, or error) still writes what it measured, marked
/// `aborted`; before that, an error or a signal is returned as such.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<Outcome> {
    let progress = Progress::new();
    let dir = report_dir(&opts.reports_dir, &sc.name)?;
    let started_at = crate::timefmt::now_rfc3339();
    let mut cluster = start_cluster(sc, &progress, opts.keep_cluster)?;
    let _topic_lock = crate::kafka::topic_lock::acquire(
        &crate::paths::kbench_home()?.join("locks"),
        &cluster.endpoints.brokers.bootstrap,
        &sc.topic.name,
    )?;
    let schema = prepare_topic_and_schema(sc, &cluster.endpoints, &progress)?;
    let evolution = evolve::prepare(sc, &cluster.endpoints, &schema)?;
    let clock = RunClock::start();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut pipe = MetricsPipe::new();
    let readers = Readers {
        ledger: &ledger,
        board: &evolution.board,
    };
    let consumers = start_consumers(sc, &cluster.endpoints, &clock, &pipe, readers)?;
    consumers.wait_for_assignment(sc.topic.partitions)?;
    let window = LoadWindow::plan(sc, clock.origin.elapsed());
    let aggregator = pipe.spawn_aggregator(&dir, &clock, window.phases(sc))?;
    let mut cutoff = Cutoff::new(sc.abort_drain);
    let mut driven = drive::producers_and_faults(DriveInputs {
        sc,
        backend: cluster.guard.backend(),
        endpoints: &cluster.endpoints,
        schema: &schema,
        clock: &clock,
        window: &window,
        pipe,
        ledger: &ledger,
        progress: &progress,
        evolution: &evolution,
    })?;
    // An error stopped the load before any signal seen after it.
    if let Some((e, at)) = driven.failure.take() {
        cutoff.error_since(e, at, &progress);
    }
    cutoff.poll_signal();
    let drain = Drain {
        sc,
        ledger: &ledger,
        progress: &progress,
        clock: &clock,
        window: &window,
    };
    let drained = drain.run(consumers, &driven, &mut cluster, &mut cutoff);
    let summary = cutoff.keep(aggregator.join(), &progress);
    progress.finish();
    let summary = summary.unwrap_or_default();
    let settle_for = cutoff.left(sc.drain_timeout, Instant::now());
    let observers = driven.observers;
    let faults = drive::analyse_faults(
        sc,
        &mut cluster,
        observers,
        &summary,
        &window,
        settle_for,
        &progress,
    );
    let (faults, registry) = cutoff.keep(faults, &progress).unwrap_or_default();
    let environment = environment(sc, &mut cluster, started_at, drained.seconds);
    let schemas = {
        let sent = driven.producers.iter().map(|p| (p.id, p.sent)).collect();
        let ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
        let events = std::mem::take(&mut driven.schema_events);
        evolution.audit(events, &sent, &ledger, drained.tallies)
    };
    let security = cluster.endpoints.security();
    let (teardown, kept) = cluster.finish(opts.keep_cluster, &sc.topic.name);
    let mut results = results::build(results::Inputs {
        scenario: sc,
        environment,
        schema: schema_info(&schema),
        target_total: window.target_total(sc),
        load_start_s: window.start.as_secs_f64(),
        faults,
        registry,
        schemas: Some(schemas),
        summary,
        verdict: ledger.lock().unwrap_or_else(|e| e.into_inner()).verdict(),
        producers: driven.producers,
        consumers: drained.consumers,
        aborted: cutoff.aborted(&clock, window.start),
    });
    // Secrets come only as ${VAR} references; should one stand in the file anyway (a comment),
    // the echoed scenario still must not carry it.
    results.scenario.text = security.redact(&results.scenario.text);
    write_report(&dir, &results)?;
    teardown.context("tearing the cluster down")?;
    Ok(Outcome { dir, results, kept })
}

fn report_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let dir = parent.join(format!("{name}-{}", crate::timefmt::utc_compact(secs)));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create report directory {}", dir.display()))?;
    Ok(dir)
}

/// Step 2: the topic created, the schema registered and its value sizes calibrated.
fn prepare_topic_and_schema(
    sc: &Scenario,
    endpoints: &Endpoints,
    progress: &Progress,
) -> Result<PreparedSchema> {
    admin::create_topic(&endpoints.brokers, &sc.topic, sc.recreate_topic)?;
    let schema = wiring::prepare_schema(
        &endpoints.registry,
        |parsed| sc.subject(&crate::avro::registry::full_name(parsed).unwrap_or_default()),
        &sc.schema.avsc,
        sc.seed,
        sc.schema.record_size,
        sc.schema.sizes,
    )?;
    progress.note(&format!(
        "topic {} ready; schema registered as {} (id {})",
        sc.topic.name, schema.registered.subject, schema.registered.id
    ));
    Ok(schema)
}

/// The consumer group reading the run's topic back.
struct ConsumerGroup {
    workers: Vec<Worker<ConsumerReport>>,
    /// Partitions each consumer holds right now.
    assigned: Vec<Arc<AtomicUsize>>,
    stop: Arc<AtomicBool>,
}

/// What the consumers report into: the audit ledger, and the schema versions they check ids
/// against.
struct Readers<'a> {
    ledger: &'a Arc<Mutex<Ledger>>,
    board: &'a Arc<SchemaBoard>,
}

/// Step 3: the consumers, started before any record is sent.
fn start_consumers(
    sc: &Scenario,
    endpoints: &Endpoints,
    clock: &RunClock,
    pipe: &MetricsPipe,
    readers: Readers<'_>,
) -> Result<ConsumerGroup> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut group = ConsumerGroup {
        workers: Vec::new(),
        assigned: Vec::new(),
        stop: Arc::clone(&stop),
    };
    for id in 0..sc.consumer.count {
        let cfg = consumer::ConsumerConfig {
            id,
            brokers: endpoints.brokers.clone(),
            topic: sc.topic.name.clone(),
            group: sc.consumer.group.clone(),
            properties: sc.consumer.properties.clone(),
            registry: endpoints.registry.clone(),
            origin: clock.origin,
            board: Some(Arc::clone(readers.board)),
        };
        let assigned = Arc::new(AtomicUsize::new(0));
        group.assigned.push(Arc::clone(&assigned));
        let recorder = pipe.recorder(format!("consumer-{id}"));
        let (ledger, stop) = (Arc::clone(readers.ledger), Arc::clone(&stop));
        group
            .workers
            .push(Worker::spawn(format!("consumer-{id}"), move || {
                consumer::run(cfg, recorder, ledger, stop, assigned)
            })?);
    }
    Ok(group)
}

impl ConsumerGroup {
    /// Wait until the group holds every partition, so no early record is read late.
    fn wait_for_assignment(&self, partitions: i32) -> Result<()> {
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
        self.stop.store(true, Ordering::Relaxed);
        let mut failure = None;
        let reports = (self.workers.into_iter())
            .filter_map(|w| w.join().map_err(|e| failure.get_or_insert(e)).ok())
            .collect();
        (reports, failure)
    }
}

/// When the load runs, as offsets from the run's origin.
pub(crate) struct LoadWindow {
    /// First intended send.
    pub start: Duration,
    /// Warm-up plus measured time.
    pub total: Duration,
    /// Each producer's share of the scenario's rate.
    pub share: RateProfile,
}

impl LoadWindow {
    fn plan(sc: &Scenario, now: Duration) -> LoadWindow {
        LoadWindow {
            start: load_start(now),
            total: sc.total_duration(),
            share: per_producer(&sc.producer.rate, sc.producer.count),
        }
    }

    /// Warm-up, measured, and the phases around each fault.
    fn phases(&self, sc: &Scenario) -> Vec<Phase> {
        let us = |d: Duration| d.as_micros() as u64;
        let measured_from = us(self.start + sc.warmup);
        let mut phases = Vec::new();
        if !sc.warmup.is_zero() {
            phases.push(Phase {
                name: "warmup".into(),
                from_us: us(self.start),
                to_us: measured_from,
            });
        }
        phases.push(Phase {
            name: "measured".into(),
            from_us: measured_from,
            to_us: us(self.start + self.total),
        });
        let faults = crate::faults::analysis::fault_phases;
        phases.extend(faults(&sc.faults, self.start, sc.warmup, self.total));
        phases
    }

    /// Records the schedule asks of all producers together.
    fn target_total(&self, sc: &Scenario) -> u64 {
        crate::load::schedule::Schedule::new(self.share.clone(), self.total).expected_count()
            * u64::from(sc.producer.count)
    }

    /// Time since the load started.
    fn elapsed(&self, clock: &RunClock) -> Duration {
        clock.origin.elapsed().saturating_sub(self.start)
    }
}

/// Split a total rate evenly over `n` producers.
fn per_producer(profile: &RateProfile, n: u32) -> RateProfile {
    use crate::load::schedule::Step;
    let f = 1.0 / f64::from(n);
    match profile {
        RateProfile::Constant { rate } => RateProfile::Constant { rate: rate * f },
        RateProfile::Steps(steps) => RateProfile::Steps(
            steps
                .iter()
                .map(|s| Step {
                    at: s.at,
                    rate: s.rate * f,
                })
                .collect(),
        ),
        RateProfile::Ramp { from, to, over } => RateProfile::Ramp {
            from: from * f,
            to: to * f,
            over: *over,
        },
    }
}

/// When the load starts, as an offset from the run's origin: at least 100 ms from now (time for
/// the producers to come up) and on a whole second. The aggregator's seconds count from the
/// origin and a phase holds whole seconds, so a load starting mid-second would put part of its
/// last measured second outside the measured phase and understate the achieved rate.
fn load_start(now: Duration) -> Duration {
    let earliest = now + Duration::from_millis(100);
    Duration::from_secs(earliest.as_secs() + u64::from(earliest.subsec_nanos() > 0))
}

/// What the drain left: how long it took and each consumer's report.
struct Drained {
    seconds: f64,
    consumers: Vec<ConsumerInfo>,
    /// Every consumer's reads by schema id, merged.
    tallies: ReadTallies,
}

/// Step 5, reading back what was acknowledged, with what it looks at.
struct Drain<'a> {
    sc: &'a Scenario,
    ledger: &'a Arc<Mutex<Ledger>>,
    progress: &'a Progress,
    clock: &'a RunClock,
    window: &'a LoadWindow,
}

impl Drain<'_> {
    /// Read until every acknowledged record was consumed, for up to `drain_timeout` — or, for a
    /// run cut short, `abort_drain` (nothing after a second signal) — then stop the consumers.
    /// A cluster process dying outside the plan meanwhile cuts the run.
    fn run(
        &self,
        consumers: ConsumerGroup,
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
                    cutoff.error(anyhow::anyhow!(m), self.progress);
                }
            }
            let lost = self
                .ledger
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .verdict()
                .lost;
            let left = cutoff.left(self.sc.drain_timeout, t0);
            if lost == 0 || left.is_zero() || consumers.all_finished() {
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
        let mut tallies = ReadTallies::default();
        for r in &reports {
            tallies.merge(r.tallies.clone());
        }
        Drained {
            seconds,
            consumers: reports.into_iter().map(consumer_info).collect(),
            tallies,
        }
    }
}

fn consumer_info(c: ConsumerReport) -> ConsumerInfo {
    ConsumerInfo {
        id: c.id,
        consumed: c.consumed,
        undecodable: c.undecodable,
        errors: c.errors,
    }
}

fn schema_info(schema: &PreparedSchema) -> SchemaInfo {
    SchemaInfo {
        subject: schema.registered.subject.clone(),
        id: schema.registered.id,
        string_length: schema.sizes.string_len,
        bytes_length: schema.sizes.bytes_len,
        collection_length: schema.sizes.collection_len,
    }
}

/// Where and when the run ran; read just before teardown (peak memory needs the processes).
fn environment(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    started_at: String,
    drain_s: f64,
) -> Environment {
    let own = crate::cluster::proc_ctl::peak_rss_kib(std::process::id() as i32);
    Environment {
        kafka_version: cluster.versions.kafka.clone(),
        registry_version: cluster.versions.registry.clone(),
        backend: sc.cluster.kind(),
        bootstrap_servers: cluster.endpoints.brokers.bootstrap.clone(),
        registry_url: cluster.endpoints.registry.url.clone(),
        started_at,
        finished_at: crate::timefmt::now_rfc3339(),
        cluster_ready_s: cluster.ready_s,
        jvm_tuning: cluster.guard.backend().jvm_tuning(),
        client_security: cluster.endpoints.security().describe(),
        drain_s,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: std::env::consts::OS.to_string(),
        cluster_peak_rss_mib: cluster.guard.backend().peak_rss_mib(),
        kbench_peak_rss_mib: own.unwrap_or(0) as f64 / 1024.0,
        kbench_cpu_s: crate::cluster::proc_ctl::own_cpu_seconds(),
    }
}

/// The last step before teardown: results.json and the HTML report.
fn write_report(dir: &Path, results: &Results) -> Result<()> {
    results::write(dir, results)?;
    crate::report::rebuild::build_report_from(dir, results).context("building the HTML report")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::load_start;
    use std::time::Duration;

    #[test]
    fn load_starts_on_the_next_whole_second_after_100ms() {
        let ms = Duration::from_millis;
        assert_eq!(load_start(ms(0)), ms(1000));
        assert_eq!(load_start(ms(152)), ms(1000));
        assert_eq!(load_start(ms(900)), ms(1000));
        assert_eq!(load_start(ms(901)), ms(2000));
        assert_eq!(load_start(ms(12_345)), ms(13_000));
    }
}
