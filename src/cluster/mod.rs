//! The cluster under test, behind one trait: `ClusterBackend` starts it, reports on it, stops /
//! kills / pauses / restarts single nodes, and tears it down. `process` (local JVMs) is the
//! default backend, `docker` runs the same topology as containers through the Docker Engine
//! API, and `external` points at a cluster someone else runs (faults through its containers).
//! The process and docker backends wait for readiness the same way (`ready`).

pub mod cds;
pub mod cleanup;
pub mod dist;
pub mod docker;
pub mod endpoints;
pub mod external;
pub mod java;
pub mod jre;
pub mod jvm_cmd;
pub mod node_action;
pub mod probe;
pub mod proc_ctl;
pub mod process;
pub mod quorum;
mod ready;
pub mod registry_proxy;
pub mod secure;
pub mod state;
pub mod status;
pub mod topology;
pub mod watch;

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

pub use crate::kafka::Brokers;
pub use crate::names::{BackendKind, BrokerId};
pub use crate::security::registry::Registry;
pub use endpoints::Endpoints;
pub use node_action::NodeAction;
pub use status::{ClusterStatus, NodeState, NodeStatus, ProcessState};
pub use topology::Topology;
pub use watch::Member;

/// How a node is taken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopMode {
    /// SIGTERM: controlled shutdown, leadership moved away first.
    Graceful,
    /// SIGKILL: the process vanishes mid-flight, as in a crash.
    Kill,
    /// SIGSTOP: the process freezes with its sockets open, as in a long GC pause or a hung host.
    Pause,
}

impl std::fmt::Display for StopMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopMode::Graceful => "graceful stop",
            StopMode::Kill => "kill",
            StopMode::Pause => "pause",
        })
    }
}

/// What a registry fault does to the registry process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFault {
    /// Take it down (graceful / kill / pause).
    Stop(StopMode),
    /// Continue it after a pause.
    Resume,
    /// Start it again (stopping it gracefully first if it runs).
    Restart,
}

/// Options that shape how a backend starts.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// How long the whole cluster may take to become ready.
    pub ready_timeout: Duration,
    /// Leave the processes running when this kbench exits.
    pub detached: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            ready_timeout: Duration::from_secs(240),
            detached: false,
        }
    }
}

/// A cluster kbench can drive. Calls block; callers on an async runtime use `spawn_blocking`.
pub trait ClusterBackend: Send {
    /// Which kind of backend this is.
    fn kind(&self) -> BackendKind;
    /// Bring the cluster up and wait until it is ready: all brokers registered, the quorum has a
    /// leader, the registry answers. `progress` receives one-line notes for the user.
    fn start(&mut self, opts: &StartOptions, progress: &dyn Fn(&str)) -> Result<()>;
    /// The cluster as `kbench cluster status` shows it: nodes, quorum leader, registry.
    fn status(&self) -> Result<ClusterStatus>;
    /// Take one node down (graceful / kill / pause).
    fn stop(&mut self, node: BrokerId, mode: StopMode) -> Result<()>;
    /// Continue a paused node.
    fn resume(&mut self, node: BrokerId) -> Result<()>;
    /// Start a node again on its data: stops it gracefully first if it runs.
    fn restart(&mut self, node: BrokerId) -> Result<()>;
    /// Stop, kill, pause, resume or restart the schema registry.
    fn registry_fault(&mut self, fault: RegistryFault) -> Result<()> {
        anyhow::bail!(
            "the {} backend cannot fault the registry ({fault:?}); registry faults need the \
             process backend",
            self.kind().name()
        )
    }
    /// Ids of the cluster's Kafka nodes.
    fn node_ids(&self) -> Vec<BrokerId>;
    /// Where the cluster answers and how a client connects: brokers and registry.
    fn endpoints(&self) -> Endpoints;
    /// Stop everything this backend started and remove its data. Idempotent.
    fn teardown(&mut self) -> Result<()>;
    /// Versions of the software under test, for reports.
    fn versions(&self) -> Versions;
    /// Peak resident memory (MiB) of each process the backend runs, by name; empty where the
    /// backend cannot see its processes.
    fn peak_rss_mib(&self) -> std::collections::BTreeMap<String, f64> {
        std::collections::BTreeMap::new()
    }
    /// Each process's state, read locally without asking the cluster (cheap enough to poll
    /// every second); `None` where the backend cannot see its processes.
    fn processes(&self) -> Option<Vec<(watch::Member, ProcessState)>> {
        None
    }
    /// The last `lines` lines one process wrote, and where they came from, to show why it
    /// went; `None` where the backend keeps no log of it.
    fn member_log_tail(&self, _member: watch::Member, _lines: usize) -> Option<watch::LogTail> {
        None
    }
    /// What the cluster's JVMs run with beyond their defaults to start faster, in words, for
    /// the results' environment; empty where kbench does not start them.
    fn jvm_tuning(&self) -> Vec<String> {
        Vec::new()
    }
    /// Where network and gray faults are injected; `None` when this backend cannot (its nodes
    /// are not on a lab network kbench made).
    fn network_faults(&mut self) -> Option<&mut dyn crate::netfault::NetworkFaults> {
        None
    }
    /// The active KRaft quorum leader, if known.
    fn controller(&self) -> Option<BrokerId> {
        self.status().ok().and_then(|s| s.quorum_leader)
    }
}

/// The progress notes every starting backend gives at its two ready milestones, so `cluster up`
/// reads the same whatever runs the nodes.
pub(crate) fn brokers_ready_note(
    ids: &[BrokerId],
    leader: Option<BrokerId>,
    since: Instant,
) -> String {
    format!(
        "brokers {ids:?} registered, quorum leader node {} ({:.1}s)",
        leader.unwrap_or_default(),
        since.elapsed().as_secs_f64()
    )
}

pub(crate) fn registry_ready_note(url: &str, since: Instant) -> String {
    format!(
        "registry answers at {url} ({:.1}s); cluster ready",
        since.elapsed().as_secs_f64()
    )
}

/// Versions of the software under test, as reports show them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Versions {
    /// Kafka version (`external` for a cluster kbench does not run).
    pub kafka: String,
    /// Schema registry version: Apicurio's, or the `cp-schema-registry` image on Docker.
    pub registry: String,
    /// On Docker, the image each role's containers ran: reference, origin, id; empty elsewhere.
    pub images: Vec<crate::images::Resolved>,
}

/// Owns a started backend and tears it down when dropped (on success, error, panic or signal),
/// unless it was detached.
pub struct ClusterGuard {
    backend: Option<Box<dyn ClusterBackend>>,
}

impl ClusterGuard {
    /// Guard a started backend, which is torn down when the guard is dropped.
    pub fn new(backend: Box<dyn ClusterBackend>) -> Self {
        ClusterGuard {
            backend: Some(backend),
        }
    }

    /// The guarded backend.
    pub fn backend(&mut self) -> &mut dyn ClusterBackend {
        self.backend
            .as_deref_mut()
            .expect("guard holds a backend until dropped")
    }

    /// Hand the cluster over to outlive this process.
    pub fn detach(mut self) {
        self.backend = None;
    }

    /// Tear down now and report the outcome.
    pub fn teardown(mut self) -> Result<()> {
        match self.backend.take() {
            Some(mut b) => b.teardown(),
            None => Ok(()),
        }
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Some(mut b) = self.backend.take() {
            if let Err(e) = b.teardown() {
                eprintln!("kbench: teardown failed: {e:#}; run `kbench cluster down`");
            }
        }
    }
}
