//! One scenario run, end to end, in the only order that gives honest numbers: cluster up, topic
//! and schema, consumers, producers on their schedule, drain, audit, results, cluster down — the
//! last step also on error and Ctrl-C. Everything else is a part this module calls.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::audit::ledger::Ledger;
use crate::avro::{generate, header, registry};
use crate::cluster::docker::{self, DockerBackend};
use crate::cluster::external::ExternalBackend;
use crate::cluster::process::ProcessBackend;
use crate::cluster::{ClusterBackend, ClusterGuard, StartOptions, Topology};
use crate::faults::analysis;
use crate::faults::executor::{self, ExecContext};
use crate::faults::observe::{self, AckTimeline};
use crate::kafka::admin;
use crate::load::{consumer, producer};
use crate::metrics::{Aggregator, Live, Phase, Recorder};
use crate::progress::Progress;
use crate::report::results::{self, Results};
use crate::scenario::{ClusterSpec, Scenario};

/// Options from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parent of the report directory.
    pub reports_dir: PathBuf,
}

/// What a finished run produced.
pub struct Outcome {
    pub dir: PathBuf,
    pub results: Results,
}

fn backend_for(sc: &Scenario) -> Result<(Box<dyn ClusterBackend>, StartOptions)> {
    let ready_timeout = match &sc.cluster {
        ClusterSpec::External {
            bootstrap,
            registry_url,
            containers,
        } => {
            let b =
                ExternalBackend::new(bootstrap, registry_url).with_containers(containers.clone());
            return Ok((Box::new(b), StartOptions::default()));
        }
        ClusterSpec::Process { ready_timeout } | ClusterSpec::Docker { ready_timeout } => {
            *ready_timeout
        }
    };
    let backend: Box<dyn ClusterBackend> = if let ClusterSpec::Docker { .. } = sc.cluster {
        Box::new(DockerBackend::connect(
            Topology::default(),
            docker::DEFAULT_CLUSTER,
        )?)
    } else {
        let workdir = crate::paths::runs_dir()?.join(crate::paths::new_run_name(&sc.name));
        Box::new(ProcessBackend::create(workdir, Topology::default())?)
    };
    let opts = StartOptions {
        ready_timeout,
        detached: false,
    };
    Ok((backend, opts))
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

/// Split a total rate evenly over `n` producers.
fn per_producer(
    profile: &crate::load::schedule::RateProfile,
    n: u32,
) -> crate::load::schedule::RateProfile {
    use crate::load::schedule::{RateProfile, Step};
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

/// After a fault run, wait (up to `timeout`) until every broker is registered and every replica
/// is back in sync, so recovery times are measured even when they reach past the load.
fn settle(bootstrap: &str, topic: &str, nodes: usize, timeout: Duration, progress: &Progress) {
    let Ok(md) = crate::kafka::metadata::MetadataClient::new(bootstrap) else {
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

/// Run `sc` and write its results. The cluster is torn down before this returns.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<Outcome> {
    let dir = report_dir(&opts.reports_dir, &sc.name)?;
    let started_at = crate::timefmt::now_rfc3339();
    let (backend, start_opts) = backend_for(sc)?;
    let mut guard = ClusterGuard::new(backend);
    let t_cluster = Instant::now();
    guard
        .backend()
        .start(&start_opts, &|m| eprintln!("kbench: {m}"))?;
    let cluster_ready_s = t_cluster.elapsed().as_secs_f64();
    let bootstrap = guard.backend().bootstrap_servers();
    let registry_url = guard.backend().registry_url();
    let versions = guard.backend().versions();

    let _topic_lock = crate::kafka::topic_lock::acquire(
        &crate::paths::kbench_home()?.join("locks"),
        &bootstrap,
        &sc.topic.name,
    )?;
    admin::create_topic(&bootstrap, &sc.topic, sc.recreate_topic)?;
    let augmented = header::augment_schema(&sc.schema.avsc)?;
    let parsed = apache_avro::Schema::parse_str(&augmented)?;
    let full_name = registry::full_name(&parsed).unwrap_or_default();
    let reg = registry::register(&registry_url, &sc.subject(&full_name), &augmented)?;
    let sizes = match sc.schema.record_size {
        Some(target) => generate::calibrate(&reg.schema, sc.seed, target)?,
        None => sc.schema.sizes,
    };
    eprintln!(
        "kbench: topic {} ready; schema registered as {} (id {})",
        sc.topic.name, reg.subject, reg.id
    );

    // The run's one clock: every send, ack, consume and fault is an offset from here.
    let origin = Instant::now();
    let wall_origin_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (tx, rx) = mpsc::channel();
    let live = Arc::new(Mutex::new(Live::default()));

    let consumer_stop = Arc::new(AtomicBool::new(false));
    let mut consumers = Vec::new();
    let mut assigned = Vec::new();
    for id in 0..sc.consumer.count {
        let cfg = consumer::ConsumerConfig {
            id,
            bootstrap: bootstrap.clone(),
            topic: sc.topic.name.clone(),
            group: sc.consumer.group.clone(),
            properties: sc.consumer.properties.clone(),
            registry_url: registry_url.clone(),
            origin,
        };
        let a = Arc::new(AtomicUsize::new(0));
        assigned.push(Arc::clone(&a));
        let (rec, led, stop) = (
            Recorder::new(format!("consumer-{id}"), tx.clone()),
            Arc::clone(&ledger),
            Arc::clone(&consumer_stop),
        );
        consumers.push(
            std::thread::Builder::new()
                .name(format!("consumer-{id}"))
                .spawn(move || consumer::run(cfg, rec, led, stop, a))?,
        );
    }
    let assignment_deadline = Instant::now() + Duration::from_secs(60);
    while assigned
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .sum::<usize>()
        < sc.topic.partitions as usize
    {
        crate::signals::check()?;
        if Instant::now() > assignment_deadline {
            bail!(
                "consumers were not assigned all {} partitions within 60s",
                sc.topic.partitions
            );
        }
        if consumers.iter().any(|c| c.is_finished()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let start = load_start(origin.elapsed());
    let total = sc.total_duration();
    let s_us = start.as_micros() as u64;
    let mut phases = Vec::new();
    if !sc.warmup.is_zero() {
        phases.push(Phase {
            name: "warmup".into(),
            from_us: s_us,
            to_us: s_us + sc.warmup.as_micros() as u64,
        });
    }
    phases.push(Phase {
        name: "measured".into(),
        from_us: s_us + sc.warmup.as_micros() as u64,
        to_us: s_us + total.as_micros() as u64,
    });
    phases.extend(analysis::fault_phases(&sc.faults, start, sc.warmup, total));
    let aggregator = Aggregator::new(&dir, wall_origin_ms as u64, phases)?;
    let live_agg = Arc::clone(&live);
    let agg_thread = std::thread::Builder::new()
        .name("aggregator".into())
        .spawn(move || aggregator.run(rx, live_agg))?;

    let producer_stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(AckTimeline::default()));
    let share = per_producer(&sc.producer.rate, sc.producer.count);
    let mut producers = Vec::new();
    for id in 0..sc.producer.count {
        let cfg = producer::ProducerConfig {
            id,
            bootstrap: bootstrap.clone(),
            topic: sc.topic.name.clone(),
            schema: Arc::clone(&reg.schema),
            schema_id: reg.id,
            sizes,
            seed: sc.seed,
            profile: share.clone(),
            start,
            duration: total,
            max_records: None,
            acks: sc.producer.acks.clone(),
            idempotence: sc.producer.idempotence,
            properties: sc.producer.properties.clone(),
            origin,
            wall_origin_ms,
            timeline: Arc::clone(&acks),
        };
        let (rec, led, stop) = (
            Recorder::new(format!("producer-{id}"), tx.clone()),
            Arc::clone(&ledger),
            Arc::clone(&producer_stop),
        );
        producers.push(
            std::thread::Builder::new()
                .name(format!("producer-{id}"))
                .spawn(move || producer::run(cfg, rec, led, stop))?,
        );
    }
    drop(tx);

    let target_total = crate::load::schedule::Schedule::new(share.clone(), total).expected_count()
        * u64::from(sc.producer.count);
    let mut progress = Progress::new(total, target_total);
    let meta_stop = Arc::new(AtomicBool::new(false));
    let poller = (!sc.faults.is_empty()).then(|| {
        let (b, t, st) = (
            bootstrap.clone(),
            sc.topic.name.clone(),
            Arc::clone(&meta_stop),
        );
        std::thread::spawn(move || {
            observe::poll_metadata(&b, &t, origin, Duration::from_millis(100), st)
        })
    });
    let fault_stop = AtomicBool::new(false);
    let log = |m: &str| eprintln!("kbench: {m}");
    let backend = guard.backend();
    let (fault_reports, producer_results) = std::thread::scope(|s| {
        let cx = ExecContext {
            origin,
            load_start: start,
            bootstrap: &bootstrap,
            topic: &sc.topic.name,
            seed: sc.seed,
            stop: &fault_stop,
            log: &log,
        };
        let exec = s.spawn(move || executor::execute(&sc.faults, backend, &cx));
        while producers.iter().any(|p| !p.is_finished()) {
            progress.update(origin.elapsed().saturating_sub(start), &live);
            std::thread::sleep(Duration::from_millis(250));
        }
        let results: Vec<_> = producers
            .into_iter()
            .map(|p| {
                p.join()
                    .map_err(|_| anyhow::anyhow!("a producer thread panicked"))
                    .and_then(|r| r)
            })
            .collect();
        // Every fault is scheduled inside the run, so the plan is done unless the run was cut short.
        fault_stop.store(true, Ordering::Relaxed);
        let reports = exec.join().unwrap_or_default();
        (reports, results)
    });
    let producer_reports = producer_results.into_iter().collect::<Result<Vec<_>>>()?;
    progress.note("producers done; draining consumers");

    // Drain: read until every acknowledged record was consumed, or the drain timeout.
    let drain_start = Instant::now();
    loop {
        let lost = ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .verdict()
            .lost;
        if lost == 0
            || drain_start.elapsed() >= sc.drain_timeout
            || crate::signals::requested()
            || consumers.iter().all(|c| c.is_finished())
        {
            break;
        }
        progress.update(origin.elapsed().saturating_sub(start), &live);
        std::thread::sleep(Duration::from_millis(200));
    }
    let drain_s = drain_start.elapsed().as_secs_f64();
    consumer_stop.store(true, Ordering::Relaxed);
    let mut consumer_reports = Vec::new();
    for c in consumers {
        consumer_reports.push(
            c.join()
                .map_err(|_| anyhow::anyhow!("a consumer thread panicked"))??,
        );
    }
    let summary = agg_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the metrics thread panicked"))??;
    progress.finish();
    crate::signals::check()?;
    if !sc.faults.is_empty() {
        let nodes = guard.backend().node_ids().len();
        settle(
            &bootstrap,
            &sc.topic.name,
            nodes,
            sc.drain_timeout,
            &progress,
        );
    }
    meta_stop.store(true, Ordering::Relaxed);
    let metadata = poller
        .map(|p| p.join().unwrap_or_default())
        .unwrap_or_default();
    let mut fault_reports = fault_reports;
    let mut acks = std::mem::take(&mut *acks.lock().unwrap_or_else(|e| e.into_inner()));
    acks.finish((start + total).as_micros() as u64);
    analysis::analyze(
        &mut fault_reports,
        &analysis::Observed {
            acks: &acks,
            metadata: &metadata,
            series: &summary.series,
            phases: &summary.phases,
            load_start_s: start.as_secs_f64(),
            load_end_s: (start + total).as_secs_f64(),
        },
    );
    let verdict = ledger.lock().unwrap_or_else(|e| e.into_inner()).verdict();

    let cluster_peak_rss_mib = guard.backend().peak_rss_mib();
    let teardown = guard.teardown();
    let results = results::build(results::Inputs {
        scenario: sc,
        versions,
        started_at,
        cluster_ready_s,
        drain_s,
        bootstrap,
        registry_url,
        registered: &reg,
        sizes,
        target_total,
        load_start_s: start.as_secs_f64(),
        faults: fault_reports,
        cluster_peak_rss_mib,
        summary,
        verdict,
        producers: producer_reports,
        consumers: consumer_reports,
    });
    let mut results = results;
    results.slos = crate::slo::evaluate(&sc.slos, &results);
    results::write(&dir, &results)?;
    crate::report::rebuild::build_report_from(&dir, &results)
        .context("building the HTML report")?;
    teardown.context("tearing the cluster down")?;
    Ok(Outcome { dir, results })
}

/// When the load starts, as an offset from the run's origin: at least 100 ms from now (time for
/// the producers to come up) and on a whole second. The aggregator's seconds count from the
/// origin and a phase holds whole seconds, so a load starting mid-second would put part of its
/// last measured second outside the measured phase and understate the achieved rate.
fn load_start(now: Duration) -> Duration {
    let earliest = now + Duration::from_millis(100);
    Duration::from_secs(earliest.as_secs() + u64::from(earliest.subsec_nanos() > 0))
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
