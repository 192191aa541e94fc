//! The ack timelines of a distributed load's shards joined into one, as if one producer fleet
//! had written them all: a partition was without acks only while *every* shard that wrote to
//! it was, so the joined gaps are the intersections of the shards' gaps (each shard moved onto
//! the coordinator's clock first); failure times are pooled. A shard hands its timeline over
//! in `acks.json` beside its results.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::observe::{AckTimeline, Gap, GAP_MIN_US};

/// The file a shard's ack timeline is written to, in its run directory.
pub const FILE_NAME: &str = "acks.json";

impl AckTimeline {
    /// Writes the timeline to `dir/acks.json`.
    pub fn write_file(&self, dir: &Path) -> Result<()> {
        crate::json_file::write(dir, FILE_NAME, self)
    }

    /// Reads `dir/acks.json`.
    pub fn read_file(dir: &Path) -> Result<AckTimeline> {
        crate::json_file::read(dir, FILE_NAME, "a kbench ack timeline")
    }

    /// The same timeline with every time moved by `by_us` (a shard's clock onto the
    /// coordinator's; times before the origin become 0).
    pub fn shifted(mut self, by_us: i64) -> AckTimeline {
        let mv = |t: u64| (t as i64 + by_us).max(0) as u64;
        let mv_gaps = |gaps: &mut Vec<Gap>| {
            for g in gaps {
                (g.from_us, g.to_us) = (mv(g.from_us), mv(g.to_us));
            }
        };
        mv_gaps(&mut self.gaps_any);
        self.gaps.values_mut().for_each(mv_gaps);
        self.failures.iter_mut().for_each(|t| *t = mv(*t));
        self.last_any = self.last_any.map(mv);
        self.last.values_mut().for_each(|t| *t = mv(*t));
        self
    }

    /// One timeline for all of `shards` (already on one clock).
    pub fn joined(shards: Vec<AckTimeline>) -> AckTimeline {
        let mut out = AckTimeline::default();
        let partitions: std::collections::BTreeSet<i32> =
            shards.iter().flat_map(|s| s.last.keys().copied()).collect();
        for p in partitions {
            let writers = shards.iter().filter(|s| s.last.contains_key(&p));
            let lists: Vec<&[Gap]> = writers
                .map(|s| s.gaps.get(&p).map_or(&[][..], Vec::as_slice))
                .collect();
            let gaps = intersect_all(&lists);
            if !gaps.is_empty() {
                out.gaps.insert(p, gaps);
            }
        }
        let writers: Vec<&[Gap]> = (shards.iter())
            .filter(|s| s.last_any.is_some())
            .map(|s| s.gaps_any.as_slice())
            .collect();
        out.gaps_any = intersect_all(&writers);
        out.last_any = shards.iter().filter_map(|s| s.last_any).max();
        out.last = last_per_partition(&shards);
        out.failures = shards
            .iter()
            .flat_map(|s| s.failures.iter().copied())
            .collect();
        out.failures.sort_unstable();
        out.failures_not_kept = shards.iter().map(|s| s.failures_not_kept).sum();
        out
    }
}

fn last_per_partition(shards: &[AckTimeline]) -> BTreeMap<i32, u64> {
    let mut last = BTreeMap::new();
    for s in shards {
        for (&p, &t) in &s.last {
            let slot = last.entry(p).or_insert(t);
            *slot = (*slot).max(t);
        }
    }
    last
}

/// The stretches inside a gap of every list (each sorted and disjoint), those at least
/// `GAP_MIN_US` long; no list means no gap.
fn intersect_all(lists: &[&[Gap]]) -> Vec<Gap> {
    let Some((first, rest)) = lists.split_first() else {
        return Vec::new();
    };
    let mut acc: Vec<Gap> = first.to_vec();
    for list in rest {
        acc = intersect(&acc, list);
    }
    acc.retain(|g| g.len_us() >= GAP_MIN_US);
    acc
}

fn intersect(a: &[Gap], b: &[Gap]) -> Vec<Gap> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let from_us = a[i].from_us.max(b[j].from_us);
        let to_us = a[i].to_us.min(b[j].to_us);
        if from_us < to_us {
            out.push(Gap { from_us, to_us });
        }
        if a[i].to_us < b[j].to_us {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acks on partition 0 every 10 ms over [0, 10 s), except during `silent`.
    fn timeline(silent: std::ops::Range<u64>) -> AckTimeline {
        let mut t = AckTimeline::default();
        for ms in (0..10_000).step_by(10) {
            let us = ms * 1000;
            if !silent.contains(&us) {
                t.on_ack(0, us);
            }
        }
        t
    }

    #[test]
    fn a_partition_is_down_only_while_every_shard_saw_it_down() {
        let a = timeline(2_000_000..5_000_000);
        let b = timeline(3_000_000..6_000_000);
        let joined = AckTimeline::joined(vec![a, b]);
        let gaps = &joined.gaps[&0];
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].from_us, gaps[0].to_us), (2_990_000, 5_000_000));
        assert_eq!(joined.gaps_any, *gaps);
    }

    #[test]
    fn one_shard_that_kept_getting_acks_means_no_gap() {
        let joined = AckTimeline::joined(vec![timeline(2_000_000..5_000_000), timeline(0..0)]);
        assert!(joined.gaps.is_empty() && joined.gaps_any.is_empty());
    }

    #[test]
    fn shifting_moves_gaps_and_failures_onto_the_other_clock() {
        let mut t = timeline(2_000_000..3_000_000);
        t.on_failure(2_500_000);
        let moved = t.shifted(-1_000_000);
        assert_eq!(moved.gaps[&0][0].from_us, 990_000);
        assert_eq!(moved.failures, vec![1_500_000]);
        let joined = AckTimeline::joined(vec![moved.clone(), moved]);
        assert_eq!(joined.failures.len(), 2);
    }
}
