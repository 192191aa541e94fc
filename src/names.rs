//! The few names and ids every layer shares, defined once below all of them: broker ids, the
//! brokers a kbench cluster has, and the kinds of cluster backend. Scenario validation, the
//! backends and the report all speak of these without depending on each other.

use serde::{Deserialize, Serialize};

/// A Kafka broker (node) id, as in `node.id` and in cluster metadata; one type end to end.
pub type BrokerId = u32;

/// The brokers of every cluster kbench starts itself (the topology is built from these), so a
/// scenario's `broker:N` can be checked without knowing how a backend runs them.
pub const BROKER_IDS: [BrokerId; 3] = [1, 2, 3];

/// Which kind of cluster a run uses. Its name (`process`) is the variant's, in scenarios,
/// state files, results and the `--backend` flag alike; `external` is no flag value, since an
/// external cluster needs the scenario's `[cluster]` settings.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum BackendKind {
    /// Local JVM processes kbench starts (needs Java and Maven).
    Process,
    /// Containers kbench creates through the Docker Engine API.
    Docker,
    /// A cluster someone else runs.
    #[value(skip)]
    External,
}

impl BackendKind {
    /// The kind's name, e.g. `process`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The kind a name stands for.
    pub fn parse(name: &str) -> Option<BackendKind> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_are_one_table_for_scenarios_serde_and_the_flag() {
        use clap::ValueEnum;
        for (kind, name) in [
            (BackendKind::Process, "process"),
            (BackendKind::Docker, "docker"),
            (BackendKind::External, "external"),
        ] {
            assert_eq!(BackendKind::parse(name), Some(kind));
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(BackendKind::parse("kubernetes"), None);
        let flags: Vec<&str> = (BackendKind::value_variants().iter())
            .filter_map(|k| k.to_possible_value())
            .map(|v| v.get_name().to_owned().leak() as &str)
            .collect();
        assert_eq!(flags, ["process", "docker"]);
    }
}
