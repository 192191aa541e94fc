//! Open-loop rate schedule: the intended send time of every record (`Schedule`) for a constant
//! rate, steps or a ramp, computed exactly from the record's index so nothing drifts. Pacing
//! against a clock lives in `pace`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Highest rate one producer may be asked for. Beyond it the generator cannot keep up anyway,
/// and the bound keeps the fixed-point integration below inside `u128`.
pub const MAX_RATE: f64 = 1e9;

/// A rate change: from offset `at` (since the load starts) the rate is `rate` records/s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// When this rate takes effect, as an offset from the start of the schedule.
    pub at: Duration,
    /// Records/s from `at` until the next step.
    pub rate: f64,
}

/// Offered load of ONE producer in records/second over time; the caller splits a total rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RateProfile {
    /// The same rate throughout.
    Constant {
        /// Records/s.
        rate: f64,
    },
    /// Sorted by `at`; the rate is 0 before the first step, and the last step's rate holds on.
    Steps(Vec<Step>),
    /// Linear from `from` to `to` over `over`, then `to` for the rest of the run.
    Ramp {
        /// Rate at the start, records/s.
        from: f64,
        /// Rate reached after `over` and held for the rest of the run, records/s.
        to: f64,
        /// How long the ramp lasts, from the start of the schedule.
        over: Duration,
    },
}

impl RateProfile {
    /// Checks the profile; each message names the field and what would be accepted.
    pub fn validate(&self) -> Result<(), String> {
        let (none_positive, rates): (&str, Vec<(String, f64)>) = match self {
            Self::Constant { rate } => ("rate: must be positive", vec![("rate".into(), *rate)]),
            Self::Steps(s) => {
                let named = s.iter().enumerate();
                (
                    "steps: at least one step needs a positive rate",
                    named
                        .map(|(i, s)| (format!("steps[{i}].rate"), s.rate))
                        .collect(),
                )
            }
            Self::Ramp { from, to, .. } => (
                "ramp: from or to must be positive",
                vec![("ramp from".into(), *from), ("ramp to".into(), *to)],
            ),
        };
        for (what, rate) in &rates {
            if !rate.is_finite() || *rate < 0.0 {
                return Err(format!(
                    "{what} = {rate}: give a finite rate in records/s, >= 0"
                ));
            }
            if *rate > MAX_RATE {
                return Err(format!(
                    "{what} = {rate}/s is over the per-producer limit of {MAX_RATE}/s; \
                     use more producers"
                ));
            }
        }
        if !rates.iter().any(|(_, rate)| *rate > 0.0) {
            return Err(none_positive.into());
        }
        match self {
            Self::Steps(s) => match s.windows(2).position(|w| w[1].at <= w[0].at) {
                Some(i) => Err(format!(
                    "steps[{}].at = {:?} is not after steps[{i}].at = {:?}; \
                     list steps in strictly increasing time order",
                    i + 1,
                    s[i + 1].at,
                    s[i].at
                )),
                None => Ok(()),
            },
            Self::Ramp { over, .. } if over.is_zero() => {
                Err("ramp over = 0: a ramp needs a positive duration".into())
            }
            _ => Ok(()),
        }
    }
}

/// A profile that failed `RateProfile::validate`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid rate profile: {0}")]
pub struct InvalidProfile(pub String);

/// Integration is done in fixed point so that times are exact and never drift: rates in
/// nano-records/s (exact for any rate written with up to 9 decimals) times nanoseconds gives
/// units of 1e-18 record.
const RECORD: u128 = 1_000_000_000_000_000_000;

fn nano_rate(rate: f64) -> u128 {
    // Validated finite, in [0, MAX_RATE]: the product fits and the cast cannot saturate.
    (rate * 1e9).round() as u128
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone)]
enum Shape {
    Flat(u128),
    Ramp { from: f64, to: f64, over_ns: u64 },
}

/// `Segment(start_ns, w_start, shape)`: a piece of the profile from `start_ns`, by which time
/// `w_start` records (in `RECORD` units) are due. Record k belongs to the last segment with
/// `w_start <= k * RECORD`; a zero-rate segment shares its `w_start` with the next one, so it
/// is only chosen when the rate stays 0 for good.
#[derive(Debug, Clone)]
struct Segment(u64, u128, Shape);

