//! The seed's own path, for real: `docker compose up -d` of the committed compose file (its
//! variant on the images `kbench images build` makes: no image registry is reachable here), then
//! a client nobody here wrote — confluent-kafka with its own Avro serializer and schema registry
//! client, as in the seed's scripts — produces and reads back through the registry on
//! 127.0.0.1:8081, then `down -v` leaves no container, network or volume behind.
//!
//! Needs a Docker engine, `docker compose` or `docker-compose`, and Python 3 with venv (the test
//! installs confluent-kafka from PyPI into target/tmp once); it builds kbench's images first. Without an engine it says SKIPPED
//! and fails: it never passes unrun.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROJECT: &str = "kbench-compose-it";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `docker compose` (v2) or `docker-compose` (v1), whichever answers.
fn compose_command() -> Vec<String> {
    let answers = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if answers(&["docker", "compose"]) {
        vec!["docker".into(), "compose".into()]
    } else if answers(&["docker-compose"]) {
        vec!["docker-compose".into()]
    } else {
        panic!(
            "neither `docker compose` nor `docker-compose` answers: apt-get install docker-compose"
        )
    }
}

/// Runs `compose -f FILE -p PROJECT ARGS`.
struct Compose {
    cmd: Vec<String>,
    file: PathBuf,
}

impl Compose {
    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(&self.cmd[0])
            .args(&self.cmd[1..])
            .arg("-f")
            .arg(&self.file)
            .args(["-p", PROJECT])
            .args(args)
            .output()
            .expect("compose runs");
        eprintln!(
            "$ compose {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// `down -v` however the test ends, so a failed assertion leaves nothing running.
impl Drop for Compose {
    fn drop(&mut self) {
        self.run(&["down", "-v", "--remove-orphans"]);
    }
}

/// A Python with confluent-kafka (and its Avro and registry extras), made once under target/tmp.
fn python() -> PathBuf {
    common::python::venv(
        "py-confluent-kafka",
        "import confluent_kafka.schema_registry.avro, fastavro",
        &["confluent-kafka[avro,schemaregistry]"],
    )
}

/// What the engine still holds of the compose project: containers, networks, volumes.
fn leftovers() -> String {
    let filter = format!("label=com.docker.compose.project={PROJECT}");
    let list = |what: &[&str]| {
        let out = Command::new("docker")
            .args(what)
            .args(["--filter", &filter, "-q"])
            .output();
        String::from_utf8_lossy(&out.expect("docker CLI").stdout)
            .trim()
            .to_string()
    };
    [
        list(&["ps", "-a"]),
        list(&["network", "ls"]),
        list(&["volume", "ls"]),
    ]
    .join(" ")
    .trim()
    .to_string()
}

#[test]
fn compose_up_serves_an_independent_avro_client_and_down_leaves_nothing() {
    let _lock = common::cluster_lock();
    if let Err(e) = kbench::cluster::docker::DockerBackend::connect(
        kbench::cluster::Topology::default(),
        "kbench-compose-probe",
    ) {
        println!("SKIPPED: no Docker engine: {e:#}");
        panic!("this test needs a Docker engine and none answers: {e:#}");
    }
    common::TestHome::new("compose-images").local_images();
    let py = python();
    let compose = Compose {
        cmd: compose_command(),
        file: root().join(kbench::cluster::docker::LOCAL_COMPOSE_PATH),
    };
    let up = compose.run(&["up", "-d"]);
    assert!(up.status.success(), "compose up failed");
    let check = Command::new(&py)
        .arg(root().join("tests/python/avro_roundtrip.py"))
        .args(["--count", "500", "--wait", "300"])
        .output()
        .expect("python runs");
    let said = String::from_utf8_lossy(&check.stdout);
    eprintln!("{said}{}", String::from_utf8_lossy(&check.stderr));
    assert!(
        check.status.success(),
        "the independent client's check failed: {said}"
    );
    let result: serde_json::Value = serde_json::from_str(said.trim()).expect("one JSON line");
    assert_eq!(result["consumed"], 500);
    assert_eq!(result["distinct"], 500);
    assert!(result["schema_id"].as_i64().is_some_and(|id| id > 0));
    drop(compose);
    assert_eq!(leftovers(), "", "compose down -v left something behind");
}
