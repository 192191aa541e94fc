//! The foundation against the real cluster: `kbench cluster up --detach` starts three KRaft nodes
//! and the registry; clients produce and consume through each bootstrap address; an Avro schema
//! goes through the Confluent-compatible API; a killed broker does not stop acks=all writes and
//! rejoins the ISR after a restart; a paused broker recovers; `cluster down` leaves nothing.

mod common;

use std::time::{Duration, Instant};

use common::{jvms_under, port_open, produce_acks_all as produce, wait_for, TestHome};
use kbench::cluster::proc_ctl::ProcState;
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, StopMode};
use kbench::kafka::admin::{create_topic, TopicSpec};
use kbench::kafka::metadata::MetadataClient;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use schema_registry_converter::async_impl::schema_registry::{
    get_schema_by_id, post_schema, SrSettings,
};
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};

fn consume_all(bootstrap: &str, topic: &str, want: usize) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("it-{}-{}", topic, bootstrap.replace([':', '.'], "-")),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(60);
    while got.len() < want && Instant::now() < end {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    got
}

fn isr_full(md: &MetadataClient, topic: &str) -> bool {
    md.partitions(topic, Duration::from_secs(2))
        .map(|ps| !ps.is_empty() && ps.iter().all(|p| p.isr.len() == 3 && p.leader.is_some()))
        .unwrap_or(false)
}

