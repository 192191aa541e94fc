//! kbench never leaves a process behind: SIGTERM to a foreground `cluster up` tears down what it
//! started, and after `cluster up` itself is SIGKILLed mid-start, `cluster down` cleans up from
//! the state file.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{jvms_under, wait_for, TestHome};

#[test]
fn sigkilled_kbench_is_cleaned_up_by_cluster_down() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("crash");
    let mut child = home
        .cmd()
        .args(["cluster", "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Kill kbench once it has started some JVMs but before the cluster is ready.
    wait_for("nodes spawned", Duration::from_secs(120), || {
        home.state()
            .is_some_and(|s| s.nodes.iter().all(|n| n.process.is_some()))
    });
    let state = home.state().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
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
    assert!(jvms_under(&home.runs()).is_empty());
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
            && kbench::cluster::probe::registry_answers(
                "http://127.0.0.1:8081/apis/ccompat/v7",
                Duration::from_secs(1),
            )
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
    assert!(jvms_under(&home.runs()).is_empty());
    assert!(home.state_file().is_none(), "state file removed");
}
