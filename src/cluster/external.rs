//! A cluster someone else runs (the seed's `docker-compose up -d`, a staging cluster): kbench
//! only connects to it. Node faults work when its brokers are containers kbench is told the names
//! of (through the Docker Engine API); otherwise they are refused with a clear error.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use std::collections::BTreeMap;

use super::docker::ContainerFaults;
use super::status::{ClusterStatus, NodeStatus};
use super::{
    probe, Brokers, ClusterBackend, Endpoints, Registry, RegistryFault, StartOptions, StopMode,
    Versions,
};
use crate::kafka::metadata::MetadataClient;
use crate::names::BackendKind;
use crate::names::BrokerId;

/// Backend for a cluster kbench does not run: it only connects to its brokers and
/// registry, and faults nodes only through named containers.
pub struct ExternalBackend {
    brokers: Brokers,
    registry: Registry,
    /// Broker id -> container name, and the registry's container where named.
    containers: Option<(BTreeMap<BrokerId, String>, Option<String>)>,
    /// Connected in `start`, when containers are named.
    faults: Option<ContainerFaults>,
    /// Client address of every broker seen in the metadata, so a broker that is down still
    /// has one (its port can be checked while it is gone from the metadata).
    addresses: BTreeMap<BrokerId, String>,
    /// Kafka's tools, fetched on the first question only they answer (the quorum leader).
    dist: std::sync::OnceLock<Option<super::dist::Dist>>,
}

impl ExternalBackend {
    /// A backend for `brokers` and `registry`; no node faults until containers are named.
    pub fn new(brokers: Brokers, registry: Registry) -> Self {
        ExternalBackend {
            brokers,
            registry,
            containers: None,
            faults: None,
            addresses: BTreeMap::new(),
            dist: std::sync::OnceLock::new(),
        }
    }

    /// Address node faults to these containers (broker id -> container name), and registry
    /// faults to the registry's container where one is named.
    pub fn with_containers(
        mut self,
        containers: Option<(BTreeMap<BrokerId, String>, Option<String>)>,
    ) -> Self {
        self.containers = containers;
        self
    }

    fn faults(&self) -> Option<&ContainerFaults> {
        self.faults.as_ref()
    }

    fn no_lifecycle(&self, what: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "cannot {what}: the external backend does not control the brokers of {}; \
             name its containers (`containers = \"compose\"` in [cluster]) or use the process backend",
            self.brokers
        )
    }
}

impl ClusterBackend for ExternalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::External
    }

    /// Nothing to start: check that the brokers and the registry answer.
    fn start(&mut self, opts: &StartOptions, progress: &dyn Fn(&str)) -> Result<()> {
        let timeout = opts.ready_timeout.min(Duration::from_secs(30));
        let md = MetadataClient::new(&self.brokers)?;
        let addresses = md.broker_addresses(timeout).with_context(|| {
            format!("no broker of {} answered a metadata request", self.brokers)
        })?;
        let brokers: Vec<BrokerId> = addresses.iter().map(|(id, _)| *id).collect();
        self.addresses = addresses.into_iter().collect();
        if brokers.is_empty() {
            bail!("the cluster at {} lists no brokers", self.brokers);
        }
        self.registry
            .check_settled(Duration::from_secs(10), Duration::from_secs(15))?;
        if let Some((names, registry)) = &self.containers {
            self.faults = Some(ContainerFaults::connect(names.clone(), registry.clone())?);
        }
        progress(&format!(
            "external cluster at {} ({}): brokers {brokers:?}; registry {}",
            self.brokers,
            self.brokers.security.describe(),
            self.registry
        ));
        Ok(())
    }

    fn status(&self) -> Result<ClusterStatus> {
        let (ids, metadata_error) = probe::registration(&self.brokers, Duration::from_secs(2));
        let known: std::collections::BTreeSet<BrokerId> =
            self.addresses.keys().chain(&ids).copied().collect();
        Ok(ClusterStatus {
            backend: BackendKind::External,
            bootstrap_servers: self.brokers.bootstrap.clone(),
            nodes: known
                .into_iter()
                .map(|id| NodeStatus {
                    id,
                    address: self
                        .addresses
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "-".into()),
                    process: None,
                    registered: ids.contains(&id),
                    quorum_leader: false,
                })
                .collect(),
            quorum_leader: None,
            registry_url: self.registry.url.clone(),
            registry_up: self.registry.answers(Duration::from_secs(2)),
            registry_process: None,
            metadata_error,
            security: None,
        })
    }

    fn stop(&mut self, node: BrokerId, mode: StopMode) -> Result<()> {
        match self.faults() {
            Some(f) => f.stop(node, mode),
            None => Err(self.no_lifecycle(&format!("{mode} node {node}"))),
        }
    }

    fn resume(&mut self, node: BrokerId) -> Result<()> {
        match self.faults() {
            Some(f) => f.resume(node),
            None => Err(self.no_lifecycle(&format!("resume node {node}"))),
        }
    }

    fn restart(&mut self, node: BrokerId) -> Result<()> {
        match self.faults() {
            Some(f) => f.restart(node),
            None => Err(self.no_lifecycle(&format!("restart node {node}"))),
        }
    }

    fn registry_fault(&mut self, fault: RegistryFault) -> Result<()> {
        match self.faults() {
            Some(f) => f.registry_fault(fault),
            None => Err(self.no_lifecycle(&format!("{fault:?} the registry"))),
        }
    }

    fn node_ids(&self) -> Vec<BrokerId> {
        if let Some((names, _)) = &self.containers {
            return names.keys().copied().collect();
        }
        if !self.addresses.is_empty() {
            return self.addresses.keys().copied().collect();
        }
        probe::registered_brokers(&self.brokers, Duration::from_secs(2)).unwrap_or_default()
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            brokers: self.brokers.clone(),
            registry: self.registry.clone(),
        }
    }

    fn teardown(&mut self) -> Result<()> {
        Ok(())
    }

    /// The quorum leader, from Kafka's own tool: no Kafka client is told who it is.
    fn controller(&self) -> Option<BrokerId> {
        let dist = self
            .dist
            .get_or_init(|| super::dist::ensure(&|m| eprintln!("kbench: {m}")).ok())
            .as_ref()?;
        super::quorum::leader(dist, &self.brokers).ok()
    }

    fn versions(&self) -> Versions {
        Versions {
            kafka: "external".into(),
            registry: "external".into(),
            images: Vec::new(),
        }
    }
}
