//! Failover metrics per fault, computed after the run from what was observed: ack gaps, failure
//! times, metadata samples, the per-second series and the before / during / after phases. Each
//! fault's window runs from its firing to the next fault (or the end of the load).

use std::collections::BTreeMap;
use std::time::Duration;

use super::evidence::Evidence;
use super::observe::{AckTimeline, MetadataTimeline};
use super::plan::{Action, FaultSpec};
use super::report::{FailoverMetrics, FaultReport};
use crate::metrics::{PhaseSpan, PhaseSummary, SecondRow};
use crate::names::{BrokerId, FaultStage, Phase};

/// Longest "during" phase when a fault has no scheduled recovery.
const DURING_DEFAULT: Duration = Duration::from_secs(30);
/// How far back the "before" phase and the pre-fault throughput mean reach.
const BEFORE: Duration = Duration::from_secs(30);
const PRE_FAULT_MEAN_SECONDS: u64 = 10;
/// Throughput counts as recovered at this fraction of the pre-fault mean.
const RECOVERED_FRACTION: f64 = 0.9;

/// Before / during / after phases of each fault from the plan's scheduled times (offsets from
/// load start; `measured_from` is where the warm-up ends). Empty phases are left out.
pub fn fault_phases(
    plan: &[FaultSpec],
    load_start: Duration,
    measured_from: Duration,
    total: Duration,
) -> Vec<PhaseSpan> {
    let us = |d: Duration| (load_start + d).as_micros() as u64;
    let mut out = Vec::new();
    for (k, f) in plan.iter().enumerate() {
        let next = plan.get(k + 1).map_or(total, |n| n.at.max(f.at));
        let during_end = f.recovers_at().unwrap_or(f.at + DURING_DEFAULT).min(next);
        // Not before the warm-up ends, nor before the previous fault is over.
        let prev_end = match k {
            0 => Duration::ZERO,
            _ => plan[k - 1].recovers_at().unwrap_or(plan[k - 1].at),
        };
        let before_start = f.at.saturating_sub(BEFORE).max(measured_from).max(prev_end);
        for (stage, from, to) in [
            (FaultStage::Before, before_start, f.at),
            (FaultStage::During, f.at, during_end),
            (FaultStage::After, during_end, next),
        ] {
            if to > from {
                out.push(PhaseSpan {
                    name: Phase::of_fault(f.index, stage),
                    from_us: us(from),
                    to_us: us(to),
                });
            }
        }
    }
    out
}

/// What the run observed, for measuring its faults.
pub struct Observed<'a> {
    /// Ack and failure times per partition, with the gaps between acks.
    pub acks: &'a AckTimeline,
    /// Leaders, ISRs and live brokers as polled during the run.
    pub metadata: &'a MetadataTimeline,
    /// The per-second series (acked throughput).
    pub series: &'a [SecondRow],
    /// Phase statistics, including each fault's before / during / after.
    pub phases: &'a [PhaseSummary],
    /// When the load started (s since the origin).
    pub load_start_s: f64,
    /// When the load ended (s since the origin).
    pub load_end_s: f64,
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

fn throughput(series: &[SecondRow], fired_s: f64, load_start_s: f64) -> (f64, Option<f64>) {
    let fs = fired_s.floor() as u64;
    let first_full = load_start_s.ceil() as u64;
    let pre: Vec<u64> = series
        .iter()
        .filter(|r| r.t + PRE_FAULT_MEAN_SECONDS >= fs && r.t < fs && r.t >= first_full)
        .map(|r| r.acked)
        .collect();
    if pre.is_empty() {
        return (0.0, None);
    }
    let mean = pre.iter().sum::<u64>() as f64 / pre.len() as f64;
    let floor = mean * RECOVERED_FRACTION;
    let after: Vec<&SecondRow> = series.iter().filter(|r| r.t >= fs).collect();
    let Some(dip) = after.iter().take(10).position(|r| (r.acked as f64) < floor) else {
        return (mean, Some(0.0));
    };
    let back = after[dip..].iter().find(|r| r.acked as f64 >= floor);
    (mean, back.map(|r| (r.t as f64 - fired_s).max(0.0)))
}

