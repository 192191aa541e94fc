//! Notices the cluster's processes dying outside the fault plan. A broker or the registry that
//! exits on its own (or is killed from outside) makes a run's numbers meaningless past that
//! point, so the run stops and says which process went and when, instead of measuring timeouts.

use std::collections::BTreeSet;
use std::fmt;

use super::{ClusterBackend, NodeId, ProcessState};

/// One process of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// A Kafka node.
    Broker(NodeId),
    /// The schema registry.
    Registry,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::Broker(id) => write!(f, "broker {id}"),
            Member::Registry => f.write_str("the registry"),
        }
    }
}

/// Which nodes the fault plan has taken down (and not yet brought back); every other process
/// is expected to be alive.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    planned_down: BTreeSet<Member>,
}

impl Watch {
    /// A watch that expects `planned_down` to be down and everything else up.
    pub fn new(planned_down: impl IntoIterator<Item = Member>) -> Watch {
        Watch {
            planned_down: planned_down.into_iter().collect(),
        }
    }

    /// The processes that are down although the plan did not take them down, in words;
    /// `None` when all is as planned or the backend cannot see its processes.
    pub fn outside_plan(&self, backend: &dyn ClusterBackend) -> Option<String> {
        let gone: Vec<String> = backend
            .processes()?
            .into_iter()
            .filter(|(m, s)| *s == ProcessState::Down && !self.expected_down(*m))
            .map(|(m, _)| m.to_string())
            .collect();
        (!gone.is_empty()).then(|| {
            format!(
                "{} exited outside the fault plan (crashed, or stopped from outside kbench)",
                gone.join(", ")
            )
        })
    }

    fn expected_down(&self, m: Member) -> bool {
        self.planned_down.contains(&m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unplanned_exits_count() {
        let w = Watch::new([Member::Broker(2)]);
        assert!(w.expected_down(Member::Broker(2)));
        assert!(!w.expected_down(Member::Broker(1)));
        assert!(!w.expected_down(Member::Registry));
        assert!(Watch::new([Member::Registry]).expected_down(Member::Registry));
        assert!(!Watch::default().expected_down(Member::Broker(2)));
    }
}
