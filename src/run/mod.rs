//! One scenario run, end to end, in the only order that gives honest numbers — and the only
//! place that knows that order. [`run`] reads as its steps: cluster up, topic and schema,
//! consumers, producers with the fault plan, drain, audit, results, cluster down (the last step
//! also on error and Ctrl-C, through the cluster guard). Everything else is a part it calls.

mod cold;
mod cutoff;
mod drive;
mod evolve;
mod payload;
mod readers;
pub mod remote;
mod shard;
mod start;
pub use shard::{Part, ShardPlan};
pub use start::KeptCluster;
pub mod wiring;
pub mod workers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::audit::ledger::Ledger;
use crate::cancel::Cancel;
use crate::cluster::Endpoints;
use crate::kafka::admin;
use crate::load::schedule::RateProfile;
use crate::metrics::PhaseSpan;
use crate::names::Phase;
use crate::progress::Progress;
use crate::report::results::{self, Environment, Results, SchemaInfo};
use crate::report::shard::Shard;
use crate::scenario::Scenario;
use cutoff::Cutoff;
use drive::DriveInputs;
use readers::{start_consumers, Drain, Readers};
pub(crate) use start::{start_cluster, StartedCluster};
use wiring::{MetricsPipe, PreparedSchema, RunClock};

/// Options from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parent of the report directory.
    pub reports_dir: PathBuf,
    /// Leave the cluster running after the run (`--keep-cluster`).
    pub keep_cluster: bool,
    /// Run as one shard of a distributed load (`--shard`, `--start-at`).
    pub shard: Option<ShardPlan>,
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

/// Run `sc` and write its results. The cluster is torn down before this returns (unless kept). A run cut
/// short once its load has begun (signal, or error) still writes what it measured, marked
/// `aborted`; before that, an error or a signal is returned as such.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<Outcome> {
    let mut part = opts.shard.map_or(Part::Whole, Part::Shard);
    run_part(sc, opts, &mut part)
}

/// Coordinate a distributed load: `run` with `remote`'s shards for producers. The engine is
/// handed back (its shards' ends) and removes what it made when dropped.
pub fn coordinate(
    sc: &Scenario,
    opts: &RunOptions,
    remote: remote::Remote,
) -> (Result<Outcome>, remote::Remote) {
    let mut part = Part::Coordinator(remote);
    let outcome = run_part(sc, opts, &mut part);
    match part {
        Part::Coordinator(remote) => (outcome, remote),
        _ => unreachable!("the part of a run does not change"),
    }
}

fn run_part(sc: &Scenario, opts: &RunOptions, part: &mut Part) -> Result<Outcome> {
    let progress = Progress::new();
    let own = part.shard().map(|plan| plan.scenario(sc));
    let sc = own.as_ref().unwrap_or(sc);
    let dir = report_dir(&opts.reports_dir, &sc.name)?;
    let mut cluster = start_cluster(sc, &progress, opts.keep_cluster)?;
    let measured = measure(sc, &mut cluster, &dir, &progress, part);
    let (teardown, kept) = cluster.finish(opts.keep_cluster, &sc.topic.name);
    let results = measured?;
    teardown.context("tearing the cluster down")?;
    Ok(Outcome { dir, results, kept })
}

