//! The state file a cluster's work directory carries while the cluster lives: which processes
//! kbench started (pid + start time), their ports and directories. It is written before and after
//! every spawn, so `kbench cluster down` can clean up even after kbench itself was killed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::proc_ctl::ProcRef;
use crate::names::BrokerId;

/// Name of the state file in a cluster's work directory.
pub const STATE_FILE: &str = "cluster-state.json";

/// One Kafka node in the state file: its ports, files and process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node id (`node.id`), also its broker id.
    pub id: BrokerId,
    /// The address the node's listeners bind to (127.0.0.1, or its lab-network address).
    #[serde(default = "loopback")]
    pub host: std::net::Ipv4Addr,
    /// Port of the node's client listener (9092-9094).
    pub client_port: u16,
    /// Port of the node's inter-broker listener (19092-19094).
    pub internal_port: u16,
    /// Port of the node's KRaft controller listener (29092-29094).
    pub controller_port: u16,
    /// The node's log directory (`node-<id>/data`).
    pub data_dir: PathBuf,
    /// The node's `server.properties` (`node-<id>/server.properties`).
    pub config: PathBuf,
    /// File the node's JVM output goes to (`node-<id>/node.log`).
    pub log: PathBuf,
    /// The node's JVM; `None` until it has been spawned.
    pub process: Option<ProcRef>,
    /// The class-data archive this node's JVM writes when it exits (node 1 on a version's first
    /// start): teardown waits for that write, and removes a write it had to cut short.
    #[serde(default)]
    pub archive_at_exit: Option<PathBuf>,
}

/// Apicurio Registry in the state file: its ports, log and process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryRecord {
    /// Port of the registry's HTTP API (8081).
    pub port: u16,
    /// Port of the registry's Quarkus management interface (health, metrics; 9081).
    pub management_port: u16,
    /// File the registry's JVM output goes to (`registry/registry.log`).
    pub log: PathBuf,
    /// The registry's JVM; `None` until it has been spawned.
    pub process: Option<ProcRef>,
    /// The HTTPS + basic auth front (nginx) of a secured cluster's registry.
    #[serde(default)]
    pub front: Option<ProcRef>,
}

/// Everything `cluster-state.json` records about a cluster of the process backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    /// Which backend runs the cluster.
    pub backend: crate::names::BackendKind,
    /// The cluster's work directory (canonical): node directories, registry and state file.
    pub workdir: PathBuf,
    /// When the cluster was created, as an RFC 3339 timestamp.
    pub created_at: String,
    /// The kbench process that started the cluster.
    pub owner_pid: i32,
    /// Started with `--detach`: left running after the kbench that started it exits.
    pub detached: bool,
    /// Kafka cluster id the nodes' storage is formatted with (22 base64 characters).
    pub cluster_id: String,
    /// Kafka version the cluster runs.
    pub kafka_version: String,
    /// Apicurio Registry version the cluster runs.
    pub registry_version: String,
    /// Comma-separated `host:port` list of the nodes' client listeners.
    pub bootstrap_servers: String,
    /// Base URL of the registry's Confluent-compatible API (`.../apis/ccompat/v7`).
    pub registry_url: String,
    /// The Kafka nodes, in topology order.
    pub nodes: Vec<NodeRecord>,
    /// The schema registry.
    pub registry: RegistryRecord,
    /// How the client listeners are secured, and the files a client needs; `None` for
    /// plaintext.
    #[serde(default)]
    pub security: Option<super::secure::SecureRecord>,
    /// The lab network (namespaces, links, faults in force) when the nodes run in namespaces
    /// for network faults; `None` on loopback.
    #[serde(default)]
    pub lab: Option<crate::netfault::lab::LabRecord>,
}

fn loopback() -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::LOCALHOST
}

impl ClusterState {
    /// Path of the state file: `<workdir>/cluster-state.json`.
    pub fn path(&self) -> PathBuf {
        self.workdir.join(STATE_FILE)
    }

    /// Write atomically (temp file + rename), so a crash never leaves half a state file.
    pub fn save(&self) -> Result<()> {
        let path = self.path();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Read and parse the state file at `path`.
    pub fn load(path: &Path) -> Result<ClusterState> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read state file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "state file {} is not a kbench cluster state",
                path.display()
            )
        })
    }

    /// Every process this state knows of, alive or not.
    pub fn processes(&self) -> Vec<ProcRef> {
        self.nodes
            .iter()
            .filter_map(|n| n.process)
            .chain(self.registry.process)
            .chain(self.registry.front)
            .collect()
    }

    /// Whether any node or registry process of the cluster still exists.
    pub fn any_alive(&self) -> bool {
        self.processes().iter().any(ProcRef::alive)
    }

    /// The record of node `id`, if the cluster has one.
    pub fn node(&self, id: BrokerId) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The record of node `id`, mutable, if the cluster has one.
    pub fn node_mut(&mut self, id: BrokerId) -> Option<&mut NodeRecord> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }
}

/// State files under `runs_dir`, newest first.
pub fn find_all(runs_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path().join(STATE_FILE))
        .filter(|p| p.is_file())
        .map(|p| {
            let t = p
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (t, p)
        })
        .collect();
    found.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    found.into_iter().map(|(_, p)| p).collect()
}
