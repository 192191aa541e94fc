//! The fault executor end to end (tests/scenarios/faults-tour.toml): pause of a follower with
//! `recover_after`, a graceful stop of the active controller and its start, a restart of a
//! random broker, and a rolling restart of every broker with the controller last. Each node's
//! process is watched in /proc by this test, independently of kbench's own status: the paused
//! JVM was seen stopped (state `T`), the stopped controller's JVM vanished and was replaced, the
//! random broker got a new JVM, and the rolling restart replaced every JVM last, in the order
//! the report gives.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestHome;
use kbench::faults::evidence::Evidence;

/// The state letter of `/proc/<pid>/stat` (R, S, D, T, Z, ...), or `None` once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The KRaft leader as the nodes' own `quorum-state` files record it (newest epoch wins).
fn quorum_leader(data_dirs: &[std::path::PathBuf]) -> Option<u32> {
    data_dirs
        .iter()
        .filter_map(|d| {
            let text = std::fs::read_to_string(d.join("__cluster_metadata-0/quorum-state")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some((v["leaderEpoch"].as_i64()?, v["leaderId"].as_i64()?))
        })
        .filter(|(_, id)| *id > 0)
        .max()
        .map(|(_, id)| id as u32)
}

/// One look at a node's JVM: when (s since the watch began), its pid, its state letter, and
/// the quorum leader at that moment.
#[derive(Debug, Clone, Copy)]
struct Seen {
    t: f64,
    pid: i32,
    state: Option<char>,
    leader: Option<u32>,
}

#[test]
fn pause_stop_and_rolling_restart_act_on_the_right_processes() {
    let _lock = common::cluster_lock();
    let home = Arc::new(TestHome::new("faults-tour"));
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/faults-tour.toml");
    let done = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<BTreeMap<u32, Vec<Seen>>>> = Arc::default();
    let watcher = {
        let (home, done, seen) = (Arc::clone(&home), Arc::clone(&done), Arc::clone(&seen));
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !done.load(Ordering::Relaxed) {
                let nodes = home.state().map(|s| s.nodes).unwrap_or_default();
                let dirs: Vec<_> = nodes.iter().map(|n| n.data_dir.clone()).collect();
                let leader = quorum_leader(&dirs);
                for n in nodes {
                    let Some(p) = n.process else { continue };
                    let look = Seen {
                        t: t0.elapsed().as_secs_f64(),
                        pid: p.pid,
                        state: proc_state(p.pid),
                        leader,
                    };
                    seen.lock().unwrap().entry(n.id).or_default().push(look);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let (_dir, r) = home.run_scenario(&scenario);
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(r.faults.len(), 4, "{:?}", r.faults);
    for f in &r.faults {
        assert!(
            f.error.is_none(),
            "fault {} failed: {:?}",
            f.index + 1,
            f.error
        );
    }
    // When each node's JVM was replaced (a new pid in the state file), in order.
    let replaced = |n: u32| -> Vec<f64> {
        (seen[&n].windows(2))
            .filter(|w| w[0].pid != w[1].pid)
            .map(|w| w[1].t)
            .collect()
    };

    // Fault 1: the follower's JVM was frozen (T) at some look.
    let paused = r.faults[0].node.expect("pause resolved to a broker");
    assert!(
        seen[&paused].iter().any(|s| s.state == Some('T')),
        "broker {paused} was seen stopped by SIGSTOP: {:?}",
        seen[&paused]
    );
    assert!(r.faults[0].recovered_s.is_some(), "{:?}", r.faults[0]);

    // Fault 2: the controller's JVM went away before a new one took its place.
    let stopped = r.faults[1].node.expect("stop resolved to a broker");
    assert!(
        r.faults[1].label.contains("controller"),
        "{}",
        r.faults[1].label
    );
    let first_pid = seen[&stopped][0].pid;
    assert!(
        seen[&stopped]
            .iter()
            .any(|s| s.pid == first_pid && s.state.is_none()),
        "broker {stopped}'s JVM {first_pid} was seen gone: {:?}",
        seen[&stopped]
    );

    // Faults 2, 3 and 4 replace JVMs: the stopped controller once, the random broker once,
    // and every broker once more in the rolling restart.
    let random = r.faults[2].node.expect("random resolved to a broker");
    assert!(
        r.faults[2].label.contains("restart"),
        "{}",
        r.faults[2].label
    );
    for n in [1u32, 2, 3] {
        let expected = 1 + usize::from(n == stopped) + usize::from(n == random);
        assert_eq!(
            replaced(n).len(),
            expected,
            "broker {n} got {expected} new JVM(s) (stopped {stopped}, random {random})"
        );
    }

    // Fault 4: the rolling restart is each node's last replacement, one after another, in the
    // order the report's evidence lists them, with the controller (read from the nodes'
    // quorum-state files) last.
    let evidence_order: Vec<u32> = r.faults[3]
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Rejoined { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    assert_eq!(evidence_order.len(), 3, "{:?}", r.faults[3].evidence);
    let replaced_at: Vec<f64> = evidence_order
        .iter()
        .map(|n| *replaced(*n).last().expect("replaced"))
        .collect();
    assert!(
        replaced_at.windows(2).all(|w| w[0] < w[1]),
        "one after another, in the reported order {evidence_order:?}: {replaced_at:?}"
    );
    // Who led the quorum just before the first JVM of the rolling restart was replaced.
    let first = evidence_order[0];
    let leader_then = seen[&first]
        .iter()
        .rev()
        .find(|s| s.t < replaced_at[0])
        .and_then(|s| s.leader);
    assert_eq!(
        leader_then,
        Some(evidence_order[2]),
        "the controller went last: {evidence_order:?}"
    );
    assert_eq!(r.audit.lost, 0, "{}", r.audit);
    assert!(
        r.audit.acked == r.counts.acked && r.counts.acked > 0,
        "{}",
        r.audit
    );
}
