//! Pacing a `Schedule` against a clock: `Clock` (real or virtual), the `Pacer` that releases
//! records on time, catches up back-to-back when the generator falls behind, and accounts for the
//! lag so a saturated generator is reported instead of silently slowing the offered load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::schedule::{nanos, Schedule};

/// Lag above which a slot counts as "behind" in `LagStats::behind_count`.
pub const BEHIND_LAG: Duration = Duration::from_millis(1);
/// Lag above which a slot counts as late for the saturation rule.
pub const SATURATION_LAG: Duration = Duration::from_millis(10);
/// Saturated if more than this fraction of slots were late by over `SATURATION_LAG`...
pub const SATURATION_LATE_FRACTION: f64 = 0.01;
/// ...or if the last slot released was still behind by more than this (never caught up).
pub const SATURATION_FINAL_LAG: Duration = Duration::from_millis(100);

/// Time as offsets from one run origin, so every send, ack and fault shares one clock.
pub trait Clock {
    /// Time since the clock's origin.
    fn now(&self) -> Duration;
    /// Returns once `now() >= t`, immediately if `t` is already past.
    fn sleep_until(&self, t: Duration);
}

/// A clock for tests: time moves only through `sleep_until` and `advance` (a slow send).
#[derive(Debug, Default)]
pub struct VirtualClock {
    now_ns: AtomicU64,
}

impl VirtualClock {
    /// A virtual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `d`, as a slow send would.
    pub fn advance(&self, d: Duration) {
        self.now_ns.fetch_add(nanos(d), Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_ns.load(Ordering::SeqCst))
    }

    fn sleep_until(&self, t: Duration) {
        self.now_ns.fetch_max(nanos(t), Ordering::SeqCst);
    }
}

/// One record released by the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The record's sequence number in the schedule, from 0.
    pub seq: u64,
    /// When the schedule wants the record sent, on the pacer's clock.
    pub intended: Duration,
    /// When the pacer released it, on the same clock.
    pub actual: Duration,
    /// `actual - intended`, never negative.
    pub lag: Duration,
}

/// Send-lag accounting of one pacer (or several, merged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LagStats {
    /// Largest lag of any slot.
    pub max_lag: Duration,
    /// Slots released with lag > `BEHIND_LAG`.
    pub behind_count: u64,
    /// Slots released with lag > `SATURATION_LAG`.
    pub late_count: u64,
    /// Lag of the most recent slot.
    pub last_lag: Duration,
    /// Slots released.
    pub total: u64,
}

impl LagStats {
    /// Accounts for one slot released `lag` after its intended time.
    pub fn record(&mut self, lag: Duration) {
        self.max_lag = self.max_lag.max(lag);
        self.behind_count += u64::from(lag > BEHIND_LAG);
        self.late_count += u64::from(lag > SATURATION_LAG);
        self.last_lag = lag;
        self.total += 1;
    }

    /// Combines producers; the final lag becomes the worst final lag.
    pub fn merge(&mut self, other: &LagStats) {
        self.max_lag = self.max_lag.max(other.max_lag);
        self.behind_count += other.behind_count;
        self.late_count += other.late_count;
        self.last_lag = self.last_lag.max(other.last_lag);
        self.total += other.total;
    }

    /// The generator could not keep up: more than `SATURATION_LATE_FRACTION` of slots were
    /// released over `SATURATION_LAG` late, or the last slot was still over
    /// `SATURATION_FINAL_LAG` behind. A single short stall that is caught up is not saturation.
    pub fn saturated(&self) -> bool {
        self.total > 0
            && (self.late_count as f64 > SATURATION_LATE_FRACTION * self.total as f64
                || self.last_lag > SATURATION_FINAL_LAG)
    }
}

/// Releases the records of a `Schedule` at their intended times on a `Clock`.
///
/// When behind, it returns at once (catch-up, back to back): it never skips a record and never
/// re-bases the schedule, so the offered load is exactly the profile's and lateness shows up as
/// lag, not as a quietly lower rate.
#[derive(Debug)]
pub struct Pacer<C: Clock> {
    schedule: Schedule,
    clock: C,
    stats: LagStats,
}

impl<C: Clock> Pacer<C> {
    /// Paces `schedule` on `clock`, from the schedule's first record.
    pub fn new(schedule: Schedule, clock: C) -> Self {
        Self {
            schedule,
            clock,
            stats: LagStats::default(),
        }
    }

    /// Lag accounting of the slots released so far.
    pub fn lag_stats(&self) -> LagStats {
        self.stats
    }

    /// Whether the generator has failed to keep up so far (see `LagStats::saturated`).
    pub fn saturated(&self) -> bool {
        self.stats.saturated()
    }

    /// The clock the pacer runs on.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C: Clock> Iterator for Pacer<C> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        let (seq, intended) = self.schedule.next_indexed()?;
        let mut actual = self.clock.now();
        if actual < intended {
            self.clock.sleep_until(intended);
            actual = self.clock.now();
        }
        let lag = actual.saturating_sub(intended);
        self.stats.record(lag);
        Some(Slot {
            seq,
            intended,
            actual,
            lag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::RateProfile;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn pacer(rate: f64, secs: u64) -> Pacer<VirtualClock> {
        let s = Schedule::try_new(RateProfile::Constant { rate }, Duration::from_secs(secs))
            .expect("valid profile");
        Pacer::new(s, VirtualClock::new())
    }
    /// Slot `seq` meant for `intended` ms, released at `actual` ms.
    fn slot(seq: u64, intended: u64, actual: u64) -> Option<Slot> {
        let (intended, actual) = (ms(intended), ms(actual));
        Some(Slot {
            seq,
            intended,
            actual,
            lag: actual - intended,
        })
    }

    #[test]
    fn catch_up_after_a_stall_skips_nothing() {
        let mut p = pacer(1000.0, 1);
        (0..=10).for_each(|k| assert_eq!(p.next(), slot(k, k, k)));
        p.clock().advance(ms(50)); // sending record 10 took 50 ms
        (11..=60).for_each(|k| assert_eq!(p.next(), slot(k, k, 60)));
        assert_eq!(p.next(), slot(61, 61, 61));
        let st = p.lag_stats();
        let got = (st.max_lag, st.behind_count, st.late_count, st.total);
        assert_eq!(got, (ms(49), 48, 39, 62));
        assert_eq!(p.count(), 1000 - 62);
    }

    #[test]
    fn saturation_rule() {
        // One 50 ms stall in a 10 s run is caught up: lagging, but not saturated.
        let mut p = pacer(1000.0, 10);
        assert_eq!(p.by_ref().take(100).count(), 100);
        p.clock().advance(ms(50));
        assert_eq!(p.by_ref().count(), 9900);
        assert!(p.lag_stats().late_count > 0 && !p.saturated());
        // Each send takes 2 ms at 1000/s: lag grows without bound.
        let mut slow = pacer(1000.0, 1);
        while slow.next().is_some() {
            slow.clock().advance(ms(2));
        }
        assert!(slow.saturated() && slow.lag_stats().last_lag > ms(900));
        // A stall just before the end is never caught up.
        let mut end = pacer(1000.0, 100);
        assert_eq!(end.by_ref().take(99_999).count(), 99_999);
        end.clock().advance(ms(150));
        assert_eq!(end.next(), slot(99_999, 99_999, 100_148));
        assert!(end.next().is_none() && end.lag_stats().late_count == 1 && end.saturated());
        let mut merged = p.lag_stats();
        merged.merge(&end.lag_stats());
        assert!(merged.saturated());
    }
}
