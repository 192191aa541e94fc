//! The Docker backend against a real Docker engine, on the images `kbench images build` makes
//! (`images = "local"`: no image registry is needed; `.ci/run` builds them, or run
//! `kbench images build` first).
//!
//! Rust has no run-time "skip", and a test that returns early would count as passed, so the
//! cluster tests need an engine: without one they print `SKIPPED: no Docker engine: <reason>`
//! and fail. `.ci/run` installs and starts one. `engine_answers_or_the_error_says_how_to_get_one`
//! checks the clear "no Docker engine answers" error where no engine runs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{produce_acks_all, wait_for as wait_until, TestHome};

use kbench::cluster::docker::{down_labelled, ContainerFaults, DockerBackend, NoEngine};
use kbench::cluster::watch::Watch;
use kbench::cluster::{
    ClusterBackend, ClusterGuard, Member, ProcessState, StartOptions, StopMode, Topology,
};
use kbench::images::{Choice, Origin, Role};
use kbench::kafka::admin::{create_topic, TopicSpec};
use kbench::netfault::{Direction, NetEvidence, NetFault, NetKind, Scope};

fn assert_no_engine_error(e: &anyhow::Error) {
    let msg = format!("{e:#}");
    assert!(
        e.downcast_ref::<NoEngine>().is_some(),
        "not a NoEngine error: {msg}"
    );
    assert!(msg.contains("no Docker engine answers at "), "{msg}");
    assert!(
        msg.contains("start Docker, or use backend = \"process\""),
        "{msg}"
    );
}

#[test]
fn engine_answers_or_the_error_says_how_to_get_one() {
    match DockerBackend::connect(Topology::default(), "kbench-probe") {
        Ok(b) => {
            // Connecting pinged the engine and created nothing; the docker CLI (a client kbench
            // did not write) finds nothing labelled for the cluster, though every spec would be.
            for spec in b.specs() {
                assert_eq!(
                    spec.labels.get("dev.kbench.cluster").map(String::as_str),
                    Some("kbench-probe"),
                    "{spec:?}"
                );
            }
            for what in [&["ps", "-a"][..], &["network", "ls"][..]] {
                let mut args = what.to_vec();
                args.extend(["-q", "--filter", "label=dev.kbench.cluster=kbench-probe"]);
                let out = std::process::Command::new("docker").args(&args).output();
                let out = out.expect("the docker CLI runs where an engine answers");
                assert!(out.status.success(), "docker {args:?}");
                let listed = String::from_utf8_lossy(&out.stdout);
                assert!(listed.trim().is_empty(), "connect created {listed}");
            }
            eprintln!("a Docker engine answers; the cluster tests run on it");
        }
        Err(e) => {
            assert_no_engine_error(&e);
            let faults = ContainerFaults::connect(Default::default(), None);
            assert_no_engine_error(&faults.err().expect("no engine for faults either"));
            assert_no_engine_error(&down_labelled(None).expect_err("no engine for down"));
            println!("SKIPPED: no Docker engine: {e:#}");
        }
    }
}

