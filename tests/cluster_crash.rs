//! kbench never leaves a process behind: SIGTERM to a foreground `cluster up` tears down what it
//! started, and after `cluster up` itself is SIGKILLed mid-start, `cluster down` cleans up from
//! the state file.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{wait_for, TestHome};

/// Start `cluster up` in the foreground and SIGKILL it once every node's JVM is recorded, before
/// the cluster is ready; the state file as it was then.
fn kill_once_nodes_are_spawned(home: &TestHome) -> kbench::cluster::state::ClusterState {
    let mut child = home
        .cmd()
        .args(["cluster", "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_for("nodes spawned", Duration::from_secs(120), || {
        home.state()
            .is_some_and(|s| s.nodes.iter().all(|n| n.process.is_some()))
    });
    let state = home.state().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    state
}

#[test]
fn sigkilled_kbench_is_cleaned_up_by_cluster_down() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("crash");
    let state = kill_once_nodes_are_spawned(&home);
    let procs = state.processes();
    assert!(
        procs.iter().any(|p| p.alive()),
        "the JVMs outlive a SIGKILLed kbench"
    );

    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    for p in procs {
        assert!(!p.alive(), "pid {} left behind", p.pid);
    }
    home.assert_nothing_left();
    let again = home.run(&["cluster", "down"]);
    assert!(again.status.success(), "down is idempotent");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to stop"));
}

#[test]
fn sigterm_to_foreground_cluster_up_tears_down() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sigterm");
    let mut child = home
        .cmd()
        .args(["cluster", "up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_for("cluster ready", Duration::from_secs(300), || {
        home.state().is_some_and(|s| s.registry.process.is_some())
            && kbench::cluster::Registry::plain("http://127.0.0.1:8081/apis/ccompat/v7")
                .answers(Duration::from_secs(1))
    });
    let procs = home.state().unwrap().processes();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "a requested stop is a clean exit: {status}"
    );
    for p in procs {
        assert!(!p.alive(), "pid {} left behind after SIGTERM", p.pid);
    }
    home.assert_nothing_left();
    assert!(home.state_file().is_none(), "state file removed");
}

/// A kbench killed after spawning JVMs but before it recorded them: the state file on disk
/// lists no processes (as if the crash came between the spawn and the save). `cluster down`
/// must still find the JVMs, by the work directory their command lines name.
#[test]
fn jvms_missing_from_the_state_file_are_found_by_their_command_line() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("unrecorded");
    kill_once_nodes_are_spawned(&home);
    let path = home.state_file().unwrap();
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for n in state["nodes"].as_array_mut().unwrap() {
        n["process"] = serde_json::Value::Null;
    }
    state["registry"]["process"] = serde_json::Value::Null;
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let orphans = common::processes_naming(&home.home);
    assert!(orphans.len() >= 3, "the JVMs outlive kbench: {orphans:?}");

    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    home.assert_nothing_left();
}
