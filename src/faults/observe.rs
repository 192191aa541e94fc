//! What the run observes while faults happen: when acks arrive per partition (gaps are the
//! unavailability windows), when deliveries fail, and the topic's leaders, ISRs and live brokers
//! polled from cluster metadata about every 100 ms. Only changes and long gaps are kept, so
//! memory does not grow with the record count.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::kafka::metadata::{MetadataClient, PartitionInfo};
use crate::names::BrokerId;

/// Gaps shorter than this are normal batching, not unavailability.
pub const GAP_MIN_US: u64 = 100_000;
/// Failure timestamps kept (the count beyond is still reported).
const MAX_FAILURE_TIMES: usize = 100_000;

/// A stretch longer than `GAP_MIN_US` without acks, in µs since the run's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Time of the last ack before the gap.
    pub from_us: u64,
    /// Time of the first ack after it, or the end of the load if none came.
    pub to_us: u64,
}

impl Gap {
    /// Length of the gap, µs.
    pub fn len_us(&self) -> u64 {
        self.to_us - self.from_us
    }
}

/// When the run's producers got acks and failures, kept as gaps and failure times.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckTimeline {
    pub(super) last_any: Option<u64>,
    pub(super) last: BTreeMap<i32, u64>,
    /// Gaps without any ack on any partition.
    pub gaps_any: Vec<Gap>,
    /// Gaps per partition.
    pub gaps: BTreeMap<i32, Vec<Gap>>,
    /// Times of failed deliveries (first `MAX_FAILURE_TIMES`).
    pub failures: Vec<u64>,
    /// Failed deliveries beyond the first `MAX_FAILURE_TIMES`: counted, not timed.
    pub failures_not_kept: u64,
}

impl AckTimeline {
    /// Notes an ack on `partition` at `t_us` (µs since the run's origin), recording the
    /// gap before it if it was longer than `GAP_MIN_US`.
    pub fn on_ack(&mut self, partition: i32, t_us: u64) {
        if let Some(prev) = self.last_any {
            if t_us > prev + GAP_MIN_US {
                self.gaps_any.push(Gap {
                    from_us: prev,
                    to_us: t_us,
                });
            }
        }
        self.last_any = Some(self.last_any.map_or(t_us, |p| p.max(t_us)));
        let last = self.last.entry(partition).or_insert(t_us);
        if t_us > *last + GAP_MIN_US {
            self.gaps.entry(partition).or_default().push(Gap {
                from_us: *last,
                to_us: t_us,
            });
        }
        *last = (*last).max(t_us);
    }

    /// Notes a failed delivery at `t_us` (µs since the run's origin).
    pub fn on_failure(&mut self, t_us: u64) {
        if self.failures.len() < MAX_FAILURE_TIMES {
            self.failures.push(t_us);
        } else {
            self.failures_not_kept += 1;
        }
    }

    /// Close gaps still open at `end_us` (a partition that never got an ack again).
    pub fn finish(&mut self, end_us: u64) {
        if let Some(prev) = self.last_any {
            if end_us > prev + GAP_MIN_US {
                self.gaps_any.push(Gap {
                    from_us: prev,
                    to_us: end_us,
                });
            }
        }
        for (p, last) in &self.last {
            if end_us > last + GAP_MIN_US {
                self.gaps.entry(*p).or_default().push(Gap {
                    from_us: *last,
                    to_us: end_us,
                });
            }
        }
        self.failures.sort_unstable();
    }
}

/// One metadata observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the metadata was read, µs since the run's origin.
    pub t_us: u64,
    /// Ids of the live brokers the metadata listed.
    pub brokers: Vec<BrokerId>,
    /// Leader, replicas and ISR of each partition of the run's topic.
    pub partitions: Vec<PartitionInfo>,
}

impl Sample {
    /// How many partitions have fewer in-sync replicas than replicas.
    pub fn under_replicated(&self) -> usize {
        self.partitions
            .iter()
            .filter(|p| p.under_replicated())
            .count()
    }

