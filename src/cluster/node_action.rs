//! The five things that can be done to one node of a cluster — stop, kill, pause, resume,
//! start — as one type: the `kbench cluster node` argument, the keys of an operator's
//! `[cluster.commands]`, and the steps a fault is carried out in all name it, and this is the
//! one place that says which backend call each means, for a broker and for the registry.

use anyhow::Result;
use strum::{EnumString, IntoStaticStr, VariantArray};

use super::{ClusterBackend, Member, RegistryFault, StopMode};

/// What is done to one node.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[strum(serialize_all = "lowercase")]
pub enum NodeAction {
    /// SIGTERM: controlled shutdown (an operator's `systemctl stop`).
    Stop,
    /// SIGKILL: abrupt death (`kill -9`, `kubectl delete pod --grace-period=0`).
    Kill,
    /// SIGSTOP: frozen with its sockets open (`kill -STOP`).
    Pause,
    /// SIGCONT: unfrozen.
    Resume,
    /// Started again on its data (stopped first if it runs).
    Start,
}

impl NodeAction {
    /// The action's name, as the `[cluster.commands]` key and the CLI write it.
    pub fn key(self) -> &'static str {
        self.into()
    }

    /// The action done, for a line that reports it (`killed`).
    pub fn done(self) -> &'static str {
        match self {
            NodeAction::Stop => "stopped",
            NodeAction::Kill => "killed",
            NodeAction::Pause => "paused",
            NodeAction::Resume => "resumed",
            NodeAction::Start => "started",
        }
    }

    /// Carry the action out on `member` through `backend`.
    pub fn carry_out(self, backend: &mut dyn ClusterBackend, member: Member) -> Result<()> {
        let node = match member {
            Member::Broker(node) => node,
            Member::Registry => return backend.registry_fault(self.on_registry()),
        };
        match self {
            NodeAction::Stop => backend.stop(node, StopMode::Graceful),
            NodeAction::Kill => backend.stop(node, StopMode::Kill),
            NodeAction::Pause => backend.stop(node, StopMode::Pause),
            NodeAction::Resume => backend.resume(node),
            NodeAction::Start => backend.restart(node),
        }
    }

    /// The registry fault the action means.
    fn on_registry(self) -> RegistryFault {
        match self {
            NodeAction::Stop => RegistryFault::Stop(StopMode::Graceful),
            NodeAction::Kill => RegistryFault::Stop(StopMode::Kill),
            NodeAction::Pause => RegistryFault::Stop(StopMode::Pause),
            NodeAction::Resume => RegistryFault::Resume,
            NodeAction::Start => RegistryFault::Restart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn one_name_table_for_commands_and_the_cli() {
        let keys: Vec<&str> = NodeAction::VARIANTS.iter().map(|a| a.key()).collect();
        assert_eq!(keys, ["stop", "kill", "pause", "resume", "start"]);
        for a in NodeAction::VARIANTS {
            assert_eq!(a.key().parse::<NodeAction>().ok(), Some(*a));
            let flag = a.to_possible_value().unwrap();
            assert_eq!(flag.get_name(), a.key());
        }
    }
}
