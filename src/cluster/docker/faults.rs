//! Faults on Kafka containers and the registry's, addressed by name: graceful stop, SIGKILL,
//! pause / unpause and start again, through the Engine API. The Docker backend uses it for the containers it
//! created; the external backend can use it for containers someone else started (the compose
//! file's `kafka1`, `kafka2`, ...), which is how a `docker compose up -d` cluster gets faults.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::engine::{Engine, RunState};
use super::events::ContainerEvents;
use super::spec::kafka_host;
use crate::cluster::status::ProcessState;
use crate::cluster::topology::Topology;
use crate::cluster::watch::{LogTail, Member};
use crate::cluster::{RegistryFault, StopMode};
use crate::names::BrokerId;

/// How long a node gets for a controlled shutdown before the engine kills it, as in the
/// process backend.
pub const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(120);
/// Exit status of a process ended by SIGKILL (128 + 9).
const KILLED: i64 = 137;

/// Faults (stop, kill, pause, resume, restart) on Kafka containers, by node id, and on the
/// registry's container when it is named.
pub struct ContainerFaults {
    names: BTreeMap<BrokerId, String>,
    pub(super) registry: Option<String>,
    pub(super) engine: Engine,
}

impl ContainerFaults {
    /// Connect to the engine for the given node → container name map, and the registry's
    /// container name where faults may reach it.
    pub fn connect(names: BTreeMap<BrokerId, String>, registry: Option<String>) -> Result<Self> {
        Ok(ContainerFaults::with_engine(names, Engine::connect()?).with_registry(registry))
    }

    pub(super) fn with_engine(names: BTreeMap<BrokerId, String>, engine: Engine) -> Self {
        ContainerFaults {
            names,
            registry: None,
            engine,
        }
    }

    /// The same, with the registry's container.
    pub(super) fn with_registry(mut self, registry: Option<String>) -> Self {
        self.registry = registry;
        self
    }

    /// The container names `compose/docker-compose.yml` gives the Kafka nodes.
    pub fn compose_names(topo: &Topology) -> BTreeMap<BrokerId, String> {
        topo.nodes
            .iter()
            .map(|n| (n.id, kafka_host(n.id)))
            .collect()
    }

    /// The node → container name map it addresses.
    pub fn names(&self) -> &BTreeMap<BrokerId, String> {
        &self.names
    }

    /// Every container it addresses, with the cluster member it runs.
    pub(super) fn members(&self) -> Vec<(Member, String)> {
        let brokers = (self.names.iter()).map(|(id, name)| (Member::Broker(*id), name.clone()));
        let registry = (self.registry.iter()).map(|name| (Member::Registry, name.clone()));
        brokers.chain(registry).collect()
    }

    /// Each member's state, as the engine's events (checked where they say down) show it.
    pub(super) fn member_states(&self, events: &ContainerEvents) -> Vec<(Member, ProcessState)> {
        (self.members().into_iter())
            .map(|(m, name)| (m, events.state(&name, &self.engine).process_state()))
            .collect()
    }

    /// The end of `member`'s container log.
    pub(super) fn log_tail(&self, member: Member, lines: usize) -> Option<LogTail> {
        let name = self.members().into_iter().find(|(m, _)| *m == member)?.1;
        Some(LogTail {
            tail: self.engine.logs_tail(&name, lines),
            source: format!("`docker logs {name}`"),
        })
    }

