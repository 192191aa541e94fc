//! Shared plumbing of the integration tests: an isolated KBENCH_HOME per test (sharing the
//! downloaded distributions), running the real `kbench` binary, and small waits.
#![allow(dead_code)]

pub mod browser;
pub mod fixtures;
pub mod python;
pub mod recount;

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

    /// `kbench ARGS`, bounded by [`COMMAND_TIMEOUT`]: a hung kbench fails the test with its
    /// output instead of hanging CI.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_within(args, COMMAND_TIMEOUT)
    }

    /// `kbench ARGS`, killed (and the test failed, with what it printed) after `timeout`.
    pub fn run_within(&self, args: &[&str], timeout: Duration) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        let out = output_within(cmd, timeout)
            .unwrap_or_else(|partial| panic!("kbench {} {partial}", args.join(" ")));
        eprintln!(
            "$ kbench {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// kbench's own images, which the docker tests run: `kbench images build` makes them
    /// offline the first time (about a minute) and finds them up to date after that (seconds).
    pub fn local_images(&self) {
        let out = self.run_within(&["images", "build"], Duration::from_secs(900));
        assert!(out.status.success(), "kbench images build failed");
    }

    /// `kbench run SCENARIO` into this home's reports directory: asserts that the run succeeded
    /// and tore its cluster down, and returns the run directory with its parsed results.
    pub fn run_scenario(&self, scenario: &Path) -> (PathBuf, kbench::report::results::Results) {
        let out = self.run_with(scenario, &[]);
        assert!(out.status.success(), "kbench run failed");
        self.assert_nothing_left();
        read_run(&self.home.join("reports"))
    }

    /// `kbench run SCENARIO --reports <home>/reports EXTRA...`.
    fn run_with(&self, scenario: &Path, extra: &[&str]) -> Output {
        let reports = self.home.join("reports");
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `kbench run SCENARIO --keep-cluster` into this home's reports directory: the command's
    /// output (the caller judges its exit code) and the run's results. `Drop` takes the kept
    /// cluster down should the test fail before it does.
    pub fn run_keeping_cluster(
        &self,
        scenario: &Path,
    ) -> (Output, kbench::report::results::Results) {
        let out = self.run_with(scenario, &["--keep-cluster"]);
        let (_dir, r) = read_run(&self.home.join("reports"));
        (out, r)
    }

    /// A home whose cluster was started with `kbench cluster up --detach`, for tests that use
    /// it as an external cluster; `Drop` takes it down.
    pub fn detached(name: &str) -> TestHome {
        let home = TestHome::new(name);
        let up = home.run(&["cluster", "up", "--detach"]);
        assert!(up.status.success(), "cluster up failed");
        home
    }

    /// Nothing of this home's clusters runs or listens any more, checked from /proc and the
    /// ports themselves rather than by kbench's own bookkeeping.
    pub fn assert_nothing_left(&self) {
        let left = processes_naming(&self.home);
        assert!(left.is_empty(), "processes left behind: {left:?}");
        assert!(
            jvms_under(&self.runs()).is_empty(),
            "kbench's own view agrees"
        );
        let open: Vec<u16> = CLUSTER_PORTS
            .into_iter()
            .filter(|p| port_open(*p))
            .collect();
        assert!(open.is_empty(), "ports still listening: {open:?}");
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

/// A kbench started in the background that a failing test must not leave running: a run that
/// outlives its test's cluster lock tears down its lab under the next test's cluster.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Longest a single kbench command may take in a test: the longest test scenario runs about
/// 2 minutes plus a cluster start (under a minute) and teardown.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Run `cmd` to completion, or kill it after `timeout`; the error holds what it printed.
pub fn output_within(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kbench starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(format!(
            "was killed after {timeout:?}; it printed:\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
    }
}

/// The one run directory under `reports`, with its parsed results.
pub fn read_run(reports: &Path) -> (PathBuf, kbench::report::results::Results) {
    let dir = std::fs::read_dir(reports)
        .expect("a reports directory")
        .next()
        .expect("a run directory")
        .unwrap()
        .path();
    let r = kbench::report::results::read(&dir).expect("results.json parses");
    (dir, r)
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

/// Every port a kbench cluster listens on: clients, inter-broker, controllers, the registry and
/// its management interface.
pub const CLUSTER_PORTS: [u16; 11] = [
    9092, 9093, 9094, 19092, 19093, 19094, 29092, 29093, 29094, 8081, 9081,
];

/// Live processes (pid, command line) whose command line mentions `dir`, read from /proc.
pub fn processes_naming(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != std::process::id() as i32)
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
            (cmd.contains(&needle) && !zombie).then_some((pid, cmd))
        })
        .collect()
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

/// Read `topic` from the start with a consumer of the test's own until `expect` records came
/// (or a minute passed), decoding each through the writer schema its id names, fetched from
/// the registry's REST API with apache-avro — none of kbench's decoding. Returns the records
/// decoded per schema id; a record that does not decode fails the test.
pub fn decode_topic(topic: &str, expect: u64) -> std::collections::BTreeMap<u32, u64> {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:9092")
        .set("group.id", format!("{topic}-outside-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let http = reqwest::blocking::Client::new();
    let mut schemas = std::collections::BTreeMap::new();
    let mut per_id = std::collections::BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while per_id.values().sum::<u64>() < expect && std::time::Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m.unwrap();
        let payload = m.payload().expect("a value");
        assert_eq!(payload[0], 0, "Confluent magic byte");
        let id = u32::from_be_bytes(payload[1..5].try_into().unwrap());
        let schema = schemas.entry(id).or_insert_with(|| {
            let url = format!("http://127.0.0.1:8081/apis/ccompat/v7/schemas/ids/{id}");
            let v: serde_json::Value = http.get(url).send().unwrap().json().unwrap();
            apache_avro::Schema::parse_str(v["schema"].as_str().unwrap()).unwrap()
        });
        apache_avro::reader::datum::GenericDatumReader::builder(schema)
            .build()
            .and_then(|r| r.read_value(&mut &payload[5..]))
            .unwrap_or_else(|e| panic!("record at offset {} does not decode: {e}", m.offset()));
        *per_id.entry(id).or_insert(0u64) += 1;
    }
    per_id
}