/// Steps 2 to 5 on a cluster that is up, and the results written to `dir` (results.json, the
/// .hlog files, the HTML report). The cluster stays up: a sweep runs its steps on one cluster.
pub(crate) fn measure(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    dir: &Path,
    progress: &Progress,
    part: &mut Part,
) -> Result<Results> {
    let started_at = crate::timefmt::now_rfc3339();
    let _topic_lock = lock_topic(sc, &cluster.endpoints, part.shard())?;
    let schema = prepare_topic_and_schema(sc, &cluster.endpoints, progress)?;
    let evolution = evolve::prepare(sc, &cluster.endpoints, &schema)?;
    let timing = shard::Timing::start(part);
    let clock = timing.clock;
    // Every worker of the run hangs below this root; leaving `measure` (also by `?`) cancels
    // whatever is still running.
    let cancel = Cancel::root();
    let _cancel_all = cancel.on_drop();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut pipe = MetricsPipe::new();
    let readers = Readers {
        ledger: &ledger,
        board: &evolution.board,
    };
    let consumers = start_consumers(sc, &cluster.endpoints, &clock, &pipe, readers, &cancel)?;
    consumers.wait_for_assignment(sc.topic.partitions)?;
    let window = timing.window(sc);
    let cold = cold::start(
        sc,
        &cluster.endpoints,
        &clock,
        &window,
        &pipe,
        &evolution.board,
        &cancel,
    )?;
    let aggregator = pipe.spawn_aggregator(dir, &clock, window.phases(sc))?;
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
        progress,
        evolution: &evolution,
        cancel: &cancel,
        remote: part.remote(),
    })?;
    cutoff.after_load(driven.failure.take(), progress);
    let drain = Drain {
        sc,
        ledger: &ledger,
        progress,
        clock: &clock,
        window: &window,
    };
    let drained = drain.run(consumers, cold, &driven, cluster, &mut cutoff);
    let summary = cutoff.keep(aggregator.join(), progress);
    progress.finish();
    let loaded = Loaded {
        part: timing.part_info(part, window.start, &driven.producers), // before moves below
        started_at,
        schema,
        evolution,
        clock,
        ledger,
        window,
        driven,
        drained,
        summary: summary.unwrap_or_default(),
        cutoff,
    };
    conclude(sc, cluster, dir, progress, loaded)
}

/// The run's topic, for this run alone: a second run on it would delete it under this one.
/// Sibling shards share their topic (and never delete it): a shard holds no lock.
fn lock_topic(
    sc: &Scenario,
    endpoints: &Endpoints,
    shard: Option<ShardPlan>,
) -> Result<Option<crate::kafka::topic_lock::TopicLock>> {
    if shard.is_some() {
        return Ok(None);
    }
    crate::kafka::topic_lock::acquire(
        &crate::paths::kbench_home()?.join("locks"),
        &endpoints.brokers.bootstrap,
        &sc.topic.name,
    )
    .map(Some)
}

/// What a run's load left to conclude from, once the consumers drained.
struct Loaded {
    started_at: String,
    schema: PreparedSchema,
    evolution: evolve::Evolution,
    clock: RunClock,
    ledger: Arc<Mutex<Ledger>>,
    window: LoadWindow,
    driven: drive::Driven,
    drained: readers::Drained,
    summary: crate::metrics::Summary,
    cutoff: Cutoff,
    part: shard::PartInfo,
}

/// Step 5: the faults analysed, the schema versions audited, results.json and the report
/// written to `dir`.
fn conclude(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    dir: &Path,
    progress: &Progress,
    l: Loaded,
) -> Result<Results> {
    let Loaded {
        started_at,
        schema,
        evolution,
        clock,
        ledger,
        window,
        mut driven,
        drained,
        summary,
        mut cutoff,
        part,
    } = l;
    part.hand_over(dir, &driven.observers, window.start + window.total)?;
    let settle_for = cutoff.left(sc.drain_timeout, Instant::now());
    let faults = drive::analyse_faults(
        sc,
        cluster,
        driven.observers,
        &summary,
        &window,
        settle_for,
        progress,
    );
    let (faults, registry) = cutoff.keep(faults, progress).unwrap_or_default();
    let environment = environment(sc, cluster, started_at, drained.seconds);
    let schemas = {
        let sent = driven.producers.iter().map(|p| (p.id, p.sent)).collect();
        let ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
        let evolved = std::mem::take(&mut driven.evolved);
        let mut audit = evolution.audit(evolved, &sent, &ledger, drained.tallies);
        audit.request_latency = request_latency(dir, progress);
        audit
    };
    let security = cluster.endpoints.security();
    let verdict = part.verdict(ledger.lock().unwrap_or_else(|e| e.into_inner()).verdict());
    let mut results = results::build(results::Inputs {
        scenario: sc,
        environment,
        schema: schema_info(&schema),
        target_total: window.target_total(sc),
        load_start_s: window.start.as_secs_f64(),
        faults,
        registry,
        schemas: Some(schemas),
        cold_groups: drained.cold,
        summary,
        verdict,
        payload: Some(payload::info(sc, &driven.producers)),
        producers: driven.producers,
        consumers: drained.consumers,
        aborted: cutoff.aborted(&clock, window.start),
    });
    // Secrets come only as ${VAR} references; should one stand in the file anyway (a comment),
    // the echoed scenario still must not carry it.
    results.scenario.text = security.redact(&results.scenario.text);
    (results.shard, results.distribution) = (part.shard, part.distribution);
    write_report(
        dir,
        &results,
        &ledger.lock().unwrap_or_else(|e| e.into_inner()),
    )?;
    Ok(results)
}