    /// Container name of `node`; an error listing the known nodes when it has none.
    pub fn container(&self, node: BrokerId) -> Result<&str> {
        self.names.get(&node).map(String::as_str).with_context(|| {
            format!(
                "there is no container for node {node}; known nodes are {:?}",
                self.names.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The engine's current state of `node`'s container.
    pub fn state(&self, node: BrokerId) -> Result<RunState> {
        self.engine.state(self.container(node)?)
    }

    /// Take `node` down as `mode` says: `docker stop` (an error if it had to be killed after
    /// `GRACEFUL_TIMEOUT`), SIGKILL or `docker pause`. Fails when it is not running.
    pub fn stop(&self, node: BrokerId, mode: StopMode) -> Result<()> {
        Target::node(self, node)?.stop(mode)
    }

    /// Continue a paused node; a running one is left as it is.
    pub fn resume(&self, node: BrokerId) -> Result<()> {
        Target::node(self, node)?.resume()
    }

    /// Start the node's container again on its data, stopping it gracefully first if it runs.
    pub fn restart(&self, node: BrokerId) -> Result<()> {
        Target::node(self, node)?.restart()
    }

    /// The same faults on the registry's container.
    pub fn registry_fault(&self, fault: RegistryFault) -> Result<()> {
        let name = self.registry.as_deref().context(
            "no registry container is named, so registry faults cannot reach it (the compose \
             file's is `schema-registry`)",
        )?;
        let t = Target {
            what: "the registry".into(),
            name,
            faults: self,
        };
        match fault {
            RegistryFault::Stop(mode) => t.stop(mode),
            RegistryFault::Resume => t.resume(),
            RegistryFault::Restart => t.restart(),
        }
    }

    /// The engine's current state of the registry's container, where one is named.
    pub fn registry_state(&self) -> Option<RunState> {
        self.engine.state(self.registry.as_deref()?).ok()
    }
}

/// One container a fault acts on, and what to call it in errors.
struct Target<'a> {
    what: String,
    name: &'a str,
    faults: &'a ContainerFaults,
}

impl<'a> Target<'a> {
    fn node(faults: &'a ContainerFaults, node: BrokerId) -> Result<Target<'a>> {
        Ok(Target {
            what: format!("node {node}"),
            name: faults.container(node)?,
            faults,
        })
    }

    fn engine(&self) -> &Engine {
        &self.faults.engine
    }

    fn alive(&self) -> Result<RunState> {
        let state = self.engine().state(self.name)?;
        if !state.alive() {
            bail!("{} (container {}) is not running", self.what, self.name);
        }
        Ok(state)
    }

    fn stop(&self, mode: StopMode) -> Result<()> {
        let (what, name) = (&self.what, self.name);
        let state = self.alive()?;
        match mode {
            StopMode::Graceful => {
                // A frozen JVM cannot run its shutdown hooks, so thaw it before asking.
                if state == RunState::Paused {
                    self.engine().unpause(name)?;
                }
                self.engine().stop(name, GRACEFUL_TIMEOUT)?;
                let (_, code) = self.engine().inspect(name)?;
                if code == Some(KILLED) {
                    bail!(
                        "{what} (container {name}) did not finish its controlled shutdown \
                         within {}s and was killed",
                        GRACEFUL_TIMEOUT.as_secs()
                    );
                }
            }
            StopMode::Kill => {
                self.engine().kill(name)?;
                if state == RunState::Paused {
                    // A frozen cgroup holds the signal until thawed; the container may
                    // already be gone, so a failure here means nothing.
                    self.engine().unpause(name).ok();
                }
                self.wait_state(|s| !s.alive(), Duration::from_secs(10))
                    .with_context(|| format!("{what} (container {name}) survived SIGKILL"))?;
            }
            StopMode::Pause => {
                if state == RunState::Running {
                    self.engine().pause(name)?;
                }
                self.wait_state(|s| s == RunState::Paused, Duration::from_secs(5))
                    .with_context(|| format!("{what} (container {name}) did not pause"))?;
            }
        }
        Ok(())
    }

    fn resume(&self) -> Result<()> {
        if self.alive()? == RunState::Paused {
            self.engine().unpause(self.name)?;
        }
        self.wait_state(|s| s == RunState::Running, Duration::from_secs(5))
            .with_context(|| format!("{} (container {}) did not continue", self.what, self.name))
    }

    fn restart(&self) -> Result<()> {
        match self.engine().state(self.name)? {
            RunState::Missing => bail!("{}: container {} does not exist", self.what, self.name),
            s if s.alive() => self.stop(StopMode::Graceful)?,
            _ => {}
        }
        self.engine().start(self.name)
    }

    fn wait_state(&self, want: impl Fn(RunState) -> bool, timeout: Duration) -> Result<()> {
        let end = Instant::now() + timeout;
        loop {
            let s = self.engine().state(self.name)?;
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
