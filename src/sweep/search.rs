//! The capacity search as pure logic: which rate to try next, and what the steps so far say.
//! Coarse steps up (each rate × `factor`) until a step fails, then bisection between the
//! highest passing rate and the lowest failing one until they are within `precision` of each
//! other, then the highest passing rate run again to confirm it and the lowest failing one
//! run again to check that it fails for good (a failure that does not repeat moves the edge
//! up and the search goes on from there). A step whose generator could
//! not offer its rate is inconclusive: it bounds what kbench can measure from above, never
//! counts as a pass, and an answer bounded by one says so instead of claiming a capacity. An
//! inconclusive step is run once more before it is believed.

use serde::{Deserialize, Serialize};

pub use crate::scenario::search::SearchSpec;

/// What one step showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Every objective held.
    Pass,
    /// These objectives failed (each with its measured value).
    Fail {
        /// The failed objectives, in words.
        failed: Vec<String>,
    },
    /// Nothing can be concluded: kbench's own generator could not offer the rate, or the step
    /// was cut short.
    Inconclusive {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Verdict {
    /// The verdict in a few words, for the progress line and tables.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Fail { failed } => write!(f, "fail: {}", failed.join("; ")),
            Verdict::Inconclusive { reason } => write!(f, "inconclusive: {reason}"),
        }
    }
}

/// Why a step was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Stepping up (or down) by `factor`.
    Coarse,
    /// Halving the interval between the highest pass and the lowest failure.
    Bisect,
    /// Running the highest passing rate again.
    Confirm,
    /// Running the lowest failing rate again.
    Recheck,
    /// One combination of a parameter sweep, at the scenario's own rate.
    Combination,
    /// Before the search: the cluster's JIT and caches warmed at the first rate; not judged.
    #[serde(rename = "warm-up")]
    WarmUp,
}

impl std::fmt::Display for Purpose {
    /// As `sweep.json` spells it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Purpose::Coarse => "coarse",
            Purpose::Bisect => "bisect",
            Purpose::Confirm => "confirm",
            Purpose::Recheck => "recheck",
            Purpose::Combination => "combination",
            Purpose::WarmUp => "warm-up",
        })
    }
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The edge is known to the precision asked and the highest pass was confirmed.
    Found,
    /// Even the highest rate allowed passed: the capacity is at least that.
    AtMax,
    /// The generator fell behind at the rate just above the highest pass: the cluster's
    /// capacity is at least that pass, maybe more.
    GeneratorLimit,
    /// Not even the lowest rate tried passed.
    NothingPasses,
    /// The highest pass failed when run again, more than once: the results are not repeatable.
    Unstable,
    /// The step or time budget ran out first.
    Budget,
    /// Cut short (a signal, or an error).
    Interrupted,
}

impl std::fmt::Display for Stop {
    /// Why the search ended, in a few words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Found => "capacity found",
            Stop::AtMax => "search.max passed",
            Stop::GeneratorLimit => "kbench's generator fell behind",
            Stop::NothingPasses => "nothing passed",
            Stop::Unstable => "results not repeatable",
            Stop::Budget => "step or time budget spent",
            Stop::Interrupted => "interrupted",
        })
    }
}

/// One step run.
#[derive(Debug, Clone, PartialEq)]
pub struct Tried {
    /// Target rate, records/s.
    pub rate: f64,
    /// Why it was run.
    pub purpose: Purpose,
    /// What it showed.
    pub verdict: Verdict,
}

/// What the steps so far say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The highest passing rate (confirmed when `stop` is `found`); `None` if none passed.
    pub capacity: Option<f64>,
    /// The lowest rate above it that failed or was inconclusive.
    pub next_up: Option<f64>,
    /// Whether `next_up` was inconclusive rather than failed.
    pub next_up_inconclusive: bool,
    /// How many of `next_up`'s steps failed or were inconclusive.
    #[serde(default)]
    pub next_up_failures: u32,
    /// How many times the capacity step passed when run again.
    pub confirmations: u32,
    /// `(next_up − capacity) / capacity`.
    pub precision: Option<f64>,
    /// Why the search ended (`None` while it goes on).
    pub stop: Option<Stop>,
}

/// The search's state; feed it each step's verdict.
#[derive(Debug, Clone)]
pub struct Search {
    spec: SearchSpec,
    steps: Vec<Tried>,
    stop: Option<Stop>,
    /// Confirmations of the current highest pass, and confirmations that failed.
    confirmed: u32,
    unconfirmed: u32,
}

/// Lowest rate the search steps down to before it gives up.
const FLOOR_DIVISOR: f64 = 16.0;
/// A highest pass that fails again this often makes the search give up.
const MAX_UNCONFIRMED: u32 = 2;

impl Search {
    /// A search that has run nothing yet.
    pub fn new(spec: SearchSpec) -> Search {
        Search {
            spec,
            steps: Vec::new(),
            stop: None,
            confirmed: 0,
            unconfirmed: 0,
        }
    }

    /// Every step so far, in order.
    pub fn steps(&self) -> &[Tried] {
        &self.steps
    }

    /// Each rate tried with the verdict of its latest step: a rate that passed and then failed
    /// its confirmation is a failure, one that was inconclusive and then passed is a pass.
    fn latest(&self) -> Vec<(f64, &Verdict)> {
        let mut out: Vec<(f64, &Verdict)> = Vec::new();
        for t in &self.steps {
            match out.iter_mut().find(|(r, _)| *r == t.rate) {
                Some(slot) => slot.1 = &t.verdict,
                None => out.push((t.rate, &t.verdict)),
            }
        }
        out
    }

