//! `backend = "docker"`: the topology's three KRaft nodes and a Confluent Schema Registry as
//! containers on one network, created, faulted and removed through the Docker Engine API. Ready
//! means what it means for the process backend: every broker registered, a quorum leader
//! known, the registry answering `GET /subjects`.

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::engine::{Engine, RunState};
use super::events::ContainerEvents;
use super::faults::ContainerFaults;
use super::lab::ContainerLab;
use super::spec::{self, container_specs, label, ContainerSpec, ImageSet, Role, KAFKA_LOG_DIR};
use crate::cluster::ready::{self, Stage, Starting};
use crate::cluster::status::{ClusterStatus, NodeStatus, ProcessState};
use crate::cluster::topology::Topology;
use crate::cluster::watch::{LogTail, Member};
use crate::cluster::{
    dist, probe, Brokers, ClusterBackend, Endpoints, Registry, RegistryFault, StartOptions,
    StopMode, Versions,
};
use crate::images::{self, Choice, Resolved, Role as ImageRole};
use crate::names::BackendKind;
use crate::names::BrokerId;

/// Lines of a container's log shown when it fails to come up.
const LOG_LINES: usize = 30;

/// Backend that runs the topology's Kafka nodes and the Confluent Schema Registry as
/// Docker containers on one network.
pub struct DockerBackend {
    pub(super) topo: Topology,
    cluster: String,
    specs: Vec<ContainerSpec>,
    pub(super) faults: ContainerFaults,
    /// Containers this instance created, the only ones its teardown removes; leftovers of
    /// other runs are `down_labelled`'s business.
    created: Vec<String>,
    network_created: bool,
    torn_down: bool,
    /// Which images `start` may run.
    choice: Choice,
    /// The images the containers run: the seed's until `start` resolves them.
    images: ImageSet,
    /// What `start` resolved, for the results: reference, origin and id per role.
    resolved: Vec<Resolved>,
    /// The containers' events, followed once the cluster is up.
    events: Option<ContainerEvents>,
    /// Network and gray faults in force on the containers.
    pub(super) lab: ContainerLab,
}

/// Which registry an image runs, when it is one kbench knows.
fn registry_kind_of(image: &str) -> Option<images::RegistryKind> {
    images::candidates(
        ImageRole::Registry,
        &dist::kafka_version(),
        &dist::registry_version(),
    )
    .into_iter()
    .find(|c| c.reference == image)
    .and_then(|c| c.registry)
}

/// Docker accepts `[a-zA-Z0-9][a-zA-Z0-9_.-]*` for container and network names.
fn check_cluster_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || name.len() > 48 {
        bail!(
            "cluster name {name:?} cannot name Docker containers: use up to 48 letters, digits, \
             '_', '.' or '-', starting with a letter or digit"
        );
    }
    Ok(())
}

impl DockerBackend {
    /// Connect to the engine for the cluster `cluster` (containers `<cluster>-kafka1`, ...,
    /// network `<cluster>`). Creates nothing until `start`, so it also serves to inspect or
    /// fault a cluster another kbench started.
    pub fn connect(topo: Topology, cluster: &str) -> Result<Self> {
        check_cluster_name(cluster)?;
        DockerBackend::with_engine(topo, cluster, Engine::connect()?)
    }

    pub(super) fn with_engine(topo: Topology, cluster: &str, engine: Engine) -> Result<Self> {
        check_cluster_name(cluster)?;
        let images = ImageSet::upstream();
        let specs = container_specs(&topo, cluster, &images);
        let names = specs
            .iter()
            .filter_map(|s| Some((s.node?, s.name.clone())))
            .collect();
        let registry = (specs.iter())
            .find(|s| s.role == Role::Registry)
            .map(|s| s.name.clone());
        // A cluster another kbench started may run Apicurio: where the registry answers
        // depends on which registry its container runs.
        let running = registry.as_ref().and_then(|r| engine.image_of(r));
        let kind = running.and_then(|image| registry_kind_of(&image));
        let images = ImageSet {
            registry_kind: kind.unwrap_or(images.registry_kind),
            ..images
        };
        Ok(DockerBackend {
            topo,
            cluster: cluster.to_string(),
            specs,
            faults: ContainerFaults::with_engine(names, engine).with_registry(registry),
            created: Vec::new(),
            network_created: false,
            torn_down: false,
            choice: Choice::Auto,
            images,
            resolved: Vec::new(),
            events: None,
            lab: ContainerLab::default(),
        })
    }

