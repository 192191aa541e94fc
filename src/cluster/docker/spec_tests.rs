//! The container specs derived from the default topology: per-node Kafka environment
//! (roles, listeners, quorum voters, cluster id, replication settings), published ports,
//! labels and the registry's settings.

use super::spec::*;
use crate::cluster::dist;
use crate::cluster::topology::Topology;
use crate::images::RegistryKind;

fn specs() -> Vec<ContainerSpec> {
    container_specs(&Topology::default(), DEFAULT_CLUSTER, &ImageSet::upstream())
}

fn env<'a>(s: &'a ContainerSpec, k: &str) -> &'a str {
    s.env_value(k)
        .unwrap_or_else(|| panic!("{} has no {k}", s.name))
}

#[test]
fn three_kafka_nodes_then_the_registry() {
    let s = specs();
    let names: Vec<&str> = s.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "kbench-kafka1",
            "kbench-kafka2",
            "kbench-kafka3",
            "kbench-schema-registry"
        ]
    );
    assert_eq!(s[1].hostname, "kafka2");
    assert_eq!(s[1].node, Some(2));
    assert_eq!(s[3].role, Role::Registry);
    assert!(s.iter().all(|c| c.network == "kbench"));
    assert_eq!(
        s[0].image,
        format!("apache/kafka:{}", dist::kafka_version())
    );
    assert!(!dist::kafka_version().is_empty());
    assert_eq!(s[3].image, "confluentinc/cp-schema-registry:7.9.2");
}

