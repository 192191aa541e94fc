//! What the records were like, as results.json and the report show them: the size spread
//! asked for and the sizes sent, compressibility, keys and the partitioner they imply, and the
//! compression the producers achieved on the wire (librdkafka's batch sizes after compression
//! against the bytes handed to it). The run fills it in (`run::payload`).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

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
