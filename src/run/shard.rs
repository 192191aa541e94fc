//! Which part of a load a run is — the whole of it, one shard, or the coordinator of shards
//! an engine runs — and the clock that follows from it. A shard offers 1/N of every
//! producer's rate under producer ids of its own, starts its load at the agreed barrier
//! instant (its clock's origin is put whole seconds before it, so the merged seconds line up
//! exactly), and leaves the reading, the faults and the objectives to the coordinator: a
//! shard only produces. The coordinator does everything but produce, and sets the barrier far
//! enough ahead for its engine to start the shards.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::wiring::RunClock;
use crate::report::shard::{Distribution, Shard, ShardInfo, ShardRow};
use crate::scenario::Scenario;

/// Which shard this run is, and when the load starts (wall clock, ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    /// Which shard.
    pub shard: Shard,
    /// The agreed start of the load.
    pub barrier_wall_ms: u64,
    /// The coordinator's clock origin (whole seconds before the barrier): records carry their
    /// intended send time from the origin, so the coordinator's end-to-end latency needs the
    /// shards on its origin. `None`: whole seconds before the barrier, at least now.
    pub origin_wall_ms: Option<u64>,
}

/// Least time between the barrier and now for a shard to be on time: its producers' start-up
/// (the run's own load start keeps the same margin).
const MARGIN: Duration = Duration::from_millis(100);

impl ShardPlan {
    /// The scenario as this shard runs it: no consumers, cold groups, faults or objectives —
    /// those belong to the whole load, not to one part of it — and the topic kept as it is,
    /// since sibling shards write to it.
    pub(super) fn scenario(&self, sc: &Scenario) -> Scenario {
        let mut own = sc.clone();
        own.consumer.count = 0;
        own.consumer.cold.clear();
        own.faults.clear();
        own.slos.clear();
        own.recreate_topic = false;
        own
    }

    /// A clock whose origin lies whole seconds before the barrier and not after now, and the
    /// barrier's second on it.
    pub(super) fn clock(&self) -> (RunClock, u64) {
        let now = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let ahead_s = self.barrier_wall_ms.saturating_sub(now_ms).div_ceil(1000);
        let given = self.origin_wall_ms.filter(|o| *o <= self.barrier_wall_ms);
        let barrier_s = given.map_or(ahead_s, |o| (self.barrier_wall_ms - o) / 1000);
        let origin_wall_ms = self.barrier_wall_ms - barrier_s * 1000;
        let behind = Duration::from_millis(now_ms.saturating_sub(origin_wall_ms));
        let origin = now.checked_sub(behind).unwrap_or(now);
        let clock = RunClock {
            origin,
            wall_origin_ms: origin_wall_ms as i64,
        };
        (clock, barrier_s)
    }

    /// When the shard's load starts, from its origin (`now` since it): on the barrier's second
    /// if the producers still have their start-up margin before it; else late, on the next
    /// whole second that leaves it (the results then say how late, and the merge aligns the
    /// shard on the barrier all the same). Never early, and never a burst to catch up.
    pub(super) fn load_start(&self, now: Duration, barrier_s: u64) -> Duration {
        let barrier = Duration::from_secs(barrier_s);
        if now + MARGIN <= barrier {
            return barrier;
        }
        super::load_start(now)
    }

    /// What the shard's results say of it: how far its first send fell from the barrier — the
    /// whole seconds its load start (`start`, from its origin) lies past the barrier's second,
    /// and the first send's own delay past that start (`first_send`, its earliest producer's).
    pub(super) fn info(
        &self,
        start: Duration,
        barrier_s: u64,
        first_send: Option<Duration>,
    ) -> ShardInfo {
        let late = start.as_secs_f64() - barrier_s as f64;
        let first = first_send.unwrap_or_default().as_secs_f64();
        ShardInfo {
            shard: self.shard,
            barrier_wall_ms: self.barrier_wall_ms,
            start_offset_ms: (late + first) * 1000.0,
        }
    }
}

/// Which part of a load a run is.
pub enum Part {
    /// The whole load, produced and read by this run.
    Whole,
    /// One shard of a distributed load.
    Shard(ShardPlan),
    /// The coordinator of a distributed load: the cluster, the reading, the faults and the
    /// audit, while the engine's shards produce.
    Coordinator(super::remote::Remote),
}

impl Part {
    /// The engine's shards, for a coordinator.
    pub(super) fn remote(&mut self) -> Option<&mut super::remote::Remote> {
        match self {
            Part::Coordinator(r) => Some(r),
            _ => None,
        }
    }

    /// The shard this run is, if it is one.
    pub(super) fn shard(&self) -> Option<ShardPlan> {
        match self {
            Part::Shard(plan) => Some(*plan),
            _ => None,
        }
    }
}

/// The run's clock, and what its part makes of the load's start.
pub(super) struct Timing {
    pub clock: RunClock,
    start: Start,
}

enum Start {
    /// As soon as the producers can start.
    Soon,
    /// On the barrier's second of a shard's clock.
    Barrier(ShardPlan, u64),
    /// Far enough ahead for an engine to start the shards.
    After(Duration),
}

impl Timing {
    /// A clock that starts now, or a shard's clock set on its barrier.
    pub(super) fn start(part: &Part) -> Timing {
        let now = |start| Timing {
            clock: RunClock::start(),
            start,
        };
        match part {
            Part::Whole => now(Start::Soon),
            Part::Coordinator(r) => now(Start::After(r.lead())),
            Part::Shard(plan) => {
                let (clock, barrier_s) = plan.clock();
                let start = Start::Barrier(*plan, barrier_s);
                Timing { clock, start }
            }
        }
    }

