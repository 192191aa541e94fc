//! What the polled metadata says a fault did to replication: per partition, when its ISR first
//! shrank after the fault and when it was whole again, and how often its leader changed (each
//! change is a new leader epoch; changes closer together than the ~100 ms poll are counted as
//! one).

use std::collections::BTreeMap;

use super::observe::MetadataTimeline;
use super::report::FailoverMetrics;

/// Fill in the ISR and leader-change figures of `m` from the samples in `(fired_us, end_us)`.
pub fn replication(m: &mut FailoverMetrics, md: &MetadataTimeline, fired_us: u64, end_us: u64) {
    let secs = |t: u64| (t.saturating_sub(fired_us)) as f64 / 1e6;
    let before = md.at(fired_us);
    let mut last_leader: BTreeMap<i32, Option<u32>> = before
        .map(|s| {
            s.partitions
                .iter()
                .map(|p| (p.partition, p.leader))
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
            // A partition without a leader for a moment and then the same leader again has not
            // changed leader; only a different broker counts.
            if p.leader.is_some() && prev.flatten().is_some_and(|l| Some(l) != p.leader) {
                *m.leader_changes.entry(p.partition).or_default() += 1;
            }
            if p.leader.is_none() {
                last_leader.insert(p.partition, prev.flatten());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::observe::Sample;
    use crate::kafka::metadata::PartitionInfo;

    fn sample(t_s: u64, leader: Option<u32>, isr: &[u32]) -> Sample {
        Sample {
            t_us: t_s * 1_000_000,
            brokers: vec![1, 2, 3],
            partitions: vec![PartitionInfo {
                partition: 0,
                leader,
                replicas: vec![1, 2, 3],
                isr: isr.to_vec(),
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
}
