//! The audit's outcome: how many records were lost, duplicated and reordered (with the first
//! of each), what was consumed without an ack, and — for a run cut short — what could not be
//! settled before the stop. Printed as the one-paragraph audit line of the summary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A consumed record whose sequence went backwards within one partition for one producer.
/// Field order makes the derived ordering (producer, seq), the order examples are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reorder {
    /// Producer the record came from.
    pub producer: u32,
    /// The sequence that arrived out of order.
    pub seq: u64,
    /// Partition it was consumed from.
    pub partition: i32,
    /// The sequence consumed just before it in that partition.
    pub previous_seq: u64,
}

/// Outcome of the audit. Example lists hold up to `MAX_EXAMPLES` entries, ordered by
/// (producer, seq).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Records the cluster acknowledged.
    pub acked: u64,
    /// Delivery reported failure.
    pub failed: u64,
    /// Distinct sequences consumed.
    pub consumed_unique: u64,
    /// Acked and never consumed.
    pub lost: u64,
    /// Distinct sequences consumed more than once.
    pub duplicated: u64,
    /// Extra deliveries beyond the first (a sequence seen three times counts 2).
    pub duplicate_deliveries: u64,
    /// First deliveries consumed after a higher sequence of their producer in the same partition.
    pub reordered: u64,
    /// Consumed but neither acked nor failed: legitimate under acks=all when the ack was lost
    /// to a timeout, so reported apart and not a failure.
    pub unexpected: u64,
    /// Reported failed yet consumed (retries, timeouts): not lost, but worth knowing.
    pub failed_but_delivered: u64,
    /// Lost records, as (producer, seq).
    pub first_lost: Vec<(u32, u64)>,
    /// Every lost record, as (producer, first sequence, last sequence) ranges: exactly which
    /// acknowledged records vanished (at most `MAX_LOST_RANGES` ranges; `lost` counts them all).
    #[serde(default)]
    pub lost_ranges: Vec<(u32, u64, u64)>,
    /// Records consumed more than once, as (producer, seq).
    pub first_duplicated: Vec<(u32, u64)>,
    /// Reordered records, each with the sequence consumed just before it.
    pub first_reordered: Vec<Reorder>,
    /// Records consumed but neither acked nor failed, as (producer, seq).
    pub first_unexpected: Vec<(u32, u64)>,
    /// Acked records not yet read back when a run cut short stopped reading: neither
    /// confirmed nor lost (`lost` counts only what a complete drain failed to find).
    #[serde(default)]
    pub unread: u64,
    /// Records read again at an offset already read (a consumer rewound to its last committed
    /// offset, e.g. after its group coordinator moved): at-least-once delivery, not duplicates
    /// in the log, so they do not fail the audit.
    #[serde(default)]
    pub redelivered: u64,
    /// Records sent whose delivery was still unanswered when the producers stopped waiting.
    #[serde(default)]
    pub in_flight: u64,
    /// False for a run cut short: its audit covers what was read back before the stop.
    #[serde(default = "complete_by_default")]
    pub complete: bool,
    /// `lost == 0 && duplicated == 0 && reordered == 0` on a complete audit; always false for
    /// an incomplete one (it cannot prove that nothing was lost).
    pub ok: bool,
}

fn complete_by_default() -> bool {
    true
}

impl Default for Verdict {
    /// The verdict of nothing: complete, nothing found.
    fn default() -> Self {
        Verdict {
            acked: 0,
            failed: 0,
            consumed_unique: 0,
            lost: 0,
            duplicated: 0,
            duplicate_deliveries: 0,
            reordered: 0,
            unexpected: 0,
            failed_but_delivered: 0,
            first_lost: Vec::new(),
            lost_ranges: Vec::new(),
            first_duplicated: Vec::new(),
            first_reordered: Vec::new(),
            first_unexpected: Vec::new(),
            unread: 0,
            redelivered: 0,
            in_flight: 0,
            complete: true,
            ok: true,
        }
    }
}

/// Lost ranges kept in a verdict; a run that loses more scattered records than this still
/// counts every one in `lost`.
pub const MAX_LOST_RANGES: usize = 1000;