    /// When the load starts and this run's part of it: the whole load, or a shard's.
    pub(super) fn window(&self, sc: &Scenario) -> super::LoadWindow {
        let now = self.clock.origin.elapsed();
        let plan = super::LoadWindow::plan;
        match self.start {
            Start::Soon => plan(sc, super::load_start(now), None),
            Start::After(lead) => plan(sc, super::load_start(now + lead), None),
            Start::Barrier(shard, barrier_s) => {
                plan(sc, shard.load_start(now, barrier_s), Some(shard.shard))
            }
        }
    }

    /// What the results say of the run's part, its load having started at `load_start` and
    /// its producers' first sends come when `producers` say.
    pub(super) fn part_info(
        &self,
        part: &Part,
        load_start: Duration,
        producers: &[crate::report::results::ProducerInfo],
    ) -> PartInfo {
        let first = (producers.iter().filter_map(|p| p.first_send_us)).min();
        PartInfo {
            shard: self.shard_info(load_start, first.map(Duration::from_micros)),
            distribution: self.distribution(part, load_start),
        }
    }

    /// What a shard's results say of it; `None` for any other run.
    fn shard_info(&self, load_start: Duration, first: Option<Duration>) -> Option<ShardInfo> {
        match self.start {
            Start::Barrier(plan, barrier_s) => Some(plan.info(load_start, barrier_s, first)),
            _ => None,
        }
    }

    /// What a coordinator's results say of its shards (their figures are the merge's to add).
    fn distribution(&self, part: &Part, load_start: Duration) -> Option<Distribution> {
        let Part::Coordinator(remote) = part else {
            return None;
        };
        let barrier_wall_ms = self.clock.wall_origin_ms as u64 + load_start.as_millis() as u64;
        let shards = (remote.ends().iter()).map(row_of).collect();
        Some(Distribution {
            shards_expected: remote.shards,
            shards,
            start_skew_ms: 0.0,
            barrier_wall_ms,
        })
    }
}

/// What a run's results say of its part in a distributed load.
pub(super) struct PartInfo {
    /// A shard's place and start.
    pub shard: Option<ShardInfo>,
    /// A coordinator's shards as its engine saw them end.
    pub distribution: Option<Distribution>,
}

impl PartInfo {
    /// A shard leaves the coordinator its ack timeline (closed at `end`) in `dir`.
    pub(super) fn hand_over(
        &self,
        dir: &std::path::Path,
        observers: &super::drive::FaultObservers,
        end: Duration,
    ) -> anyhow::Result<()> {
        match self.shard {
            Some(_) => observers.write_acks(dir, end),
            None => Ok(()),
        }
    }

    /// The audit's verdict as this run may give it: a shard reads nothing, so what it got
    /// acknowledged is the coordinator's to find, not lost.
    pub(super) fn verdict(
        &self,
        v: crate::audit::ledger::Verdict,
    ) -> crate::audit::ledger::Verdict {
        match self.shard {
            Some(_) => v.cut_short(),
            None => v,
        }
    }
}

/// A shard as its engine saw it end, before its own figures are read (the merge's part).
fn row_of(end: &super::remote::ShardEnd) -> ShardRow {
    let missing = match (&end.problem, &end.dir) {
        (Some(p), _) => Some(p.clone()),
        (None, None) => Some("ended without writing a run directory".into()),
        (None, Some(_)) => None,
    };
    let dir = (end.dir.as_ref()).map_or(String::new(), |d| d.display().to_string());
    ShardRow::bare(end.shard, dir, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    #[test]
    fn the_barrier_lies_on_a_whole_second_of_the_shards_clock() {
        let plan = ShardPlan {
            shard: Shard { index: 1, of: 3 },
            barrier_wall_ms: now_ms() + 2_345,
            origin_wall_ms: None,
        };
        let (clock, barrier_s) = plan.clock();
        assert_eq!(barrier_s, 3);
        assert_eq!(
            clock.wall_origin_ms as u64 + barrier_s * 1000,
            plan.barrier_wall_ms
        );
        assert!(clock.origin <= Instant::now());
        let start = plan.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(start, Duration::from_secs(3));
        assert_eq!(plan.info(start, barrier_s, None).start_offset_ms, 0.0);
    }

    #[test]
    fn a_shard_given_the_coordinators_origin_counts_from_it() {
        let barrier = now_ms() + 2_345;
        let plan = ShardPlan {
            shard: Shard { index: 0, of: 2 },
            barrier_wall_ms: barrier,
            origin_wall_ms: Some(barrier - 21_000),
        };
        let (clock, barrier_s) = plan.clock();
        assert_eq!(
            (clock.wall_origin_ms as u64, barrier_s),
            (barrier - 21_000, 21)
        );
        let start = plan.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(start, Duration::from_secs(21));
    }

    #[test]
    fn a_shard_past_its_barrier_starts_late_and_says_by_how_much() {
        let plan = ShardPlan {
            shard: Shard { index: 0, of: 2 },
            barrier_wall_ms: now_ms().saturating_sub(2_500),
            origin_wall_ms: None,
        };
        let (clock, barrier_s) = plan.clock();
        assert_eq!(barrier_s, 0);
        let start = plan.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(start, Duration::from_secs(3));
        assert_eq!(
            plan.info(start, barrier_s, Some(Duration::from_micros(2_500)))
                .start_offset_ms,
            3002.5
        );
        let close = ShardPlan {
            barrier_wall_ms: now_ms() + 50,
            ..plan
        };
        let (clock, barrier_s) = close.clock();
        assert_eq!(barrier_s, 1);
        let start = close.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(close.info(start, barrier_s, None).start_offset_ms, 1000.0);
    }
}
