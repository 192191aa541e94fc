//! What the polled metadata says a fault did to replication: per partition, when its ISR first
//! shrank after the fault and when it was whole again, and how often its leader changed (each
//! change is a new leader epoch; changes closer together than the ~100 ms poll are counted as
//! one).

use std::collections::BTreeMap;

use super::observe::MetadataTimeline;
use super::report::FailoverMetrics;
use crate::kafka::metadata::PartitionInfo;
use crate::names::BrokerId;

/// Fill in the ISR and leader-change figures of `m` from the samples in `(fired_us, end_us)`.
pub fn replication(m: &mut FailoverMetrics, md: &MetadataTimeline, fired_us: u64, end_us: u64) {
    let secs = |t: u64| (t.saturating_sub(fired_us)) as f64 / 1e6;
    let before = md.at(fired_us);
    let mut last_leader: BTreeMap<i32, Option<BrokerId>> = before
        .map(|s| {
            s.partitions
                .iter()
                .map(|p| (p.partition, p.leader))
                .collect()
        })
        .unwrap_or_default();
    let mut last_epoch: BTreeMap<i32, Option<i32>> = before
        .map(|s| {
            (s.partitions.iter())
                .map(|p| (p.partition, p.leader_epoch))
                .collect()
        })
        .unwrap_or_default();
    // A partition already short of replicas when the fault fired shrank because of something
    // earlier: only its return to a whole ISR belongs to this fault.
    let mut short: BTreeMap<i32, bool> = before
        .map(|s| {
            (s.partitions.iter())
                .map(|p| (p.partition, p.isr.len() < p.replicas.len()))
                .collect()
        })
        .unwrap_or_default();
    for s in md.after(fired_us).take_while(|s| s.t_us < end_us) {
        for p in &s.partitions {
            let shrunk = p.isr.len() < p.replicas.len();
            let was_short = short.insert(p.partition, shrunk).unwrap_or(false);
            if shrunk && !was_short && !m.isr_shrunk_s.contains_key(&p.partition) {
                m.isr_shrunk_s.insert(p.partition, secs(s.t_us));
            }
            if !shrunk && was_short && !m.isr_expanded_s.contains_key(&p.partition) {
                m.isr_expanded_s.insert(p.partition, secs(s.t_us));
            }
            let prev = last_leader.insert(p.partition, p.leader);
            let prev_epoch = last_epoch.insert(p.partition, p.leader_epoch);
            let n = changes(prev.flatten(), prev_epoch.flatten(), p);
            if n > 0 {
                *m.leader_changes.entry(p.partition).or_default() += n;
            }
            if p.leader.is_none() {
                last_leader.insert(p.partition, prev.flatten());
            }
        }
    }
}

/// Leader changes between two observations of a partition: the epochs' difference where both
/// are known (exact, even for changes between two polls), else 1 if another broker leads now.
/// A partition without a leader for a moment and then the same leader again has not changed.
fn changes(prev_leader: Option<BrokerId>, prev_epoch: Option<i32>, now: &PartitionInfo) -> u32 {
    match (prev_epoch, now.leader_epoch) {
        (Some(a), Some(b)) => b.saturating_sub(a).max(0) as u32,
        _ => u32::from(now.leader.is_some() && prev_leader.is_some_and(|l| Some(l) != now.leader)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::observe::Sample;

    fn sample(t_s: u64, leader: Option<u32>, isr: &[u32]) -> Sample {
        Sample {
            t_us: t_s * 1_000_000,
            brokers: vec![1, 2, 3],
            partitions: vec![PartitionInfo {
                partition: 0,
                leader,
                replicas: vec![1, 2, 3],
                isr: isr.to_vec(),
                leader_epoch: None,
            }],
        }
    }

    #[test]
    fn shrink_expand_and_leader_changes_are_timed_from_the_fault() {
        let md = MetadataTimeline {
            samples: vec![
                sample(10, Some(1), &[1, 2, 3]),
                sample(12, Some(1), &[1, 2, 3]),
                sample(19, None, &[2, 3]),
                sample(20, Some(2), &[2, 3]),
                sample(40, Some(2), &[2, 3, 1]),
                sample(50, Some(1), &[2, 3, 1]),
            ],
        };
        let mut m = FailoverMetrics::default();
        replication(&mut m, &md, 11_000_000, 45_000_000);
        assert_eq!(m.isr_shrunk_s[&0], 8.0);
        assert_eq!(m.isr_expanded_s[&0], 29.0);
        assert_eq!(
            m.leader_changes[&0], 1,
            "the change at 50 s is outside the window"
        );

        // Fired while the ISR was already short: no shrink of its own, only the return.
        let mut m = FailoverMetrics::default();
        replication(&mut m, &md, 20_000_000, 45_000_000);
        assert!(m.isr_shrunk_s.is_empty());
        assert_eq!(m.isr_expanded_s[&0], 20.0);
    }

    #[test]
    fn leader_epochs_count_changes_between_polls_too() {
        let mut a = sample(10, Some(1), &[1, 2, 3]);
        a.partitions[0].leader_epoch = Some(4);
        let mut b = sample(12, Some(1), &[1, 2, 3]);
        // Moved to 2 and back to 1 between two polls: two new epochs, same leader.
        b.partitions[0].leader_epoch = Some(6);
        let md = MetadataTimeline {
            samples: vec![a, b],
        };
        let mut m = FailoverMetrics::default();
        replication(&mut m, &md, 11_000_000, 20_000_000);
        assert_eq!(m.leader_changes[&0], 2);
    }
}