    /// Leader of `partition`; `None` if it has none or is not in the sample.
    pub fn leader_of(&self, partition: i32) -> Option<BrokerId> {
        self.partitions
            .iter()
            .find(|p| p.partition == partition)
            .and_then(|p| p.leader)
    }
}

/// Metadata samples, kept only when something changed.
#[derive(Debug, Default, Clone)]
pub struct MetadataTimeline {
    /// Samples in time order, each different from the one before.
    pub samples: Vec<Sample>,
}

impl MetadataTimeline {
    /// The last sample taken at or before `t_us`.
    pub fn at(&self, t_us: u64) -> Option<&Sample> {
        self.samples.iter().rev().find(|s| s.t_us <= t_us)
    }

    /// Samples taken strictly after `t_us`, in time order.
    pub fn after(&self, t_us: u64) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |s| s.t_us > t_us)
    }
}

/// Poll `topic`'s metadata every `period` until `cancel`led, recording changes; one more look
/// is taken once cancelled, so the state the run stopped on (a cluster found healed) is in
/// the timeline even when it came between two polls.
pub fn poll_metadata(
    brokers: &crate::kafka::Brokers,
    topic: &str,
    origin: Instant,
    period: Duration,
    cancel: &Cancel,
) -> MetadataTimeline {
    let mut tl = MetadataTimeline::default();
    let Ok(client) = MetadataClient::new(brokers) else {
        return tl;
    };
    let each = each_broker(brokers);
    loop {
        let last = cancel.is_cancelled();
        let next = Instant::now() + period;
        let seen = match &each {
            Some(addrs) => freshest_view(addrs, topic),
            None => client.snapshot(topic, Duration::from_millis(1000)).ok(),
        };
        if let Some((brokers, partitions)) = seen {
            let t_us = origin.elapsed().as_micros() as u64;
            let changed = tl
                .samples
                .last()
                .is_none_or(|s| s.brokers != brokers || s.partitions != partitions);
            if changed && !partitions.is_empty() {
                tl.samples.push(Sample {
                    t_us,
                    brokers,
                    partitions,
                });
            }
        }
        if last {
            return tl;
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// The brokers to ask one by one, when kbench can speak to them itself (plaintext); `None`
/// leaves the asking to librdkafka.
fn each_broker(brokers: &crate::kafka::Brokers) -> Option<Vec<String>> {
    let plain = brokers.security.protocol == crate::security::Protocol::Plaintext;
    let addrs: Vec<String> = brokers
        .bootstrap
        .split(',')
        .map(|a| a.trim().to_string())
        .collect();
    (plain && addrs.len() > 1).then_some(addrs)
}

/// Every broker asked at once; the freshest answer (highest leader epochs) is the cluster's view.
fn freshest_view(addrs: &[String], topic: &str) -> Option<(Vec<BrokerId>, Vec<PartitionInfo>)> {
    use crate::kafka::wire_metadata::{ask, freshest};
    let views = std::thread::scope(|s| {
        let asks: Vec<_> = (addrs.iter())
            .map(|a| s.spawn(move || ask(a, topic, Duration::from_millis(400)).ok()))
            .collect();
        asks.into_iter()
            .filter_map(|h| h.join().ok().flatten())
            .collect()
    });
    freshest(views).map(|v| (v.brokers, v.partitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_found_per_partition_and_overall() {
        let mut t = AckTimeline::default();
        for ms in [0, 10, 20] {
            t.on_ack(0, ms * 1000);
            t.on_ack(1, ms * 1000 + 5);
        }
        // Partition 0 stalls for 2 s; partition 1 keeps going: no overall gap.
        for ms in (30..2000).step_by(10) {
            t.on_ack(1, ms * 1000);
        }
        t.on_ack(0, 2_020_000);
        t.finish(2_050_000);
        assert_eq!(
            t.gaps[&0],
            vec![Gap {
                from_us: 20_000,
                to_us: 2_020_000
            }]
        );
        assert!(!t.gaps.contains_key(&1));
        assert!(t.gaps_any.is_empty());
        // Everything stops: an overall gap, closed at the end of the run.
        t.finish(3_000_000);
        assert_eq!(t.gaps_any.last().unwrap().to_us, 3_000_000);
    }
}
