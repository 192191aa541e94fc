//! When a new producer can send: its producer id assigned (with idempotence), the topic's
//! partitions and leaders known, and a connection up to every partition leader — read from
//! librdkafka's own statistics. A schedule that starts before that charges its first records
//! for the producer's start-up (metadata, `InitProducerId`, connections), which over a short
//! run is enough to be the p99 by itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::Deserialize;

/// How often librdkafka reports statistics (ms): often enough that the wait ends within a few
/// tens of ms of the producer being ready, and cheap (one small JSON document per interval,
/// not even parsed once the producer is ready).
pub const STATS_INTERVAL_MS: u32 = 50;

/// The parts of librdkafka's statistics readiness depends on.
#[derive(Debug, Deserialize)]
struct Stats {
    #[serde(default)]
    brokers: HashMap<String, BrokerStats>,
    #[serde(default)]
    topics: HashMap<String, TopicStats>,
    eos: Option<Eos>,
}

#[derive(Debug, Deserialize)]
struct BrokerStats {
    nodeid: i32,
    state: String,
}

#[derive(Debug, Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: HashMap<String, PartitionStats>,
}

#[derive(Debug, Deserialize)]
struct PartitionStats {
    partition: i32,
    leader: i32,
}

#[derive(Debug, Deserialize)]
struct Eos {
    idemp_state: String,
}

/// Why a producer is not ready yet, or `None` when it is.
fn not_ready(stats: &Stats, topic: &str, idempotent: bool) -> Option<String> {
    if idempotent {
        let state = stats
            .eos
            .as_ref()
            .map_or("unknown", |e| e.idemp_state.as_str());
        if state != "Assigned" {
            return Some(format!(
                "producer id not assigned yet (idempotence state {state})"
            ));
        }
    }
    let Some(t) = stats.topics.get(topic) else {
        return Some(format!("no metadata for topic {topic} yet"));
    };
    // librdkafka lists an internal "-1" partition (the unassigned queue) next to real ones.
    let leaders: Vec<i32> = (t.partitions.values())
        .filter(|p| p.partition >= 0)
        .map(|p| p.leader)
        .collect();
    if leaders.is_empty() || leaders.iter().any(|l| *l < 0) {
        return Some(format!("partitions of {topic} without a known leader"));
    }
    let state = |id: i32| {
        (stats.brokers.values())
            .find(|b| b.nodeid == id)
            .map_or("unknown", |b| b.state.as_str())
    };
    leaders.iter().find(|l| state(**l) != "UP").map(|l| {
        format!(
            "connection to broker {l} (a partition leader) is {}",
            state(*l)
        )
    })
}

/// Fed by the statistics callback; tells the sender when it may start.
#[derive(Debug)]
pub struct Readiness {
    topic: String,
    idempotent: bool,
    ready: AtomicBool,
    /// What the last statistics said was missing.
    waiting_for: Mutex<String>,
}

impl Readiness {
    /// Not ready until statistics say so.
    pub fn new(topic: &str, idempotent: bool) -> Readiness {
        Readiness {
            topic: topic.to_string(),
            idempotent,
            ready: AtomicBool::new(false),
            waiting_for: Mutex::new("no statistics from librdkafka yet".into()),
        }
    }

    /// One statistics document; ignored once ready.
    pub fn observe(&self, raw: &[u8]) {
        if self.is_ready() {
            return;
        }
        let why = match serde_json::from_slice::<Stats>(raw) {
            Ok(stats) => not_ready(&stats, &self.topic, self.idempotent),
            Err(e) => Some(format!("unreadable statistics: {e}")),
        };
        match why {
            None => self.ready.store(true, Ordering::Release),
            Some(w) => *self.waiting_for.lock().unwrap_or_else(|e| e.into_inner()) = w,
        }
    }

    /// Whether the producer can send without paying for its start-up.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// What is still missing, for a message when the wait gives up.
    pub fn waiting_for(&self) -> String {
        self.waiting_for
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statistics shaped like librdkafka's (only the fields readiness reads, plus noise).
    fn stats(idemp: &str, leaders: &[(i32, i32)], brokers: &[(i32, &str)]) -> Vec<u8> {
        let mut partitions = serde_json::Map::new();
        for (p, l) in leaders.iter().chain(&[(-1, -1)]) {
            let entry = serde_json::json!({ "partition": p, "leader": l, "msgq_cnt": 0 });
            partitions.insert(p.to_string(), entry);
        }
        let mut nodes = serde_json::Map::new();
        for (id, state) in brokers.iter().chain(&[(-1, "UP")]) {
            let entry = serde_json::json!({ "nodeid": id, "state": state, "rtt": {} });
            nodes.insert(format!("127.0.0.1:{}/{id}", 9091 + id), entry);
        }
        serde_json::json!({
            "name": "p",
            "brokers": nodes,
            "topics": { "t": { "topic": "t", "partitions": partitions } },
            "eos": { "idemp_state": idemp, "producer_id": 1 },
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn ready_only_with_a_producer_id_known_leaders_and_their_connections_up() {
        let r = Readiness::new("t", true);
        assert!(!r.is_ready());
        r.observe(&stats(
            "WaitPID",
            &[(0, 1), (1, 2)],
            &[(1, "UP"), (2, "UP")],
        ));
        assert!(!r.is_ready());
        assert!(
            r.waiting_for().contains("producer id"),
            "{}",
            r.waiting_for()
        );
        r.observe(&stats(
            "Assigned",
            &[(0, 1), (1, -1)],
            &[(1, "UP"), (2, "UP")],
        ));
        assert!(
            r.waiting_for().contains("without a known leader"),
            "{}",
            r.waiting_for()
        );
        r.observe(&stats(
            "Assigned",
            &[(0, 1), (1, 2)],
            &[(1, "UP"), (2, "CONNECT")],
        ));
        assert!(r.waiting_for().contains("broker 2"), "{}", r.waiting_for());
        assert!(!r.is_ready());
        r.observe(&stats(
            "Assigned",
            &[(0, 1), (1, 2)],
            &[(1, "UP"), (2, "UP")],
        ));
        assert!(r.is_ready());
        // Once ready, later statistics do not take it back.
        r.observe(b"not json");
        assert!(r.is_ready());
    }

    #[test]
    fn without_idempotence_no_producer_id_is_needed_and_a_missing_topic_is_named() {
        let r = Readiness::new("t", false);
        r.observe(br#"{"brokers": {}, "topics": {}}"#);
        assert!(
            r.waiting_for().contains("no metadata for topic t"),
            "{}",
            r.waiting_for()
        );
        r.observe(&stats("Init", &[(0, 3)], &[(3, "UP")]));
        assert!(r.is_ready());
    }
}