    /// Run the images `choice` allows (`[cluster] images`, `--images`).
    pub fn with_images(mut self, choice: Choice) -> Self {
        self.choice = choice;
        self
    }

    /// The images the containers run, as `start` resolved them (empty before).
    pub fn resolved_images(&self) -> &[Resolved] {
        &self.resolved
    }

    /// The cluster name: prefix of its container names and name of its network.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Specs of every container of the cluster: the Kafka nodes, then the registry.
    pub fn specs(&self) -> &[ContainerSpec] {
        &self.specs
    }

    fn engine(&self) -> &Engine {
        &self.faults.engine
    }

    fn role(&self, role: Role) -> impl Iterator<Item = &ContainerSpec> {
        self.specs.iter().filter(move |s| s.role == role)
    }

    /// Only the published ports matter here: the others live inside the containers.
    fn check_ports_free(&self) -> Result<()> {
        let purposes = self.topo.ports();
        for p in self.specs.iter().flat_map(|s| &s.ports) {
            if let Err(e) = TcpListener::bind((p.host_ip.as_str(), p.host_port)) {
                let what = purposes
                    .iter()
                    .find(|u| u.port == p.host_port)
                    .map_or(p.host_port.to_string(), ToString::to_string);
                bail!(
                    "port {what} is already in use on {} ({e}). Another Kafka, registry or \
                     kbench cluster is running: `kbench cluster down --backend docker` removes \
                     kbench's containers",
                    p.host_ip
                );
            }
        }
        Ok(())
    }

    /// Pick each role's image as `choice` says (pulling an upstream one when allowed), and
    /// derive the containers from them.
    fn resolve_images(&mut self, progress: &dyn Fn(&str)) -> Result<()> {
        let (kafka_v, registry_v) = (dist::kafka_version(), dist::registry_version());
        let resolve = |role| {
            let all = images::candidates(role, &kafka_v, &registry_v);
            images::resolve(self.engine(), role, self.choice, &all, progress)
        };
        let kafka = resolve(ImageRole::Kafka)?;
        let registry = resolve(ImageRole::Registry)?;
        self.images = ImageSet {
            kafka: kafka.reference.clone(),
            registry: registry.reference.clone(),
            registry_kind: registry.registry.unwrap_or(images::RegistryKind::Apicurio),
        };
        self.specs = container_specs(&self.topo, &self.cluster, &self.images);
        self.resolved = vec![kafka, registry];
        Ok(())
    }

    /// "kbench/kafka:4.1.1-java17 (built here)" for the start line.
    fn image_words(&self, role: ImageRole) -> String {
        self.resolved
            .iter()
            .find(|r| r.role == role)
            .map_or_else(String::new, |r| format!("{} ({})", r.reference, r.origin))
    }

    /// Fail with the container's log when one that was started has stopped.
    fn check_running<'a>(&self, specs: impl IntoIterator<Item = &'a ContainerSpec>) -> Result<()> {
        for s in specs {
            let (state, code) = self.engine().inspect(&s.name)?;
            if matches!(state, RunState::Stopped | RunState::Missing) {
                let code = code.map_or(String::new(), |c| format!(" with status {c}"));
                bail!(
                    "container {} exited during start-up{code}; its last lines:\n{}",
                    s.name,
                    self.engine().logs_tail(&s.name, LOG_LINES)
                );
            }
        }
        Ok(())
    }

    /// The leader recorded at the highest epoch in the nodes' `quorum-state` files, read through
    /// the engine's exec since the files live in the containers (the metadata API cannot say:
    /// in KRaft it names a random broker as controller). Paused or stopped nodes are skipped.
    fn quorum_leader(&self) -> Option<BrokerId> {
        let path = format!("{KAFKA_LOG_DIR}/__cluster_metadata-0/quorum-state");
        self.role(Role::Kafka)
            .filter_map(|s| {
                let text = self
                    .engine()
                    .exec_stdout(&s.name, &["cat", &path], Duration::from_secs(3))
                    .ok()?;
                let v: serde_json::Value = serde_json::from_str(&text).ok()?;
                Some((v["leaderId"].as_i64()?, v["leaderEpoch"].as_i64()?))
            })
            .filter(|(id, _)| *id >= 0)
            .max_by_key(|(_, epoch)| *epoch)
            .and_then(|(id, _)| BrokerId::try_from(id).ok())
    }

    fn create_all(&mut self) -> Result<()> {
        let network_labels: HashMap<String, String> = HashMap::from([
            (label::MANAGED.to_string(), "true".to_string()),
            (label::CLUSTER.to_string(), self.cluster.clone()),
        ]);
        if self
            .engine()
            .ensure_network(&self.cluster, &network_labels)?
        {
            self.network_created = true;
        }
        for i in 0..self.specs.len() {
            self.engine().create(&self.specs[i])?;
            self.created.push(self.specs[i].name.clone());
        }
        Ok(())
    }

    /// The container's state; `None` when the engine cannot say.
    fn container_state(&self, name: &str) -> Option<ProcessState> {
        self.engine().state(name).ok().map(RunState::process_state)
    }
}

