//! What `kbench cluster status` reports: each node's process and broker state, the quorum
//! leader, and the registry, printable as a small table.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::proc_ctl::ProcState;
use crate::names::BrokerId;

/// What a node's (or the registry's) process is doing, where the backend can see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessState {
    /// Running.
    Running,
    /// Frozen (SIGSTOP, or a paused container).
    Paused,
    /// A container the engine is restarting.
    Restarting,
    /// Exited, never started, or gone.
    Down,
}

impl ProcessState {
    /// The word `kbench cluster status` shows.
    pub fn label(self) -> &'static str {
        match self {
            ProcessState::Running => "running",
            ProcessState::Paused => "paused",
            ProcessState::Restarting => "restarting",
            ProcessState::Down => "down",
        }
    }
}

impl From<ProcState> for ProcessState {
    fn from(s: ProcState) -> Self {
        match s {
            ProcState::Running => ProcessState::Running,
            ProcState::Paused => ProcessState::Paused,
            ProcState::Gone => ProcessState::Down,
        }
    }
}

impl fmt::Display for ProcessState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A node in one word: its process and its registration taken together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Registered in the cluster metadata.
    Up,
    /// Not running, or not registered where kbench cannot see the process.
    Down,
    /// Frozen.
    Paused,
    /// Running but not registered yet.
    Starting,
}

impl NodeState {
    /// The word `kbench cluster status` shows.
    pub fn label(self) -> &'static str {
        match self {
            NodeState::Up => "up",
            NodeState::Down => "down",
            NodeState::Paused => "paused",
            NodeState::Starting => "starting",
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One node as `kbench cluster status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// The node's id.
    pub id: BrokerId,
    /// `host:port` of its client listener.
    pub address: String,
    /// Process state where the backend owns the process; `None` for an external cluster.
    pub process: Option<ProcessState>,
    /// Listed in the cluster metadata (registered, not fenced).
    pub registered: bool,
    /// Leads the KRaft controller quorum.
    pub quorum_leader: bool,
}

/// The whole cluster as `kbench cluster status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Which backend runs it.
    pub backend: crate::names::BackendKind,
    /// The bootstrap list clients use.
    pub bootstrap_servers: String,
    /// Every node, by id.
    pub nodes: Vec<NodeStatus>,
    /// The active controller, when known.
    pub quorum_leader: Option<BrokerId>,
    /// Base URL of the registry's Confluent-compatible API.
    pub registry_url: String,
    /// The registry answered `GET /subjects`.
    pub registry_up: bool,
    /// The registry's process state, where the backend owns it.
    pub registry_process: Option<ProcessState>,
    /// Set when the metadata request itself failed (e.g. every broker down).
    pub metadata_error: Option<String>,
    /// What another client needs to connect to secured listeners (never the password itself,
    /// only the file that holds it); `None` for plaintext.
    pub security: Option<super::secure::Connection>,
}

impl NodeStatus {
    /// One word for the node: up / down / paused / starting.
    pub fn summary(&self) -> NodeState {
        match (self.process, self.registered) {
            (Some(ProcessState::Paused), _) => NodeState::Paused,
            (Some(ProcessState::Down), _) => NodeState::Down,
            (_, true) => NodeState::Up,
            (Some(_), false) => NodeState::Starting,
            (None, false) => NodeState::Down,
        }
    }
}

impl ClusterStatus {
    /// Every node up, a quorum leader known, and the registry answering.
    pub fn all_up(&self) -> bool {
        self.nodes.iter().all(|n| n.summary() == NodeState::Up)
            && self.quorum_leader.is_some()
            && self.registry_up
    }
}

impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backend   {}", self.backend)?;
        writeln!(f, "bootstrap {}", self.bootstrap_servers)?;
        writeln!(
            f,
            "{:<6} {:<16} {:<9} {:<8} {:<10} quorum",
            "broker", "address", "state", "process", "registered"
        )?;
        for n in &self.nodes {
            writeln!(
                f,
                "{:<6} {:<16} {:<9} {:<8} {:<10} {}",
                n.id,
                n.address,
                n.summary().label(),
                n.process.map_or("-", ProcessState::label),
                if n.registered { "yes" } else { "no" },
                if n.quorum_leader { "leader" } else { "" }
            )?;
        }
        if let Some(e) = &self.metadata_error {
            writeln!(f, "metadata  unavailable: {e}")?;
        }
        let leader = self
            .quorum_leader
            .map_or("unknown".to_string(), |l| format!("node {l}"));
        writeln!(f, "quorum    leader {leader}")?;
        if let Some(c) = &self.security {
            writeln!(f, "security  {c}")?;
        }
        write!(
            f,
            "registry  {} {}{}",
            self.registry_url,
            if self.registry_up { "up" } else { "down" },
            self.registry_process
                .map_or(String::new(), |p| format!(" (process {p})"))
        )
    }
}
