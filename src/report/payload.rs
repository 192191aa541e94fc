//! What the records were like, as results.json and the report show them: the size spread
//! asked for and the sizes sent, compressibility, keys and the partitioner they imply, and the
//! compression the producers achieved on the wire (librdkafka's batch sizes after compression
//! against the bytes handed to it).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::results::ProducerInfo;
use crate::load::payload::{KeyDist, SentBytes, SizeDist, KEYED_PARTITIONER};
use crate::load::wire_stats::WireBatches;
use crate::scenario::Scenario;

/// The payload of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadInfo {
    /// The size spread asked for, e.g. `uniform 256..4096 B` or `fixed`.
    pub record_size: String,
    /// Mean value size sent (Confluent frame + Avro datum), bytes.
    pub value_bytes_mean: f64,
    /// Smallest value sent.
    pub value_bytes_min: u64,
    /// Largest value sent.
    pub value_bytes_max: u64,
    /// Share of string/bytes contents that repeats (`schema.repeat`).
    pub repeat: f64,
    /// Keys, e.g. `zipf (exponent 1.1) over 1000 keys`.
    pub keys: String,
    /// Mean key size, bytes.
    pub key_bytes_mean: f64,
    /// The producers' partitioner.
    pub partitioner: String,
    /// `compression.type` of the producers.
    pub compression_type: String,
    /// Record batches the producers sent.
    pub batches: u64,
    /// Records per batch.
    pub records_per_batch: Option<f64>,
    /// Batch bytes on the wire per record (compressed, batch overhead included).
    pub wire_bytes_per_record: Option<f64>,
    /// Key + value bytes handed to librdkafka ÷ batch bytes on the wire: above 1 the batches
    /// were smaller than their records; below 1, batch overhead outweighed any compression.
    pub compression_ratio: Option<f64>,
}

/// The payload of a run of `sc` by `producers`.
pub fn info(sc: &Scenario, producers: &[ProducerInfo]) -> PayloadInfo {
    let mut bytes = SentBytes::default();
    let mut wire = WireBatches::default();
    for p in producers {
        bytes.merge(&p.bytes);
        wire.merge(&p.wire);
    }
    let per = |x: u64, n: u64| (n > 0).then(|| x as f64 / n as f64);
    let record_mean = per(bytes.value_bytes + bytes.key_bytes, bytes.records);
    let prop = |k: &str| {
        (sc.producer.properties.iter())
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.clone())
    };
    let partitioner = match (prop("partitioner"), sc.payload.keys) {
        (Some(p), _) => p,
        (None, KeyDist::None) => {
            "consistent_random (librdkafka's default; records have no key)".into()
        }
        (None, _) => format!("{KEYED_PARTITIONER} (the Java client's hash of the key)"),
    };
    let record_size = match (&sc.payload.sizes, sc.schema.record_size) {
        (SizeDist::Fixed, Some(n)) => format!("fixed, calibrated to {n} B"),
        (SizeDist::Fixed, None) => "fixed by the schema's lengths".into(),
        (d, _) => d.describe(),
    };
    PayloadInfo {
        record_size,
        value_bytes_mean: per(bytes.value_bytes, bytes.records).unwrap_or(0.0),
        value_bytes_min: bytes.value_min,
        value_bytes_max: bytes.value_max,
        repeat: sc.payload.repeat,
        keys: sc.payload.keys.describe(),
        key_bytes_mean: per(bytes.key_bytes, bytes.records).unwrap_or(0.0),
        partitioner,
        compression_type: prop("compression.type")
            .or_else(|| prop("compression.codec"))
            .unwrap_or_else(|| "none".into()),
        batches: wire.batches,
        records_per_batch: per(wire.records, wire.batches),
        wire_bytes_per_record: per(wire.bytes, wire.records),
        compression_ratio: record_mean
            .zip(per(wire.bytes, wire.records))
            .map(|(rec, on_wire)| rec / on_wire),
    }
}

impl PayloadInfo {
    /// Rows of the report's payload table.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let opt =
            |v: Option<f64>, d: usize| v.map_or("not reported".into(), |v| format!("{v:.d$}"));
        vec![
            ("record size asked", self.record_size.clone()),
            (
                "values sent",
                format!(
                    "mean {:.0} B, smallest {} B, largest {} B",
                    self.value_bytes_mean, self.value_bytes_min, self.value_bytes_max
                ),
            ),
            ("repeated contents", format!("{:.0} %", self.repeat * 100.0)),
            ("keys", self.keys.clone()),
            ("partitioner", self.partitioner.clone()),
            ("compression.type", self.compression_type.clone()),
            ("records per batch", opt(self.records_per_batch, 1)),
            ("wire bytes per record", opt(self.wire_bytes_per_record, 1)),
            ("compression ratio achieved", opt(self.compression_ratio, 2)),
        ]
    }

    /// One line for the terminal summary.
    pub fn line(&self) -> String {
        let mut s = format!(
            "payload: values mean {:.0} B ({}..{} B), keys {}, {} % repeated, {}",
            self.value_bytes_mean,
            self.value_bytes_min,
            self.value_bytes_max,
            self.keys,
            (self.repeat * 100.0).round(),
            self.compression_type
        );
        if let Some(r) = self.compression_ratio {
            let _ = write!(s, ": compression ratio {r:.2} on the wire");
        }
        s
    }
}
