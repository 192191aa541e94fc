//! The registry as a fault target on the real cluster: it is SIGKILLed mid-load and started
//! again. A watcher in this test sees its port close and open again and its pid change; the
//! run's own probe reports the outage; producers, whose schema id is cached, keep every record
//! acknowledged and nothing is lost. The run keeps its cluster (`--keep-cluster`), and a
//! consumer written here — rdkafka, the registry's REST API, apache-avro, none of kbench's
//! decoding — reads every record back by its schema id from the restarted registry.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{port_open, TestHome};
use kbench::cluster::ProcessState;
use kbench::faults::evidence::Evidence;

/// The registry's port on the process backend.
const REGISTRY_PORT: u16 = 8081;

#[test]
fn a_killed_registry_is_seen_down_and_back_while_cached_producers_keep_sending() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("registry-faults");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/registry-short.toml");

    // Independently of kbench: when the registry's port closed and opened again, and which
    // registry pids the cluster's state file named over the run.
    let done = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(Instant, bool)>>> = Arc::default();
    let pids: Arc<Mutex<Vec<i32>>> = Arc::default();
    let watcher = {
        let (done, seen, pids) = (done.clone(), seen.clone(), pids.clone());
        let runs = home.runs();
        std::thread::spawn(move || {
            let mut last = false;
            while !done.load(Ordering::Relaxed) {
                let open = port_open(REGISTRY_PORT);
                if open != last {
                    seen.lock().unwrap().push((Instant::now(), open));
                    last = open;
                }
                if let Some(pid) = registry_pid(&runs) {
                    let mut p = pids.lock().unwrap();
                    if p.last() != Some(&pid) {
                        p.push(pid);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let (out, r) = home.run_keeping_cluster(&scenario);
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(out.status.success(), "kbench run failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("cluster kept running (--keep-cluster)")
            && stdout.contains("`kbench cluster down` stops it"),
        "{stdout}"
    );
    let ids = common::decode_topic("kbench-registry-short", r.counts.acked);
    assert_eq!(
        ids.values().sum::<u64>(),
        r.counts.acked,
        "every acknowledged record decodes"
    );
    assert_eq!(ids.len(), 1, "one schema version was written: {ids:?}");
    assert!(home.run(&["cluster", "down"]).status.success());

    let f = &r.faults[0];
    assert!(f.error.is_none(), "fault failed: {:?}", f.error);
    assert_eq!(f.label, "kill the registry");
    let down = Evidence::Down {
        node: None,
        process: Some(ProcessState::Down),
        answers: Some(false),
    };
    assert!(f.evidence.contains(&down), "{:?}", f.evidence);
    // The test's own watcher: open, closed, open again — and a new process behind it.
    let transitions: Vec<bool> = seen.lock().unwrap().iter().map(|(_, o)| *o).collect();
    assert!(
        transitions.windows(3).any(|w| w == [true, false, true]),
        "the registry's port closed and opened again: {transitions:?}"
    );
    let pids = pids.lock().unwrap().clone();
    assert!(
        pids.len() >= 2,
        "a new registry process after the restart: {pids:?}"
    );

    // kbench's probe: one outage, starting at the kill, closed once it answered again, at
    // least as long as the 10 s the registry was down.
    let a = r
        .registry
        .as_ref()
        .expect("a registry fault turns the probe on");
    assert!(
        a.probes > 100,
        "probed every 200 ms over ~80 s: {}",
        a.probes
    );
    let o = f.registry_outage.as_ref().expect("the fault's outage");
    assert!(
        (o.from_s - f.fired_s).abs() < 0.5,
        "outage from {} for a kill at {}",
        o.from_s,
        f.fired_s
    );
    // At least the 10 s it was down; how much longer is its restart, which a slow machine
    // stretches (56 s under half a core): it must be back while the load still runs.
    let d = o.duration_s().expect("the registry answered again");
    let load_end = r.load_start_s + r.scenario.warmup_s + r.scenario.duration_s;
    assert!(
        d >= 10.0 && o.from_s + d < load_end,
        "outage of {d} s, load ends at {load_end}"
    );
    assert!(o.failures.values().sum::<u32>() >= 40, "{:?}", o.failures);

    // The cold group started while the registry was down, waited for it, caught up after it
    // came back, and read every acknowledged record.
    let g = &r.cold_groups[0];
    let started = g.started_s.expect("the cold group started");
    let back = o.to_s.expect("the registry answered again");
    assert!(
        o.from_s < started && started < back,
        "cold group started at {started}, outage {}..{back}",
        o.from_s
    );
    assert!(g.lookup_retries > 0, "{g:?}");
    assert!(
        g.lookup_stall_s > (back - started) * 0.5,
        "it waited for the registry: {g:?}"
    );
    let caught = g.caught_up_s.expect("the cold group caught up");
    assert!(
        caught > back,
        "caught up at {caught}, registry back at {back}"
    );
    assert_eq!((g.unread, g.undecodable), (0, 0), "{g:?}");
    assert!(g.consumed >= r.counts.acked, "{g:?}");
    assert_eq!(
        g.registry.cache_misses, 1,
        "one schema id: {:?}",
        g.registry
    );
    assert!(
        g.registry.failed.get("refused").is_some_and(|n| *n > 0),
        "{:?}",
        g.registry
    );
    // The registry's answers to lookups by id are timed into their own .hlog, which reads
    // back with the hdrhistogram reader to the count results.json gives.
    let lookups = &r.schemas.as_ref().expect("schemas").request_latency["registry_by_id"];
    assert!(
        lookups.count >= 2,
        "the run's consumer and the cold group: {lookups:?}"
    );
    let (dir, _) = common::read_run(&home.home.join("reports"));
    let logged: u64 = kbench::metrics::read_hlog(dir.join("registry_by_id.hlog"))
        .expect("registry_by_id.hlog")
        .iter()
        .map(|(_, h)| h.len())
        .sum();
    assert_eq!(logged, lookups.count);

    // Producers hold the schema id: the outage costs the load nothing.
    assert_eq!(r.audit.lost, 0, "{:?}", r.audit);
    assert_eq!(r.counts.failed, 0, "no delivery failed: {:?}", r.errors);
    assert_eq!(r.counts.acked, r.counts.sent);
    home.assert_nothing_left();
}

/// The registry pid in the (one) cluster state file under `runs`, if there is one yet.
fn registry_pid(runs: &Path) -> Option<i32> {
    let file = kbench::cluster::state::find_all(runs).into_iter().next()?;
    let state = kbench::cluster::state::ClusterState::load(&file).ok()?;
    state.registry.process.map(|p| p.pid)
}
