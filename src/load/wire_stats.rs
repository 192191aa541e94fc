//! Record batches as they left a producer, from librdkafka's statistics: how many, how many
//! records they held, and their size on the wire after compression. librdkafka's per-topic
//! `batchsize` and `batchcnt` windows restart at every statistics document, so summing them
//! over every document gives the producer's totals — and with the bytes the send loop handed
//! over, the compression ratio actually achieved.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;

pub use crate::metrics::bytes::WireBatches;

#[derive(Debug, Deserialize)]
struct Stats {
    #[serde(default)]
    topics: HashMap<String, TopicStats>,
}

#[derive(Debug, Deserialize)]
struct TopicStats {
    batchsize: Option<Window>,
    batchcnt: Option<Window>,
}

#[derive(Debug, Deserialize)]
struct Window {
    #[serde(default)]
    sum: i64,
    #[serde(default)]
    cnt: i64,
}

/// Fed by the statistics callback with every document.
#[derive(Debug, Default)]
pub struct WireTally(Mutex<WireBatches>);

impl WireTally {
    /// One statistics document's windows, added.
    pub fn observe(&self, raw: &[u8]) {
        let Ok(stats) = serde_json::from_slice::<Stats>(raw) else {
            return;
        };
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for topic in stats.topics.values() {
            if let (Some(size), Some(cnt)) = (&topic.batchsize, &topic.batchcnt) {
                t.batches += size.cnt.max(0) as u64;
                t.bytes += size.sum.max(0) as u64;
                t.records += cnt.sum.max(0) as u64;
            }
        }
    }

    /// Totals so far.
    pub fn totals(&self) -> WireBatches {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_add_up_over_documents() {
        let doc = |sum: i64, cnt: i64, recs: i64| {
            serde_json::json!({
                "topics": { "t": {
                    "batchsize": { "sum": sum, "cnt": cnt, "avg": 0 },
                    "batchcnt": { "sum": recs, "cnt": cnt },
                    "partitions": {}
                } },
                "brokers": {}
            })
            .to_string()
        };
        let t = WireTally::default();
        t.observe(doc(4000, 4, 100).as_bytes());
        t.observe(b"{ broken");
        t.observe(doc(1000, 1, 20).as_bytes());
        t.observe(br#"{"topics": {}}"#);
        assert_eq!(
            t.totals(),
            WireBatches {
                batches: 5,
                records: 120,
                bytes: 5000
            }
        );
    }
}
