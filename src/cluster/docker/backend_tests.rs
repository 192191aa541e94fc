//! The Docker backend, container faults and leftover removal against the fake engine of
//! `fake.rs`: which Engine API calls they make, with which bodies and parameters, and what the
//! user reads when the engine says no. The cluster never becomes ready here (nothing speaks
//! Kafka), so start-up is checked up to its "not ready" error.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::engine::{Engine, RunState};
use super::fake::{Container, Fake};
use super::{remove_labelled, ContainerFaults, DockerBackend, ImageSet};

fn kafka_image() -> String {
    ImageSet::upstream().kafka
}

fn registry_image() -> String {
    ImageSet::upstream().registry
}
use crate::cluster::{ClusterBackend, RegistryFault, StartOptions, StopMode, Topology};

/// The default topology moved to ports nothing else uses, a different block per test since
/// tests run in parallel, so the port check passes and the Kafka probes find nobody.
fn topology(shift: u16) -> Topology {
    let mut t = Topology::default();
    for n in &mut t.nodes {
        n.client_port += shift;
        n.internal_port += shift;
        n.controller_port += shift;
    }
    t.registry_port += shift;
    t.registry_management_port += shift;
    t
}

fn fake_with_images() -> Fake {
    let fake = Fake::start();
    {
        let mut w = fake.world();
        w.images.insert(kafka_image());
        w.images.insert(registry_image());
        w.exec_output = r#"{"leaderId":2,"leaderEpoch":5,"votedId":-1}"#.into();
    }
    fake
}

fn backend(fake: &Fake, shift: u16, cluster: &str) -> DockerBackend {
    let engine = Engine::connect_at(&fake.endpoint).expect("fake engine answers");
    DockerBackend::with_engine(topology(shift), cluster, engine).expect("backend")
}

fn quick() -> StartOptions {
    StartOptions {
        ready_timeout: Duration::from_millis(300),
        detached: false,
    }
}

#[test]
fn start_creates_labelled_containers_and_reports_an_unready_cluster() {
    let fake = fake_with_images();
    let mut b = backend(&fake, 32000, "t1");
    let e = format!("{:#}", b.start(&quick(), &|_| {}).unwrap_err());
    assert!(e.contains("the cluster was not ready in time"), "{e}");
    assert!(e.contains("quorum leader Some(2)"), "{e}");
    assert!(e.contains("t1-kafka1 log line"), "{e}");
    {
        let w = fake.world();
        assert_eq!(
            w.networks["t1"],
            json!({ "dev.kbench.managed": "true", "dev.kbench.cluster": "t1" })
        );
        let k1 = &w.containers["t1-kafka1"];
        assert_eq!(k1.status, "running");
        let body = &k1.created;
        assert_eq!(body["Image"], json!(kafka_image()));
        assert_eq!(body["Hostname"], "kafka1");
        assert_eq!(body["ExposedPorts"], json!({ "41092/tcp": {} }));
        assert_eq!(
            body["HostConfig"]["PortBindings"],
            json!({ "41092/tcp": [{ "HostIp": "127.0.0.1", "HostPort": "41092" }] })
        );
        assert_eq!(body["HostConfig"]["NetworkMode"], "t1");
        assert_eq!(
            body["NetworkingConfig"]["EndpointsConfig"]["t1"]["Aliases"],
            json!(["kafka1"])
        );
        let env = body["Env"].as_array().expect("env");
        assert!(env.contains(&json!("KAFKA_NODE_ID=1")));
        assert!(env.contains(&json!(
            "KAFKA_CONTROLLER_QUORUM_VOTERS=1@kafka1:61092,2@kafka2:61093,3@kafka3:61094"
        )));
        assert_eq!(body["Labels"]["dev.kbench.node"], "1");
        assert_eq!(body["Labels"]["dev.kbench.cluster"], "t1");
        // The registry is a client of the brokers: created, but started only once they are up.
        assert_eq!(w.containers["t1-schema-registry"].status, "created");
        assert!(!w
            .lines()
            .iter()
            .any(|l| l.starts_with("POST /images/create")));
        let net = w
            .requests
            .iter()
            .find(|r| r.line == "POST /networks/create");
        assert_eq!(net.map(|r| &r.body["Driver"]), Some(&json!("bridge")));
    }
    b.teardown().unwrap();
    b.teardown().unwrap();
    let w = fake.world();
    assert!(w.containers.is_empty(), "{:?}", w.containers.keys());
    assert!(w.networks.is_empty());
    let removes = w
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("DELETE /containers/"))
        .collect::<Vec<_>>();
    assert_eq!(removes.len(), 4, "removed once each: {removes:?}");
    assert!(removes[0].starts_with("DELETE /containers/t1-schema-registry?"));
    assert!(removes
        .iter()
        .all(|l| l.contains("v=true") && l.contains("force=true")));
}

