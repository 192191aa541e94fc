//! The cluster's shape, described once: node ids, listener ports, the controller quorum and the
//! broker settings every backend applies. The process backend renders it to `server.properties`,
//! the Docker backend derives its container specs from it, and `compose/docker-compose.yml` is
//! generated from those specs.

use std::fmt;

use crate::names::BrokerId;

/// The loopback address every listener binds to: kbench never listens beyond this machine.
pub const HOST: &str = "127.0.0.1";

/// Ports of one combined broker + controller node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpec {
    /// The node id (`node.id`), also its broker id.
    pub id: BrokerId,
    /// The address every listener of the node binds to: `HOST`, or the node's own address
    /// on the lab network when it runs in a namespace (network faults).
    pub host: std::net::Ipv4Addr,
    /// Listener for clients (9092/9093/9094, as in the seed's compose file).
    pub client_port: u16,
    /// Listener brokers use to replicate among themselves.
    pub internal_port: u16,
    /// Listener of the KRaft controller quorum.
    pub controller_port: u16,
}

/// Three KRaft nodes and a schema registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The combined broker + controller nodes, in id order.
    pub nodes: Vec<NodeSpec>,
    /// Port of the schema registry's HTTP API (8081).
    pub registry_port: u16,
    /// Quarkus management interface of the registry (health, metrics); it defaults to 9000,
    /// which is too commonly taken to leave implicit.
    pub registry_management_port: u16,
    /// `server.properties` settings a scenario adds to every node (`[cluster.broker]`), applied
    /// over kbench's own.
    pub broker_settings: Vec<(String, String)>,
}

impl Default for Topology {
    fn default() -> Self {
        let nodes = crate::names::BROKER_IDS
            .iter()
            .map(|&id| {
                let i = id as u16;
                NodeSpec {
                    id,
                    host: std::net::Ipv4Addr::LOCALHOST,
                    client_port: 9091 + i,
                    internal_port: 19091 + i,
                    controller_port: 29091 + i,
                }
            })
            .collect();
        Topology {
            nodes,
            registry_port: 8081,
            registry_management_port: 9081,
            broker_settings: Vec::new(),
        }
    }
}

/// `settings` over `props`: a key already there takes the new value, others are added.
pub fn apply(props: &mut Vec<(String, String)>, settings: &[(String, String)]) {
    for (k, v) in settings {
        match props.iter_mut().find(|(kk, _)| kk == k) {
            Some(p) => p.1 = v.clone(),
            None => props.push((k.clone(), v.clone())),
        }
    }
}

/// What a listening port is for, so a port conflict can be reported by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUse {
    /// The port number (on `HOST`).
    pub port: u16,
    /// What listens there, e.g. `client listener of broker 1`.
    pub purpose: String,
}

impl fmt::Display for PortUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.port, self.purpose)
    }
}

impl Topology {
    /// The node with id `id`, if there is one.
    pub fn node(&self, id: BrokerId) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every node's id, in topology order.
    pub fn node_ids(&self) -> Vec<BrokerId> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// `host:port` of a node's client listener.
    pub fn client_address(&self, id: BrokerId) -> Option<String> {
        self.node(id)
            .map(|n| format!("{}:{}", n.host, n.client_port))
    }

    /// The same cluster with every node on its own address (`addresses`: node id -> address).
    pub fn on_addresses(mut self, addresses: &[(BrokerId, std::net::Ipv4Addr)]) -> Self {
        for n in &mut self.nodes {
            if let Some((_, a)) = addresses.iter().find(|(id, _)| *id == n.id) {
                n.host = *a;
            }
        }
        self
    }

    /// The comma-separated bootstrap list over every node's client listener.
    pub fn bootstrap_servers(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}:{}", n.host, n.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `controller.quorum.voters`: a static three-voter quorum, so formatting needs no
    /// bootstrap-controller dance and every node knows the others from the start.
    pub fn quorum_voters(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}@{}:{}", n.id, n.host, n.controller_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Base URL of the registry's Confluent-compatible API.
    pub fn registry_url(&self) -> String {
        format!("http://{HOST}:{}/apis/ccompat/v7", self.registry_port)
    }

    /// Every port the cluster will listen on, with what it is for.
    pub fn ports(&self) -> Vec<PortUse> {
        let mut out = Vec::new();
        for n in &self.nodes {
            let id = n.id;
            out.push(PortUse {
                port: n.client_port,
                purpose: format!("client listener of broker {id}"),
            });
            out.push(PortUse {
                port: n.internal_port,
                purpose: format!("inter-broker listener of broker {id}"),
            });
            out.push(PortUse {
                port: n.controller_port,
                purpose: format!("controller listener of node {id}"),
            });
        }
        out.push(PortUse {
            port: self.registry_port,
            purpose: "schema registry HTTP API".into(),
        });
        out.push(PortUse {
            port: self.registry_management_port,
            purpose: "schema registry management interface".into(),
        });
        out
    }

