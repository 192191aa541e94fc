//! Writer schemas by id, fetched from the registry once each, and what one client's use of
//! the registry came to: cache hits and misses, requests sent and answered, failures by kind.
//! A consumer that cannot reach the registry cannot decode; these counts say how often that
//! happened and why.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use apache_avro::Schema;
use schema_registry_converter::async_impl::schema_registry::{get_schema_by_id, SrSettings};
use schema_registry_converter::error::SRCError;
use serde::{Deserialize, Serialize};

use crate::security::registry::{Registry, RequestFailure};

/// One registry client's traffic over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientStats {
    /// Which client, e.g. `consumer-0`, `cold-0`, `schema-evolver`.
    pub client: String,
    /// Writer-schema lookups served from the cache.
    pub cache_hits: u64,
    /// Ids that were not in the cache when first needed (each counted once).
    pub cache_misses: u64,
    /// Requests sent to the registry, retries included.
    pub requests: u64,
    /// Requests the registry answered with what was asked.
    pub answered: u64,
    /// Requests that failed, by kind (`refused`, `timeout`, `connection reset`, `HTTP 404`, ...).
    pub failed: BTreeMap<String, u64>,
}

impl ClientStats {
    /// Counts for `client`, all zero.
    pub fn new(client: impl Into<String>) -> ClientStats {
        ClientStats {
            client: client.into(),
            ..ClientStats::default()
        }
    }

    /// Count one request, answered (`Ok`) or failed.
    pub fn request(&mut self, outcome: std::result::Result<(), RequestFailure>) {
        self.requests += 1;
        match outcome {
            Ok(()) => self.answered += 1,
            Err(kind) => *self.failed.entry(kind.to_string()).or_default() += 1,
        }
    }

    /// Failed requests of every kind.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// What kind of failure schema_registry_converter's error is: from its causes' types, else from
/// its message, since it keeps an unsuccessful answer's status only there ("... failed with
/// status 502 Bad Gateway").
fn failure_of(e: &SRCError) -> RequestFailure {
    match RequestFailure::of(e) {
        RequestFailure::Other => {
            let status = e.error.split("status ").nth(1).and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
            status.map_or(RequestFailure::Other, RequestFailure::Status)
        }
        known => known,
    }
}

/// An error with every cause under it, so "connection refused" deep in the chain is seen.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A writer schema that could not be looked up.
#[derive(Debug)]
pub struct LookupError {
    /// The registry did not answer (down, timeout): asking again may help.
    pub retriable: bool,
    /// What went wrong.
    pub error: anyhow::Error,
}

/// Writer schemas by id, fetched from the registry once each.
pub struct SchemaCache {
    sr: SrSettings,
    rt: tokio::runtime::Runtime,
    by_id: HashMap<u32, Arc<Schema>>,
    /// Ids looked up and not found in the cache, answered or not yet.
    missed: HashSet<u32>,
    stats: ClientStats,
    /// How long the last request the registry answered with a schema took, until taken: the
    /// `registry_by_id` histogram holds exactly the `answered` requests.
    answered_in: Option<Duration>,
}

impl SchemaCache {
    /// An empty cache for `registry`, with its own async runtime; `client` names it in its
    /// [`ClientStats`].
    pub fn new(registry: &Registry, client: &str) -> Result<Self> {
        Ok(SchemaCache {
            sr: registry.sr_settings()?,
            rt: super::registry::runtime()?,
            by_id: HashMap::new(),
            missed: HashSet::new(),
            stats: ClientStats::new(client),
            answered_in: None,
        })
    }

    /// Writer schema `id`, fetched from the registry the first time it is asked for.
    pub fn get(&mut self, id: u32) -> Result<Arc<Schema>> {
        self.lookup(id).map_err(|e| e.error)
    }

    /// Like [`SchemaCache::get`], saying whether asking again may help (the registry did not
    /// answer) or not (it answered: no such id, or not Avro).
    pub fn lookup(&mut self, id: u32) -> std::result::Result<Arc<Schema>, LookupError> {
        if let Some(s) = self.by_id.get(&id) {
            self.stats.cache_hits += 1;
            return Ok(Arc::clone(s));
        }
        if self.missed.insert(id) {
            self.stats.cache_misses += 1;
        }
        let sent = Instant::now();
        let reg = self.rt.block_on(get_schema_by_id(id, &self.sr));
        let reg = reg.map_err(|e| {
            let text = chain(&e);
            self.stats.request(Err(failure_of(&e)));
            LookupError {
                retriable: e.retriable,
                error: anyhow::anyhow!(text)
                    .context(format!("schema id {id} is not in the registry")),
            }
        })?;
        self.answered_in = Some(sent.elapsed());
        self.stats.request(Ok(()));
        let schema = Schema::parse_str(&reg.schema)
            .with_context(|| format!("schema id {id} is not valid Avro"))
            .map_err(|error| LookupError {
                retriable: false,
                error,
            })?;
        let schema = Arc::new(schema);
        self.by_id.insert(id, Arc::clone(&schema));
        Ok(schema)
    }

    /// How long the registry took to answer the last request with a schema, once: `None` after
    /// a cache hit, a failed request, or when already taken.
    pub fn take_answer_time(&mut self) -> Option<Duration> {
        self.answered_in.take()
    }

    /// This client's counts so far.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_outcome() {
        let mut s = ClientStats::new("consumer-0");
        s.request(Ok(()));
        s.request(Err(RequestFailure::Refused));
        s.request(Err(RequestFailure::Refused));
        s.request(Err(RequestFailure::Status(502)));
        assert_eq!((s.requests, s.answered, s.failed_total()), (4, 1, 3));
        assert_eq!((s.failed["refused"], s.failed["HTTP 502"]), (2, 1));
    }

    #[test]
    fn an_unsuccessful_answer_is_counted_by_its_status() {
        let e = SRCError::non_retryable_without_cause(
            "HTTP request to schema registry failed with status 502 Bad Gateway",
        );
        assert_eq!(failure_of(&e), RequestFailure::Status(502));
        let other = SRCError::non_retryable_without_cause("could not parse the answer");
        assert_eq!(failure_of(&other), RequestFailure::Other);
    }
}
