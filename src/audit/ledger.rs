//! The audit ledger: per producer, which sequences were acknowledged, reported failed and
//! consumed (as `RangeSet`s, so memory follows the number of gaps, not the run length), plus
//! duplicate and reordering detection, and the final `Verdict` (lost / duplicated / reordered).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ranges::RangeSet;
pub use super::verdict::{Reorder, Verdict};

/// How many offenders of each kind are kept as examples.
pub const MAX_EXAMPLES: usize = 10;

/// Everything the ledger knows about one producer. Fields are public for reading: the ledger
/// only ever hands out shared references.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProducerAudit {
    /// Sequences the cluster acknowledged.
    pub acked: RangeSet,
    /// Sequences whose delivery was reported failed (error or timeout).
    pub failed: RangeSet,
    /// Sequences consumed at least once.
    pub consumed: RangeSet,
    /// Sequences consumed more than once.
    pub duplicates: RangeSet,
    /// Extra deliveries: a sequence seen three times counts 2.
    pub duplicate_count: u64,
    /// Last first-time-consumed sequence per partition (bounded by the partition count).
    pub last_in_partition: BTreeMap<i32, u64>,
}

impl ProducerAudit {
    /// Stored runs over all sets: the memory cost of this producer.
    pub fn range_count(&self) -> usize {
        [&self.acked, &self.failed, &self.consumed, &self.duplicates]
            .iter()
            .map(|s| s.range_count())
            .sum()
    }
}

/// Bookkeeping of every (producer, sequence) through the run.
///
/// Ordering is judged per (producer, partition) on first deliveries only: a consumer replay
/// after a rebalance or restart re-reads older sequences, and those are already reported as
/// duplicates; calling them reorders as well would double-report one event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    producers: BTreeMap<u32, ProducerAudit>,
    /// Offsets read so far, per partition: a record read again at one of them is a re-delivery.
    offsets: BTreeMap<i32, RangeSet>,
    redelivered: u64,
    reordered: u64,
    /// The `MAX_EXAMPLES` smallest by (producer, seq), kept sorted; smallest rather than
    /// earliest so that merging ledgers gives the same examples in any order.
    first_reordered: Vec<Reorder>,
}

fn keep_smallest<T: Ord>(examples: &mut Vec<T>, item: T) {
    let pos = examples.partition_point(|x| *x < item);
    if pos < MAX_EXAMPLES {
        examples.insert(pos, item);
        examples.truncate(MAX_EXAMPLES);
    }
}

impl Ledger {
    /// The audit of one producer; `None` if nothing was recorded for it.
    pub fn producer(&self, id: u32) -> Option<&ProducerAudit> {
        self.producers.get(&id)
    }

    /// Every producer's audit, in id order.
    pub fn producers(&self) -> impl Iterator<Item = (u32, &ProducerAudit)> {
        self.producers.iter().map(|(&id, p)| (id, p))
    }

    /// The cluster acknowledged `seq` of `producer`.
    pub fn on_ack(&mut self, producer: u32, seq: u64) {
        let book = self.producers.entry(producer).or_default();
        book.acked.insert(seq);
    }

    /// Delivery reported failure (error or timeout). Such a record may still have been written.
    pub fn on_failed(&mut self, producer: u32, seq: u64) {
        let book = self.producers.entry(producer).or_default();
        book.failed.insert(seq);
    }

    /// A consumer read `seq` of `producer` at `offset` of `partition`. An offset read before is
    /// a re-delivery (the consumer rewound), counted apart; otherwise as `on_consumed`.
    pub fn on_delivered(&mut self, producer: u32, partition: i32, offset: i64, seq: u64) {
        let seen = self.offsets.entry(partition).or_default();
        if offset >= 0 && !seen.insert(offset as u64) {
            self.redelivered += 1;
            return;
        }
        self.on_consumed(producer, partition, seq);
    }

    /// A consumer read `seq` of `producer` from `partition`: a repeat counts as a duplicate,
    /// a first delivery below the partition's last one as a reorder.
    pub fn on_consumed(&mut self, producer: u32, partition: i32, seq: u64) {
        let book = self.producers.entry(producer).or_default();
        if !book.consumed.insert(seq) {
            book.duplicates.insert(seq);
            book.duplicate_count += 1;
            return;
        }
        let previous_seq = book.last_in_partition.insert(partition, seq);
        if let Some(previous_seq) = previous_seq.filter(|&prev| seq < prev) {
            self.reordered += 1;
            let r = Reorder {
                producer,
                seq,
                partition,
                previous_seq,
            };
            keep_smallest(&mut self.first_reordered, r);
        }
    }

