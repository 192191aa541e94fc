//! The engines that run a distributed load's shards, each behind the run's `ShardEngine`
//! seam: local processes, Docker Swarm jobs. kbench runs no agents of its own.

pub mod k8s;
mod local;
mod swarm;

pub use local::Local;
pub use swarm::Swarm;

use crate::run::remote::ShardEngine;

/// Which engine runs the shards (`kbench distribute --engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum EngineKind {
    /// `kbench run --shard` processes on this machine.
    Local,
    /// One-shot Docker Swarm jobs from kbench's image (`kbench images build`), on the engine
    /// DOCKER_HOST names, which must be a swarm manager.
    Swarm,
    /// A Kubernetes Indexed Job, applied and followed with `kubectl`; the shards reach the
    /// scenario's external cluster.
    K8s,
}

impl EngineKind {
    /// The engine, ready to launch; a shard may run for `limit` before it is stopped.
    pub fn engine(self, o: &EngineOptions) -> anyhow::Result<Box<dyn ShardEngine>> {
        Ok(match self {
            EngineKind::Local => Box::new(Local::default()),
            EngineKind::Swarm => Box::new(Swarm::connect(o.limit)?),
            EngineKind::K8s => Box::new(k8s::K8s::new(o.image.clone(), o.files.clone(), o.limit)?),
        })
    }
}

/// What an engine is built with.
pub struct EngineOptions {
    /// Longest a shard may run before it is stopped.
    pub limit: std::time::Duration,
    /// kbench's image as the engine's nodes pull it (Kubernetes).
    pub image: String,
    /// The scenario's files, for engines that ship them to the shards (Kubernetes).
    pub files: Vec<(std::path::PathBuf, String)>,
}
