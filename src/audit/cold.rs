//! The audit of a `[[consumer.cold]]` group: a group that joined mid-run with no offsets and no
//! cached schemas must still read every acknowledged record. What it read is kept in a ledger
//! of its own and set against the run's acks; this is what results.json says of it.

use serde::{Deserialize, Serialize};

use crate::avro::schema_cache::ClientStats;

/// One cold group's start, catch-up and reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdGroupReport {
    /// Its consumer group id.
    pub group: String,
    /// When it was planned to start (s since the run's origin).
    pub planned_s: f64,
    /// When its consumer was created (s since the origin); `None` if the run ended first.
    pub started_s: Option<f64>,
    /// When every partition it held was read live (within 1 s of the record's intended send
    /// time; s since the origin); `None` if that never happened before the load ended.
    pub caught_up_s: Option<f64>,
    /// Records it read and decoded, re-deliveries included.
    pub consumed: u64,
    /// Acknowledged records it never read: must be 0.
    pub unread: u64,
    /// Messages it could not decode.
    pub undecodable: u64,
    /// Writer-schema lookups it asked again because the registry did not answer, and how long
    /// it waited on them.
    pub lookup_retries: u64,
    /// Seconds it spent waiting for the registry.
    pub lookup_stall_s: f64,
    /// Its use of the registry.
    pub registry: ClientStats,
    /// Its first errors (up to 10).
    pub errors: Vec<String>,
}

impl ColdGroupReport {
    /// It started, read every acknowledged record, and decoded every one.
    pub fn clean(&self) -> bool {
        self.started_s.is_some() && self.unread == 0 && self.undecodable == 0
    }
}
