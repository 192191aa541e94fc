//! The per-thread `Recorder` and the one-second `Interval` it hands to the aggregator.
//!
//! A recorder is owned by exactly one producer or consumer thread, so recording takes no lock and
//! allocates nothing: one histogram per kind is reused for the whole run. Once per second (on
//! `tick`, or on the first event of a later second) the filled histograms are cloned into an
//! `Interval`, reset, and sent over a channel. That costs one copy and one clear of each non-empty
//! histogram (~190 KB each): about 50 µs per second with all five kinds filled (release build,
//! `record_cost` test), while the per-record path stays a compare and an hdrhistogram increment
//! (about 7 ns).
//!
//! # Which second an event belongs to
//!
//! Intervals are keyed by the second of the event time (`at_us / 1 s`). An event in a *later*
//! second closes the current interval and opens that second's. An event in an *earlier* second
//! (an ack timestamped just before the tick that closed its second, then recorded after it) goes
//! into the current interval — the earlier interval has already been sent — and the interval's
//! `start_us` moves back to that event's time. The aggregator writes `start_us` as the .hlog
//! interval's start timestamp, so the log's time range always covers every value in it; nothing
//! is re-dated.

use std::sync::mpsc::Sender;

use hdrhistogram::Histogram;

use super::{new_histogram, Counter, Kind, HIGHEST_US, SECOND_US};

/// What one source measured in one second.
#[derive(Debug, Clone)]
pub struct Interval {
    /// The sending recorder, e.g. "producer-0"; for diagnostics.
    pub source: String,
    /// Second index since the run origin.
    pub second: u64,
    /// Earliest event time in this interval: `second * 1 s`, or earlier when events from a
    /// previous second were recorded after that second had been sent (see the module docs).
    pub start_us: u64,
    /// Indexed by [`Kind::index`]; `None` when the kind got no value in this interval.
    pub hists: [Option<Histogram<u64>>; Kind::COUNT],
    /// Indexed by [`Counter::index`].
    pub counters: [u64; Counter::COUNT],
    /// Failed deliveries by librdkafka error name.
    pub errors: Vec<(String, u64)>,
    /// Values above [`HIGHEST_US`], by kind; they are also in `hists` (unclamped).
    pub overflow: [u64; Kind::COUNT],
    /// Values hdrhistogram could not record at all, by kind; not in `hists`.
    pub unrecorded: [u64; Kind::COUNT],
}

impl Interval {
    /// An interval of `source` for `second` with nothing recorded.
    pub fn empty(source: String, second: u64) -> Interval {
        Interval {
            source,
            second,
            start_us: second.saturating_mul(SECOND_US),
            hists: Default::default(),
            counters: [0; Counter::COUNT],
            errors: Vec::new(),
            overflow: [0; Kind::COUNT],
            unrecorded: [0; Kind::COUNT],
        }
    }
}

/// Lock-free, allocation-free per-thread recording; see the module docs.
pub struct Recorder {
    source: String,
    tx: Sender<Interval>,
    hists: [Histogram<u64>; Kind::COUNT],
    counters: [u64; Counter::COUNT],
    errors: Vec<(String, u64)>,
    overflow: [u64; Kind::COUNT],
    unrecorded: [u64; Kind::COUNT],
    /// Whether an interval is open; false only before the first event or tick.
    open: bool,
    second: u64,
    start_us: u64,
    /// Start of the next second: the one compare on the hot path. Zero before the first event,
    /// so that event opens the first interval without a separate check.
    next_us: u64,
    /// Intervals the channel refused (the aggregator is gone, which it only is after failing).
    undelivered: u64,
}

impl Recorder {
    /// A recorder named `source` (e.g. "producer-0") that sends its intervals over `tx`.
    pub fn new(source: String, tx: Sender<Interval>) -> Recorder {
        Recorder {
            source,
            tx,
            hists: std::array::from_fn(|_| new_histogram()),
            counters: [0; Counter::COUNT],
            errors: Vec::new(),
            overflow: [0; Kind::COUNT],
            unrecorded: [0; Kind::COUNT],
            open: false,
            second: 0,
            start_us: 0,
            next_us: 0,
            undelivered: 0,
        }
    }

