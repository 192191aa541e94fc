//! The few names and ids every layer shares, defined once below all of them: broker ids, the
//! brokers a kbench cluster has, the kinds of cluster backend and the phases of a run.
//! Scenario validation, the backends, the metrics and the report all speak of these without
//! depending on each other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// A stretch of a run that counts and latencies are reported for. results.json writes it as
/// `warmup`, `measured`, `all` (the whole of a `kbench produce` run) or `fault 2 during`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The warm-up: load offered, not judged.
    Warmup,
    /// The measured window the objectives are judged on.
    Measured,
    /// Everything, for a run without phases of its own.
    All,
    /// A window around the fault numbered `number` (the scenario's `[[fault]]` position + 1).
    Fault {
        /// 1, 2, ...
        number: usize,
        /// Which window.
        stage: FaultStage,
    },
}

/// Which window around a fault.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "lowercase")]
pub enum FaultStage {
    /// Up to the fault's firing.
    Before,
    /// From its firing to its recovery.
    During,
    /// From its recovery on.
    After,
}

impl Phase {
    /// The `stage` window of the fault at position `index` of the plan (from 0).
    pub fn of_fault(index: usize, stage: FaultStage) -> Phase {
        Phase::Fault {
            number: index + 1,
            stage,
        }
    }

    /// The fault's position in the plan (from 0) and the window, for a fault's phase.
    pub fn fault_window(self) -> Option<(usize, FaultStage)> {
        match self {
            Phase::Fault { number, stage } => Some((number.checked_sub(1)?, stage)),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    /// Padded as asked (`{:<10}`), as the summary's columns need.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Warmup => f.pad("warmup"),
            Phase::Measured => f.pad("measured"),
            Phase::All => f.pad("all"),
            Phase::Fault { number, stage } => f.pad(&format!("fault {number} {stage}")),
        }
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Phase, String> {
        let unknown = || {
            format!("unknown phase \"{s}\"; expected warmup, measured, all or fault N before|during|after")
        };
        match s {
            "warmup" => Ok(Phase::Warmup),
            "measured" => Ok(Phase::Measured),
            "all" => Ok(Phase::All),
            _ => {
                let (n, stage) = (s.strip_prefix("fault "))
                    .and_then(|rest| rest.split_once(' '))
                    .ok_or_else(unknown)?;
                Ok(Phase::Fault {
                    number: n.parse().map_err(|_| unknown())?,
                    stage: stage.parse().map_err(|_| unknown())?,
                })
            }
        }
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Phase, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
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
        assert_eq!(format!("{:<8}|", BackendKind::Docker), "docker  |");
        let flags: Vec<&str> = (BackendKind::value_variants().iter())
            .filter_map(|k| k.to_possible_value())
            .map(|v| v.get_name().to_owned().leak() as &str)
            .collect();
        assert_eq!(flags, ["process", "docker"]);
    }

    #[test]
    fn phases_read_back_as_results_json_writes_them() {
        for (phase, text) in [
            (Phase::Warmup, "warmup"),
            (Phase::Measured, "measured"),
            (Phase::All, "all"),
            (Phase::of_fault(1, FaultStage::During), "fault 2 during"),
        ] {
            assert_eq!(phase.to_string(), text);
            assert_eq!(
                format!("{phase:<16}|"),
                format!("{text:<16}|"),
                "padded as a str is"
            );
            assert_eq!(text.parse::<Phase>(), Ok(phase));
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), phase);
        }
        assert_eq!(
            Phase::of_fault(1, FaultStage::After).fault_window(),
            Some((1, FaultStage::After))
        );
        for bad in ["fault x during", "fault 2 later", "fault 2", "warm-up"] {
            assert!(bad.parse::<Phase>().is_err(), "{bad}");
        }
    }
}
