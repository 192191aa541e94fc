//! A scenario's fault plan: what to do (`Action`), to whom (`Target`, resolved only when the
//! fault fires, because leaders move), and when (`FaultSpec::at`, an offset from load start).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantNames};

use crate::cluster::NodeAction;
use crate::names::BrokerId;

/// What a fault does to its target node; its name as a scenario writes it (`rolling-restart`)
/// comes from the variant, for parsing, naming and serialising alike.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Action {
    /// SIGTERM: controlled shutdown.
    Stop,
    /// SIGKILL.
    Kill,
    /// SIGSTOP.
    Pause,
    /// SIGCONT a paused node.
    Resume,
    /// Start a node that is down.
    Start,
    /// Graceful stop, then start again.
    Restart,
    /// Restart every node in turn, waiting for each to rejoin before the next.
    RollingRestart,
    /// Cut the node's traffic in a scope (network fault).
    Partition,
    /// Drop a percentage of the node's packets in a scope.
    Loss,
    /// Cap the node's link rate.
    Bandwidth,
    /// Hold the node's packets in a scope for a while.
    Delay,
    /// Limit the node's JVM to a fraction of a CPU.
    Starve,
    /// Undo every network or gray fault in force on the node.
    Heal,
}

impl Action {
    /// The action a scenario names (`stop`, `kill`, ...); `None` if there is no such action.
    pub fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }

    /// Whether the action is a network or gray fault (injected on the lab network).
    pub fn is_network(self) -> bool {
        matches!(
            self,
            Action::Partition | Action::Loss | Action::Bandwidth | Action::Delay | Action::Starve
        )
    }

    /// Whether the action is carried out on the lab network: a network or gray fault, or
    /// `heal`.
    pub fn on_lab(self) -> bool {
        self.is_network() || self == Action::Heal
    }

    /// Whether the action leaves the node unavailable until something brings it back.
    pub fn takes_down(self) -> bool {
        matches!(self, Action::Stop | Action::Kill | Action::Pause)
    }

    /// The node actions this one is carried out in, in order (none for network faults, which
    /// are carried out on the lab network).
    pub fn node_steps(self) -> &'static [NodeAction] {
        match self {
            Action::Stop => &[NodeAction::Stop],
            Action::Kill => &[NodeAction::Kill],
            Action::Pause => &[NodeAction::Pause],
            Action::Resume => &[NodeAction::Resume],
            Action::Start => &[NodeAction::Start],
            Action::Restart | Action::RollingRestart => &[NodeAction::Stop, NodeAction::Start],
            _ => &[],
        }
    }

    /// The action `recover_after` fires for this one.
    pub fn recovery(self) -> Option<Action> {
        match self {
            Action::Stop | Action::Kill => Some(Action::Start),
            Action::Pause => Some(Action::Resume),
            a if a.is_network() => Some(Action::Heal),
            _ => None,
        }
    }

    /// The action as a scenario writes it, e.g. `rolling-restart`.
    pub fn verb(self) -> &'static str {
        self.into()
    }
}

/// Which node a fault hits: by id, or by role, resolved when the fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The node with this id.
    Broker(BrokerId),
    /// The broker leading this partition of the run's topic when the fault fires.
    Leader(i32),
    /// A replica of this partition that is not its leader when the fault fires.
    Follower(i32),
    /// The active KRaft quorum leader.
    Controller,
    /// A node picked with the run's seed among those up.
    Random,
    /// Every node (rolling restart).
    All,
    /// The schema registry.
    Registry,
}

impl Target {
    /// Every target form a scenario may write, for error messages.
    pub const FORMS: &'static str =
        "broker:N, leader:P, follower:P, controller, random, all, registry";