#[test]
fn docker_cluster_survives_faults() {
    // The same ports as every other cluster test: take turns with them.
    let _lock = common::cluster_lock();
    let cluster = format!("kbench-it-{}", std::process::id());
    TestHome::new("docker-images").local_images();
    let backend = DockerBackend::connect(Topology::default(), &cluster)
        .unwrap_or_else(|e| skipped_without_engine(&e))
        .with_images(Choice::Local);
    // The guard removes the containers even when an assertion fails half-way.
    let mut guard = ClusterGuard::new(Box::new(backend));
    let b = guard.backend();
    let opts = StartOptions {
        ready_timeout: Duration::from_secs(300),
        detached: false,
    };
    b.start(&opts, &|m| eprintln!("kbench: {m}"))
        .expect("docker cluster starts");
    let st = b.status().unwrap();
    eprintln!("{st}");
    assert!(st.all_up(), "all up after start:\n{st}");
    assert!(b.controller().is_some());
    assert_eq!(
        b.endpoints().registry.url,
        "http://127.0.0.1:8081/apis/ccompat/v7"
    );

    let bootstrap = b.endpoints().brokers.bootstrap;
    let topic = TopicSpec {
        name: "it-docker".into(),
        partitions: 3,
        replication_factor: 3,
        configs: vec![("min.insync.replicas".into(), "2".into())],
    };
    create_topic(&b.endpoints().brokers, &topic, true).expect("topic created");
    produce_acks_all(&bootstrap, "it-docker", 20, "docker");

    // The engine's events are followed: all is as planned while every container runs.
    assert!(Watch::default().outside_plan(&*b).is_none());

    // A killed broker: the container is down, acks=all writes go on with two in sync.
    b.stop(1, StopMode::Kill).expect("kill node 1");
    let st = b.status().unwrap();
    let n1 = st.nodes.iter().find(|n| n.id == 1).unwrap();
    assert_eq!(n1.process, Some(ProcessState::Down), "{st}");
    // Its "die" event reaches the watch: a run that did not plan it sees broker 1 gone, with
    // the end of its container's log; a run that planned it does not.
    let mut seen = None;
    wait_until("the engine's die event", Duration::from_secs(60), || {
        seen = Watch::default().outside_plan(&*b);
        seen.is_some()
    });
    let seen = seen.unwrap().to_string();
    assert!(
        seen.starts_with("broker 1 exited outside the fault plan"),
        "{seen}"
    );
    assert!(seen.contains("last lines of `docker logs"), "{seen}");
    assert!(Watch::new([Member::Broker(1)]).outside_plan(&*b).is_none());
    produce_acks_all(&bootstrap, "it-docker", 20, "docker");
    b.restart(1).expect("restart node 1");
    wait_until("node 1 back", Duration::from_secs(180), || {
        b.status().is_ok_and(|s| s.all_up())
    });
    assert!(
        Watch::default().outside_plan(&*b).is_none(),
        "back after its start event"
    );

    // A paused broker shows as paused and continues.
    b.stop(2, StopMode::Pause).expect("pause node 2");
    let st = b.status().unwrap();
    let n2 = st.nodes.iter().find(|n| n.id == 2).unwrap();
    assert_eq!(n2.process, Some(ProcessState::Paused), "{st}");
    b.resume(2).expect("resume node 2");

    // A graceful stop finishes its controlled shutdown in time.
    b.stop(3, StopMode::Graceful)
        .expect("graceful stop of node 3");
    b.restart(3).expect("restart node 3");
    wait_until("all nodes back", Duration::from_secs(180), || {
        b.status().is_ok_and(|s| s.all_up())
    });

    network_faults_reach_the_containers(b, &cluster);

    guard.teardown().expect("teardown");
    let left = down_labelled(Some(&cluster)).expect("engine still answers");
    assert!(left.is_empty(), "teardown left {left:?}");
    let names = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten();
    let named: Vec<_> = (names.map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(&cluster))
        .collect();
    assert!(named.is_empty(), "teardown left namespace names {named:?}");
}

/// Whether Kafka node `from` reaches node `to`'s inter-broker port, asked from inside its
/// container (bash's /dev/tcp, given 3 s).
fn reaches(cluster: &str, from: u32, to: u32) -> bool {
    let port = Topology::default().node(to).unwrap().internal_port;
    let open = format!("exec 3<>/dev/tcp/{cluster}-kafka{to}/{port}");
    let from = format!("{cluster}-kafka{from}");
    let argv = ["exec", &from, "timeout", "3", "bash", "-c", &open];
    std::process::Command::new("docker")
        .args(argv)
        .status()
        .is_ok_and(|s| s.success())
}

