//! README promise: Ctrl-C (SIGINT) or SIGTERM to `kbench run` mid-load exits 130 and leaves
//! nothing behind — no JVM (checked in /proc), no listening port, no state file.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestHome;

fn interrupt_mid_load(name: &str, signal: i32) {
    let _lock = common::cluster_lock();
    let home = TestHome::new(name);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    let reports = home.home.join("reports");
    let mut child = home
        .cmd()
        .args(["run", scenario.to_str().unwrap(), "--reports"])
        .arg(&reports)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The live line ("t=...s") says the load is running.
    let (tx, rx) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("t=") {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let loading = rx.recv_timeout(Duration::from_secs(300)).is_ok();
    if loading {
        std::thread::sleep(Duration::from_secs(3));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let end = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > end {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines = reader.join().unwrap();
    let log = lines.join("\n");
    assert!(loading, "the load never started:\n{log}");
    let status = status.unwrap_or_else(|| panic!("kbench did not stop within 180s:\n{log}"));
    assert_eq!(
        status.code(),
        Some(130),
        "interrupted runs exit 130:\n{log}"
    );
    home.assert_nothing_left();
    assert!(home.state_file().is_none(), "state file removed");
}

#[test]
fn sigint_mid_load_exits_130_and_leaves_nothing() {
    interrupt_mid_load("sigint-run", libc::SIGINT);
}

#[test]
fn sigterm_mid_load_exits_130_and_leaves_nothing() {
    interrupt_mid_load("sigterm-run", libc::SIGTERM);
}