impl Verdict {
    /// The verdict of a run cut short: acked records not read back yet are `unread`, not lost,
    /// since the drain that would have found them was cut.
    pub fn cut_short(mut self) -> Verdict {
        self.unread = self.lost;
        self.lost = 0;
        self.first_lost.clear();
        self.lost_ranges.clear();
        self.complete = false;
        self.ok = false;
        self
    }

    /// Acked-but-unread and unanswered records together: what an incomplete audit could not
    /// settle.
    pub fn unresolved(&self) -> u64 {
        self.unread + self.in_flight
    }
}

/// How many examples the one-paragraph summary names; the full list is in results.json.
const SHOWN: usize = 3;

fn first(total: u64, items: &[String]) -> String {
    let shown = items[..items.len().min(SHOWN)].join(", ");
    let more = if total > SHOWN as u64 { ", ..." } else { "" };
    format!(" (first: {shown}{more})")
}

fn seqs(items: &[(u32, u64)]) -> Vec<String> {
    items.iter().map(|(p, s)| format!("p{p}#{s}")).collect()
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (acked, consumed) = (self.acked, self.consumed_unique);
        if !self.complete {
            let (unread, in_flight) = (self.unread, self.in_flight);
            write!(
                f,
                "audit INCOMPLETE (run cut short): {acked} acked, {consumed} read back; {} \
                 unresolved ({unread} acked but not read back before the stop, {in_flight} \
                 awaiting their ack), none counted lost; {} duplicated, {} reordered",
                self.unresolved(),
                self.duplicated,
                self.reordered
            )?;
        } else if self.ok {
            let zeros = "0 lost, 0 duplicated, 0 reordered";
            write!(f, "audit OK: {acked} acked, {consumed} consumed, {zeros}")?;
        } else {
            let reorders: Vec<String> = (self.first_reordered.iter())
                .map(|r| {
                    let (p, seq, prev, part) = (r.producer, r.seq, r.previous_seq, r.partition);
                    format!("p{p}#{seq} after #{prev} in partition {part}")
                })
                .collect();
            let extra = self.duplicate_deliveries;
            let duplicated = if extra > self.duplicated {
                format!("duplicated ({extra} extra deliveries)")
            } else {
                "duplicated".into()
            };
            let problems = [
                (self.lost, "lost".into(), seqs(&self.first_lost)),
                (self.duplicated, duplicated, seqs(&self.first_duplicated)),
                (self.reordered, "reordered".into(), reorders),
            ];
            let text: Vec<String> = (problems.iter().filter(|p| p.0 > 0))
                .map(|(n, what, examples)| format!("{n} {what}{}", first(*n, examples)))
                .collect();
            let text = text.join(", ");
            write!(
                f,
                "audit FAILED: {text}; {acked} acked, {consumed} consumed"
            )?;
        }
        if self.failed > 0 {
            let (n, d) = (self.failed, self.failed_but_delivered);
            write!(f, "; {n} reported failed, {d} of them delivered anyway")?;
        }
        if self.redelivered > 0 {
            let n = self.redelivered;
            write!(f, "; {n} read again at offsets already read (consumer rewinds, not duplicates in the log)")?;
        }
        if self.unexpected > 0 {
            let n = self.unexpected;
            let examples = first(n, &seqs(&self.first_unexpected));
            write!(f, "; {n} consumed but never acked nor failed{examples}")?;
            write!(f, " (acks lost to timeouts?)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_short_audit_counts_unread_records_as_unresolved_not_lost() {
        let v = Verdict {
            acked: 100,
            consumed_unique: 90,
            lost: 10,
            first_lost: vec![(0, 95)],
            in_flight: 4,
            ok: false,
            ..Verdict::default()
        };
        let cut = v.cut_short();
        assert_eq!((cut.lost, cut.unread, cut.unresolved()), (0, 10, 14));
        assert!(!cut.ok && !cut.complete && cut.first_lost.is_empty());
        let text = cut.to_string();
        assert!(
            text.starts_with("audit INCOMPLETE (run cut short)"),
            "{text}"
        );
        assert!(
            text.contains("14 unresolved (10 acked but not read back"),
            "{text}"
        );
        assert!(
            Verdict::default().complete,
            "a whole run's audit is complete"
        );
    }
}
