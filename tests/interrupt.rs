//! README promise: a run cut short mid-load — Ctrl-C (SIGINT), SIGTERM, or an error such as the
//! whole cluster killed from outside — still leaves its numbers: a parseable results.json marked
//! `aborted` (why, when, at which second of the load), an incomplete audit, SLOs not evaluated,
//! and an index.html that a real browser renders with a "cut short" banner. Exit code 130 for a
//! signal, 1 for an error, and nothing left behind (checked in /proc and on the ports).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestHome;
use kbench::report::results::{AbortKind, Results};

/// `kbench run` of the quickstart (25 s of load), with its stderr collected.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<Vec<String>>,
}

fn start(home: &TestHome) -> Running {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    let mut child = home
        .cmd()
        .args(["run", scenario.to_str().unwrap(), "--reports"])
        .arg(home.home.join("reports"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    Running {
        child,
        lines,
        reader,
    }
}

impl Running {
    /// Wait until the load has run for `for_s` seconds; fails the test with kbench's output
    /// when the load never starts.
    fn wait_loading(self, for_s: u64) -> Running {
        // The live line ("t=...s") says the load is running.
        let run = self.wait_line("t=", "the load never started");
        std::thread::sleep(Duration::from_secs(for_s));
        run
    }

    /// Wait until kbench prints a line holding `needle`; fails the test with kbench's output
    /// (`what` never happened) when it does not within 300 s.
    fn wait_line(self, needle: &str, what: &str) -> Running {
        let end = Instant::now() + Duration::from_secs(300);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return self,
                Ok(_) => {}
                Err(_) => {
                    let (status, log) = self.finish();
                    panic!("{what} ({status:?}):\n{log}");
                }
            }
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Its exit status (None: still running after 120 s, then killed) and what it printed.
    fn finish(mut self) -> (Option<ExitStatus>, String) {
        let end = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        (status, self.reader.join().unwrap().join("\n"))
    }
}

/// What every run cut short must leave: exit `code`, nothing running, a results.json marked
/// aborted as `kind` about `secs_in` seconds into the load, and a report a browser renders.
fn assert_partial(home: &TestHome, run: (Option<ExitStatus>, String), code: i32) -> Results {
    let (status, log) = run;
    let status = status.unwrap_or_else(|| panic!("kbench did not stop within 120s:\n{log}"));
    assert_eq!(status.code(), Some(code), "exit code:\n{log}");
    home.assert_nothing_left();
    assert!(home.state_file().is_none(), "state file removed");
    assert!(
        log.contains("cut short"),
        "the run says it was cut short:\n{log}"
    );
    let (dir, r) = common::read_run(&home.home.join("reports"));
    let a = r.aborted.clone().expect("results.json is marked aborted");
    assert!(!r.passed(), "a run cut short never passes");
    assert!(!r.audit.complete && !r.audit.ok, "audit marked incomplete");
    assert_eq!(
        r.audit.lost, 0,
        "nothing counted lost when the drain was cut"
    );
    assert!(r.audit.acked > 0, "what was acked before the stop is kept");
    assert!(
        r.slos.iter().all(|s| !s.evaluated && !s.pass),
        "SLOs not evaluated"
    );
    assert!(!r.slos.is_empty(), "the quickstart's SLOs are still listed");
    assert!(!r.series.is_empty(), "per-second rows kept");
    assert!(a.load_s > 0.5 && a.load_s < 25.0, "stopped mid-load: {a:?}");
    let dom = common::browser::dom_of(&dir.join("browser"), &dir.join("index.html"));
    for needle in [
        "Run CUT SHORT:",
        "Audit INCOMPLETE:",
        "NOT EVALUATED",
        "<svg",
    ] {
        assert!(dom.contains(needle), "rendered report lacks {needle:?}");
    }
    r
}

#[test]
fn sigint_mid_load_keeps_the_numbers_exits_130_and_leaves_nothing() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sigint-run");
    let run = start(&home).wait_loading(4);
    run.signal(libc::SIGINT);
    let r = assert_partial(&home, run.finish(), 130);
    let a = r.aborted.unwrap();
    assert_eq!(
        (a.kind, a.reason.as_str()),
        (AbortKind::Interrupted, "SIGINT")
    );
    assert!(!a.drain_skipped, "one signal: the drain ran, bounded");
    assert!(a.load_s >= 3.0, "stopped about 4 s into the load: {a:?}");
}

#[test]
fn sigterm_then_a_second_signal_skips_the_drain_but_still_reports() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sigterm-run");
    let run = start(&home).wait_loading(4);
    run.signal(libc::SIGTERM);
    // Pending at once, SIGINT would be delivered first (lower number): wait until kbench says
    // it took SIGTERM, which also shows a user what a second signal does.
    let said = "SIGTERM: stopping the load, then draining for at most 5s (a second signal skips";
    let run = run.wait_line(said, "kbench never said it took SIGTERM");
    run.signal(libc::SIGINT);
    let r = assert_partial(&home, run.finish(), 130);
    let a = r.aborted.unwrap();
    assert_eq!(
        (a.kind, a.reason.as_str()),
        (AbortKind::Interrupted, "SIGTERM")
    );
    assert!(
        a.drain_skipped,
        "the second signal skipped the drain: {a:?}"
    );
}

#[test]
fn the_cluster_killed_from_outside_mid_load_is_an_error_that_keeps_the_numbers() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("killed-run");
    let run = start(&home).wait_loading(4);
    let jvms: Vec<(i32, String)> = common::processes_naming(&home.home)
        .into_iter()
        .filter(|(pid, cmd)| *pid != run.child.id() as i32 && cmd.contains("java"))
        .collect();
    assert!(jvms.len() >= 4, "three brokers and the registry: {jvms:?}");
    for (pid, _) in &jvms {
        // SAFETY: these processes run under this test's own kbench home.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let r = assert_partial(&home, run.finish(), 1);
    let a = r.aborted.unwrap();
    assert_eq!(a.kind, AbortKind::Error);
    assert!(
        a.load_s < 7.0,
        "stopped at the kill (~4 s), not later: {a:?}"
    );
    assert!(
        a.reason.contains("exited outside the fault plan"),
        "the error names what happened: {a:?}"
    );
}
