//! How many ProduceRequests a producer sent for its records, from librdkafka's statistics. Java's
//! producer puts every partition a broker leads into one request; librdkafka sends one request
//! per partition (librdkafka#1700), so at the same rate it sends more, smaller requests — this
//! tally is how a comparison shows it. Read once, at the end: parsing every statistics document
//! would charge the hot path for a number needed once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Requests and records over a producer's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestTally {
    /// ProduceRequests sent to the brokers.
    pub produce_requests: u64,
    /// Records sent to the brokers (retries included, as librdkafka counts them).
    pub records: u64,
}

impl RequestTally {
    /// Records per ProduceRequest; `None` before the first request.
    pub fn records_per_request(&self) -> Option<f64> {
        (self.produce_requests > 0).then(|| self.records as f64 / self.produce_requests as f64)
    }
}

#[derive(Debug, Deserialize)]
struct Stats {
    #[serde(default)]
    txmsgs: u64,
    #[serde(default)]
    brokers: HashMap<String, BrokerStats>,
}

#[derive(Debug, Deserialize)]
struct BrokerStats {
    #[serde(default)]
    req: HashMap<String, u64>,
}

fn tally(raw: &[u8]) -> Option<RequestTally> {
    let stats: Stats = serde_json::from_slice(raw).ok()?;
    let produce_requests = stats
        .brokers
        .values()
        .filter_map(|b| b.req.get("Produce"))
        .sum();
    Some(RequestTally {
        produce_requests,
        records: stats.txmsgs,
    })
}

/// Fed by the statistics callback; reads one document when asked to.
#[derive(Debug, Default)]
pub struct Tallier {
    wanted: AtomicBool,
    last: Mutex<Option<RequestTally>>,
}

impl Tallier {
    /// One statistics document; ignored unless a tally was asked for.
    pub fn observe(&self, raw: &[u8]) {
        if !self.wanted.load(Ordering::Acquire) {
            return;
        }
        if let Some(t) = tally(raw) {
            *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
            self.wanted.store(false, Ordering::Release);
        }
    }

    /// Ask for a tally from the next statistics document.
    pub fn want(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.wanted.store(true, Ordering::Release);
    }

    /// The tally read since `want`, if one was.
    pub fn taken(&self) -> Option<RequestTally> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_produce_requests_over_brokers_and_reads_only_when_asked() {
        let doc = serde_json::json!({
            "txmsgs": 9000,
            "brokers": {
                "a/1": { "req": { "Produce": 40, "Metadata": 3 } },
                "b/2": { "req": { "Produce": 50 } },
                "GroupCoordinator/-1": { "req": {} },
            },
        })
        .to_string();
        let t = Tallier::default();
        t.observe(doc.as_bytes());
        assert_eq!(t.taken(), None, "not asked for yet");
        t.want();
        t.observe(b"not json");
        assert_eq!(t.taken(), None);
        t.observe(doc.as_bytes());
        let got = t.taken().expect("asked for");
        assert_eq!(got.produce_requests, 90);
        assert_eq!(got.records_per_request(), Some(100.0));
        assert_eq!(RequestTally::default().records_per_request(), None);
    }
}
