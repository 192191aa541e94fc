//! The Docker cluster described once, with no engine in sight: one `ContainerSpec` per container
//! (three KRaft nodes and the Confluent Schema Registry), derived from `Topology` so node ids,
//! ports and broker settings are never restated. The Docker backend creates these specs through
//! the Engine API and `compose.rs` renders the very same specs as `compose/docker-compose.yml`.

use std::collections::BTreeMap;

use crate::cluster::dist;
use crate::cluster::topology::{NodeSpec, Topology, HOST};
use crate::images::{self, RegistryKind, Role as ImageRole};
use crate::names::BrokerId;

/// Apicurio Registry's HTTP port inside its container, in the upstream image and kbench's.
const APICURIO_PORT: u16 = 8080;
/// Cluster name used when the user gives none; also the network name then.
pub const DEFAULT_CLUSTER: &str = "kbench";
/// Compose service and host name of the registry container.
pub const REGISTRY_HOST: &str = "schema-registry";
/// The image creates this directory writable for its unprivileged user (and declares it a
/// volume), so the data survives a stop / start of the same container and goes with it.
pub const KAFKA_LOG_DIR: &str = "/var/lib/kafka/data";

/// Label keys kbench puts on everything it creates, so leftovers can be found after a crash.
pub mod label {
    /// Set to `true` on every container and network kbench creates.
    pub const MANAGED: &str = "dev.kbench.managed";
    /// Name of the cluster the container or network belongs to.
    pub const CLUSTER: &str = "dev.kbench.cluster";
    /// The container's role: `kafka` or `registry`.
    pub const ROLE: &str = "dev.kbench.role";
    /// The Kafka node id, or `registry` for the registry container.
    pub const NODE: &str = "dev.kbench.node";
}

/// What a container is for; decides start order and which probes apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A combined KRaft broker + controller node.
    Kafka,
    /// The Confluent Schema Registry.
    Registry,
}

impl Role {
    /// The role's name as the role label carries it: `kafka` or `registry`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kafka => "kafka",
            Role::Registry => "registry",
        }
    }
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Host address the port is published on (loopback, `127.0.0.1`).
    pub host_ip: String,
    /// Port on the host that clients connect to.
    pub host_port: u16,
    /// Port inside the container that it forwards to.
    pub container_port: u16,
}

/// Everything needed to create one container, in a fixed order so renderings are deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name: `<cluster>-<hostname>`.
    pub name: String,
    /// Host name on the cluster network, also the compose service name (`kafka1`, ...).
    pub hostname: String,
    /// Image reference, e.g. `apache/kafka:<kafka version>`.
    pub image: String,
    /// Whether it is a Kafka node or the registry.
    pub role: Role,
    /// Kafka node id; `None` for the registry.
    pub node: Option<BrokerId>,
    /// Sorted by key.
    pub env: Vec<(String, String)>,
    /// Ports published on the host: a node's client listener, or the registry's API port.
    pub ports: Vec<Published>,
    /// kbench's `dev.kbench.*` labels (see `label`), by key.
    pub labels: BTreeMap<String, String>,
    /// Docker network it joins, named after the cluster.
    pub network: String,
    /// Host names of the containers that must be up first.
    pub depends_on: Vec<String>,
}

impl ContainerSpec {
    /// Value of the environment variable `key`, if the spec sets it.
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The images a docker cluster runs and which registry that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// Image of the Kafka nodes.
    pub kafka: String,
    /// Image of the registry.
    pub registry: String,
    /// Which registry the registry image runs.
    pub registry_kind: RegistryKind,
}

impl ImageSet {
    /// The seed's images: apache/kafka and Confluent's Schema Registry, at the pinned versions.
    pub fn upstream() -> ImageSet {
        ImageSet::first(images::Origin::Upstream)
    }

    /// The images `kbench images build` makes: Kafka and Apicurio Registry.
    pub fn local() -> ImageSet {
        ImageSet::first(images::Origin::Local)
    }

    fn first(origin: images::Origin) -> ImageSet {
        let pick = |role| {
            images::candidates(role, &dist::kafka_version(), &dist::registry_version())
                .into_iter()
                .find(|c| c.origin == origin)
                .expect("every role has an upstream and a local candidate")
        };
        let registry = pick(ImageRole::Registry);
        ImageSet {
            kafka: pick(ImageRole::Kafka).reference,
            registry_kind: registry.registry.unwrap_or(RegistryKind::Apicurio),
            registry: registry.reference,
        }
    }
}