#[test]
fn a_container_that_exits_during_start_is_reported_with_its_log() {
    let fake = fake_with_images();
    fake.world().crash_on_start.insert("t2-kafka2".into());
    let mut b = backend(&fake, 32100, "t2");
    let opts = StartOptions {
        ready_timeout: Duration::from_secs(60),
        detached: false,
    };
    let e = format!("{:#}", b.start(&opts, &|_| {}).unwrap_err());
    assert!(
        e.contains("container t2-kafka2 exited during start-up with status 1"),
        "{e}"
    );
    assert!(e.contains("t2-kafka2 log line"), "{e}");
    b.teardown().unwrap();
    assert!(fake.world().containers.is_empty());
}

#[test]
fn missing_images_are_pulled_or_the_error_says_why() {
    let fake = Fake::start();
    let mut b = backend(&fake, 32200, "t3");
    let e = format!("{:#}", b.start(&quick(), &|_| {}).unwrap_err());
    let image = kafka_image();
    assert!(
        e.contains("no image for role kafka")
            && e.contains(&format!("image {image} cannot be pulled"))
            && e.contains("kbench images build"),
        "{e}"
    );
    assert!(fake.world().containers.is_empty(), "nothing created");

    fake.world().pullable = true;
    let notes = std::sync::Mutex::new(Vec::new());
    let e = b
        .start(&quick(), &|m| notes.lock().unwrap().push(m.to_string()))
        .unwrap_err();
    assert!(format!("{e:#}").contains("not ready in time"), "{e:#}");
    let (repo, tag) = image.rsplit_once(':').unwrap();
    let want = format!("POST /images/create?fromImage={repo}&tag={tag}");
    assert!(fake.world().lines().iter().any(|l| l.starts_with(&want)));
    let notes = notes.lock().unwrap();
    assert!(notes
        .iter()
        .any(|n| n == &format!("pulling image {image} (role kafka)")));
    b.teardown().unwrap();
}

#[test]
fn foreign_networks_and_leftover_containers_are_refused_and_left_alone() {
    let fake = fake_with_images();
    fake.world().networks.insert("t4".into(), json!({}));
    let mut b = backend(&fake, 32300, "t4");
    let e = format!("{:#}", b.start(&quick(), &|_| {}).unwrap_err());
    assert!(e.contains("network named t4 exists and kbench did not create it"));
    b.teardown().unwrap();
    assert!(fake.world().networks.contains_key("t4"));

    let leftover = json!({ "dev.kbench.managed": "true", "dev.kbench.cluster": "t4" });
    {
        let mut w = fake.world();
        w.networks.insert("t4".into(), leftover.clone());
        w.containers
            .insert("t4-kafka1".into(), Container::running(leftover));
    }
    let mut b = backend(&fake, 32300, "t4");
    let e = format!("{:#}", b.start(&quick(), &|_| {}).unwrap_err());
    assert!(
        e.contains("t4-kafka1 already exists")
            && e.contains("kbench cluster down --backend docker"),
        "{e}"
    );
    b.teardown().unwrap();
    let w = fake.world();
    assert!(w.containers.contains_key("t4-kafka1"), "not ours to remove");
    assert!(
        w.networks.contains_key("t4"),
        "reused, so not ours to remove"
    );
}

#[test]
fn faults_map_to_engine_calls() {
    let fake = Fake::start();
    fake.world()
        .containers
        .insert("k1".into(), Container::running(json!({})));
    let engine = Engine::connect_at(&fake.endpoint).unwrap();
    let f = ContainerFaults::with_engine(BTreeMap::from([(1, "k1".to_string())]), engine);
    let state = || f.state(1).unwrap();

    f.stop(1, StopMode::Pause).unwrap();
    assert_eq!(state(), RunState::Paused);
    f.resume(1).unwrap();
    assert_eq!(state(), RunState::Running);
    f.resume(1).unwrap();
    f.stop(1, StopMode::Kill).unwrap();
    assert_eq!(state(), RunState::Stopped);
    let e = f.stop(1, StopMode::Kill).unwrap_err().to_string();
    assert_eq!(e, "node 1 (container k1) is not running");
    f.restart(1).unwrap();
    assert_eq!(state(), RunState::Running);
    f.stop(1, StopMode::Pause).unwrap();
    f.stop(1, StopMode::Graceful).unwrap();
    assert_eq!(state(), RunState::Stopped);
    f.restart(1).unwrap();
    f.restart(1).unwrap();
    fake.world().hang_on_stop.insert("k1".into());
    let e = f.stop(1, StopMode::Graceful).unwrap_err().to_string();
    assert!(
        e.contains("did not finish its controlled shutdown within 120s"),
        "{e}"
    );
    let e = f.stop(9, StopMode::Kill).unwrap_err().to_string();
    assert!(e.contains("there is no container for node 9"), "{e}");

    let w = fake.world();
    let calls: Vec<&str> = w
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("POST"))
        .collect();
    assert_eq!(
        calls,
        [
            "POST /containers/k1/pause",
            "POST /containers/k1/unpause",
            "POST /containers/k1/kill?signal=SIGKILL",
            "POST /containers/k1/start",
            "POST /containers/k1/pause",
            // A frozen JVM cannot shut down in an orderly way, so it is thawed first.
            "POST /containers/k1/unpause",
            "POST /containers/k1/stop?t=120",
            "POST /containers/k1/start",
            // Restarting a running node stops it gracefully first.
            "POST /containers/k1/stop?t=120",
            "POST /containers/k1/start",
            "POST /containers/k1/stop?t=120",
        ]
    );
}