impl Starting for DockerBackend {
    fn check_alive(&self, stage: Stage) -> Result<()> {
        match stage {
            Stage::Brokers => self.check_running(self.role(Role::Kafka)),
            Stage::Registry => self.check_running(&self.specs),
        }
    }

    fn quorum_leader(&self) -> Option<BrokerId> {
        DockerBackend::quorum_leader(self)
    }

    fn registered(&self) -> Vec<BrokerId> {
        probe::registered_brokers(&self.endpoints().brokers, Duration::from_secs(1))
            .unwrap_or_default()
    }

    fn registry_answers(&self) -> bool {
        self.endpoints().registry.answers(Duration::from_secs(2))
    }

    fn log_tail(&self, stage: Stage, registered: &[BrokerId]) -> String {
        let tail = |s: &ContainerSpec| {
            let lines = self.engine().logs_tail(&s.name, LOG_LINES);
            format!("last lines of container {}:\n{lines}", s.name)
        };
        match stage {
            Stage::Registry => self
                .role(Role::Registry)
                .map(tail)
                .collect::<Vec<_>>()
                .join("\n"),
            Stage::Brokers => {
                let missing = self
                    .role(Role::Kafka)
                    .find(|s| s.node.is_some_and(|id| !registered.contains(&id)));
                missing
                    .or_else(|| self.role(Role::Kafka).next())
                    .map_or(String::new(), |s| format!("\n{}", tail(s)))
            }
        }
    }
}