    /// The broker + controller settings of one node, in `server.properties` order. `log_dir` is
    /// where the node keeps its data.
    pub fn broker_properties(&self, id: BrokerId, log_dir: &str) -> Vec<(String, String)> {
        let mut props = self.layout_properties(id, log_dir);
        apply(&mut props, &self.broker_settings);
        props
    }

    /// The same topology with `settings` on every node.
    pub fn with_broker_settings(mut self, settings: &[(String, String)]) -> Self {
        self.broker_settings = settings.to_vec();
        self
    }

    fn layout_properties(&self, id: BrokerId, log_dir: &str) -> Vec<(String, String)> {
        let n = self.node(id).expect("node id comes from this topology");
        let kv = |k: &str, v: String| (k.to_string(), v);
        let host = n.host;
        vec![
            kv("process.roles", "broker,controller".into()),
            kv("node.id", id.to_string()),
            kv("controller.quorum.voters", self.quorum_voters()),
            kv(
                "listeners",
                format!(
                    "CLIENT://{host}:{},INTERNAL://{host}:{},CONTROLLER://{host}:{}",
                    n.client_port, n.internal_port, n.controller_port
                ),
            ),
            kv(
                "advertised.listeners",
                format!(
                    "CLIENT://{host}:{},INTERNAL://{host}:{}",
                    n.client_port, n.internal_port
                ),
            ),
            kv(
                "listener.security.protocol.map",
                "CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into(),
            ),
            kv("inter.broker.listener.name", "INTERNAL".into()),
            kv("controller.listener.names", "CONTROLLER".into()),
            kv("log.dirs", log_dir.to_string()),
            kv("num.partitions", "3".into()),
            // The product's promise is durability under failover: every topic kbench or the
            // registry creates gets three replicas and needs two in sync to accept a write.
            kv("default.replication.factor", "3".into()),
            kv("min.insync.replicas", "2".into()),
            kv("offsets.topic.replication.factor", "3".into()),
            kv("transaction.state.log.replication.factor", "3".into()),
            kv("transaction.state.log.min.isr", "2".into()),
            kv(
                "share.coordinator.state.topic.replication.factor",
                "3".into(),
            ),
            kv("share.coordinator.state.topic.min.isr", "2".into()),
            kv("group.initial.rebalance.delay.ms", "0".into()),
            // A benchmark writes hundreds of MB/s onto one machine's disk: topics that bound
            // their size (`retention.bytes`) must actually shrink within seconds, not every
            // 5 minutes with deleted segments kept for another minute (Kafka's defaults).
            kv("log.retention.check.interval.ms", "10000".into()),
            kv("log.segment.delete.delay.ms", "1000".into()),
            kv("auto.create.topics.enable", "false".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_topology_matches_the_seed_ports() {
        let t = Topology::default();
        assert_eq!(
            t.bootstrap_servers(),
            "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
        );
        assert_eq!(
            t.quorum_voters(),
            "1@127.0.0.1:29092,2@127.0.0.1:29093,3@127.0.0.1:29094"
        );
        assert_eq!(t.registry_url(), "http://127.0.0.1:8081/apis/ccompat/v7");
    }

    #[test]
    fn ports_are_distinct_and_named() {
        let t = Topology::default();
        let ports = t.ports();
        let mut nums: Vec<u16> = ports.iter().map(|p| p.port).collect();
        nums.sort_unstable();
        nums.dedup();
        assert_eq!(nums.len(), ports.len());
        assert!(ports
            .iter()
            .any(|p| p.to_string() == "9093 (client listener of broker 2)"));
    }

    #[test]
    fn broker_properties_bind_loopback_only() {
        let t = Topology::default();
        let props = t.broker_properties(2, "/tmp/x");
        let get = |k: &str| props.iter().find(|(kk, _)| kk == k).unwrap().1.clone();
        assert_eq!(get("node.id"), "2");
        assert!(get("listeners").contains("CLIENT://127.0.0.1:9093"));
        assert!(!get("listeners").contains("0.0.0.0"));
        assert_eq!(get("min.insync.replicas"), "2");
        let t = t.with_broker_settings(&[
            ("broker.session.timeout.ms".into(), "3000".into()),
            ("min.insync.replicas".into(), "1".into()),
        ]);
        let props = t.broker_properties(2, "/tmp/x");
        let get = |k: &str| {
            props
                .iter()
                .filter(|(kk, _)| kk == k)
                .map(|p| p.1.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("broker.session.timeout.ms"), ["3000"]);
        assert_eq!(get("min.insync.replicas"), ["1"], "replaced, not repeated");
    }
}
