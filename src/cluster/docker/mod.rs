//! The Docker side of kbench: the cluster as container specs derived from `Topology` (`spec`),
//! the same specs rendered as `compose/docker-compose.yml` (`compose`), the `docker` backend
//! that runs them through the Engine API with bollard (`backend`, over `engine`; the image
//! calls the images part needs in `image_calls`), node faults on
//! containers by name for clusters kbench did not start (`faults`), and `down_labelled` for
//! `kbench cluster down --backend docker`.

mod backend;
#[cfg(test)]
mod backend_tests;
mod compose;
mod engine;
mod events;
#[cfg(test)]
mod fake;
mod faults;
mod image_calls;
mod lab;
mod network;
mod spec;
#[cfg(test)]
mod spec_tests;
pub mod swarm;

pub use backend::DockerBackend;
pub use compose::{compose_variant, compose_yaml, COMPOSE_PATH, LOCAL_COMPOSE_PATH};
pub use engine::{NoEngine, RunState, MIN_API_VERSION};
pub use faults::{ContainerFaults, GRACEFUL_TIMEOUT};
pub use spec::{
    cluster_id, container_specs, kafka_env_name, label, registry_url, ContainerSpec, ImageSet,
    Published, Role, DEFAULT_CLUSTER, KAFKA_LOG_DIR, REGISTRY_HOST,
};

use anyhow::{bail, Result};
use engine::Engine;

/// Connect to the engine `DOCKER_HOST` names (the local socket when unset), for image work.
pub fn image_engine() -> Result<impl crate::images::ImageEngine> {
    Engine::connect()
}

/// Remove every container and network labelled `dev.kbench.managed=true` (of one cluster, or
/// of all), containers first since a network in use cannot go, then what network faults left
/// (namespace names, empty cgroups). Returns what was removed, as `container <name>` /
/// `network <name>` / ...; tries everything before reporting failures.
pub fn down_labelled(cluster: Option<&str>) -> Result<Vec<String>> {
    remove_labelled(&Engine::connect()?, cluster)
}

fn remove_labelled(engine: &Engine, cluster: Option<&str>) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    for name in engine.labelled_containers(cluster)? {
        match engine.remove(&name) {
            Ok(true) => removed.push(format!("container {name}")),
            Ok(false) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for name in engine.labelled_networks(cluster)? {
        match engine.remove_network(&name) {
            Ok(true) => removed.push(format!("network {name}")),
            Ok(false) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
        // A network is named after its cluster: what its faults left goes with it.
        match lab::remove_leftovers(&name) {
            Ok(gone) => removed.extend(gone),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if cluster.is_none() {
        match swarm::remove_shard_jobs(engine) {
            Ok(gone) => removed.extend(gone),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if errors.is_empty() {
        Ok(removed)
    } else {
        bail!(
            "removed {removed:?}, but some of kbench's Docker objects remain:\n{}",
            errors.join("\n")
        )
    }
}
