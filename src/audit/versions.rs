//! The audit's schema column: per writer schema version, how many records were produced,
//! acknowledged, consumed and decoded, from the producers' switch points, the ledger's sets and
//! the consumers' tallies by id; plus the evolution events and every record that could not be
//! decoded, by reason. Pure bookkeeping: the run hands it what it saw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ledger::Ledger;
use super::ranges::RangeSet;

/// What the consumers saw of one schema id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTally {
    /// Records read with this id on the wire (re-deliveries included).
    pub read: u64,
    /// Of those, decoded whole with the writer schema the id names.
    pub decoded: u64,
}

/// What consumers saw, by schema id: reads, whole decodes, records whose id was not their
/// producer's, and records that could not be decoded (by reason, the first 10 listed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadTallies {
    /// Per id on the wire.
    pub by_id: BTreeMap<u32, IdTally>,
    /// Records whose id was not the one their producer wrote them with.
    pub mismatched: u64,
    /// Records that could not be decoded, by reason.
    pub undecodable: BTreeMap<String, u64>,
    /// The first of those (up to 10).
    pub examples: Vec<String>,
    /// Writer-schema lookups asked again because the registry did not answer.
    pub lookup_retries: u64,
    /// Time consumers spent waiting for the registry to answer a lookup (s).
    pub lookup_stall_s: f64,
}

impl ReadTallies {
    /// Count one record that could not be decoded.
    pub fn undecodable(&mut self, reason: &str, example: impl FnOnce() -> String) {
        *self.undecodable.entry(reason.to_string()).or_default() += 1;
        if self.examples.len() < super::ledger::MAX_EXAMPLES {
            self.examples.push(example());
        }
    }

    /// Add another consumer's tallies.
    pub fn merge(&mut self, other: ReadTallies) {
        for (id, t) in other.by_id {
            let mine = self.by_id.entry(id).or_default();
            mine.read += t.read;
            mine.decoded += t.decoded;
        }
        self.mismatched += other.mismatched;
        for (k, n) in other.undecodable {
            *self.undecodable.entry(k).or_default() += n;
        }
        self.lookup_retries += other.lookup_retries;
        self.lookup_stall_s += other.lookup_stall_s;
        let room = super::ledger::MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// One version's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionCounts {
    /// Registry id.
    pub id: u32,
    /// Version under the subject, where the registry said.
    pub version: Option<u32>,
    /// The schema file.
    pub label: String,
    /// Records the producers sent with it.
    pub produced: u64,
    /// Of those, acknowledged.
    pub acked: u64,
    /// Of the acknowledged, consumed at least once.
    pub consumed: u64,
    /// Records read with its id (re-deliveries included).
    pub read: u64,
    /// Records decoded whole with it.
    pub decoded: u64,
}

/// What happened when kbench registered one `[[schema.evolve]]` version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaEvent {
    /// Position in `[[schema.evolve]]` (time order).
    pub index: usize,
    /// The schema file.
    pub label: String,
    /// When it was due and when it was sent (s since the run's origin).
    pub scheduled_s: f64,
    /// When the request was sent.
    pub at_s: f64,
    /// `registered`, `rejected` (the registry said no) or `failed` (no answer).
    pub outcome: String,
    /// For `registered`: the id and the version under the subject.
    pub id: Option<u32>,
    /// Version under the subject.
    pub version: Option<u32>,
    /// The registry's message, or why there was no answer.
    pub message: Option<String>,
    /// HTTP status of a rejection.
    pub status: Option<u16>,
    /// How long the registration took (ms).
    pub latency_ms: f64,
}

