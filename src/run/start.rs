//! Step 1 of a run: the backend the scenario names, built (an external cluster's security read
//! from the environment here, at the edge) and started until ready, with what the rest of the
//! run needs from it.

use std::time::Instant;

use anyhow::Result;

use crate::cluster::docker::{self, ContainerFaults, DockerBackend};
use crate::cluster::external::ExternalBackend;
use crate::cluster::process::ProcessBackend;
use crate::cluster::Endpoints;
use crate::cluster::{
    Brokers, ClusterBackend, ClusterGuard, Registry, StartOptions, Topology, Versions,
};
use crate::names::BackendKind;
use crate::progress::Progress;
use crate::scenario::{ClusterSpec, Containers, ExternalFaults, Scenario};
use crate::security::spec;

/// A started cluster: its guard (teardown on every way out), where it answers, and facts for
/// the results.
pub(crate) struct StartedCluster {
    pub guard: ClusterGuard,
    pub endpoints: Endpoints,
    pub versions: Versions,
    pub ready_s: f64,
    /// `[cluster.broker]` as the brokers reported it once ready.
    pub broker_settings: Vec<crate::kafka::broker_config::BrokerSetting>,
}

/// Step 1: the backend the scenario names, started and ready; `keep`: started to outlive
/// this process (`--keep-cluster`).
pub(crate) fn start_cluster(
    sc: &Scenario,
    progress: &Progress,
    keep: bool,
) -> Result<StartedCluster> {
    let (backend, mut start_opts) = backend_for(sc)?;
    start_opts.detached = keep;
    let mut guard = ClusterGuard::new(backend);
    let t0 = Instant::now();
    guard.backend().start(&start_opts, &|m| progress.note(m))?;
    let backend = guard.backend();
    let endpoints = backend.endpoints();
    let versions = backend.versions();
    let ids: Vec<i32> = backend.node_ids().iter().map(|id| *id as i32).collect();
    let ready_s = t0.elapsed().as_secs_f64();
    let broker_settings =
        crate::kafka::broker_config::verify(&endpoints.brokers, &ids, &sc.broker)?;
    Ok(StartedCluster {
        guard,
        endpoints,
        versions,
        ready_s,
        broker_settings,
    })
}

impl StartedCluster {
    /// The last step: tear the cluster down, or (`keep`) hand it over to outlive the run.
    pub(crate) fn finish(self, keep: bool, topic: &str) -> (Result<()>, Option<KeptCluster>) {
        let mut guard = self.guard;
        let kind = guard.backend().kind();
        if !keep {
            return (guard.teardown(), None);
        }
        guard.detach();
        let kept = KeptCluster {
            backend: kind,
            bootstrap: self.endpoints.brokers.bootstrap.clone(),
            registry_url: self.endpoints.registry.url.clone(),
            topic: topic.to_string(),
        };
        (Ok(()), Some(kept))
    }
}

/// A cluster left running after its run, for the user's own tools.
#[derive(Debug, Clone)]
pub struct KeptCluster {
    /// Which backend runs it (says how to stop it).
    pub backend: BackendKind,
    /// The brokers' client listeners.
    pub bootstrap: String,
    /// The registry's Confluent-compatible API.
    pub registry_url: String,
    /// The run's topic, with every record still on it.
    pub topic: String,
}

impl std::fmt::Display for KeptCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stop = match self.backend {
            BackendKind::Process => "`kbench cluster down` stops it",
            BackendKind::Docker => "`kbench cluster down --backend docker` stops it",
            BackendKind::External => "kbench does not run it, so it was never going to stop it",
        };
        write!(
            f,
            "cluster kept running (--keep-cluster): brokers {}, registry {}, topic {}; {stop}",
            self.bootstrap, self.registry_url, self.topic
        )
    }
}

fn backend_for(sc: &Scenario) -> Result<(Box<dyn ClusterBackend>, StartOptions)> {
    let ready_timeout = match &sc.cluster {
        ClusterSpec::External {
            bootstrap,
            registry_url,
            security,
            faults,
        } => {
            let (kafka, registry) = spec::shared(security.resolve()?);
            let names = match faults {
                ExternalFaults::Containers(Containers::Compose) => Some((
                    ContainerFaults::compose_names(&Topology::default()),
                    Some(crate::cluster::docker::REGISTRY_HOST.to_string()),
                )),
                ExternalFaults::Containers(Containers::Named { brokers, registry }) => {
                    Some((brokers.clone(), registry.clone()))
                }
                _ => None,
            };
            let b = ExternalBackend::new(
                Brokers::new(bootstrap, kafka),
                Registry::new(registry_url, registry),
            )
            .with_containers(names);
            return Ok((Box::new(b), StartOptions::default()));
        }
        ClusterSpec::Process { ready_timeout } | ClusterSpec::Docker { ready_timeout, .. } => {
            *ready_timeout
        }
    };
    let backend: Box<dyn ClusterBackend> = if let ClusterSpec::Docker { images, .. } = sc.cluster {
        Box::new(
            DockerBackend::connect(
                Topology::default().with_broker_settings(&sc.broker),
                docker::DEFAULT_CLUSTER,
            )?
            .with_images(images),
        )
    } else {
        let workdir = crate::paths::runs_dir()?.join(crate::paths::new_run_name(&sc.name));
        let topo = Topology::default().with_broker_settings(&sc.broker);
        let b = ProcessBackend::create(workdir, topo)?;
        // Network faults need every node in a namespace of its own; the default path keeps
        // the seed's loopback addresses.
        let network = sc.faults.iter().any(|f| f.action.is_network());
        Box::new(if network { b.in_namespaces() } else { b })
    };
    let opts = StartOptions {
        ready_timeout,
        detached: false,
    };
    Ok((backend, opts))
}