/// Each kind of network and gray fault, made inside a container's namespace and cgroup (and
/// on its bridge end), with an effect to show for it, and healed.
fn network_faults_reach_the_containers(b: &mut dyn ClusterBackend, cluster: &str) {
    let fault = |kind, scope, direction| NetFault {
        kind,
        scope,
        direction,
    };
    assert!(reaches(cluster, 1, 2), "peers talk before the fault");
    let net = b.network_faults().expect("docker takes network faults");
    let cut = fault(NetKind::Partition, Scope::Peers, Direction::Both);
    let ev = net.inject(0, 2, &cut).expect("partition node 2");
    assert!(matches!(ev[..], [NetEvidence::Filtered { .. }]), "{ev:?}");
    assert!(!reaches(cluster, 1, 2), "node 2 is cut from its peers");
    assert!(reaches(cluster, 1, 3), "the others still talk");
    net.heal(0).expect("heal the partition");
    assert!(reaches(cluster, 1, 2), "healed");

    // Both ways: inside the container, and on its bridge end in kbench's namespace.
    let cap = NetKind::Bandwidth {
        bits_per_s: 8_000_000,
    };
    let ev = net
        .inject(1, 3, &fault(cap, Scope::All, Direction::Both))
        .unwrap();
    let links: Vec<String> = ev.iter().map(ToString::to_string).collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links.iter().any(|l| l.contains(&format!("{cluster}-host"))),
        "{links:?}"
    );
    net.heal(1).expect("heal the cap");

    // Replication keeps packets flowing between peers: some are held.
    let hold = NetKind::Delay {
        delay: Duration::from_millis(50),
        jitter: Duration::ZERO,
    };
    net.inject(2, 1, &fault(hold, Scope::Peers, Direction::Out))
        .expect("delay node 1");
    std::thread::sleep(Duration::from_secs(2));
    let healed = net.heal(2).expect("heal the delay");
    let held = healed.iter().find_map(|e| match e {
        NetEvidence::Healed { found, .. } => match **found {
            NetEvidence::Delayed { packets } => Some(packets),
            _ => None,
        },
        _ => None,
    });
    assert!(held.is_some_and(|p| p > 0), "{healed:?}");

    let starve = NetKind::Starve { cpu: 0.05 };
    let ev = net
        .inject(3, 1, &fault(starve, Scope::All, Direction::Both))
        .unwrap();
    assert!(matches!(ev[..], [NetEvidence::Starved { .. }]), "{ev:?}");
    std::thread::sleep(Duration::from_secs(2));
    let healed = net.heal(3).expect("heal the starvation");
    let throttled = healed.iter().any(|e| {
        matches!(e, NetEvidence::Healed { found, .. }
            if matches!(**found, NetEvidence::Throttled { periods } if periods > 0))
    });
    assert!(throttled, "a JVM at 5 % of a CPU is held back: {healed:?}");
}

/// A cluster test asked to run without an engine says so and fails: it never passes unrun.
fn skipped_without_engine(e: &anyhow::Error) -> ! {
    println!("SKIPPED: no Docker engine: {e:#}");
    panic!("this test needs a Docker engine and none answers: {e:#}");
}

/// The shortened failover scenario of `tests/failover.rs`, run by `kbench run` with
/// `backend = "docker"`: kbench creates the containers, kills the leader of p0 through the engine,
/// restarts it, audits, and removes everything it created.
#[test]
fn failover_scenario_on_the_docker_backend() {
    let _lock = common::cluster_lock();
    if let Err(e) = DockerBackend::connect(Topology::default(), "kbench-it-probe") {
        skipped_without_engine(&e);
    }
    let home = TestHome::new("docker-failover");
    home.local_images();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/scenarios/failover-short.toml")).unwrap();
    let schema = root.join("scenarios/schemas/reading.avsc");
    let text = text
        .replace(
            "../../scenarios/schemas/reading.avsc",
            schema.to_str().unwrap(),
        )
        .replace(
            "[topic]",
            "[cluster]\nbackend = \"docker\"\nimages = \"local\"\n\n[cluster.broker]\n\
             \"broker.session.timeout.ms\" = 6000\n\n[topic]",
        );
    let scenario = home.home.join("failover-docker.toml");
    std::fs::write(&scenario, text).unwrap();

    let (dir, r) = home.run_scenario(&scenario);
    assert_eq!(r.environment.backend, kbench::names::BackendKind::Docker);
    // `[cluster.broker]` reached every container, as each broker reports it (DescribeConfigs).
    let [s] = &r.environment.broker_settings[..] else {
        panic!("one setting: {:?}", r.environment.broker_settings);
    };
    assert_eq!(
        (s.key.as_str(), s.value.as_str()),
        ("broker.session.timeout.ms", "6000")
    );
    assert_eq!(s.reported.len(), 3, "{s:?}");
    assert!(s.reported.values().all(|v| v == "6000"), "{s:?}");
    // Which image each role ran, typed in results.json and named in the report.
    let roles: Vec<_> = r.environment.images.iter().map(|i| i.role).collect();
    assert_eq!(roles, [Role::Kafka, Role::Registry]);
    for i in &r.environment.images {
        assert_eq!(i.origin, Origin::Local, "{i:?}");
        assert!(i.id.starts_with("sha256:"), "{i:?}");
    }
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let kafka = &r.environment.images[0];
    assert!(html.contains(&format!(
        "kafka: {} (built here, {})",
        kafka.reference, kafka.id
    )));
    assert_eq!(r.faults.len(), 1);
    let f = &r.faults[0];
    assert!(f.error.is_none(), "fault failed: {:?}", f.error);
    assert!(f.recovered_s.is_some(), "the killed broker came back");
    assert!(r.audit.ok, "audit: {:?}", r.audit);
    assert_eq!(r.audit.lost, 0);
    // Only the run's own cluster: other kbench containers on this engine are not ours.
    let left = down_labelled(Some(kbench::cluster::docker::DEFAULT_CLUSTER))
        .expect("engine still answers");
    assert!(left.is_empty(), "the run left {left:?}");
}

