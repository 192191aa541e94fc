//! Scenario files (`scenarios/*.toml`) turned into a validated [`Scenario`]. Every problem is a
//! [`ScenarioError`] naming file, line, column and field, and saying what is allowed.

mod broker;
mod cold;
mod commands;
pub mod evolve;
mod faults;
mod netfaults;
mod payload;
mod raw;
pub mod search;
pub mod security;
pub mod source;
pub mod sweep;
mod validate;

#[cfg(test)]
mod scenario_tests;
#[cfg(test)]
mod sweep_tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use evolve::{Compatibility, Evolution, Switch};
pub use source::ScenarioError;

use crate::avro::generate::Sizes;
use crate::kafka::admin::TopicSpec;
use crate::load::producer::Acks;
use crate::load::schedule::RateProfile;
use crate::names::{BackendKind, BrokerId};

/// A validated scenario: the cluster, topic, schema, load, faults and SLOs of one run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Path of the scenario file, as given.
    pub file: PathBuf,
    /// `run.name`: letters, digits, `-`, `_` and `.`; it names the report directory.
    pub name: String,
    /// `run.description`; empty when not given.
    pub description: String,
    /// Measured part of the run, after the warm-up.
    pub duration: Duration,
    /// Load runs during the warm-up but is left out of the statistics.
    pub warmup: Duration,
    /// `run.seed` (default 1): seeds record generation and the choice of random fault targets.
    pub seed: u64,
    /// How long consumers may take, after the producers stop, to read everything back.
    pub drain_timeout: Duration,
    /// How long a run cut short (signal or error) may drain before writing what it has.
    pub abort_drain: Duration,
    /// `[cluster]`: which backend runs the cluster, and how to start or reach it.
    pub cluster: ClusterSpec,
    /// `[topic]`: name, partitions, replication factor and topic configs.
    pub topic: TopicSpec,
    /// `topic.recreate` (default true): delete an existing topic first so the run starts empty.
    pub recreate_topic: bool,
    /// `[schema]`: the Avro schema, its subject strategy and value sizes.
    pub schema: SchemaSpec,
    /// `[producer]`: how many producers, at what rate, with which delivery settings.
    pub producer: ProducerSpec,
    /// `[consumer]`: how many consumers, their group and client properties.
    pub consumer: ConsumerSpec,
    /// Faults in firing order.
    pub faults: Vec<crate::faults::plan::FaultSpec>,
    /// Objectives from `[slo]`.
    pub slos: Vec<crate::slo::Slo>,
    /// `[search]`: a capacity search over rates instead of one run (`kbench sweep`).
    pub search: Option<search::CapacitySearch>,
    /// `[cluster.broker]`: `server.properties` settings for every node kbench starts.
    pub broker: Vec<(String, String)>,
    /// Size spread, compressibility and keys of the records.
    pub payload: crate::load::payload::PayloadSpec,
    /// `[sweep]`: settings to run the scenario with, one step per combination of values.
    pub sweep: Option<sweep::SweepSpec>,
    /// The file as written, echoed into results.json.
    pub text: String,
}

/// The cluster a scenario runs against, from `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSpec {
    /// Local JVMs that kbench starts (the default backend).
    Process {
        /// How long the cluster may take to become ready (`cluster.ready_timeout`, default 240s).
        ready_timeout: Duration,
    },
    /// The same topology as containers through the Docker Engine API.
    Docker {
        /// How long the cluster may take to become ready (`cluster.ready_timeout`, default 240s).
        ready_timeout: Duration,
        /// Which images the containers run (`cluster.images`, default `auto`).
        images: crate::images::Choice,
    },
    /// A cluster someone else runs; kbench only connects to it.
    External {
        /// Comma-separated `host:port` list of its brokers (`cluster.bootstrap`).
        bootstrap: String,
        /// Base URL of its Confluent-compatible schema registry (`cluster.registry_url`).
        registry_url: String,
        /// How kbench's clients connect (`[cluster.security]`; plaintext when absent).
        security: Box<crate::security::spec::SecuritySpec>,
        /// How node faults reach its brokers.
        faults: ExternalFaults,
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

/// How faults reach the brokers of an external cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalFaults {
    /// Not at all: a scenario with faults is refused.
    None,
    /// Through their containers (`cluster.containers`).
    Containers(Containers),
    /// Through the operator's commands (`[cluster.commands]`).
    Commands(crate::faults::commands::NodeCommands),
}

/// Where an external cluster's brokers run, so faults can reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Containers {
    /// The containers of `compose/docker-compose.yml` (kafka1..kafka3, schema-registry).
    Compose,
    /// Containers named in a table: broker id -> container name, and the registry's container
    /// (`registry = "..."`) where registry faults should reach it.
    Named {
        /// Broker id -> container name.
        brokers: std::collections::BTreeMap<BrokerId, String>,
        /// The registry's container.
        registry: Option<String>,
    },
}

