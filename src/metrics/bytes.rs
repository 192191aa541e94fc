//! Byte counts of a producer: what its send loop handed to librdkafka, and the record batches
//! that left it (from librdkafka's statistics). The payload's sizes and the compression
//! achieved are read from these in results.json.

use serde::{Deserialize, Serialize};

/// What a producer sent, in bytes, as its send loop counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SentBytes {
    /// Records counted.
    pub records: u64,
    /// Value bytes (Confluent frame and Avro datum).
    pub value_bytes: u64,
    /// Smallest value.
    pub value_min: u64,
    /// Largest value.
    pub value_max: u64,
    /// Key bytes.
    pub key_bytes: u64,
}

impl SentBytes {
    /// Count one record.
    #[inline]
    pub fn add(&mut self, value: usize, key: usize) {
        let v = value as u64;
        self.value_min = if self.records == 0 {
            v
        } else {
            self.value_min.min(v)
        };
        self.value_max = self.value_max.max(v);
        self.records += 1;
        self.value_bytes += v;
        self.key_bytes += key as u64;
    }

    /// Both producers' counts as one.
    pub fn merge(&mut self, o: &SentBytes) {
        if o.records == 0 {
            return;
        }
        self.value_min = if self.records == 0 {
            o.value_min
        } else {
            self.value_min.min(o.value_min)
        };
        self.value_max = self.value_max.max(o.value_max);
        self.records += o.records;
        self.value_bytes += o.value_bytes;
        self.key_bytes += o.key_bytes;
    }
}

/// Batches sent, over a producer's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WireBatches {
    /// Record batches (MessageSets) sent.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Their size as sent (compressed, batch headers included), bytes.
    pub bytes: u64,
}

impl WireBatches {
    /// Both as one.
    pub fn merge(&mut self, o: &WireBatches) {
        self.batches += o.batches;
        self.records += o.records;
        self.bytes += o.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_bytes_merge_keeps_extremes() {
        let mut a = SentBytes::default();
        a.add(10, 2);
        a.add(30, 2);
        let mut b = SentBytes::default();
        b.add(5, 0);
        a.merge(&b);
        a.merge(&SentBytes::default());
        assert_eq!((a.records, a.value_min, a.value_max), (3, 5, 30));
        assert_eq!((a.value_bytes, a.key_bytes), (45, 4));
    }
}