impl ClusterBackend for DockerBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Docker
    }

    fn start(&mut self, opts: &StartOptions, progress: &dyn Fn(&str)) -> Result<()> {
        self.check_ports_free()?;
        self.resolve_images(progress)?;
        // A first pull can take minutes on a slow link; the ready timeout is about the cluster.
        let t0 = Instant::now();
        let deadline = t0 + opts.ready_timeout;
        progress(&format!(
            "starting Kafka {} (3 KRaft nodes, {}) and {} ({}) as containers on Docker network \
             {} ({}, Engine API {})",
            dist::kafka_version(),
            self.image_words(ImageRole::Kafka),
            self.images.registry_kind,
            self.image_words(ImageRole::Registry),
            self.cluster,
            self.engine().endpoint,
            self.engine().api_version
        ));
        self.create_all()?;
        let kafka: Vec<String> = self.role(Role::Kafka).map(|s| s.name.clone()).collect();
        for name in &kafka {
            self.engine().start(name)?;
        }
        ready::wait_brokers(self, &self.topo.node_ids(), deadline)?;
        progress(&crate::cluster::brokers_ready_note(
            &self.topo.node_ids(),
            self.quorum_leader(),
            t0,
        ));
        let registry: Vec<String> = self.role(Role::Registry).map(|s| s.name.clone()).collect();
        for name in &registry {
            self.engine().start(name)?;
        }
        ready::wait_registry(self, &self.endpoints().registry.url, deadline)?;
        progress(&crate::cluster::registry_ready_note(
            &self.endpoints().registry.url,
            t0,
        ));
        let names = self.faults.members().into_iter().map(|(_, n)| n).collect();
        self.events = Some(ContainerEvents::follow(self.engine(), names));
        Ok(())
    }

    fn status(&self) -> Result<ClusterStatus> {
        let (registered, metadata_error) =
            probe::registration(&self.endpoints().brokers, Duration::from_millis(1500));
        let leader = self.quorum_leader();
        let nodes = self
            .role(Role::Kafka)
            .filter_map(|s| {
                let id = s.node?;
                Some(NodeStatus {
                    id,
                    address: self.topo.client_address(id).unwrap_or_default(),
                    process: self.container_state(&s.name),
                    registered: registered.contains(&id),
                    quorum_leader: leader == Some(id),
                })
            })
            .collect();
        let registry_process = self
            .role(Role::Registry)
            .next()
            .and_then(|s| self.container_state(&s.name));
        let registry_url = self.endpoints().registry.url;
        Ok(ClusterStatus {
            backend: BackendKind::Docker,
            bootstrap_servers: self.topo.bootstrap_servers(),
            nodes,
            quorum_leader: leader,
            registry_up: self.endpoints().registry.answers(Duration::from_secs(2)),
            registry_url,
            registry_process,
            metadata_error,
            security: None,
        })
    }

    fn stop(&mut self, node: BrokerId, mode: StopMode) -> Result<()> {
        self.faults.stop(node, mode)
    }

    fn resume(&mut self, node: BrokerId) -> Result<()> {
        self.faults.resume(node)
    }

    fn restart(&mut self, node: BrokerId) -> Result<()> {
        self.faults.restart(node)
    }

    fn registry_fault(&mut self, fault: RegistryFault) -> Result<()> {
        self.faults.registry_fault(fault)
    }

    fn node_ids(&self) -> Vec<BrokerId> {
        self.topo.node_ids()
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            brokers: Brokers::plain(self.topo.bootstrap_servers()),
            registry: Registry::plain(spec::registry_url(&self.topo, self.images.registry_kind)),
        }
    }

    /// Removes the containers (with their data volumes) and the network this instance created;
    /// everything else stays.
    fn teardown(&mut self) -> Result<()> {
        if self.torn_down {
            return Ok(());
        }
        // Removing the containers is no news for anyone.
        self.events = None;
        let mut errors = self.remove_lab();
        // The registry first: it is a client of the brokers.
        for name in self.created.iter().rev() {
            if let Err(e) = self.engine().remove(name) {
                errors.push(format!("{e:#}"));
            }
        }
        if self.network_created {
            if let Err(e) = self.engine().remove_network(&self.cluster) {
                errors.push(format!("{e:#}"));
            }
        }
        if !errors.is_empty() {
            bail!(
                "teardown left Docker objects behind (`kbench cluster down --backend docker` \
                 retries):\n{}",
                errors.join("\n")
            );
        }
        self.torn_down = true;
        Ok(())
    }

    /// Versions, with the image each role ran (reference, origin, id) so results say which.
    fn versions(&self) -> Versions {
        let registry = match self.images.registry_kind {
            images::RegistryKind::Apicurio => {
                format!("Apicurio Registry {}", dist::registry_version())
            }
            images::RegistryKind::Confluent => self.images.registry.clone(),
        };
        Versions {
            kafka: dist::kafka_version(),
            registry,
            images: self.resolved.clone(),
        }
    }

    fn controller(&self) -> Option<BrokerId> {
        self.quorum_leader()
    }

    fn processes(&self) -> Option<Vec<(Member, ProcessState)>> {
        Some(self.faults.member_states(self.events.as_ref()?))
    }

    fn member_log_tail(&self, member: Member, lines: usize) -> Option<LogTail> {
        self.faults.log_tail(member, lines)
    }

    fn network_faults(&mut self) -> Option<&mut dyn crate::netfault::NetworkFaults> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_must_suit_docker() {
        for ok in ["kbench", "run-1", "a.b_c", "9"] {
            assert!(check_cluster_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "x/y", "é", &"a".repeat(49)] {
            let e = check_cluster_name(bad).unwrap_err().to_string();
            assert!(e.contains("cannot name Docker containers"), "{bad}: {e}");
        }
    }
}