/// A TCP listener on loopback that carries each connection to the engine's unix socket: an
/// engine reached over TCP, as `DOCKER_HOST=tcp://...` names one. Counts the connections.
fn tcp_front() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::copy;
    use std::net::{Shutdown, TcpListener};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            seen.fetch_add(1, Ordering::SeqCst);
            let Ok(unix) = UnixStream::connect("/var/run/docker.sock") else {
                continue;
            };
            let (mut tcp_in, mut unix_out) = (tcp.try_clone().unwrap(), unix.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = copy(&mut tcp_in, &mut unix_out);
                let _ = unix_out.shutdown(Shutdown::Write);
            });
            let (mut unix_in, mut tcp_out) = (unix, tcp);
            std::thread::spawn(move || {
                let _ = copy(&mut unix_in, &mut tcp_out);
                let _ = tcp_out.shutdown(Shutdown::Write);
            });
        }
    });
    (port, count)
}

#[test]
fn an_engine_over_tcp_answers_as_the_socket_does() {
    let home = TestHome::new("docker-tcp");
    if let Err(e) = DockerBackend::connect(Topology::default(), "kbench-probe") {
        skipped_without_engine(&e);
    }
    let over_socket = home.run(&["images", "list"]);
    assert!(over_socket.status.success(), "images list over the socket");
    let (port, connections) = tcp_front();
    let over_tcp = home
        .cmd()
        .args(["images", "list"])
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        over_tcp.status.success(),
        "{}",
        String::from_utf8_lossy(&over_tcp.stderr)
    );
    assert!(
        connections.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "it went over TCP"
    );
    assert_eq!(
        text(&over_tcp),
        text(&over_socket),
        "the same images, the same answer"
    );
    // Nothing answers on a closed port: the error names the endpoint and how to get an engine.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("tcp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let none = (home
        .cmd()
        .args(["images", "list"])
        .env("DOCKER_HOST", &gone))
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("no Docker engine answers at {gone}")),
        "{err}"
    );
}

/// The Docker objects of cluster `kbench` (kbench's default), as `docker ps` / `docker network
/// ls` list them by kbench's label.
fn labelled_objects() -> Vec<String> {
    let filter = "label=dev.kbench.cluster=kbench";
    let list = |args: &[&str]| -> Vec<String> {
        let out = std::process::Command::new("docker")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?} failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    };
    let mut all = list(&["ps", "-a", "--format", "{{.Names}}", "--filter", filter]);
    all.extend(list(&[
        "network",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        filter,
    ]));
    all
}

/// A foreground `kbench cluster up --backend docker` stopped by SIGTERM removes its containers
/// and network and exits 0; one killed by SIGKILL cannot, and `kbench cluster down --backend
/// docker` then removes them.
#[test]
fn a_stopped_or_killed_kbench_leaves_no_container_behind() {
    let _lock = common::cluster_lock();
    if let Err(e) = DockerBackend::connect(Topology::default(), "kbench-it-probe") {
        skipped_without_engine(&e);
    }
    let home = TestHome::new("docker-signals");
    home.local_images();
    assert!(
        labelled_objects().is_empty(),
        "another cluster `kbench` is up"
    );
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let up = ["cluster", "up", "--backend", "docker", "--images", "local"];
        let mut child = (home.cmd().args(up))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let registry = kbench::cluster::Registry::plain("http://127.0.0.1:8081/apis/ccompat/v7");
        wait_until(
            "the docker cluster answers",
            Duration::from_secs(300),
            || registry.answers(Duration::from_secs(1)),
        );
        assert_eq!(labelled_objects().len(), 5, "four containers and a network");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        if signal == libc::SIGTERM {
            assert!(
                status.success(),
                "a requested stop is a clean exit: {status}"
            );
        } else {
            assert_eq!(
                labelled_objects().len(),
                5,
                "a killed kbench removes nothing"
            );
            let down = home.run(&["cluster", "down", "--backend", "docker"]);
            assert!(down.status.success(), "cluster down after the kill");
        }
        let left = labelled_objects();
        assert!(left.is_empty(), "after {signal}: {left:?} left behind");
    }
}