/// A new directory `parent/<name>-<UTC time>`.
pub fn report_dir(parent: &Path, name: &str) -> Result<PathBuf> {
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

/// When the load runs, as offsets from the run's origin.
pub(crate) struct LoadWindow {
    /// First intended send.
    pub start: Duration,
    /// Warm-up plus measured time.
    pub total: Duration,
    /// Each producer's share of the scenario's rate.
    pub share: RateProfile,
    /// Id of this run's first producer (not 0 for a shard of a distributed load).
    pub first_id: u32,
}

impl LoadWindow {
    /// The load from `start` on; a shard's producers take their part of the rate under ids
    /// of their own.
    fn plan(sc: &Scenario, start: Duration, shard: Option<Shard>) -> LoadWindow {
        let count = sc.producer.count;
        let shards = shard.map_or(1, |s| s.of);
        LoadWindow {
            start,
            total: sc.total_duration(),
            share: per_producer(&sc.producer.rate, count * shards),
            first_id: shard.map_or(0, |s| s.producer_id(0, count)),
        }
    }

    /// Warm-up, measured, and the phases around each fault.
    fn phases(&self, sc: &Scenario) -> Vec<PhaseSpan> {
        let us = |d: Duration| d.as_micros() as u64;
        let measured_from = us(self.start + sc.warmup);
        let mut phases = Vec::new();
        if !sc.warmup.is_zero() {
            phases.push(PhaseSpan {
                name: Phase::Warmup,
                from_us: us(self.start),
                to_us: measured_from,
            });
        }
        phases.push(PhaseSpan {
            name: Phase::Measured,
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

fn schema_info(schema: &PreparedSchema) -> SchemaInfo {
    SchemaInfo {
        subject: schema.registered.subject.clone(),
        id: schema.registered.id,
        string_length: schema.sizes.string_len,
        bytes_length: schema.sizes.bytes_len,
        collection_length: schema.sizes.collection_len,
    }
}

/// The registry's request latency over the run, from the .hlog files the aggregator wrote; a
/// log that cannot be read is said, and leaves the figures out.
fn request_latency(
    dir: &Path,
    progress: &Progress,
) -> std::collections::BTreeMap<String, crate::metrics::Percentiles> {
    match crate::report::requests::read(dir) {
        Ok(kinds) => (kinds.into_iter())
            .map(|k| (k.kind.name().to_string(), k.total))
            .collect(),
        Err(e) => {
            progress.note(&format!("registry request latency left out: {e:#}"));
            Default::default()
        }
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
        images: cluster.versions.images.clone(),
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
        broker_settings: cluster.broker_settings.clone(),
    }
}

/// The last step before teardown: results.json, the audit's ledger beside it (so the runs of
/// a distributed load can be audited as one) and the HTML report.
fn write_report(dir: &Path, results: &Results, ledger: &Ledger) -> Result<()> {
    results::write(dir, results)?;
    crate::audit::ledger_file::write(dir, ledger)?;
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