/// `window_end_s` bounds what the load saw (acks, failures); `meta_end_s` bounds the cluster's
/// recovery, which is watched past the end of the load until the cluster has healed.
fn metrics_for(
    r: &FaultReport,
    window_end_s: f64,
    meta_end_s: f64,
    o: &Observed<'_>,
) -> FailoverMetrics {
    let fired_us = (r.fired_s * 1e6) as u64;
    let window = (fired_us, (window_end_s * 1e6) as u64);
    let mut m = FailoverMetrics::default();
    ack_gaps(&mut m, o, window);
    super::isr::replication(&mut m, o.metadata, fired_us, (meta_end_s * 1e6) as u64);
    // A node brought back (or healed) was not the one whose partitions moved away.
    let takes_part = !matches!(
        r.action,
        Action::Start | Action::Resume | Action::Restart | Action::Heal
    );
    if let Some(node) = r.node.filter(|_| takes_part) {
        m.leader_reelection_s = reelections(o, node, fired_us);
    }
    let (mean, recovery) = throughput(o.series, r.fired_s, o.load_start_s);
    m.pre_fault_ack_rate = mean;
    m.throughput_recovery_s = recovery;
    under_replication(&mut m, o, fired_us, (meta_end_s * 1e6) as u64);
    for stage in [FaultStage::Before, FaultStage::During, FaultStage::After] {
        let phase = Phase::of_fault(r.index, stage);
        if let Some(ph) = o.phases.iter().find(|p| p.name == phase) {
            if stage == FaultStage::During {
                m.errors = ph.errors.clone();
            }
            m.latency.insert(stage.to_string(), ph.latency.clone());
        }
    }
    m
}

/// Longest ack gaps overlapping `(fired, end)` µs, overall and per partition, and the first
/// failure or stall after the fault.
fn ack_gaps(m: &mut FailoverMetrics, o: &Observed<'_>, (fired_us, end_us): (u64, u64)) {
    let overlaps = |g: &&super::observe::Gap| g.to_us > fired_us && g.from_us < end_us;
    m.longest_ack_gap_s = o
        .acks
        .gaps_any
        .iter()
        .filter(overlaps)
        .map(|g| secs(g.len_us()))
        .fold(0.0, f64::max);
    for (p, gaps) in &o.acks.gaps {
        if let Some(g) = gaps
            .iter()
            .filter(overlaps)
            .map(|g| secs(g.len_us()))
            .reduce(f64::max)
        {
            m.partition_ack_gaps_s.insert(*p, g);
        }
    }
    let first_failure = o
        .acks
        .failures
        .iter()
        .find(|t| **t >= fired_us && **t < end_us)
        .copied();
    let first_stall = o
        .acks
        .gaps
        .values()
        .flatten()
        .filter(overlaps)
        .map(|g| g.from_us.max(fired_us))
        .min();
    m.first_error_after_s = first_failure
        .into_iter()
        .chain(first_stall)
        .min()
        .map(|t| secs(t - fired_us));
}

/// For each partition `node` led when the fault fired: how long until another broker led it.
fn reelections(o: &Observed<'_>, node: BrokerId, fired_us: u64) -> BTreeMap<i32, f64> {
    let mut out = BTreeMap::new();
    let Some(before) = o.metadata.at(fired_us) else {
        return out;
    };
    for p in before.partitions.iter().filter(|p| p.leader == Some(node)) {
        let moved = o
            .metadata
            .after(fired_us)
            .find(|s| s.leader_of(p.partition).is_some_and(|l| l != node));
        if let Some(s) = moved {
            out.insert(p.partition, secs(s.t_us - fired_us));
        }
    }
    out
}

/// Peak under-replicated partitions after the fault and when they were back to zero.
fn under_replication(m: &mut FailoverMetrics, o: &Observed<'_>, fired_us: u64, meta_end_us: u64) {
    let in_window: Vec<_> = o
        .metadata
        .after(fired_us)
        .filter(|s| s.t_us < meta_end_us)
        .collect();
    m.max_under_replicated = in_window
        .iter()
        .map(|s| s.under_replicated())
        .max()
        .unwrap_or(0);
    if m.max_under_replicated > 0 {
        let peak = in_window
            .iter()
            .position(|s| s.under_replicated() > 0)
            .unwrap_or(0);
        m.under_replicated_cleared_after_s = in_window[peak..]
            .iter()
            .find(|s| s.under_replicated() == 0)
            .map(|s| secs(s.t_us - fired_us));
    }
}

/// What the cluster itself said about a node taken down: when it dropped out of the metadata
/// (unregistered or fenced), or that it never did before coming back. The same evidence for
/// every backend, including clusters whose processes kbench cannot see.
fn left_metadata(node: BrokerId, r: &FaultReport, o: &Observed<'_>) -> Evidence {
    let fired_us = (r.fired_s * 1e6) as u64;
    let until_us = r.recovered_s.map_or(u64::MAX, |b| (b * 1e6) as u64);
    match o
        .metadata
        .after(fired_us)
        .take_while(|s| s.t_us <= until_us)
        .find(|s| !s.brokers.contains(&node))
    {
        Some(s) => Evidence::Unregistered {
            node,
            after_s: secs(s.t_us - fired_us),
            action: r.action,
        },
        None => Evidence::StayedRegistered { node },
    }
}