fn segments(profile: &RateProfile) -> Vec<Segment> {
    match profile {
        RateProfile::Constant { rate } => vec![Segment(0, 0, Shape::Flat(nano_rate(*rate)))],
        RateProfile::Steps(steps) => {
            let mut out = vec![Segment(0, 0, Shape::Flat(0))];
            let (mut w, mut prev_at, mut prev_rate) = (0u128, 0u64, 0u128);
            for s in steps {
                let at = nanos(s.at).max(prev_at);
                w = w.saturating_add(prev_rate.saturating_mul(u128::from(at - prev_at)));
                (prev_at, prev_rate) = (at, nano_rate(s.rate));
                out.push(Segment(at, w, Shape::Flat(prev_rate)));
            }
            out
        }
        RateProfile::Ramp { from, to, over } => {
            let over_ns = nanos(*over);
            let (f, t) = (nano_rate(*from), nano_rate(*to));
            let w_ramp = (f + t).saturating_mul(u128::from(over_ns)) / 2;
            let (from, to) = (*from, *to);
            let ramp = Segment(0, 0, Shape::Ramp { from, to, over_ns });
            vec![ramp, Segment(over_ns, w_ramp, Shape::Flat(t))]
        }
    }
}

/// Exact intended time (ns) of record `k`, or `None` if the rate is 0 from there on.
fn time_of(segs: &[Segment], k: u64) -> Option<u64> {
    let target = u128::from(k) * RECORD;
    let i = segs.partition_point(|s| s.1 <= target).checked_sub(1)?;
    let Segment(start_ns, w_start, ref shape) = *segs.get(i)?;
    let into = target - w_start;
    let offset = match *shape {
        Shape::Flat(0) => return None,
        Shape::Flat(rate) => u64::try_from(into / rate).ok()?,
        Shape::Ramp { from, to, over_ns } => {
            // Solve from*t + (to-from)/(2*over)*t^2 = n for t, in the form that stays stable
            // when the quadratic term vanishes (from == to) or the rate starts at 0.
            let n = into as f64 / RECORD as f64;
            let a = (to - from) / (2.0 * (over_ns as f64 / 1e9));
            let denom = from + (from * from + 4.0 * a * n).max(0.0).sqrt();
            let secs = if denom > 0.0 { 2.0 * n / denom } else { 0.0 };
            ((secs * 1e9).floor() as u64).min(over_ns)
        }
    };
    start_ns.checked_add(offset)
}

/// The intended send offsets of records k = 0, 1, 2, ... of one producer, up to `duration`.
///
/// Every time is computed from k (never by adding a float step), so a constant rate r gives
/// exactly `floor(k * 1e9 / r)` ns at any k; steps and ramps place record k where the integral
/// of the rate reaches k.
#[derive(Debug, Clone)]
pub struct Schedule {
    segments: Vec<Segment>,
    count: u64,
    next_k: u64,
    last: Duration,
}

impl Schedule {
    /// For a profile already checked with `validate` (the scenario loader does). An invalid
    /// profile gives an empty schedule rather than a panic; use `try_new` to get the reason.
    pub fn new(profile: RateProfile, duration: Duration) -> Self {
        Self::try_new(profile, duration).unwrap_or_else(|_| Self::from_segments(Vec::new(), 0))
    }

    /// Like `new`, but an invalid profile is an error saying what is wrong.
    pub fn try_new(profile: RateProfile, duration: Duration) -> Result<Self, InvalidProfile> {
        profile.validate().map_err(InvalidProfile)?;
        Ok(Self::from_segments(segments(&profile), nanos(duration)))
    }

    fn from_segments(segments: Vec<Segment>, end_ns: u64) -> Self {
        let fits = |k: u64| time_of(&segments, k).is_some_and(|t| t < end_ns);
        // Rates are at most 1e9/s, so record k is never before k ns: the count is at most
        // end_ns. Binary search on the function the iterator uses keeps them equal.
        let (mut lo, mut hi) = (0u64, end_ns);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Self {
            segments,
            count: lo,
            next_k: 0,
            last: Duration::ZERO,
        }
    }

    /// Number of records the schedule yields in total.
    pub fn expected_count(&self) -> u64 {
        self.count
    }

    /// Intended offset of record `k` (random access), `None` if it falls at or after `duration`.
    pub fn intended_at(&self, k: u64) -> Option<Duration> {
        if k >= self.count {
            return None;
        }
        time_of(&self.segments, k).map(Duration::from_nanos)
    }

    /// Next record's (sequence, intended offset).
    pub fn next_indexed(&mut self) -> Option<(u64, Duration)> {
        let k = self.next_k;
        // Float rounding in a ramp must never make time run backwards.
        let t = self.intended_at(k)?.max(self.last);
        self.next_k += 1;
        self.last = t;
        Some((k, t))
    }

    /// Next record's intended offset, without its sequence; `None` once done.
    pub fn next_intended(&mut self) -> Option<Duration> {
        self.next_indexed().map(|(_, t)| t)
    }
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.next_intended()
    }
}