#[test]
fn cluster_lifecycle_against_real_jvms() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("cluster");
    let t0 = Instant::now();
    let up = home.run(&["cluster", "up", "--detach"]);
    assert!(up.status.success(), "cluster up failed");
    eprintln!(
        "cluster up --detach took {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    let state_path = home.state_file().expect("a state file");
    let mut backend = ProcessBackend::attach(&state_path).unwrap();
    let pids: Vec<i32> = backend.state().processes().iter().map(|p| p.pid).collect();
    assert_eq!(pids.len(), 4, "three nodes and a registry");

    // Status as a user sees it.
    let st = home.run(&["cluster", "status"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(st.status.success());
    let up_brokers = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" up "))
        .count();
    assert_eq!(up_brokers, 3, "three brokers up:\n{text}");
    // Exactly one broker row carries the quorum-leader mark, and the quorum line names it.
    let leaders: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.trim_end().ends_with("leader"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(leaders.len(), 1, "one quorum leader row:\n{text}");
    assert!(
        text.contains(&format!("quorum    leader node {}", leaders[0])),
        "the quorum line names broker {}:\n{text}",
        leaders[0]
    );
    assert!(backend.status().unwrap().all_up());
    // The same as JSON, for scripts.
    let st = home.run(&["cluster", "status", "--json"]);
    assert!(st.status.success());
    let json: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json parses");
    assert_eq!(json["backend"], "process");
    assert_eq!(json["registry_up"], true);
    let nodes = json["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    assert!(
        nodes
            .iter()
            .all(|n| n["registered"] == true && n["process"] == "running"),
        "{json}"
    );
    assert_eq!(
        json["quorum_leader"].as_u64().map(|l| l.to_string()),
        Some(leaders[0].to_string()),
        "JSON and table agree on the quorum leader"
    );

    // Every bootstrap address alone is enough to produce and consume.
    let bootstrap = backend.endpoints().brokers.bootstrap;
    let spec = |name: &str| TopicSpec {
        name: name.into(),
        partitions: 3,
        replication_factor: 3,
        configs: vec![("min.insync.replicas".into(), "2".into())],
    };
    create_topic(&backend.endpoints().brokers, &spec("it-bootstrap"), true).unwrap();
    for addr in bootstrap.split(',') {
        produce(addr, "it-bootstrap", 20, addr);
    }
    for addr in bootstrap.split(',') {
        let got = consume_all(addr, "it-bootstrap", 60);
        assert_eq!(got.len(), 60, "consumer via {addr} read everything");
        assert!(bootstrap
            .split(',')
            .all(|a| got.iter().any(|g| g.starts_with(a))));
    }

    // Avro schema through the registry's Confluent-compatible API, read back by id.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sr = SrSettings::new(backend.endpoints().registry.url);
    let avsc = r#"{"type":"record","name":"Reading","namespace":"kbench.it","fields":[{"name":"ts","type":"long"},{"name":"value","type":"double"}]}"#;
    let registered = rt
        .block_on(post_schema(
            &sr,
            "it-avro-value".into(),
            SuppliedSchema::new(
                Some("kbench.it.Reading".into()),
                SchemaType::Avro,
                avsc.into(),
            ),
        ))
        .expect("schema registered");
    let fetched = rt
        .block_on(get_schema_by_id(registered.id, &sr))
        .expect("schema read back by id");
    let a: serde_json::Value = serde_json::from_str(avsc).unwrap();
    let b: serde_json::Value = serde_json::from_str(&fetched.schema).unwrap();
    assert_eq!(a, b, "the registry returns the schema it stored");

    // The seed's producer and consumer: kbench produce / consume on topic `test`, decoded
    // through the registry by schema_registry_converter's standard Confluent-format decoder.
    let produced = home.run(&[
        "produce", "--topic", "test", "--count", "25", "--rate", "50",
    ]);
    assert!(produced.status.success(), "kbench produce failed");
    assert!(String::from_utf8_lossy(&produced.stdout).contains("25 acked, 0 failed"));
    let consumed = home.run(&[
        "consume", "--topic", "test", "--count", "25", "--idle", "20s",
    ]);
    assert!(consumed.status.success(), "kbench consume failed");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&consumed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON record"))
        .collect();
    assert_eq!(lines.len(), 25);
    let mut seqs: Vec<i64> = lines
        .iter()
        .map(|r| r["kbench_seq"].as_i64().expect("header field"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..25).collect::<Vec<i64>>(),
        "every produced record decoded once"
    );
    assert!(lines
        .iter()
        .all(|r| r["sensor"].is_string() && r["timestamp"].is_i64()));
    let raw_consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "it-raw-check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    raw_consumer.subscribe(&["test"]).unwrap();
    let decoder = schema_registry_converter::async_impl::easy_avro::EasyAvroDecoder::new(
        SrSettings::new(backend.endpoints().registry.url),
    );
    let end = Instant::now() + Duration::from_secs(30);
    let mut decoded = 0;
    while decoded < 25 && Instant::now() < end {
        if let Some(Ok(m)) = raw_consumer.poll(Duration::from_millis(500)) {
            let payload = m.payload().unwrap();
            assert_eq!(payload[0], 0, "Confluent magic byte");
            let r = rt
                .block_on(decoder.decode(Some(payload)))
                .expect("decodes through the registry");
            assert!(matches!(r.value, apache_avro::types::Value::Record(_)));
            decoded += 1;
        }
    }
    assert_eq!(decoded, 25);

    // SIGKILL one broker: acks=all with min ISR 2 still succeeds; after a restart it rejoins.
    create_topic(&backend.endpoints().brokers, &spec("it-failover"), true).unwrap();
    let md = MetadataClient::new(&backend.endpoints().brokers).unwrap();
    let victim = 2;
    let victim_proc = backend.state().node(victim).unwrap().process.unwrap();
    backend.stop(victim, StopMode::Kill).unwrap();
    assert_eq!(
        victim_proc.state(),
        ProcState::Gone,
        "the broker process is gone"
    );
    assert!(!port_open(9093), "its client port is closed");
    produce(&bootstrap, "it-failover", 50, "during-kill");
    let t_restart = Instant::now();
    backend.restart(victim).unwrap();
    wait_for(
        "broker 2 back in every ISR",
        Duration::from_secs(120),
        || isr_full(&md, "it-failover"),
    );
    eprintln!(
        "broker 2 rejoined the ISR {:.1}s after restart",
        t_restart.elapsed().as_secs_f64()
    );
    assert_eq!(consume_all(&bootstrap, "it-failover", 50).len(), 50);

    // SIGSTOP / SIGCONT: the node freezes, then the cluster recovers fully.
    backend.stop(1, StopMode::Pause).unwrap();
    let paused = backend.state().node(1).unwrap().process.unwrap();
    assert_eq!(paused.state(), ProcState::Paused);
    std::thread::sleep(Duration::from_secs(2));
    backend.resume(1).unwrap();
    assert_eq!(paused.state(), ProcState::Running);
    wait_for(
        "cluster recovered after pause",
        Duration::from_secs(120),
        || isr_full(&md, "it-failover") && backend.status().is_ok_and(|s| s.all_up()),
    );
    produce(&bootstrap, "it-failover", 10, "after-pause");

    // Tear down: nothing this test started is left.
    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    let state = kbench::cluster::state::ClusterState::load(&state_path);
    assert!(state.is_err(), "state file removed after down");
    for p in backend.state().processes() {
        assert!(!p.alive(), "pid {} still alive after down", p.pid);
    }
    assert!(
        jvms_under(&home.runs()).is_empty(),
        "no JVM of this test is left"
    );
    assert!(!port_open(9092) && !port_open(8081));
}