#[test]
fn registry_faults_act_on_the_registry_container() {
    let fake = Fake::start();
    fake.world()
        .containers
        .insert("sr".into(), Container::running(json!({})));
    let engine = Engine::connect_at(&fake.endpoint).unwrap();
    let f = ContainerFaults::with_engine(BTreeMap::new(), engine).with_registry(Some("sr".into()));
    let state = || f.registry_state().unwrap();
    f.registry_fault(RegistryFault::Stop(StopMode::Kill))
        .unwrap();
    assert_eq!(state(), RunState::Stopped);
    let e = (f.registry_fault(RegistryFault::Stop(StopMode::Kill)))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "the registry (container sr) is not running");
    f.registry_fault(RegistryFault::Restart).unwrap();
    f.registry_fault(RegistryFault::Stop(StopMode::Pause))
        .unwrap();
    assert_eq!(state(), RunState::Paused);
    f.registry_fault(RegistryFault::Resume).unwrap();
    assert_eq!(state(), RunState::Running);
    let calls: Vec<String> = (fake.world().lines().into_iter())
        .filter(|l| l.starts_with("POST"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        calls,
        [
            "POST /containers/sr/kill?signal=SIGKILL",
            "POST /containers/sr/start",
            "POST /containers/sr/pause",
            "POST /containers/sr/unpause",
        ]
    );
    let none =
        ContainerFaults::with_engine(BTreeMap::new(), Engine::connect_at(&fake.endpoint).unwrap());
    let e = none
        .registry_fault(RegistryFault::Restart)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no registry container is named"), "{e}");
}

#[test]
fn down_removes_only_what_kbench_labelled() {
    let fake = Fake::start();
    let ours = |c: &str| json!({ "dev.kbench.managed": "true", "dev.kbench.cluster": c });
    {
        let mut w = fake.world();
        for c in ["a", "b"] {
            w.containers
                .insert(format!("{c}-kafka1"), Container::running(ours(c)));
            w.networks.insert(c.into(), ours(c));
        }
        w.containers
            .insert("users-own".into(), Container::running(json!({})));
        w.networks.insert("users-net".into(), json!({}));
    }
    let engine = Engine::connect_at(&fake.endpoint).unwrap();
    let removed = remove_labelled(&engine, Some("a")).unwrap();
    assert_eq!(removed, ["container a-kafka1", "network a"]);
    let removed = remove_labelled(&engine, None).unwrap();
    assert_eq!(removed, ["container b-kafka1", "network b"]);
    assert!(remove_labelled(&engine, None).unwrap().is_empty());
    let w = fake.world();
    assert_eq!(w.containers.keys().collect::<Vec<_>>(), ["users-own"]);
    assert_eq!(w.networks.keys().collect::<Vec<_>>(), ["users-net"]);
}

#[test]
fn status_reports_container_states_and_the_quorum_leader() {
    let fake = fake_with_images();
    {
        let mut w = fake.world();
        w.exec_output = r#"{"leaderId":1,"leaderEpoch":3}"#.into();
        w.containers
            .insert("t7-kafka1".into(), Container::running(json!({})));
        let mut paused = Container::running(json!({}));
        paused.status = "paused";
        w.containers.insert("t7-kafka2".into(), paused);
        let mut exited = Container::running(json!({}));
        exited.status = "exited";
        w.containers.insert("t7-schema-registry".into(), exited);
    }
    let b = backend(&fake, 32400, "t7");
    let st = b.status().unwrap();
    let procs: Vec<Option<&str>> = st
        .nodes
        .iter()
        .map(|n| n.process.map(|p| p.label()))
        .collect();
    assert_eq!(procs, [Some("running"), Some("paused"), Some("down")]);
    assert_eq!(st.quorum_leader, Some(1));
    assert!(st.nodes[0].quorum_leader);
    assert_eq!(
        st.registry_process,
        Some(crate::cluster::ProcessState::Down)
    );
    assert_eq!(st.registry_url, "http://127.0.0.1:40481");
    assert!(!st.registry_up && st.metadata_error.is_some());
    assert_eq!(b.controller(), Some(1));
    assert_eq!(b.kind(), crate::names::BackendKind::Docker);
}

#[test]
fn a_socket_nobody_serves_is_no_engine() {
    let e = Engine::connect_at("unix:///nonexistent/kbench.sock")
        .err()
        .expect("no engine there");
    assert!(e.downcast_ref::<super::NoEngine>().is_some());
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "no Docker engine answers at unix:///nonexistent/kbench.sock: start Docker"
        ),
        "{msg}"
    );
}