#[cfg(test)]
impl RateProfile {
    /// Instantaneous rate at offset `t`, records/s.
    fn rate_at(&self, t: Duration) -> f64 {
        match self {
            Self::Constant { rate } => *rate,
            Self::Steps(steps) => {
                let current = steps.iter().take_while(|s| s.at <= t).last();
                current.map_or(0.0, |s| s.rate)
            }
            Self::Ramp { to, over, .. } if t >= *over => *to,
            Self::Ramp { from, to, over } => {
                from + (to - from) * (t.as_secs_f64() / over.as_secs_f64())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn times(p: RateProfile, secs: u64) -> Vec<Duration> {
        sched(p, secs).collect()
    }
    fn sched(p: RateProfile, secs: u64) -> Schedule {
        Schedule::try_new(p, Duration::from_secs(secs)).expect("valid profile")
    }
    fn constant(rate: f64) -> RateProfile {
        RateProfile::Constant { rate }
    }
    fn steps(s: &[(u64, f64)]) -> RateProfile {
        RateProfile::Steps(
            s.iter()
                .map(|&(at, rate)| Step { at: ms(at), rate })
                .collect(),
        )
    }
    fn ramp(from: f64, to: f64, secs: u64) -> RateProfile {
        RateProfile::Ramp {
            from,
            to,
            over: Duration::from_secs(secs),
        }
    }
    #[test]
    fn constant_rate_is_exact_without_drift() {
        let three = times(constant(3.0), 10);
        assert_eq!(
            three[..4],
            [0, 333_333_333, 666_666_666, 1_000_000_000].map(Duration::from_nanos)
        );
        assert_eq!(three.len(), 30);
        let million = sched(constant(1e6), 1);
        assert_eq!(million.expected_count(), 1_000_000);
        assert_eq!(million.clone().count(), 1_000_000);
        assert_eq!(million.last(), Some(Duration::from_nanos(999_999_000)));
        let far = sched(constant(7.0), 200_000_000).intended_at(1_000_000_000);
        assert_eq!(far, Some(Duration::from_nanos(142_857_142_857_142_857)));
        // A decimal rate is taken as written: 0.1/s is exactly one record per 10 s.
        let slow = sched(constant(0.1), 100);
        assert_eq!(
            [slow.intended_at(3), slow.intended_at(10)],
            [Some(ms(30_000)), None]
        );
    }

    #[test]
    fn steps_integrate_the_rate() {
        let t = times(
            steps(&[(0, 100.0), (1000, 1e3), (3000, 0.0), (4000, 10.0)]),
            5,
        );
        let within = |a, b| t.iter().filter(|t| (ms(a)..ms(b)).contains(t)).count();
        let counts =
            [(0, 1000), (1000, 3000), (3000, 4000), (4000, 5000)].map(|(a, b)| within(a, b));
        assert_eq!(counts, [100, 2000, 0, 10]);
        assert_eq!(times(steps(&[(500, 2.0)]), 2), [500, 1000, 1500].map(ms));
        // 2.5/s for 1 s owes half a record at the step, paid at the new rate of 1/s.
        let carry = times(steps(&[(0, 2.5), (1000, 1.0)]), 3);
        assert_eq!(carry, [0, 400, 800, 1500, 2500].map(ms));
        assert_eq!(
            times(steps(&[(0, 1.0), (2000, 0.0)]), 60),
            [0, 1000].map(ms)
        );
    }

    #[test]
    fn ramp_count_is_the_area() {
        let up = times(ramp(0.0, 1000.0, 10), 10);
        assert!(up.len().abs_diff(5000) <= 1, "{}", up.len());
        assert!(up.windows(2).all(|w| w[0] <= w[1]));
        let then_flat = times(ramp(100.0, 1000.0, 10), 20);
        let on_ramp = then_flat.iter().filter(|t| **t < ms(10_000)).count();
        assert!(on_ramp.abs_diff(5500) <= 1, "{on_ramp}");
        assert!(then_flat.len().abs_diff(15_500) <= 1, "{}", then_flat.len());
        let down = sched(ramp(200.0, 0.0, 10), 60).expected_count();
        assert!(down.abs_diff(1000) <= 1, "{down}");
        let p = ramp(100.0, 300.0, 10);
        assert_eq!([p.rate_at(ms(5000)), p.rate_at(ms(60_000))], [200.0, 300.0]);
        assert_eq!(steps(&[(1000, 5.0)]).rate_at(ms(999)), 0.0);
    }

    #[test]
    fn invalid_profiles_are_refused_with_a_reason() {
        let cases = [
            (constant(0.0), "positive"),
            (constant(f64::NAN), "finite"),
            (constant(-1.0), "finite"),
            (constant(2e9), "limit"),
            (steps(&[]), "positive"),
            (steps(&[(0, 0.0)]), "positive"),
            (steps(&[(1000, 1.0), (1000, 2.0)]), "steps[1].at"),
            (ramp(0.0, 0.0, 1), "positive"),
            (ramp(1.0, 2.0, 0), "positive duration"),
        ];
        for (p, needle) in cases {
            let err = p.validate().expect_err("invalid");
            assert!(err.contains(needle), "{err}");
            assert!(Schedule::try_new(p.clone(), ms(1000)).is_err());
            assert_eq!(Schedule::new(p, ms(1000)).count(), 0);
        }
    }
}
