//! A run as one shard of a distributed load: it offers 1/N of every producer's rate under
//! producer ids of its own, starts its load at the agreed barrier instant (its clock's origin
//! is put whole seconds before it, so the merged seconds line up exactly), and leaves the
//! reading, the faults and the objectives to whoever merges the shards: a shard only produces.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::wiring::RunClock;
use crate::report::shard::{Shard, ShardInfo};
use crate::scenario::Scenario;

/// Which shard this run is, and when the load starts (wall clock, ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    /// Which shard.
    pub shard: Shard,
    /// The agreed start of the load.
    pub barrier_wall_ms: u64,
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
        let barrier_s = self.barrier_wall_ms.saturating_sub(now_ms).div_ceil(1000);
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

    /// What the shard's results say of it: how far its load start (`start`, from its origin)
    /// fell from the barrier's second.
    pub(super) fn info(&self, start: Duration, barrier_s: u64) -> ShardInfo {
        let offset = start.as_secs_f64() - barrier_s as f64;
        ShardInfo {
            shard: self.shard,
            barrier_wall_ms: self.barrier_wall_ms,
            start_offset_ms: offset * 1000.0,
        }
    }
}

/// The run's clock and, for a shard, its plan and the barrier's second on that clock.
pub(super) struct Timing {
    pub clock: RunClock,
    part: Option<(ShardPlan, u64)>,
}

impl Timing {
    /// A clock that starts now, or a shard's clock set on its barrier.
    pub(super) fn start(part: Option<ShardPlan>) -> Timing {
        match part {
            None => Timing {
                clock: RunClock::start(),
                part: None,
            },
            Some(plan) => {
                let (clock, barrier_s) = plan.clock();
                Timing {
                    clock,
                    part: Some((plan, barrier_s)),
                }
            }
        }
    }

    /// When the load starts and this run's part of it: the whole load, or a shard's.
    pub(super) fn window(&self, sc: &Scenario) -> super::LoadWindow {
        let now = self.clock.origin.elapsed();
        match self.part {
            None => super::LoadWindow::plan(sc, super::load_start(now), None),
            Some((plan, barrier_s)) => {
                let start = plan.load_start(now, barrier_s);
                super::LoadWindow::plan(sc, start, Some(plan.shard))
            }
        }
    }

    /// What a shard's results say of it; `None` for a whole run.
    pub(super) fn shard_info(&self, load_start: Duration) -> Option<ShardInfo> {
        self.part
            .map(|(plan, barrier_s)| plan.info(load_start, barrier_s))
    }
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
        assert_eq!(plan.info(start, barrier_s).start_offset_ms, 0.0);
    }

    #[test]
    fn a_shard_past_its_barrier_starts_late_and_says_by_how_much() {
        let plan = ShardPlan {
            shard: Shard { index: 0, of: 2 },
            barrier_wall_ms: now_ms().saturating_sub(2_500),
        };
        let (clock, barrier_s) = plan.clock();
        assert_eq!(barrier_s, 0);
        let start = plan.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(start, Duration::from_secs(3));
        assert_eq!(plan.info(start, barrier_s).start_offset_ms, 3000.0);
        let close = ShardPlan {
            barrier_wall_ms: now_ms() + 50,
            ..plan
        };
        let (clock, barrier_s) = close.clock();
        assert_eq!(barrier_s, 1);
        let start = close.load_start(clock.origin.elapsed(), barrier_s);
        assert_eq!(close.info(start, barrier_s).start_offset_ms, 1000.0);
    }
}