impl SchemaEvent {
    /// One line for the progress log and the summary.
    pub fn describe(&self) -> String {
        match self.outcome.as_str() {
            "registered" => format!(
                "schema {} registered at {:.3}s as id {} (version {}) in {:.0} ms; producers switch",
                self.label,
                self.at_s,
                self.id.unwrap_or_default(),
                self.version.map_or("?".into(), |v| v.to_string()),
                self.latency_ms
            ),
            outcome => format!(
                "schema {} {outcome} at {:.3}s{}: {}; producers keep the version they have",
                self.label,
                self.at_s,
                self.status.map_or(String::new(), |s| format!(" (HTTP {s})")),
                self.message.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// The schema part of a run's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaAudit {
    /// The subject's compatibility mode, where the scenario set one.
    pub compatibility: Option<String>,
    /// Whether consumers decoded every record whole (runs that evolve) or checked the first of
    /// each id and read the header of the rest.
    pub full_decode: bool,
    /// Every evolution, in time order.
    pub events: Vec<SchemaEvent>,
    /// Per version, the first one first.
    pub versions: Vec<VersionCounts>,
    /// Records whose id on the wire was not the one their producer wrote them with.
    pub mismatched: u64,
    /// Records that could not be decoded, by reason.
    pub undecodable: BTreeMap<String, u64>,
    /// The first of those (up to 10), with partition and offset.
    pub undecodable_examples: Vec<String>,
    /// Writer-schema lookups consumers asked again because the registry did not answer.
    #[serde(default)]
    pub lookup_retries: u64,
    /// Time consumers waited for the registry to answer those lookups (s).
    #[serde(default)]
    pub lookup_stall_s: f64,
    /// The evolution's own use of the registry (registrations and version lookups), for runs
    /// that evolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evolver: Option<crate::avro::schema_cache::ClientStats>,
    /// The registry's answers to kbench's own requests over the whole run, by kind
    /// (`registry_register`, `registry_by_id`, `registry_version`), from their .hlog files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_latency: BTreeMap<String, crate::metrics::Percentiles>,
}

impl SchemaAudit {
    /// Every record read was decoded with the version it was written with, and every version's
    /// acknowledged records were consumed.
    pub fn clean(&self) -> bool {
        self.mismatched == 0
            && self.undecodable.values().sum::<u64>() == 0
            && self
                .versions
                .iter()
                .all(|v| v.consumed == v.acked && (!self.full_decode || v.decoded == v.read))
    }
}

/// Elements of `set` in `lo..hi`.
pub fn count_in(set: &RangeSet, lo: u64, hi: u64) -> u64 {
    set.iter_ranges()
        .map(|r| {
            let (a, b) = (*r.start().max(&lo), (*r.end() + 1).min(hi));
            b.saturating_sub(a)
        })
        .sum()
}

/// Produced / acked / consumed per id, from each producer's switches (first sequence with each
/// id), the number of records it sent, and the ledger.
pub fn per_id(
    switches: &BTreeMap<u32, Vec<(u64, u32)>>,
    sent: &BTreeMap<u32, u64>,
    ledger: &Ledger,
) -> BTreeMap<u32, (u64, u64, u64)> {
    let mut out: BTreeMap<u32, (u64, u64, u64)> = BTreeMap::new();
    for (producer, list) in switches {
        let sent = sent.get(producer).copied().unwrap_or(0);
        let audit = ledger.producer(*producer);
        // Consumed and acknowledged: a record that failed yet reached the log may be read,
        // and must not make up for an acknowledged one that was lost.
        let read_back = audit.map(|a| a.acked.intersection(&a.consumed));
        for (i, (first, id)) in list.iter().enumerate() {
            let end = list.get(i + 1).map_or(sent, |(next, _)| *next).min(sent);
            let e = out.entry(*id).or_default();
            e.0 += end.saturating_sub(*first);
            if let (Some(a), Some(both)) = (audit, &read_back) {
                e.1 += count_in(&a.acked, *first, end);
                e.2 += count_in(both, *first, end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_split_at_each_producers_switch() {
        let mut ledger = Ledger::default();
        // Producer 0: 0..10 with id 1, 10..15 with id 2; all acked, 12 not consumed.
        // Producer 1: 0..8 with id 1 throughout; 7 failed yet read (it reached the log).
        for s in 0..15 {
            ledger.on_ack(0, s);
            if s != 12 {
                ledger.on_consumed(0, 0, s);
            }
        }
        for s in 0..8 {
            if s == 7 {
                ledger.on_failed(1, s);
                ledger.on_consumed(1, 1, s);
            } else {
                ledger.on_ack(1, s);
                ledger.on_consumed(1, 1, s);
            }
        }
        let switches = BTreeMap::from([(0, vec![(0, 1), (10, 2)]), (1, vec![(0, 1)])]);
        let sent = BTreeMap::from([(0, 15), (1, 8)]);
        let got = per_id(&switches, &sent, &ledger);
        assert_eq!(got[&1], (18, 17, 17));
        assert_eq!(got[&2], (5, 5, 4));
        let total: u64 = got.values().map(|c| c.0).sum();
        assert_eq!(total, 23, "the versions add up to everything sent");
    }

    #[test]
    fn tallies_merge_and_keep_ten_examples() {
        let mut a = ReadTallies::default();
        a.by_id.insert(
            1,
            IdTally {
                read: 3,
                decoded: 3,
            },
        );
        for i in 0..8 {
            a.undecodable("bad framing", || format!("a{i}"));
        }
        let mut b = ReadTallies::default();
        b.by_id.insert(
            1,
            IdTally {
                read: 2,
                decoded: 1,
            },
        );
        b.mismatched = 1;
        for i in 0..5 {
            b.undecodable("unknown schema id", || format!("b{i}"));
        }
        a.merge(b);
        assert_eq!(
            a.by_id[&1],
            IdTally {
                read: 5,
                decoded: 4
            }
        );
        assert_eq!((a.mismatched, a.undecodable["bad framing"]), (1, 8));
        assert_eq!(a.undecodable["unknown schema id"], 5);
        assert_eq!(a.examples.len(), 10);
        assert_eq!(a.examples[9], "b1");
    }

    #[test]
    fn range_counts_clip_to_the_window() {
        let set: RangeSet = [1, 2, 3, 7, 8].into_iter().collect();
        assert_eq!(count_in(&set, 0, 100), 5);
        assert_eq!(count_in(&set, 2, 8), 3);
        assert_eq!(count_in(&set, 4, 7), 0);
    }

    #[test]
    fn clean_only_when_every_record_decodes_with_its_version() {
        let v = VersionCounts {
            acked: 5,
            consumed: 5,
            read: 5,
            decoded: 5,
            ..VersionCounts::default()
        };
        let mut a = SchemaAudit {
            full_decode: true,
            versions: vec![v.clone()],
            ..SchemaAudit::default()
        };
        assert!(a.clean());
        a.versions[0].decoded = 4;
        assert!(!a.clean());
        a.versions[0] = v;
        a.undecodable.insert("unknown schema id".into(), 1);
        assert!(!a.clean());
    }
}
