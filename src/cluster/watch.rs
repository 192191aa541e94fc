//! Notices the cluster's processes dying outside the fault plan. A broker or the registry that
//! exits on its own (or is killed from outside) makes a run's numbers meaningless past that
//! point, so the run stops and says which process went and when, instead of measuring timeouts.

use std::collections::BTreeSet;
use std::fmt;

use super::{ClusterBackend, ProcessState};
use crate::names::BrokerId;

/// How much of a vanished process's log its message carries.
const LOG_LINES: usize = 15;

/// One process of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// A Kafka node.
    Broker(BrokerId),
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

    /// The processes that are down although the plan did not take them down; `None` when all
    /// is as planned or the backend cannot see its processes.
    pub fn outside_plan(&self, backend: &dyn ClusterBackend) -> Option<Vanished> {
        let gone: Vec<Member> = backend
            .processes()?
            .into_iter()
            .filter(|(m, s)| *s == ProcessState::Down && !self.expected_down(*m))
            .map(|(m, _)| m)
            .collect();
        let log = backend.member_log_tail(*gone.first()?, LOG_LINES);
        Some(Vanished { gone, log })
    }

    fn expected_down(&self, m: Member) -> bool {
        self.planned_down.contains(&m)
    }
}

/// The end of one process's log, and where it was read: a file, or the engine's logs of a
/// container.
#[derive(Debug, Clone)]
pub struct LogTail {
    /// Where the lines came from, as a user would look there again.
    pub source: String,
    /// The lines.
    pub tail: String,
}

/// Processes gone outside the fault plan, with the end of the first one's log: why it went is
/// usually there, and after a run nobody may look at the cluster's directory again.
#[derive(Debug, Clone)]
pub struct Vanished {
    gone: Vec<Member>,
    log: Option<LogTail>,
}

impl Vanished {
    /// Which processes went, in one line.
    pub fn headline(&self) -> String {
        let names: Vec<String> = self.gone.iter().map(Member::to_string).collect();
        format!(
            "{} exited outside the fault plan (crashed, or stopped from outside kbench)",
            names.join(", ")
        )
    }

    /// The end of the first vanished process's log, with its path; empty when there is none.
    pub fn log_tail(&self) -> String {
        self.log.as_ref().map_or(String::new(), |l| {
            format!("last lines of {}:\n{}", l.source, l.tail)
        })
    }
}

impl fmt::Display for Vanished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        match self.log {
            Some(_) => write!(f, "; {}", self.log_tail()),
            None => Ok(()),
        }
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

    #[test]
    fn a_vanished_process_is_named_with_its_log_tail() {
        let v = Vanished {
            gone: vec![Member::Registry, Member::Broker(3)],
            log: Some(LogTail {
                source: "/x/registry.log".into(),
                tail: "a\nb".into(),
            }),
        };
        assert_eq!(
            v.to_string(),
            "the registry, broker 3 exited outside the fault plan (crashed, or stopped from \
             outside kbench); last lines of /x/registry.log:\na\nb"
        );
        let bare = Vanished {
            gone: vec![Member::Broker(1)],
            log: None,
        };
        assert_eq!(bare.log_tail(), "");
        assert!(bare.to_string().starts_with("broker 1 exited"));
    }
}