/// Fill in `metrics` and `rejoined_s` of every fault that fired.
pub fn analyze(reports: &mut [FaultReport], o: &Observed<'_>) {
    let fired: Vec<f64> = reports.iter().map(|r| r.fired_s).collect();
    for r in reports.iter_mut().filter(|r| r.fired_s > 0.0) {
        let next = fired
            .iter()
            .copied()
            .filter(|t| *t > r.fired_s)
            .fold(f64::INFINITY, f64::min);
        r.metrics = Some(metrics_for(r, next.min(o.load_end_s), next, o));
        if let Some(node) = r
            .node
            .filter(|_| matches!(r.action, Action::Kill | Action::Stop | Action::Pause))
        {
            r.evidence.push(left_metadata(node, r, o));
        }
        if let (Some(node), Some(back)) = (r.node, r.recovered_s) {
            let back_us = (back * 1e6) as u64;
            r.rejoined_s = o
                .metadata
                .after(back_us)
                .find(|s| s.brokers.contains(&node))
                .map(|s| secs(s.t_us));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::observe::{Gap, Sample};
    use crate::faults::plan::{Action, Target};
    use crate::kafka::metadata::PartitionInfo;

    fn row(t: u64, acked: u64) -> SecondRow {
        SecondRow {
            t,
            acked,
            sent: acked,
            ..Default::default()
        }
    }

    fn sample(t_s: f64, leader0: i32, isr0: &[u32], brokers: &[u32]) -> Sample {
        Sample {
            t_us: (t_s * 1e6) as u64,
            brokers: brokers.to_vec(),
            partitions: vec![PartitionInfo {
                partition: 0,
                leader: u32::try_from(leader0).ok(),
                replicas: vec![1, 2, 3],
                isr: isr0.to_vec(),
                leader_epoch: None,
            }],
        }
    }

    #[test]
    fn phases_follow_the_plan() {
        let f = |i, at, rec: Option<u64>| FaultSpec {
            index: i,
            at: Duration::from_secs(at),
            action: Action::Kill,
            target: Target::Leader(0),
            recover_after: rec.map(Duration::from_secs),
            net: None,
        };
        let ph = fault_phases(
            &[f(0, 40, Some(20)), f(1, 100, None)],
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(180),
        );
        let names: Vec<String> = ph.iter().map(|p| p.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "fault 1 before",
                "fault 1 during",
                "fault 1 after",
                "fault 2 before",
                "fault 2 during",
                "fault 2 after"
            ]
        );
        assert_eq!((ph[0].from_us, ph[0].to_us), (11_000_000, 41_000_000));
        assert_eq!((ph[1].from_us, ph[1].to_us), (41_000_000, 61_000_000));
        assert_eq!((ph[2].from_us, ph[2].to_us), (61_000_000, 101_000_000));
        assert_eq!(
            ph[3].from_us, 71_000_000,
            "before starts after the previous recovery, 30 s back at most"
        );
        assert_eq!(ph[4].to_us, 131_000_000, "no recovery: 30 s during");
    }

    #[test]
    fn measures_a_leader_kill() {
        let mut acks = AckTimeline::default();
        acks.gaps_any.push(Gap {
            from_us: 20_000_000,
            to_us: 22_500_000,
        });
        acks.gaps.insert(
            0,
            vec![Gap {
                from_us: 19_900_000,
                to_us: 23_000_000,
            }],
        );
        acks.failures.push(20_400_000);
        let metadata = MetadataTimeline {
            samples: vec![
                sample(1.0, 2, &[1, 2, 3], &[1, 2, 3]),
                sample(22.0, 3, &[3, 1], &[1, 3]),
                sample(40.0, 3, &[3, 1], &[1, 2, 3]),
                sample(45.0, 3, &[3, 1, 2], &[1, 2, 3]),
            ],
        };
        let mut series: Vec<SecondRow> = (1..60).map(|t| row(t, 1000)).collect();
        series[19] = row(20, 300);
        series[20] = row(21, 0);
        series[21] = row(22, 2500);
        let mut reports = vec![FaultReport {
            node: Some(2),
            fired_s: 20.0,
            recovered_s: Some(35.0),
            ..FaultReport::of(Action::Kill)
        }];
        let o = Observed {
            acks: &acks,
            metadata: &metadata,
            series: &series,
            phases: &[],
            load_start_s: 0.5,
            load_end_s: 60.0,
        };
        analyze(&mut reports, &o);
        let m = reports[0].metrics.as_ref().unwrap();
        assert_eq!(m.longest_ack_gap_s, 2.5);
        assert_eq!(m.partition_ack_gaps_s[&0], 3.1);
        assert!(
            (m.first_error_after_s.unwrap() - 0.0).abs() < 1e-9,
            "partition 0 stalled right at the kill"
        );
        assert_eq!(m.leader_reelection_s[&0], 2.0);
        assert_eq!(m.pre_fault_ack_rate, 1000.0);
        assert_eq!(m.throughput_recovery_s, Some(2.0));
        assert_eq!(m.max_under_replicated, 1);
        assert_eq!(m.under_replicated_cleared_after_s, Some(25.0));
        assert_eq!(reports[0].rejoined_s, Some(40.0));
    }
}