#[test]
fn kafka_env_per_node() {
    let s = specs();
    for (i, c) in s.iter().take(3).enumerate() {
        let id = i + 1;
        let client = 9091 + id;
        assert_eq!(env(c, "KAFKA_NODE_ID"), id.to_string());
        assert_eq!(env(c, "KAFKA_PROCESS_ROLES"), "broker,controller");
        assert_eq!(
            env(c, "KAFKA_LISTENERS"),
            format!(
                "CLIENT://0.0.0.0:{client},INTERNAL://0.0.0.0:{},CONTROLLER://0.0.0.0:{}",
                19091 + id,
                29091 + id
            )
        );
        assert_eq!(
            env(c, "KAFKA_ADVERTISED_LISTENERS"),
            format!(
                "CLIENT://127.0.0.1:{client},INTERNAL://kafka{id}:{},CONTROLLER://kafka{id}:{}",
                19091 + id,
                29091 + id
            )
        );
        assert_eq!(
            env(c, "KAFKA_CONTROLLER_QUORUM_VOTERS"),
            "1@kafka1:29092,2@kafka2:29093,3@kafka3:29094"
        );
        assert_eq!(
            env(c, "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"),
            "CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
        );
        assert_eq!(env(c, "KAFKA_INTER_BROKER_LISTENER_NAME"), "INTERNAL");
        assert_eq!(env(c, "KAFKA_CONTROLLER_LISTENER_NAMES"), "CONTROLLER");
        assert_eq!(env(c, "KAFKA_LOG_DIRS"), KAFKA_LOG_DIR);
        assert_eq!(env(c, "KAFKA_MIN_INSYNC_REPLICAS"), "2");
        assert_eq!(env(c, "KAFKA_DEFAULT_REPLICATION_FACTOR"), "3");
        assert_eq!(env(c, "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"), "3");
        assert_eq!(env(c, "KAFKA_AUTO_CREATE_TOPICS_ENABLE"), "false");
        assert_eq!(env(c, "CLUSTER_ID"), env(&s[0], "CLUSTER_ID"));
        let keys: Vec<&String> = c.env.iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}

#[test]
fn every_topology_property_reaches_the_environment() {
    let t = Topology::default();
    let s = specs();
    let props = t.broker_properties(1, KAFKA_LOG_DIR);
    assert_eq!(s[0].env.len(), props.len() + 1);
    for (k, _) in &props {
        assert!(s[0].env_value(&kafka_env_name(k)).is_some(), "{k}");
    }
}

#[test]
fn broker_settings_reach_every_kafka_container_and_not_the_registry() {
    let t = Topology::default().with_broker_settings(&[
        ("broker.session.timeout.ms".into(), "3000".into()),
        ("num.replica.fetchers".into(), "2".into()),
    ]);
    let s = container_specs(&t, DEFAULT_CLUSTER, &ImageSet::upstream());
    let (kafka, registry): (Vec<_>, Vec<_>) = s
        .iter()
        .partition(|c| c.env_value("KAFKA_NODE_ID").is_some());
    assert_eq!(kafka.len(), 3);
    for c in kafka {
        assert_eq!(env(c, "KAFKA_BROKER_SESSION_TIMEOUT_MS"), "3000");
        assert_eq!(env(c, "KAFKA_NUM_REPLICA_FETCHERS"), "2");
    }
    assert!(registry[0]
        .env_value("KAFKA_BROKER_SESSION_TIMEOUT_MS")
        .is_none());
}

#[test]
fn ports_are_published_on_loopback_only() {
    let s = specs();
    let ports: Vec<(String, u16, u16)> = s
        .iter()
        .flat_map(|c| &c.ports)
        .map(|p| (p.host_ip.clone(), p.host_port, p.container_port))
        .collect();
    let lo = |p| ("127.0.0.1".to_string(), p, p);
    assert_eq!(ports, [lo(9092), lo(9093), lo(9094), lo(8081)]);
}

#[test]
fn labels_name_cluster_role_and_node() {
    let s = container_specs(&Topology::default(), "perf", &ImageSet::upstream());
    let l = &s[2].labels;
    assert_eq!(l[label::MANAGED], "true");
    assert_eq!(l[label::CLUSTER], "perf");
    assert_eq!(l[label::ROLE], "kafka");
    assert_eq!(l[label::NODE], "3");
    assert_eq!(s[3].labels[label::ROLE], "registry");
    assert_eq!(s[3].labels[label::NODE], "registry");
    assert_eq!(s[2].name, "perf-kafka3");
    assert_eq!(s[2].network, "perf");
}

#[test]
fn registry_stores_schemas_in_the_cluster() {
    let s = specs();
    let r = &s[3];
    assert_eq!(
        env(r, "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"),
        "PLAINTEXT://kafka1:19092,PLAINTEXT://kafka2:19093,PLAINTEXT://kafka3:19094"
    );
    assert_eq!(env(r, "SCHEMA_REGISTRY_HOST_NAME"), "schema-registry");
    assert_eq!(env(r, "SCHEMA_REGISTRY_LISTENERS"), "http://0.0.0.0:8081");
    assert_eq!(
        env(r, "SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR"),
        "3"
    );
    assert_eq!(r.depends_on, ["kafka1", "kafka2", "kafka3"]);
    assert_eq!(
        registry_url(&Topology::default(), RegistryKind::Confluent),
        "http://127.0.0.1:8081"
    );
}

#[test]
fn the_local_images_run_apicurio_with_kafkasql_storage_behind_port_8081() {
    let s = container_specs(&Topology::default(), DEFAULT_CLUSTER, &ImageSet::local());
    assert!(s[..3]
        .iter()
        .all(|k| k.image == format!("kbench/kafka:{}-java17", dist::kafka_version())));
    let r = &s[3];
    assert_eq!(
        r.image,
        format!(
            "kbench/apicurio-registry:{}-java21",
            dist::registry_version()
        )
    );
    assert_eq!(env(r, "APICURIO_STORAGE_KIND"), "kafkasql");
    assert_eq!(
        env(r, "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"),
        "kafka1:19092,kafka2:19093,kafka3:19094"
    );
    assert!(r.env_value("SCHEMA_REGISTRY_LISTENERS").is_none());
    assert_eq!(
        (r.ports[0].host_port, r.ports[0].container_port),
        (8081, 8080)
    );
    assert_eq!(
        registry_url(&Topology::default(), RegistryKind::Apicurio),
        "http://127.0.0.1:8081/apis/ccompat/v7"
    );
}

#[test]
fn env_names_follow_the_image_convention() {
    assert_eq!(kafka_env_name("node.id"), "KAFKA_NODE_ID");
    assert_eq!(
        kafka_env_name("share.coordinator.state.topic.min.isr"),
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"
    );
    assert_eq!(kafka_env_name("a_b-c.d"), "KAFKA_A__B___C_D");
}

#[test]
fn cluster_ids_are_stable_kafka_uuids() {
    let a = cluster_id("kbench");
    assert_eq!(a, cluster_id("kbench"));
    assert_ne!(a, cluster_id("kbench2"));
    for id in [a, cluster_id(""), cluster_id("x")] {
        assert_eq!(id.len(), 22, "{id}");
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}

#[test]
fn a_topology_without_nodes_yields_just_the_registry() {
    let t = Topology {
        nodes: Vec::new(),
        ..Topology::default()
    };
    let s = container_specs(&t, "x", &ImageSet::upstream());
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].env_value("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"),
        Some("")
    );
}
