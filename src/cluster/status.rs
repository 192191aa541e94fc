//! What `kbench cluster status` reports: each node's process and broker state, the quorum
//! leader, and the registry, printable as a small table.

use std::fmt;

use serde::Serialize;

use super::proc_ctl::ProcState;
use super::topology::NodeId;

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub id: NodeId,
    pub address: String,
    /// Process state where the backend owns the process; `None` for an external cluster.
    pub process: Option<String>,
    /// Listed in the cluster metadata (registered, not fenced).
    pub registered: bool,
    pub quorum_leader: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub backend: String,
    pub bootstrap_servers: String,
    pub nodes: Vec<NodeStatus>,
    pub quorum_leader: Option<NodeId>,
    pub registry_url: String,
    pub registry_up: bool,
    pub registry_process: Option<String>,
    /// Set when the metadata request itself failed (e.g. every broker down).
    pub metadata_error: Option<String>,
}

pub fn proc_label(s: ProcState) -> String {
    match s {
        ProcState::Running => "running",
        ProcState::Paused => "paused",
        ProcState::Gone => "down",
    }
    .to_string()
}

impl NodeStatus {
    /// One word for the node: up / down / paused / starting.
    pub fn summary(&self) -> &'static str {
        match (self.process.as_deref(), self.registered) {
            (Some("paused"), _) => "paused",
            (Some("down"), _) => "down",
            (_, true) => "up",
            (Some(_), false) => "starting",
            (None, false) => "down",
        }
    }
}

impl ClusterStatus {
    pub fn all_up(&self) -> bool {
        self.nodes.iter().all(|n| n.summary() == "up")
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
                n.summary(),
                n.process.as_deref().unwrap_or("-"),
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
        write!(
            f,
            "registry  {} {}{}",
            self.registry_url,
            if self.registry_up { "up" } else { "down" },
            self.registry_process
                .as_deref()
                .map_or(String::new(), |p| format!(" (process {p})"))
        )
    }
}
