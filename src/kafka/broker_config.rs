//! `[cluster.broker]` settings as the brokers report them. A `server.properties` key Kafka
//! does not know is only a warning in its log, so a misspelt setting would silently measure
//! the default; asking every broker (DescribeConfigs) what it runs with turns that into an
//! error, and records the evidence in the results.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use serde::{Deserialize, Serialize};

use super::admin::{admin, block_on};
use super::Brokers;

/// One `[cluster.broker]` setting and what each broker said it runs with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerSetting {
    /// `server.properties` key.
    pub key: String,
    /// The value the scenario asked for.
    pub value: String,
    /// Broker id -> the value it reports.
    pub reported: BTreeMap<i32, String>,
}

/// Ask brokers `ids` for the settings `asked`; fail when one does not know a key or runs
/// with another value.
pub fn verify(
    brokers: &Brokers,
    ids: &[i32],
    asked: &[(String, String)],
) -> Result<Vec<BrokerSetting>> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let reported = describe(brokers, ids)?;
    asked
        .iter()
        .map(|(key, value)| {
            let mut per_broker = BTreeMap::new();
            for (id, entries) in &reported {
                match entries.get(key) {
                    Some(Some(v)) if v.trim() == value.trim() => {
                        per_broker.insert(*id, v.clone());
                    }
                    Some(Some(v)) => bail!(
                        "broker {id} runs with {key} = {v}, not {value} as [cluster.broker] \
                         asks: Kafka refused or rewrote the value (see the node's log)"
                    ),
                    Some(None) => {
                        per_broker.insert(*id, "(hidden by the broker)".into());
                    }
                    None => bail!(
                        "broker {id} does not know the setting `{key}` from [cluster.broker] \
                         (DescribeConfigs does not list it): check its spelling against \
                         Kafka's broker configuration reference"
                    ),
                }
            }
            Ok(BrokerSetting {
                key: key.clone(),
                value: value.clone(),
                reported: per_broker,
            })
        })
        .collect()
}

type Entries = BTreeMap<String, Option<String>>;

fn describe(brokers: &Brokers, ids: &[i32]) -> Result<BTreeMap<i32, Entries>> {
    let client = admin(brokers)?;
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(15)));
    // One request per broker: a broker's configuration is asked of that broker, and librdkafka
    // refuses two broker resources in one request ("Conflicting use").
    let mut out = BTreeMap::new();
    for id in ids {
        let spec = ResourceSpecifier::Broker(*id);
        let results = block_on(client.describe_configs([&spec], &opts))?.with_context(|| {
            format!("asking broker {id} for its configuration (DescribeConfigs) failed")
        })?;
        let resource = (results.into_iter().next())
            .with_context(|| format!("broker {id} did not describe its configuration"))?
            .map_err(|code| {
                anyhow::anyhow!("broker {id} did not describe its configuration: {code}")
            })?;
        let entries = resource
            .entries
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect();
        out.insert(*id, entries);
    }
    Ok(out)
}
