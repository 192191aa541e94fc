//! `[cluster.broker]`: `server.properties` settings for every node of a cluster kbench starts
//! (process and docker backends). The keys that make up the topology — roles, ids, listeners,
//! the quorum, data directories — and connection security stay kbench's: changing them would
//! give a cluster kbench cannot reach or clean up.

use std::collections::BTreeMap;

use super::raw::property_string;
use super::source::{ScenarioError, Source};
use crate::names::BackendKind;

type R<T> = Result<T, ScenarioError>;

/// Keys kbench sets from its topology.
const RESERVED: &[&str] = &[
    "process.roles",
    "node.id",
    "broker.id",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "controller.listener.names",
    "log.dirs",
    "log.dir",
    "metadata.log.dir",
];

/// Prefixes of connection-security keys, set by `kbench cluster up --security`.
const SECURITY: &[&str] = &["listener.name.", "sasl.", "ssl.", "security."];

/// `[cluster.broker]` of a cluster of backend `kind`, as (key, value) in file order.
pub(super) fn settings(
    src: &Source,
    raw: &BTreeMap<String, toml::Value>,
    kind: BackendKind,
) -> R<Vec<(String, String)>> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    if kind == BackendKind::External {
        return Err(src.error(
            "cluster.broker",
            "kbench does not start an external cluster, so it cannot set its brokers' \
             server.properties; set them on the cluster itself (and say so in run.description)",
        ));
    }
    raw.iter()
        .map(|(k, v)| {
            let field = format!("cluster.broker.{k}");
            if RESERVED.contains(&k.as_str()) {
                return Err(src.error(
                    &field,
                    "is part of the cluster's layout, which kbench sets (ids, roles, listeners, \
                     quorum, data directories)",
                ));
            }
            if SECURITY.iter().any(|p| k.starts_with(p)) {
                return Err(src.error(
                    &field,
                    "connection security is set by `kbench cluster up --security`, not here",
                ));
            }
            let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
            if k.is_empty() || !k.chars().all(plain) {
                return Err(src.error(
                    &field,
                    "is not a server.properties key (lower-case letters, digits, '.', '_', '-')",
                ));
            }
            let value = property_string(v)
                .filter(|s| !s.contains('\n'))
                .ok_or_else(|| src.error(&field, "must be a one-line string, number or boolean"))?;
            Ok((k.clone(), value))
        })
        .collect()
}