    /// Folds in a ledger fed by another thread. Sets and counters merge exactly, and a
    /// sequence consumed in both ledgers becomes a duplicate. Ordering cannot be merged:
    /// reorders each ledger already saw are summed, but nothing is inferred across ledgers, so
    /// for a sound reorder check each consumer thread should own its partitions and feed its
    /// own ledger (one ledger per partition owner), merged here at the end.
    pub fn merge(&mut self, other: Ledger) {
        for (id, theirs) in other.producers {
            let mine = match self.producers.entry(id) {
                Entry::Vacant(slot) => {
                    slot.insert(theirs);
                    continue;
                }
                Entry::Occupied(slot) => slot.into_mut(),
            };
            let both = mine.consumed.intersection(&theirs.consumed);
            mine.duplicate_count += theirs.duplicate_count + both.len();
            mine.duplicates = mine.duplicates.union(&theirs.duplicates).union(&both);
            mine.acked = mine.acked.union(&theirs.acked);
            mine.failed = mine.failed.union(&theirs.failed);
            mine.consumed = mine.consumed.union(&theirs.consumed);
            for (partition, seq) in theirs.last_in_partition {
                let last = mine.last_in_partition.entry(partition).or_insert(seq);
                *last = (*last).max(seq);
            }
        }
        self.reordered += other.reordered;
        self.redelivered += other.redelivered;
        for (partition, theirs) in other.offsets {
            let mine = self.offsets.entry(partition).or_default();
            *mine = mine.union(&theirs);
        }
        for r in other.first_reordered {
            keep_smallest(&mut self.first_reordered, r);
        }
    }

    /// Records acknowledged here and never consumed in `reader`, the ledger of another
    /// consumer group that read the same topic.
    pub fn unread_by(&self, reader: &Ledger) -> u64 {
        (self.producers.iter())
            .map(|(id, b)| match reader.producers.get(id) {
                Some(r) => b.acked.difference(&r.consumed).len(),
                None => b.acked.len(),
            })
            .sum()
    }

    /// The outcome so far: totals, lost / duplicated / reordered, and examples.
    pub fn verdict(&self) -> Verdict {
        let mut v = Verdict::default();
        for (&id, b) in &self.producers {
            let lost = b.acked.difference(&b.consumed);
            let unexpected = b.consumed.difference(&b.acked).difference(&b.failed);
            v.acked += b.acked.len();
            v.failed += b.failed.len();
            v.consumed_unique += b.consumed.len();
            v.lost += lost.len();
            v.duplicated += b.duplicates.len();
            v.duplicate_deliveries += b.duplicate_count;
            v.unexpected += unexpected.len();
            v.failed_but_delivered += b.failed.intersection(&b.consumed).len();
            add_examples(&mut v.first_lost, id, &lost);
            let room = super::verdict::MAX_LOST_RANGES.saturating_sub(v.lost_ranges.len());
            let ranges = lost.iter_ranges().take(room);
            v.lost_ranges
                .extend(ranges.map(|r| (id, *r.start(), *r.end())));
            add_examples(&mut v.first_duplicated, id, &b.duplicates);
            add_examples(&mut v.first_unexpected, id, &unexpected);
        }
        v.reordered = self.reordered;
        v.redelivered = self.redelivered;
        v.first_reordered = self.first_reordered.clone();
        v.ok = v.lost == 0 && v.duplicated == 0 && v.reordered == 0;
        v
    }
}