    /// Records one latency `value_us` of `kind`, observed at `at_us`. For the corrected kinds the
    /// caller computes the value from the intended send time; see the module docs of `metrics`.
    #[inline]
    pub fn record(&mut self, kind: Kind, at_us: u64, value_us: u64) {
        self.place(at_us);
        let k = kind.index();
        if value_us > HIGHEST_US {
            self.overflow[k] += 1;
        }
        if self.hists[k].record(value_us).is_err() {
            self.unrecorded[k] += 1;
        }
    }

    /// Adds `n` to counter `c` at `at_us`.
    #[inline]
    pub fn count(&mut self, c: Counter, at_us: u64, n: u64) {
        self.place(at_us);
        let slot = &mut self.counters[c.index()];
        *slot = slot.saturating_add(n);
    }

    /// One failed delivery: counts it under its librdkafka error name and records its
    /// time-to-failure as [`Kind::ErrorTtf`]. It does not touch [`Counter::Failed`]; callers count
    /// that themselves, as they do `Acked` next to the ack latencies.
    pub fn error(&mut self, error_kind: &str, at_us: u64, ttf_us: u64) {
        self.record(Kind::ErrorTtf, at_us, ttf_us);
        // A handful of distinct names per run: a linear scan beats hashing, and a name is only
        // allocated the first time it shows up in an interval.
        match self.errors.iter_mut().find(|(name, _)| name == error_kind) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.errors.push((error_kind.to_owned(), 1)),
        }
    }

    /// Sends the current interval if `now_us` lies in a later second. Call it regularly even
    /// when idle: the (possibly empty) intervals tell the aggregator the run has moved on.
    #[inline]
    pub fn tick(&mut self, now_us: u64) {
        if now_us >= self.next_us {
            self.roll(now_us / SECOND_US);
        }
    }

    /// Sends what is left. If the aggregator is already gone the data cannot go anywhere; that
    /// only happens after the aggregator failed, which the run reports on its own.
    pub fn finish(mut self) {
        if self.open {
            self.send_current();
        }
    }

    /// Intervals that could not be delivered because the aggregator had hung up.
    pub fn undelivered(&self) -> u64 {
        self.undelivered
    }

    #[inline]
    fn place(&mut self, at_us: u64) {
        if at_us >= self.next_us {
            self.roll(at_us / SECOND_US);
        } else if at_us < self.start_us {
            self.start_us = at_us;
        }
    }

    #[cold]
    #[inline(never)]
    fn roll(&mut self, second: u64) {
        if self.open {
            // Only reachable with `at_us` in the last, partial second of u64 µs, where `next_us`
            // saturates; staying in the same interval is the only sane thing to do.
            if second <= self.second {
                return;
            }
            self.send_current();
        }
        self.open = true;
        self.second = second;
        self.start_us = second.saturating_mul(SECOND_US);
        self.next_us = second.saturating_add(1).saturating_mul(SECOND_US);
    }

    fn send_current(&mut self) {
        let mut iv = Interval::empty(self.source.clone(), self.second);
        iv.start_us = self.start_us;
        for (slot, h) in iv.hists.iter_mut().zip(self.hists.iter_mut()) {
            if !h.is_empty() {
                *slot = Some(h.clone());
                h.reset();
            }
        }
        iv.counters = std::mem::take(&mut self.counters);
        iv.errors = std::mem::take(&mut self.errors);
        iv.overflow = std::mem::take(&mut self.overflow);
        iv.unrecorded = std::mem::take(&mut self.unrecorded);
        if self.tx.send(iv).is_err() {
            self.undelivered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn recorder_and_interval_are_send() {
        assert_send::<Recorder>();
        assert_send::<Interval>();
    }

    #[test]
    fn intervals_follow_event_seconds() {
        let (tx, rx) = mpsc::channel();
        let mut r = Recorder::new("p".into(), tx);
        r.record(Kind::AckCorrected, 1_500_000, 0);
        r.tick(1_999_999); // same second: nothing sent
        assert!(rx.try_recv().is_err());
        r.count(Counter::Sent, 3_200_000, 2); // later second: closes second 1
        r.tick(4_000_000); // closes second 3, even though nothing else happened
        r.tick(5_100_000); // closes the empty second 4: the liveness report
        r.finish();
        let got: Vec<Interval> = rx.iter().collect();
        let seconds: Vec<u64> = got.iter().map(|i| i.second).collect();
        assert_eq!(seconds, vec![1, 3, 4, 5]);
        let h = got[0].hists[Kind::AckCorrected.index()]
            .as_ref()
            .expect("ack hist");
        assert_eq!((h.len(), h.max()), (1, 0), "a 0 µs value is kept");
        assert_eq!(got[1].counters[Counter::Sent.index()], 2);
        assert!(got[1].hists.iter().all(Option::is_none));
        assert!(got[2].hists.iter().all(Option::is_none));
    }

    #[test]
    fn earlier_events_join_the_current_interval_and_move_its_start() {
        let (tx, rx) = mpsc::channel();
        let mut r = Recorder::new("p".into(), tx);
        r.tick(2_000_000);
        r.record(Kind::AckRaw, 1_999_000, 42);
        r.finish();
        let iv = rx.recv().expect("one interval");
        assert_eq!((iv.second, iv.start_us), (2, 1_999_000));
        assert_eq!(
            iv.hists[Kind::AckRaw.index()].as_ref().map(|h| h.len()),
            Some(1)
        );
    }

    #[test]
    fn overflow_is_counted_and_recorded_unclamped() {
        let (tx, rx) = mpsc::channel();
        let mut r = Recorder::new("p".into(), tx);
        let two_hours = 2 * HIGHEST_US;
        r.record(Kind::EndToEnd, 0, two_hours);
        r.record(Kind::EndToEnd, 0, u64::MAX);
        r.error("Local_MsgTimedOut", 0, 7);
        r.error("Local_MsgTimedOut", 0, 9);
        r.finish();
        let iv = rx.recv().expect("one interval");
        let k = Kind::EndToEnd.index();
        assert_eq!(iv.overflow[k], 2);
        let h = iv.hists[k].as_ref().expect("e2e hist");
        assert_eq!(h.len() + iv.unrecorded[k], 2);
        assert!(h.equivalent(h.value_at_quantile(0.0), two_hours));
        assert_eq!(iv.errors, vec![("Local_MsgTimedOut".to_string(), 2)]);
        assert_eq!(
            iv.hists[Kind::ErrorTtf.index()].as_ref().map(|h| h.len()),
            Some(2)
        );
        assert_eq!(iv.counters[Counter::Failed.index()], 0);
    }

    #[test]
    fn histograms_are_reset_between_intervals() {
        let (tx, rx) = mpsc::channel();
        let mut r = Recorder::new("p".into(), tx);
        r.record(Kind::SendLag, 0, 100);
        r.record(Kind::SendLag, 1_000_000, 200);
        r.finish();
        let lens: Vec<u64> = rx
            .iter()
            .map(|iv| {
                iv.hists[Kind::SendLag.index()]
                    .as_ref()
                    .map_or(0, |h| h.len())
            })
            .collect();
        assert_eq!(lens, vec![1, 1]);
    }

    #[test]
    fn a_gone_aggregator_is_counted_not_a_panic() {
        let (tx, rx) = mpsc::channel();
        drop(rx);
        let mut r = Recorder::new("p".into(), tx);
        r.record(Kind::AckRaw, 0, 1);
        r.tick(1_000_000);
        assert_eq!(r.undelivered(), 1);
    }
}