    /// The highest passing rate below the lowest failure (a pass above a failure, which a
    /// noisy cluster can give, does not count).
    fn lo(&self) -> Option<f64> {
        let hi = self.hi().map_or(f64::INFINITY, |(r, _)| r);
        (self.latest().into_iter())
            .filter(|(r, v)| **v == Verdict::Pass && *r < hi)
            .map(|(r, _)| r)
            .reduce(f64::max)
    }

    /// The lowest rate that failed or was inconclusive, and whether it was inconclusive.
    fn hi(&self) -> Option<(f64, bool)> {
        (self.latest().into_iter())
            .filter(|(_, v)| **v != Verdict::Pass)
            .map(|(r, v)| (r, matches!(v, Verdict::Inconclusive { .. })))
            .reduce(|a, b| if b.0 < a.0 { b } else { a })
    }

    /// A rate whose step was inconclusive for the first time is run once more (a confirmation
    /// too, though the rate passed before): a generator starved for a moment (a JIT, another
    /// process) is not a generator that cannot offer the rate.
    fn retry(&self) -> Option<(f64, Purpose)> {
        let last = self.steps.last()?;
        let inconclusive = |t: &&Tried| matches!(t.verdict, Verdict::Inconclusive { .. });
        let tries = (self.steps.iter())
            .filter(|t| t.rate == last.rate)
            .filter(inconclusive)
            .count();
        (inconclusive(&last) && tries == 1).then_some((last.rate, last.purpose))
    }

    /// The next rate to run and why; `None` once the search has ended.
    pub fn next_step(&mut self) -> Option<(f64, Purpose)> {
        if self.stop.is_some() {
            return None;
        }
        if self.steps.len() as u32 >= self.spec.max_steps {
            self.stop = Some(Stop::Budget);
            return None;
        }
        if let Some(again) = self.retry() {
            return Some(again);
        }
        let step = match (self.lo(), self.hi()) {
            (None, None) => Some((self.spec.start, Purpose::Coarse)),
            (Some(lo), None) if lo >= self.spec.max => self.end(Stop::AtMax),
            (Some(lo), None) => Some(((lo * self.spec.factor).min(self.spec.max), Purpose::Coarse)),
            (None, Some((hi, _))) => {
                let down = hi / self.spec.factor;
                if down < self.spec.start / FLOOR_DIVISOR {
                    self.end(Stop::NothingPasses)
                } else {
                    Some((down, Purpose::Coarse))
                }
            }
            (Some(lo), Some((hi, inconclusive))) => self.narrow(lo, hi, inconclusive),
        };
        step.map(|(r, p)| (r.round().max(1.0), p))
    }

    fn narrow(&mut self, lo: f64, hi: f64, inconclusive: bool) -> Option<(f64, Purpose)> {
        if (hi - lo) / lo > self.spec.precision {
            return Some(((lo + hi) / 2.0, Purpose::Bisect));
        }
        if self.confirmed == 0 {
            return Some((lo, Purpose::Confirm));
        }
        if !inconclusive && self.failures(hi) == 1 {
            return Some((hi, Purpose::Recheck));
        }
        self.end(if inconclusive {
            Stop::GeneratorLimit
        } else {
            Stop::Found
        })
    }

    /// How many steps at `rate` failed (an inconclusive one says nothing of the cluster).
    fn failures(&self, rate: f64) -> u32 {
        (self.steps.iter())
            .filter(|t| t.rate == rate && matches!(t.verdict, Verdict::Fail { .. }))
            .count() as u32
    }

    fn end(&mut self, why: Stop) -> Option<(f64, Purpose)> {
        self.stop = Some(why);
        None
    }

    /// What step `rate`, run for `purpose`, showed.
    pub fn record(&mut self, rate: f64, purpose: Purpose, verdict: Verdict) {
        let passed = verdict == Verdict::Pass;
        let lo_before = self.lo();
        self.steps.push(Tried {
            rate,
            purpose,
            verdict,
        });
        let inconclusive = matches!(
            self.steps.last().map(|t| &t.verdict),
            Some(Verdict::Inconclusive { .. })
        );
        match (purpose, passed) {
            (Purpose::Confirm, true) => self.confirmed += 1,
            // Not a failure to repeat: the generator could not say (retried once, then the
            // rate counts as the generator's limit, not the cluster's).
            (Purpose::Confirm, false) if inconclusive => self.confirmed = 0,
            (Purpose::Confirm, false) => {
                // The highest pass did not repeat: it is now a failure, the search narrows
                // below it, and a new highest pass needs its own confirmation.
                self.confirmed = 0;
                self.unconfirmed += 1;
                if self.unconfirmed > MAX_UNCONFIRMED {
                    self.stop = Some(Stop::Unstable);
                }
            }
            // A new highest pass needs its own confirmation.
            (_, true) if self.lo() != lo_before => self.confirmed = 0,
            _ => {}
        }
    }

    /// End the search from outside (time budget, signal).
    pub fn stop(&mut self, why: Stop) {
        self.stop.get_or_insert(why);
    }

    /// What the steps so far say.
    pub fn answer(&self) -> Answer {
        let lo = self.lo();
        let hi = self.hi();
        Answer {
            capacity: lo,
            next_up: hi.map(|h| h.0),
            next_up_inconclusive: hi.is_some_and(|h| h.1),
            next_up_failures: hi.map_or(0, |h| self.failures(h.0)),
            confirmations: self.confirmed,
            precision: lo.zip(hi).map(|(l, (h, _))| (h - l) / l),
            stop: self.stop,
        }
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
