//! The scenario file exactly as written: serde structures that refuse unknown keys, so a typo
//! is an error with its position rather than a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub run: RawRun,
    #[serde(default)]
    pub cluster: RawCluster,
    pub topic: RawTopic,
    pub schema: RawSchema,
    pub producer: RawProducer,
    #[serde(default)]
    pub consumer: RawConsumer,
    #[serde(default, rename = "fault")]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub slo: Option<BTreeMap<String, toml::Value>>,
    pub search: Option<RawSearch>,
    pub sweep: Option<RawSweep>,
}

/// `[sweep]`: values of settings to run the scenario with, one step per combination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    #[serde(rename = "parameter")]
    pub parameters: Vec<RawParameter>,
    pub budget: Option<String>,
}

/// `[[sweep.parameter]]`: one of the section fields names the setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParameter {
    pub producer: Option<String>,
    pub consumer: Option<String>,
    pub topic: Option<String>,
    pub schema: Option<String>,
    pub broker: Option<String>,
    pub values: Vec<toml::Value>,
}

impl RawParameter {
    /// (section, setting) for each section field given.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        [
            ("producer", &self.producer),
            ("consumer", &self.consumer),
            ("topic", &self.topic),
            ("schema", &self.schema),
            ("broker", &self.broker),
        ]
        .into_iter()
        .filter_map(|(s, v)| v.as_deref().map(|v| (s, v)))
        .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    pub start: f64,
    pub max: f64,
    pub factor: Option<f64>,
    pub precision: Option<f64>,
    pub max_steps: Option<i64>,
    pub budget: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub name: String,
    pub description: Option<String>,
    pub duration: String,
    pub warmup: Option<String>,
    pub seed: Option<u64>,
    pub drain_timeout: Option<String>,
    pub abort_drain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub backend: Option<String>,
    pub bootstrap: Option<String>,
    pub registry_url: Option<String>,
    /// External clusters in containers: `"compose"` (kafka1..3) or `{ 1 = "name", ... }`.
    pub containers: Option<toml::Value>,
    pub ready_timeout: Option<String>,
    /// Docker backend: `auto`, `upstream` or `local` images.
    pub images: Option<String>,
    pub security: Option<RawSecurity>,
    /// Faults on an external cluster through the operator's commands.
    pub commands: Option<RawCommands>,
    /// Per-node values for the command templates: `[cluster.nodes.1] host = "..."`.
    #[serde(default)]
    pub nodes: BTreeMap<String, BTreeMap<String, String>>,
    /// `server.properties` settings for every node kbench starts.
    #[serde(default)]
    pub broker: BTreeMap<String, toml::Value>,
}

/// `[cluster.security]` (also the `[security]` table of a `--security` file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    pub protocol: Option<String>,
    pub sasl_mechanism: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub key_password: Option<String>,
    pub verify_hostname: Option<bool>,
    pub registry: Option<RawRegistryAuth>,
}

/// `[cluster.security.registry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistryAuth {
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<String>,
}

/// `[cluster.commands]`: one shell command template per node action.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommands {
    pub stop: Option<String>,
    pub kill: Option<String>,
    pub pause: Option<String>,
    pub resume: Option<String>,
    pub start: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: String,
    pub partitions: Option<i64>,
    pub replication_factor: Option<i64>,
    pub min_insync_replicas: Option<i64>,
    pub recreate: Option<bool>,
    #[serde(default)]
    pub configs: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchema {
    pub file: String,
    pub subject_strategy: Option<String>,
    pub string_length: Option<usize>,
    pub bytes_length: Option<usize>,
    pub collection_length: Option<usize>,
    /// One size, `{ min, max }` or `{ sizes, weights }`.
    pub record_size: Option<toml::Value>,
    pub repeat: Option<f64>,
    pub compatibility: Option<String>,
    #[serde(default)]
    pub evolve: Vec<RawEvolve>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvolve {
    pub at: String,
    pub file: String,
    pub switch: Option<String>,
    pub spacing: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: String,
    pub rate: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRamp {
    pub from: f64,
    pub to: f64,
    pub over: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub count: Option<i64>,
    pub rate: Option<f64>,
    pub steps: Option<Vec<RawStep>>,
    pub ramp: Option<RawRamp>,
    pub acks: Option<toml::Value>,
    pub idempotence: Option<bool>,
    /// `"none"`, `{ count }` or `{ count, distribution = "zipf", exponent }`.
    pub keys: Option<toml::Value>,
    #[serde(default)]
    pub properties: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub count: Option<i64>,
    pub group: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub cold: Vec<RawColdGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColdGroup {
    pub at: String,
    pub group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: String,
    pub action: String,
    pub target: String,
    pub recover_after: Option<String>,
    pub scope: Option<String>,
    pub direction: Option<String>,
    pub percent: Option<f64>,
    pub rate: Option<String>,
    pub delay: Option<String>,
    pub jitter: Option<String>,
    pub cpu: Option<f64>,
}

/// A scalar TOML value as the string librdkafka expects (`5`, `true`, `lz4`).
pub fn property_string(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}
