//! The engines that run a distributed load's shards, each behind the run's `ShardEngine`
//! seam: local processes, Docker Swarm jobs. kbench runs no agents of its own.

mod local;

pub use local::Local;

use crate::run::remote::ShardEngine;

/// Which engine runs the shards (`kbench distribute --engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum EngineKind {
    /// `kbench run --shard` processes on this machine.
    Local,
}

impl EngineKind {
    /// The engine, ready to launch.
    pub fn engine(self) -> Box<dyn ShardEngine> {
        match self {
            EngineKind::Local => Box::new(Local::default()),
        }
    }
}
