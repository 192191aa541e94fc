//! The state file a cluster's work directory carries while the cluster lives: which processes
//! kbench started (pid + start time), their ports and directories. It is written before and after
//! every spawn, so `kbench cluster down` can clean up even after kbench itself was killed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::proc_ctl::ProcRef;
use super::topology::NodeId;

pub const STATE_FILE: &str = "cluster-state.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: NodeId,
    pub client_port: u16,
    pub internal_port: u16,
    pub controller_port: u16,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub process: Option<ProcRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryRecord {
    pub port: u16,
    pub management_port: u16,
    pub log: PathBuf,
    pub process: Option<ProcRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub backend: crate::names::BackendKind,
    pub workdir: PathBuf,
    pub created_at: String,
    /// The kbench process that started the cluster.
    pub owner_pid: i32,
    pub detached: bool,
    pub cluster_id: String,
    pub kafka_version: String,
    pub registry_version: String,
    pub bootstrap_servers: String,
    pub registry_url: String,
    pub nodes: Vec<NodeRecord>,
    pub registry: RegistryRecord,
}

impl ClusterState {
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
            .collect()
    }

    pub fn any_alive(&self) -> bool {
        self.processes().iter().any(ProcRef::alive)
    }

    pub fn node(&self, id: NodeId) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut NodeRecord> {
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