/// How the registry subject of the schema is named (`schema.subject_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectStrategy {
    /// `<topic>-value`
    Topic,
    /// `<record full name>`
    Record,
    /// `<topic>-<record full name>`
    TopicRecord,
}

/// The value schema from `[schema]` and how the records drawn from it are sized.
#[derive(Debug, Clone)]
pub struct SchemaSpec {
    /// Path of the `.avsc` file, resolved against the scenario file's directory.
    pub file: PathBuf,
    /// The schema as the user wrote it.
    pub avsc: String,
    /// How the registry subject is named (default `topic`: `<topic>-value`).
    pub subject_strategy: SubjectStrategy,
    /// Lengths of generated strings, bytes and collections (defaults 16, 16 and 4).
    pub sizes: Sizes,
    /// Target encoded record size in bytes; string and bytes lengths are calibrated to it.
    pub record_size: Option<usize>,
    /// The subject's compatibility mode, set before any evolution (`None`: the registry's).
    pub compatibility: Option<Compatibility>,
    /// New versions registered under load, in time order.
    pub evolve: Vec<Evolution>,
}

/// The producers, from `[producer]`.
#[derive(Debug, Clone)]
pub struct ProducerSpec {
    /// Number of producer clients (1-256, default 1).
    pub count: u32,
    /// Total rate over all producers (records/s).
    pub rate: RateProfile,
    /// `acks` the producers use (default `all`).
    pub acks: Acks,
    /// `enable.idempotence` (default true; needs `acks = "all"`).
    pub idempotence: bool,
    /// librdkafka properties passed through as written.
    pub properties: Vec<(String, String)>,
}

/// The consumers, from `[consumer]`.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Number of consumer clients in the group (1-256, default 1).
    pub count: u32,
    /// Consumer group id (default `kbench-<run name>`).
    pub group: String,
    /// librdkafka consumer properties passed through as written.
    pub properties: Vec<(String, String)>,
    /// `[[consumer.cold]]`: groups that start mid-run, in time order.
    pub cold: Vec<ColdGroup>,
}

/// A consumer group that starts mid-run with nothing: no committed offsets (it reads the topic
/// from the beginning) and no cached schemas (every writer schema comes from the registry).
#[derive(Debug, Clone, PartialEq)]
pub struct ColdGroup {
    /// When it starts, from the start of the load.
    pub at: Duration,
    /// Its group id (default `<consumer.group>-cold-<n>`).
    pub group: String,
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

    /// The same scenario on another cluster kbench starts (`kbench run --backend`, `--images`):
    /// the process or the docker backend, with the scenario's ready timeout. An external
    /// cluster is not kbench's to move, and network faults need the process backend's lab.
    pub fn on_backend(
        mut self,
        kind: BackendKind,
        images: Option<crate::images::Choice>,
    ) -> Result<Scenario, String> {
        let ready_timeout = match &self.cluster {
            ClusterSpec::Process { ready_timeout } | ClusterSpec::Docker { ready_timeout, .. } => {
                *ready_timeout
            }
            ClusterSpec::External { .. } => {
                return Err(
                    "--backend and --images apply to clusters kbench starts; this \
                            scenario names an external cluster ([cluster] backend = \"external\")"
                        .into(),
                )
            }
        };
        self.cluster = match kind {
            BackendKind::Docker => ClusterSpec::Docker {
                ready_timeout,
                images: images.unwrap_or_default(),
            },
            _ if images.is_some() => return Err("--images applies to --backend docker".into()),
            _ => ClusterSpec::Process { ready_timeout },
        };
        // A sweep's combinations were validated from the file, with its [cluster]: they run on
        // the backend asked for too.
        for point in self.sweep.iter_mut().flat_map(|s| s.points.iter_mut()) {
            point.scenario.cluster = self.cluster.clone();
        }
        Ok(self)
    }

    /// The same scenario against a cluster that already runs at `bootstrap` and `registry_url`
    /// (a distributed load's shards join the coordinator's cluster): an external scenario keeps
    /// its security and loses only its addresses; any other runs plaintext and without faults.
    pub fn on_running_cluster(mut self, bootstrap: &str, registry_url: &str) -> Scenario {
        let (bootstrap, registry_url) = (bootstrap.to_string(), registry_url.to_string());
        self.cluster = match self.cluster {
            ClusterSpec::External {
                security, faults, ..
            } => ClusterSpec::External {
                bootstrap,
                registry_url,
                security,
                faults,
            },
            _ => ClusterSpec::External {
                bootstrap,
                registry_url,
                security: Box::default(),
                faults: ExternalFaults::None,
            },
        };
        self
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
