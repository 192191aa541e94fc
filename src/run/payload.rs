//! The payload section of a run's results: what the scenario asked of the records, put in
//! words, and what the producers' byte counts say was sent and how well it compressed.

use crate::load::payload::{KeyDist, SizeDist, KEYED_PARTITIONER};
use crate::metrics::bytes::{SentBytes, WireBatches};
use crate::report::payload::PayloadInfo;
use crate::report::results::ProducerInfo;
use crate::scenario::Scenario;

/// The payload of a run of `sc` by `producers`.
pub(super) fn info(sc: &Scenario, producers: &[ProducerInfo]) -> PayloadInfo {
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
