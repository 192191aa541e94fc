//! Scenario files (`scenarios/*.toml`) turned into a validated [`Scenario`]. Every problem is a
//! [`ScenarioError`] naming file, line, column and field, and saying what is allowed.

mod faults;
mod raw;
pub mod source;
mod validate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use source::ScenarioError;

use crate::avro::generate::Sizes;
use crate::kafka::admin::TopicSpec;
use crate::load::producer::Acks;
use crate::load::schedule::RateProfile;
use crate::names::{BackendKind, BrokerId};

#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: PathBuf,
    pub name: String,
    pub description: String,
    /// Measured part of the run, after the warm-up.
    pub duration: Duration,
    /// Load runs during the warm-up but is left out of the statistics.
    pub warmup: Duration,
    pub seed: u64,
    /// How long consumers may take, after the producers stop, to read everything back.
    pub drain_timeout: Duration,
    pub cluster: ClusterSpec,
    pub topic: TopicSpec,
    pub recreate_topic: bool,
    pub schema: SchemaSpec,
    pub producer: ProducerSpec,
    pub consumer: ConsumerSpec,
    /// Faults in firing order.
    pub faults: Vec<crate::faults::plan::FaultSpec>,
    /// Objectives from `[slo]`.
    pub slos: Vec<crate::slo::Slo>,
    /// The file as written, echoed into results.json.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSpec {
    Process {
        ready_timeout: Duration,
    },
    /// The same topology as containers through the Docker Engine API.
    Docker {
        ready_timeout: Duration,
    },
    External {
        bootstrap: String,
        registry_url: String,
        /// The brokers' containers, for faults through the Docker Engine API.
        containers: Option<Containers>,
    },
}

impl ClusterSpec {
    /// Which backend runs the cluster.
    pub fn kind(&self) -> BackendKind {
        match self {
            ClusterSpec::Process { .. } => BackendKind::Process,
            ClusterSpec::Docker { .. } => BackendKind::Docker,
            ClusterSpec::External { .. } => BackendKind::External,
        }
    }
}

/// Where an external cluster's brokers run, so faults can reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Containers {
    /// The containers of `compose/docker-compose.yml` (kafka1..kafka3).
    Compose,
    /// Broker id -> container name.
    Named(std::collections::BTreeMap<BrokerId, String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectStrategy {
    /// `<topic>-value`
    Topic,
    /// `<record full name>`
    Record,
    /// `<topic>-<record full name>`
    TopicRecord,
}

#[derive(Debug, Clone)]
pub struct SchemaSpec {
    pub file: PathBuf,
    /// The schema as the user wrote it.
    pub avsc: String,
    pub subject_strategy: SubjectStrategy,
    pub sizes: Sizes,
    /// Target encoded record size in bytes; string and bytes lengths are calibrated to it.
    pub record_size: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct ProducerSpec {
    pub count: u32,
    /// Total rate over all producers (records/s).
    pub rate: RateProfile,
    pub acks: Acks,
    pub idempotence: bool,
    /// librdkafka properties passed through as written.
    pub properties: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub count: u32,
    pub group: String,
    pub properties: Vec<(String, String)>,
}

impl Scenario {
    /// Read, parse and validate a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            field: String::new(),
            message: format!("cannot read the scenario file: {e}"),
        })?;
        Self::parse(path, text)
    }

    /// Parse and validate scenario `text` as if read from `path` (relative files such as the
    /// schema are resolved against its directory).
    pub fn parse(path: &Path, text: String) -> Result<Scenario, ScenarioError> {
        validate::validate(source::Source::new(path, text))
    }

    /// Subject the schema is registered under.
    pub fn subject(&self, record_full_name: &str) -> String {
        match self.schema.subject_strategy {
            SubjectStrategy::Topic => format!("{}-value", self.topic.name),
            SubjectStrategy::Record => record_full_name.to_string(),
            SubjectStrategy::TopicRecord => format!("{}-{record_full_name}", self.topic.name),
        }
    }

    /// Total planned length: warm-up plus measured duration.
    pub fn total_duration(&self) -> Duration {
        self.warmup + self.duration
    }
}