    /// A target as a scenario writes it (`broker:2`, `leader:0`, `all`, ...); `None` if
    /// malformed.
    pub fn parse(s: &str) -> Option<Target> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        Some(match (kind, arg) {
            ("broker", Some(n)) => Target::Broker(n.parse().ok()?),
            ("leader", Some(p)) => Target::Leader(p.parse().ok()?),
            ("follower", Some(p)) => Target::Follower(p.parse().ok()?),
            ("controller", None) => Target::Controller,
            ("random", None) => Target::Random,
            ("all", None) => Target::All,
            ("registry", None) => Target::Registry,
            _ => return None,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Broker(n) => write!(f, "broker:{n}"),
            Target::Leader(p) => write!(f, "leader:{p}"),
            Target::Follower(p) => write!(f, "follower:{p}"),
            Target::Controller => f.write_str("controller"),
            Target::Random => f.write_str("random"),
            Target::All => f.write_str("all"),
            Target::Registry => f.write_str("registry"),
        }
    }
}

/// One fault of the plan, as the scenario gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultSpec {
    /// Position in the scenario's fault list, from 0.
    pub index: usize,
    /// Offset from load start.
    pub at: Duration,
    /// What to do to the node.
    pub action: Action,
    /// Which node, resolved when the fault fires.
    pub target: Target,
    /// Bring the node back (start / resume / heal) this long after the fault.
    pub recover_after: Option<Duration>,
    /// What a network or gray fault does (`None` for process faults).
    pub net: Option<crate::netfault::NetFault>,
}

impl FaultSpec {
    /// Human label once the target is resolved, e.g. "kill broker 2 (leader p0)".
    pub fn label(&self, node: Option<BrokerId>) -> String {
        let who = match (self.target, node) {
            (Target::All, _) => "all brokers".to_string(),
            (Target::Registry, _) => "the registry".to_string(),
            (Target::Broker(n), _) => format!("broker {n}"),
            (t, Some(n)) => {
                let why = match t {
                    Target::Leader(p) => format!("leader p{p}"),
                    Target::Follower(p) => format!("follower p{p}"),
                    Target::Controller => "controller".into(),
                    _ => "random".into(),
                };
                format!("broker {n} ({why})")
            }
            (t, None) => t.to_string(),
        };
        match &self.net {
            Some(n) => format!("{} {who}: {}", self.action.verb(), n.describe()),
            None => format!("{} {who}", self.action.verb()),
        }
    }

    /// When the node is expected back, relative to load start.
    pub fn recovers_at(&self) -> Option<Duration> {
        self.recover_after.map(|r| self.at + r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets_and_actions() {
        assert_eq!(Target::parse("broker:2"), Some(Target::Broker(2)));
        assert_eq!(Target::parse("leader:0"), Some(Target::Leader(0)));
        assert_eq!(Target::parse("follower:3"), Some(Target::Follower(3)));
        assert_eq!(Target::parse("controller"), Some(Target::Controller));
        assert_eq!(Target::parse("registry"), Some(Target::Registry));
        assert_eq!(Target::parse("registry:1"), None);
        assert_eq!(Target::parse("leader"), None);
        assert_eq!(Target::parse("broker:x"), None);
        assert_eq!(
            Action::parse("rolling-restart"),
            Some(Action::RollingRestart)
        );
        assert_eq!(Action::parse("explode"), None);
        assert_eq!(Action::RollingRestart.verb(), "rolling-restart");
        assert_eq!(
            serde_json::to_string(&Action::RollingRestart).unwrap(),
            "\"rolling-restart\""
        );
        assert!(Action::VARIANTS
            .join(", ")
            .starts_with("stop, kill, pause, resume, start, restart"));
        assert_eq!(Action::Kill.recovery(), Some(Action::Start));
        assert_eq!(Action::Pause.recovery(), Some(Action::Resume));
    }

    #[test]
    fn labels_name_the_resolved_node() {
        let f = FaultSpec {
            index: 0,
            at: Duration::from_secs(10),
            action: Action::Kill,
            target: Target::Leader(0),
            recover_after: Some(Duration::from_secs(5)),
            net: None,
        };
        assert_eq!(f.label(Some(2)), "kill broker 2 (leader p0)");
        assert_eq!(f.recovers_at(), Some(Duration::from_secs(15)));
    }
}
