//! The few names and ids every layer shares, defined once below all of them: broker ids, the
//! brokers a kbench cluster has, and the kinds of cluster backend. Scenario validation, the
//! backends and the report all speak of these without depending on each other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Kafka broker (node) id, as in `node.id` and in cluster metadata; one type end to end.
pub type BrokerId = u32;

/// The brokers of every cluster kbench starts itself (the topology is built from these), so a
/// scenario's `broker:N` can be checked without knowing how a backend runs them.
pub const BROKER_IDS: [BrokerId; 3] = [1, 2, 3];

/// Which kind of cluster a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Local JVMs kbench starts.
    Process,
    /// Containers kbench creates through the Docker Engine API.
    Docker,
    /// A cluster someone else runs.
    External,
}

impl BackendKind {
    /// Every kind, with the name scenarios, state files and results use.
    pub const ALL: [(BackendKind, &'static str); 3] = [
        (BackendKind::Process, "process"),
        (BackendKind::Docker, "docker"),
        (BackendKind::External, "external"),
    ];

    /// The kind's name, e.g. `process`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("process", |(_, n)| n)
    }

    /// The kind a name stands for.
    pub fn parse(name: &str) -> Option<BackendKind> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// `"process", "docker", "external"`, for error messages.
    pub fn allowed() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|(_, n)| format!("\"{n}\"")).collect();
        names.join(", ")
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip_and_match_serde() {
        for (kind, name) in BackendKind::ALL {
            assert_eq!(BackendKind::parse(name), Some(kind));
            assert_eq!(kind.name(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(BackendKind::parse("kubernetes"), None);
    }
}
