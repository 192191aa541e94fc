//! Shared plumbing of the integration tests: an isolated KBENCH_HOME per test (sharing the
//! downloaded distributions), running the real `kbench` binary, and small waits.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kbench::cluster::state::ClusterState;

pub struct TestHome {
    pub home: PathBuf,
    pub dist: PathBuf,
}

impl TestHome {
    /// A fresh kbench home under the target directory; distributions come from the user's cache
    /// (or `KBENCH_DIST`) so every test does not download Kafka again.
    pub fn new(name: &str) -> TestHome {
        let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{name}"));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let dist = match std::env::var_os("KBENCH_DIST") {
            Some(d) => PathBuf::from(d),
            None => {
                std::env::remove_var("KBENCH_HOME");
                kbench::paths::dist_dir().unwrap()
            }
        };
        TestHome { home, dist }
    }

    pub fn runs(&self) -> PathBuf {
        self.home.join("runs")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kbench"));
        c.env("KBENCH_HOME", &self.home)
            .env("KBENCH_DIST", &self.dist);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("kbench runs");
        eprintln!(
            "$ kbench {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `kbench run SCENARIO` into this home's reports directory: asserts that the run succeeded
    /// and tore its cluster down, and returns the run directory with its parsed results.
    pub fn run_scenario(&self, scenario: &Path) -> (PathBuf, kbench::report::results::Results) {
        let reports = self.home.join("reports");
        let out = self.run(&[
            "run",
            scenario.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "kbench run failed");
        assert!(
            jvms_under(&self.runs()).is_empty(),
            "the run tore its cluster down"
        );
        let dir = std::fs::read_dir(&reports)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let r = kbench::report::results::read(&dir).expect("results.json parses");
        (dir, r)
    }

    /// The newest state file under this home, if any.
    pub fn state_file(&self) -> Option<PathBuf> {
        kbench::cluster::state::find_all(&self.runs())
            .into_iter()
            .next()
    }

    pub fn state(&self) -> Option<ClusterState> {
        self.state_file().and_then(|p| ClusterState::load(&p).ok())
    }
}

impl Drop for TestHome {
    /// A failing test must not leave its cluster running for the next one.
    fn drop(&mut self) {
        let _ = self.cmd().args(["cluster", "down"]).output();
    }
}

/// Poll `cond` until it holds or `timeout` passes.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Processes whose command line names a work directory under `runs`.
pub fn jvms_under(runs: &Path) -> Vec<i32> {
    kbench::cluster::cleanup::strays(runs)
        .into_iter()
        .filter(|p| p.alive())
        .map(|p| p.pid)
        .collect()
}

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Send `n` keyed records `{tag}-{i}` with acks=all and idempotence through `bootstrap`, each
/// awaited, panicking on the first failed delivery.
pub fn produce_acks_all(bootstrap: &str, topic: &str, n: usize, tag: &str) {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        for i in 0..n {
            let payload = format!("{tag}-{i}");
            producer
                .send(
                    FutureRecord::to(topic).key(&payload).payload(&payload),
                    Duration::from_secs(60),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("acks=all send via {bootstrap} failed: {e}"));
        }
    });
}

/// Clusters use fixed ports, so tests of one binary that start one take turns.
pub fn cluster_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