/// Producers are visited in id order and `first_n` is ascending, so the examples come out
/// ordered by (producer, seq).
fn add_examples(examples: &mut Vec<(u32, u64)>, producer: u32, set: &RangeSet) {
    let room = MAX_EXAMPLES.saturating_sub(examples.len());
    examples.extend(set.first_n(room).into_iter().map(|seq| (producer, seq)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acks and consumes `seqs` for `producer`, spreading them round-robin over 3 partitions.
    fn deliver(l: &mut Ledger, producer: u32, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            l.on_ack(producer, seq);
            l.on_consumed(producer, (seq % 3) as i32, seq);
        }
    }

    #[test]
    fn clean_run_is_ok() {
        let mut l = Ledger::default();
        deliver(&mut l, 0, 0..60_000);
        deliver(&mut l, 1, 0..60_000);
        let v = l.verdict();
        assert!(v.ok, "{v}");
        assert_eq!(
            (v.acked, v.consumed_unique, v.lost, v.unexpected),
            (120_000, 120_000, 0, 0)
        );
        assert_eq!(
            v.to_string(),
            "audit OK: 120000 acked, 120000 consumed, 0 lost, 0 duplicated, 0 reordered"
        );
        let json = serde_json::to_value(&v).expect("serialise");
        assert_eq!(
            (&json["acked"], &json["ok"]),
            (&120_000.into(), &true.into())
        );
    }

    #[test]
    fn gaps_are_lost() {
        let mut l = Ledger::default();
        deliver(&mut l, 0, (0..100).filter(|s| *s != 17 && *s != 40));
        [17, 40].into_iter().for_each(|s| l.on_ack(0, s));
        (0..5).for_each(|s| l.on_ack(1, s)); // producer 1: nothing consumed
        let v = l.verdict();
        assert_eq!((v.lost, v.ok), (7, false));
        assert_eq!(
            v.first_lost,
            [(0, 17), (0, 40), (1, 0), (1, 1), (1, 2), (1, 3), (1, 4)]
        );
        let text = v.to_string();
        assert!(
            text.starts_with("audit FAILED: 7 lost (first: p0#17, p0#40, p1#0, ...)"),
            "{text}"
        );
        // Capped at MAX_EXAMPLES, ordered by (producer, seq).
        (0..50).for_each(|s| l.on_ack(9, s));
        let lost = l.verdict().first_lost;
        assert_eq!((lost.len(), lost[9]), (MAX_EXAMPLES, (9, 2)));
    }

    #[test]
    fn a_rewound_consumer_reading_the_same_offsets_is_not_a_log_duplicate() {
        let mut l = Ledger::default();
        for seq in 0..4 {
            l.on_ack(0, seq);
            l.on_delivered(0, 1, 100 + seq as i64, seq);
        }
        // The consumer rewinds to offset 102 and reads 102..103 again.
        l.on_delivered(0, 1, 102, 2);
        l.on_delivered(0, 1, 103, 3);
        // The producer's retry wrote seq 3 again at a new offset: a real duplicate.
        l.on_delivered(0, 1, 104, 3);
        let v = l.verdict();
        assert_eq!(
            (v.redelivered, v.duplicated, v.duplicate_deliveries),
            (2, 1, 1)
        );
        assert_eq!(v.first_duplicated, [(0, 3)]);
        assert!(
            v.to_string()
                .contains("2 read again at offsets already read"),
            "{v}"
        );
    }

    #[test]
    fn every_lost_record_is_listed_as_ranges() {
        let mut l = Ledger::default();
        for seq in 0..10 {
            l.on_ack(0, seq);
            if !(3..=5).contains(&seq) && seq != 8 {
                l.on_consumed(0, 0, seq);
            }
        }
        let v = l.verdict();
        assert_eq!(v.lost, 4);
        assert_eq!(v.lost_ranges, [(0, 3, 5), (0, 8, 8)]);
    }

    #[test]
    fn duplicates_counted_once_per_sequence_and_per_delivery() {
        let mut l = Ledger::default();
        deliver(&mut l, 0, 0..10);
        l.on_consumed(0, 2, 5);
        l.on_consumed(0, 2, 5);
        l.on_consumed(0, 0, 3);
        let v = l.verdict();
        assert_eq!(
            (v.duplicated, v.duplicate_deliveries, v.reordered),
            (2, 3, 0)
        );
        assert_eq!(v.first_duplicated, [(0, 3), (0, 5)]);
        assert!(!v.ok);
        assert_eq!(l.producer(0).map(|p| p.duplicate_count), Some(3));
        assert!(
            v.to_string()
                .contains("2 duplicated (3 extra deliveries) (first: p0#3, p0#5)"),
            "{v}"
        );
    }

    #[test]
    fn reordering_within_a_partition_is_flagged() {
        let mut l = Ledger::default();
        for seq in [0, 1, 3, 2, 4, 5] {
            l.on_ack(7, seq);
            l.on_consumed(7, 4, seq);
        }
        let v = l.verdict();
        assert_eq!((v.reordered, v.lost, v.duplicated, v.ok), (1, 0, 0, false));
        let r = Reorder {
            producer: 7,
            seq: 2,
            partition: 4,
            previous_seq: 3,
        };
        assert_eq!(v.first_reordered, [r]);
        assert!(v
            .to_string()
            .contains("1 reordered (first: p7#2 after #3 in partition 4)"));
    }

    #[test]
    fn interleaved_partitions_are_not_reordering() {
        let mut l = Ledger::default();
        // Even sequences went to partition 0, odd to 1; the consumer drains 0 and then 1.
        let (even, odd): (Vec<u64>, Vec<u64>) = (0..20).partition(|s| s % 2 == 0);
        for (partition, seqs) in [(0, even), (1, odd)] {
            for seq in seqs {
                l.on_ack(0, seq);
                l.on_consumed(0, partition, seq);
            }
        }
        let v = l.verdict();
        assert!(v.ok && v.reordered == 0, "{v}");
    }

    #[test]
    fn failures_and_unexpected_are_reported_but_not_failing() {
        let mut l = Ledger::default();
        deliver(&mut l, 0, 0..10);
        l.on_failed(0, 10); // failed, never written
        l.on_failed(0, 11); // failed, yet written (timeout, retry)
        l.on_consumed(0, 2, 11);
        l.on_consumed(0, 0, 12); // ack lost: never acked nor failed
        let v = l.verdict();
        let got = (v.failed, v.failed_but_delivered, v.unexpected, v.lost);
        assert_eq!(got, (2, 1, 1, 0));
        assert_eq!(v.first_unexpected, [(0, 12)]);
        assert!(v.ok, "{v}");
        let text = v.to_string();
        assert!(
            text.contains("2 reported failed, 1 of them delivered anyway"),
            "{text}"
        );
        assert!(
            text.contains("1 consumed but never acked nor failed"),
            "{text}"
        );
    }

    #[test]
    fn merge_combines_threads() {
        let (mut a, mut b) = (Ledger::default(), Ledger::default());
        (0..100).for_each(|s| a.on_ack(0, s));
        (0..50).for_each(|s| a.on_consumed(0, 0, s));
        (50..100).for_each(|s| b.on_consumed(0, 1, s));
        b.on_consumed(0, 0, 10); // also consumed by `a`: a duplicate across threads
        for seq in [1, 0] {
            b.on_ack(2, seq);
            b.on_consumed(2, 5, seq);
        }
        a.merge(b);
        let v = a.verdict();
        assert_eq!((v.acked, v.consumed_unique, v.lost), (102, 102, 0));
        assert_eq!(
            (v.duplicated, v.duplicate_deliveries, v.reordered),
            (1, 1, 1)
        );
        assert_eq!(v.first_duplicated, [(0, 10)]);
        assert_eq!(v.first_reordered[0].producer, 2);
    }

    #[test]
    fn reorder_examples_keep_the_smallest() {
        let mut l = Ledger::default();
        for seq in (0..40u64).rev() {
            l.on_consumed(0, 0, seq);
        }
        let v = l.verdict();
        assert_eq!(v.reordered, 39);
        let got: Vec<u64> = v.first_reordered.iter().map(|r| r.seq).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!((v.unexpected, v.first_unexpected.len()), (40, 10));
    }

    #[test]
    fn ten_million_in_order_records_stay_one_range_each() {
        let mut l = Ledger::default();
        let start = std::time::Instant::now();
        for seq in 0..2_500_000u64 {
            for p in 0..4u32 {
                l.on_ack(p, seq);
                l.on_consumed(p, (seq % 6) as i32, seq);
            }
        }
        let elapsed = start.elapsed();
        for (_, p) in l.producers() {
            assert_eq!((p.acked.range_count(), p.consumed.range_count()), (1, 1));
            assert_eq!(p.range_count(), 2);
        }
        let v = l.verdict();
        assert!(
            v.ok && v.acked == 10_000_000 && v.consumed_unique == 10_000_000,
            "{v}"
        );
        eprintln!("10M records audited in {elapsed:?}");
    }

    #[test]
    fn another_groups_unread_records_are_the_acks_it_never_consumed() {
        let mut run = Ledger::default();
        for seq in 0..10 {
            run.on_ack(0, seq);
            run.on_ack(1, seq);
        }
        let mut cold = Ledger::default();
        assert_eq!(run.unread_by(&cold), 20);
        for seq in 0..10 {
            cold.on_delivered(0, 0, seq as i64, seq);
        }
        cold.on_delivered(1, 1, 0, 3);
        assert_eq!(run.unread_by(&cold), 9);
        assert_eq!(
            cold.unread_by(&run),
            0,
            "nothing acked in the reader's own ledger"
        );
    }
}