/// Host name of a Kafka node's container.
pub fn kafka_host(id: BrokerId) -> String {
    format!("kafka{id}")
}

/// Where clients reach the registry: Confluent's serves its API at the root, Apicurio its
/// Confluent-compatible API under `/apis/ccompat/v7` (as on the process backend).
pub fn registry_url(topo: &Topology, kind: RegistryKind) -> String {
    match kind {
        RegistryKind::Confluent => format!("http://{HOST}:{}", topo.registry_port),
        RegistryKind::Apicurio => topo.registry_url(),
    }
}

/// A broker property as the apache/kafka image reads it from the environment:
/// `.` → `_`, `_` → `__`, `-` → `___`, upper case, prefixed `KAFKA_`.
pub fn kafka_env_name(property: &str) -> String {
    let mut out = String::from("KAFKA_");
    for c in property.chars() {
        match c {
            '.' => out.push('_'),
            '_' => out.push_str("__"),
            '-' => out.push_str("___"),
            c => out.push(c.to_ascii_uppercase()),
        }
    }
    out
}

/// A Kafka cluster id (16 bytes, URL-safe base64 without padding) derived from the cluster
/// name, so the compose file stays byte-for-byte stable while differently named clusters still
/// get different ids.
pub fn cluster_id(cluster: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let fnv = |seed: u64| {
        cluster.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&fnv(0x6b62_656e_6368_2121).to_be_bytes());
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Every container of the cluster: the Kafka nodes in topology order, then the registry.
pub fn container_specs(topo: &Topology, cluster: &str, images: &ImageSet) -> Vec<ContainerSpec> {
    let id = cluster_id(cluster);
    let mut specs: Vec<ContainerSpec> = topo
        .nodes
        .iter()
        .map(|n| kafka_spec(topo, n, cluster, &id, &images.kafka))
        .collect();
    specs.push(registry_spec(topo, cluster, images));
    specs
}

fn labels(cluster: &str, role: Role, node: &str) -> BTreeMap<String, String> {
    [
        (label::MANAGED, "true"),
        (label::CLUSTER, cluster),
        (label::ROLE, role.as_str()),
        (label::NODE, node),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn loopback(port: u16) -> Published {
    Published {
        host_ip: HOST.to_string(),
        host_port: port,
        container_port: port,
    }
}

fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `NAME://host:port,...` as (name, port) pairs; entries that do not parse are dropped, which
/// cannot happen for the lists `Topology` writes.
fn listener_ports(list: &str) -> Vec<(&str, &str)> {
    list.split(',')
        .filter_map(|l| {
            let (name, addr) = l.trim().split_once("://")?;
            let (_, port) = addr.rsplit_once(':')?;
            Some((name, port))
        })
        .collect()
}

fn kafka_spec(
    topo: &Topology,
    n: &NodeSpec,
    cluster: &str,
    cluster_id: &str,
    image: &str,
) -> ContainerSpec {
    let host = kafka_host(n.id);
    let props = topo.broker_properties(n.id, KAFKA_LOG_DIR);
    let inter = prop(&props, "inter.broker.listener.name").unwrap_or_default();
    let controllers: Vec<&str> = prop(&props, "controller.listener.names")
        .unwrap_or_default()
        .split(',')
        .collect();
    let listeners = listener_ports(prop(&props, "listeners").unwrap_or_default());
    // Containers only see each other through the network, and the host only through the
    // published ports, so every listener binds all interfaces of the container.
    let bind = listeners
        .iter()
        .map(|(name, port)| format!("{name}://0.0.0.0:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    // Brokers and controllers find each other by container name. Clients on the host come in
    // through the published loopback port, and the advertised address must be one the host can
    // connect to: 127.0.0.1 rather than `localhost`, which may resolve to ::1 first, where
    // nothing is published, and cost every client a refused connection.
    let advertised = listeners
        .iter()
        .map(|(name, port)| {
            let internal = *name == inter || controllers.contains(name);
            let h = if internal { host.as_str() } else { HOST };
            format!("{name}://{h}:{port}")
        })
        .collect::<Vec<_>>()
        .join(",");
    let voters = topo
        .nodes
        .iter()
        .map(|v| format!("{}@{}:{}", v.id, kafka_host(v.id), v.controller_port))
        .collect::<Vec<_>>()
        .join(",");
    let mut env: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| {
            let v = match k.as_str() {
                "listeners" => bind.clone(),
                "advertised.listeners" => advertised.clone(),
                "controller.quorum.voters" => voters.clone(),
                _ => v.clone(),
            };
            (kafka_env_name(k), v)
        })
        .collect();
    // The image formats the storage with this id on first start (and tolerates a formatted
    // one on restart).
    env.push(("CLUSTER_ID".into(), cluster_id.to_string()));
    env.sort();
    ContainerSpec {
        name: format!("{cluster}-{host}"),
        hostname: host,
        image: image.to_string(),
        role: Role::Kafka,
        node: Some(n.id),
        env,
        ports: vec![loopback(n.client_port)],
        labels: labels(cluster, Role::Kafka, &n.id.to_string()),
        network: cluster.to_string(),
        depends_on: Vec::new(),
    }
}

fn registry_spec(topo: &Topology, cluster: &str, images: &ImageSet) -> ContainerSpec {
    // Same listener the brokers replicate over, with its protocol from the brokers' own map.
    let first = topo.nodes.first().map(|n| n.id);
    let props = first
        .map(|id| topo.broker_properties(id, KAFKA_LOG_DIR))
        .unwrap_or_default();
    let inter = prop(&props, "inter.broker.listener.name").unwrap_or_default();
    let protocol = prop(&props, "listener.security.protocol.map")
        .unwrap_or_default()
        .split(',')
        .find_map(|m| m.split_once(':').filter(|(l, _)| *l == inter))
        .map_or("PLAINTEXT", |(_, p)| p);
    let brokers = topo
        .nodes
        .iter()
        .map(|n| format!("{}:{}", kafka_host(n.id), n.internal_port));
    let (mut env, port) = match images.registry_kind {
        RegistryKind::Confluent => {
            let bootstrap = brokers
                .map(|b| format!("{protocol}://{b}"))
                .collect::<Vec<_>>();
            (
                confluent_env(topo, &props, &bootstrap.join(",")),
                loopback(topo.registry_port),
            )
        }
        RegistryKind::Apicurio => {
            let bootstrap = brokers.collect::<Vec<_>>().join(",");
            let port = Published {
                container_port: APICURIO_PORT,
                ..loopback(topo.registry_port)
            };
            (apicurio_env(&bootstrap), port)
        }
    };
    env.sort();
    ContainerSpec {
        name: format!("{cluster}-{REGISTRY_HOST}"),
        hostname: REGISTRY_HOST.into(),
        image: images.registry.clone(),
        role: Role::Registry,
        node: None,
        env,
        ports: vec![port],
        labels: labels(cluster, Role::Registry, "registry"),
        network: cluster.to_string(),
        depends_on: topo.nodes.iter().map(|n| kafka_host(n.id)).collect(),
    }
}

/// Confluent Schema Registry: schemas in the `_schemas` topic, replicated like the topics.
fn confluent_env(
    topo: &Topology,
    props: &[(String, String)],
    bootstrap: &str,
) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "SCHEMA_REGISTRY_HOST_NAME".to_string(),
            REGISTRY_HOST.into(),
        ),
        (
            "SCHEMA_REGISTRY_LISTENERS".into(),
            format!("http://0.0.0.0:{}", topo.registry_port),
        ),
        (
            "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS".into(),
            bootstrap.to_string(),
        ),
    ];
    if let Some(rf) = prop(props, "default.replication.factor") {
        env.push((
            "SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR".into(),
            rf.to_string(),
        ));
    }
    env
}

/// Apicurio Registry with KafkaSQL storage, as the process backend runs it: schemas in the
/// cluster's `kafkasql-journal` topic, and the start-up poll shortened the same way.
fn apicurio_env(bootstrap: &str) -> Vec<(String, String)> {
    [
        ("APICURIO_STORAGE_KIND", "kafkasql"),
        ("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS", bootstrap),
        ("APICURIO_KAFKASQL_CONSUMER_POLL_TIMEOUT", "500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
