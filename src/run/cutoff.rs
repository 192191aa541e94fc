//! A run cut short once its load has begun: the first thing that stopped it (a signal, or an
//! error), when, and how long what follows may still take. The first cause is the one reported;
//! later errors are only logged, since they usually follow from it. Without a cause the run is
//! whole and every wait keeps its normal bound.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::wiring::RunClock;
use crate::progress::Progress;
use crate::report::results::{AbortKind, Aborted};

/// Why the run is stopping early.
enum Cause {
    Signal(&'static str),
    Error(anyhow::Error),
}

/// The run's cut-off, if any.
pub(super) struct Cutoff {
    cause: Option<Cause>,
    /// When the run noticed (the drain's bound counts from here) and the wall clock then (µs).
    noticed: Option<(Instant, u64)>,
    /// `run.abort_drain`.
    bound: Duration,
}

fn wall_us() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.unwrap_or_default().as_micros() as u64
}

impl Cutoff {
    /// A whole run so far; once cut, what follows may take `bound`.
    pub fn new(bound: Duration) -> Cutoff {
        Cutoff {
            cause: None,
            noticed: None,
            bound,
        }
    }

    /// Cut the run for `e`, unless it was already cut (then `e` is only logged).
    pub fn error(&mut self, e: anyhow::Error, progress: &Progress) {
        if self.cause.is_none() {
            progress.note(&format!("stopping the run: {e:#}"));
        }
        self.error_since(e, Instant::now(), progress);
    }

    /// Like [`Cutoff::error`] for an error that already stopped the load at `at` (and was
    /// reported then): the bound counts from then, and results.json says when.
    pub fn error_since(&mut self, e: anyhow::Error, at: Instant, progress: &Progress) {
        if self.cause.is_some() {
            progress.note(&format!("also: {e:#}"));
            return;
        }
        let at_us = wall_us().saturating_sub(at.elapsed().as_micros() as u64);
        self.cause = Some(Cause::Error(e));
        self.noticed = Some((at, at_us));
    }

    /// Keep `r`'s value; its error cuts the run.
    pub fn keep<T>(&mut self, r: anyhow::Result<T>, progress: &Progress) -> Option<T> {
        r.map_err(|e| self.error(e, progress)).ok()
    }

    /// After the load: cut the run for what stopped the load (an error stopped it before any
    /// signal seen after it), else for a signal that came.
    pub fn after_load(&mut self, failure: Option<(anyhow::Error, Instant)>, progress: &Progress) {
        if let Some((e, at)) = failure {
            self.error_since(e, at, progress);
        }
        self.poll_signal();
    }

    /// Cut the run if a signal came, timed by the signal itself.
    pub fn poll_signal(&mut self) {
        if self.cause.is_some() || !crate::signals::requested() {
            return;
        }
        let name = crate::signals::first_name().unwrap_or("a signal");
        self.cut(
            Cause::Signal(name),
            crate::signals::first_at_us().unwrap_or_else(wall_us),
        );
    }

    fn cut(&mut self, cause: Cause, at_us: u64) {
        self.cause = Some(cause);
        self.noticed = Some((Instant::now(), at_us));
    }

    /// Whether the run was cut short.
    pub fn is_cut(&self) -> bool {
        self.cause.is_some()
    }

    /// Time a wait that began at `since` has left: `normal` from `since` for a whole run; for a
    /// run cut short, what is left of the bound since the cut, and nothing after a second signal.
    pub fn left(&self, normal: Duration, since: Instant) -> Duration {
        let Some((noticed, _)) = self.noticed else {
            return normal.saturating_sub(since.elapsed());
        };
        if crate::signals::hurry() {
            return Duration::ZERO;
        }
        let normal_end = since + normal;
        (noticed + self.bound)
            .min(normal_end)
            .saturating_duration_since(Instant::now())
    }

    /// What results.json says of the cut, with the load's start as an offset from the origin.
    pub fn aborted(&self, clock: &RunClock, load_start: Duration) -> Option<Aborted> {
        let cause = self.cause.as_ref()?;
        let (_, at_us) = self.noticed?;
        let (kind, reason) = match cause {
            Cause::Signal(name) => (AbortKind::Interrupted, (*name).to_string()),
            Cause::Error(e) => (AbortKind::Error, format!("{e:#}")),
        };
        let origin_us = clock.wall_origin_ms as f64 * 1000.0;
        let load_s = (at_us as f64 - origin_us) / 1e6 - load_start.as_secs_f64();
        Some(Aborted {
            kind,
            reason,
            at: crate::timefmt::utc_rfc3339(at_us / 1_000_000),
            load_s: load_s.max(0.0),
            drain_skipped: crate::signals::hurry(),
        })
    }
}
