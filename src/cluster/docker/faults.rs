//! Node faults on Kafka containers addressed by name: graceful stop, SIGKILL, pause / unpause
//! and start again, through the Engine API. The Docker backend uses it for the containers it
//! created; the external backend can use it for containers someone else started (the compose
//! file's `kafka1`, `kafka2`, ...), which is how a `docker compose up -d` cluster gets faults.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::engine::{Engine, RunState};
use super::spec::kafka_host;
use crate::cluster::topology::{NodeId, Topology};
use crate::cluster::StopMode;

/// How long a node gets for a controlled shutdown before the engine kills it, as in the
/// process backend.
pub const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(120);
/// Exit status of a process ended by SIGKILL (128 + 9).
const KILLED: i64 = 137;

/// Node faults (stop, kill, pause, resume, restart) on Kafka containers, by node id.
pub struct ContainerFaults {
    names: BTreeMap<NodeId, String>,
    pub(super) engine: Engine,
}

impl ContainerFaults {
    /// Connect to the engine for the given node → container name map.
    pub fn connect(names: BTreeMap<NodeId, String>) -> Result<Self> {
        Ok(ContainerFaults::with_engine(names, Engine::connect()?))
    }

    pub(super) fn with_engine(names: BTreeMap<NodeId, String>, engine: Engine) -> Self {
        ContainerFaults { names, engine }
    }

    /// The container names `compose/docker-compose.yml` gives the Kafka nodes.
    pub fn compose_names(topo: &Topology) -> BTreeMap<NodeId, String> {
        topo.nodes
            .iter()
            .map(|n| (n.id, kafka_host(n.id)))
            .collect()
    }

    /// The node → container name map it addresses.
    pub fn names(&self) -> &BTreeMap<NodeId, String> {
        &self.names
    }

    /// Container name of `node`; an error listing the known nodes when it has none.
    pub fn container(&self, node: NodeId) -> Result<&str> {
        self.names.get(&node).map(String::as_str).with_context(|| {
            format!(
                "there is no container for node {node}; known nodes are {:?}",
                self.names.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The engine's current state of `node`'s container.
    pub fn state(&self, node: NodeId) -> Result<RunState> {
        self.engine.state(self.container(node)?)
    }

    fn alive_container(&self, node: NodeId) -> Result<(&str, RunState)> {
        let name = self.container(node)?;
        let state = self.engine.state(name)?;
        if !state.alive() {
            bail!("node {node} (container {name}) is not running");
        }
        Ok((name, state))
    }

    /// Take `node` down as `mode` says: `docker stop` (an error if it had to be killed after
    /// `GRACEFUL_TIMEOUT`), SIGKILL or `docker pause`. Fails when it is not running.
    pub fn stop(&self, node: NodeId, mode: StopMode) -> Result<()> {
        let (name, state) = self.alive_container(node)?;
        match mode {
            StopMode::Graceful => {
                // A frozen JVM cannot run its shutdown hooks, so thaw it before asking.
                if state == RunState::Paused {
                    self.engine.unpause(name)?;
                }
                self.engine.stop(name, GRACEFUL_TIMEOUT)?;
                let (_, code) = self.engine.inspect(name)?;
                if code == Some(KILLED) {
                    bail!(
                        "node {node} (container {name}) did not finish its controlled shutdown \
                         within {}s and was killed",
                        GRACEFUL_TIMEOUT.as_secs()
                    );
                }
            }
            StopMode::Kill => {
                self.engine.kill(name)?;
                if state == RunState::Paused {
                    // A frozen cgroup holds the signal until thawed; the container may
                    // already be gone, so a failure here means nothing.
                    self.engine.unpause(name).ok();
                }
                self.wait_state(name, |s| !s.alive(), Duration::from_secs(10))
                    .with_context(|| format!("node {node} (container {name}) survived SIGKILL"))?;
            }
            StopMode::Pause => {
                if state == RunState::Running {
                    self.engine.pause(name)?;
                }
                self.wait_state(name, |s| s == RunState::Paused, Duration::from_secs(5))
                    .with_context(|| format!("node {node} (container {name}) did not pause"))?;
            }
        }
        Ok(())
    }

    /// Continue a paused node; a running one is left as it is.
    pub fn resume(&self, node: NodeId) -> Result<()> {
        let (name, state) = self.alive_container(node)?;
        if state == RunState::Paused {
            self.engine.unpause(name)?;
        }
        self.wait_state(name, |s| s == RunState::Running, Duration::from_secs(5))
            .with_context(|| format!("node {node} (container {name}) did not continue"))
    }

    /// Start the node's container again on its data, stopping it gracefully first if it runs.
    pub fn restart(&self, node: NodeId) -> Result<()> {
        let name = self.container(node)?;
        match self.engine.state(name)? {
            RunState::Missing => bail!("node {node}: container {name} does not exist"),
            s if s.alive() => self.stop(node, StopMode::Graceful)?,
            _ => {}
        }
        self.engine.start(name)
    }

    fn wait_state(
        &self,
        name: &str,
        want: impl Fn(RunState) -> bool,
        timeout: Duration,
    ) -> Result<()> {
        let end = Instant::now() + timeout;
        loop {
            let s = self.engine.state(name)?;
            if want(s) {
                return Ok(());
            }
            if Instant::now() >= end {
                bail!("still {} after {}s", s.label(), timeout.as_secs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
