//! What kbench saw when it carried out a fault, as values: a member's state right after it was
//! taken down, a rolling restart's node back in every ISR, an operator's command and its
//! outcome, what the cluster metadata said of the node, and what a network or gray fault put in
//! place. `Display` says each as the report does; results.json keeps the values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::cluster::ProcessState;
use crate::names::BrokerId;
use crate::netfault::NetEvidence;

/// One thing kbench checked or saw for a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A member right after the action: its process where kbench can see it, and whether it
    /// still answers (a broker's client port, the registry's API).
    Down {
        /// The broker; `None` for the registry.
        node: Option<BrokerId>,
        /// Its process, where the backend can see it.
        process: Option<ProcessState>,
        /// Whether it still answers; `None` when it could not be asked.
        answers: Option<bool>,
    },
    /// A rolling restart's node back in the cluster metadata and every ISR.
    Rejoined {
        /// The broker.
        node: BrokerId,
        /// Seconds from its restart.
        after_s: f64,
    },
    /// An operator's command that carried out a step.
    Command {
        /// The step (`stop`, `kill`, ...).
        step: String,
        /// The broker; `None` for the registry.
        node: Option<BrokerId>,
        /// The command line, its exit and its output's tail.
        outcome: String,
    },
    /// The node dropped out of the cluster metadata (unregistered or fenced).
    Unregistered {
        /// The broker.
        node: BrokerId,
        /// Seconds after the action.
        after_s: f64,
        /// The action, e.g. `kill`.
        action: crate::faults::plan::Action,
    },
    /// The node stayed in the cluster metadata until it was brought back.
    StayedRegistered {
        /// The broker.
        node: BrokerId,
    },
    /// What a network or gray fault put in place, or found when undone.
    Network {
        /// What.
        net: NetEvidence,
    },
    /// Evidence as results.json files written before it was typed hold it.
    Text {
        /// As written.
        text: String,
    },
}

fn member(node: Option<BrokerId>) -> String {
    node.map_or("the registry".to_string(), |n| format!("broker {n}"))
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Down {
                node,
                process,
                answers,
            } => {
                write!(f, "{}: ", member(*node))?;
                if let Some(p) = process {
                    write!(f, "process {}, ", p.label())?;
                }
                let what = if node.is_some() { "client port" } else { "API" };
                match (node.is_some(), answers) {
                    (true, Some(true)) => write!(f, "{what} still open"),
                    (true, Some(false)) => write!(f, "{what} closed"),
                    (false, Some(true)) => write!(f, "{what} still answers"),
                    (false, Some(false)) => write!(f, "{what} does not answer"),
                    (_, None) => write!(f, "{what} unknown"),
                }
            }
            Evidence::Rejoined { node, after_s } => write!(
                f,
                "broker {node} restarted and back in every ISR after {after_s:.1}s"
            ),
            Evidence::Command {
                step,
                node,
                outcome,
            } => write!(f, "{step} {}: {outcome}", member(*node)),
            Evidence::Unregistered {
                node,
                after_s,
                action,
            } => write!(
                f,
                "cluster metadata: broker {node} unregistered {after_s:.1}s after the {action}"
            ),
            Evidence::StayedRegistered { node } => write!(
                f,
                "cluster metadata: broker {node} stayed registered until it was brought back"
            ),
            Evidence::Network { net } => net.fmt(f),
            Evidence::Text { text } => f.write_str(text),
        }
    }
}

impl From<NetEvidence> for Evidence {
    fn from(net: NetEvidence) -> Evidence {
        Evidence::Network { net }
    }
}

/// A fault's evidence as results.json holds it: typed values, or the plain strings of files
/// written before (read as [`Evidence::Text`]).
pub fn read_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Evidence>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Typed(Evidence),
        Text(String),
    }
    let items = Vec::<Either>::deserialize(d)?;
    Ok(items
        .into_iter()
        .map(|e| match e {
            Either::Typed(e) => e,
            Either::Text(text) => Evidence::Text { text },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_as_the_report_said_it_and_old_files_still_load() {
        let down = Evidence::Down {
            node: Some(2),
            process: Some(ProcessState::Down),
            answers: Some(false),
        };
        assert_eq!(
            down.to_string(),
            "broker 2: process down, client port closed"
        );
        let registry = Evidence::Down {
            node: None,
            process: None,
            answers: Some(true),
        };
        assert_eq!(registry.to_string(), "the registry: API still answers");
        #[derive(Deserialize)]
        struct Report {
            #[serde(deserialize_with = "read_list")]
            evidence: Vec<Evidence>,
        }
        let json = serde_json::json!({ "evidence": [down.clone(), "broker 1: process down"] });
        let r: Report = serde_json::from_value(json).unwrap();
        assert_eq!(r.evidence[0], down);
        assert_eq!(r.evidence[1].to_string(), "broker 1: process down");
    }
}
