//! The `Aggregator`: one thread that receives every recorder's intervals, merges them per second,
//! writes the .hlog files and the per-second series, and accumulates the per-phase totals.
//!
//! # When a second is final
//!
//! Recorders report a second when they notice it is over, so reports for second `s` trickle in
//! for a while. Second `s` is finalized once any report for second `s + 3` or later has arrived
//! (or at the end of the run): its merged histograms are appended to the .hlog files, its row is
//! added to the series, and it is merged into every phase whose `[from_us, to_us)` contains the
//! second's start `s * 1 s`. Phases therefore have one-second granularity.
//!
//! A report for a second that is already final (a thread stalled for more than 3 s) is *late*:
//! it is counted in `late_intervals` and merged anyway — into the phase totals, into the series
//! row's counts and maxima (see `SecondRow::merge_late`), and into the .hlog as one more interval
//! for that second behind a `#late data ...` comment, so a log's sum is still every value.
//!
//! # What the .hlog files hold
//!
//! A kind's log gets an interval for a second only if that second had a value of that kind;
//! empty seconds are skipped, not written empty. The interval starts at the earliest event of
//! any kind and source in that second (normally `s * 1 s`; earlier when a recorder folded in a
//! straggler from the previous second, see `recorder`) and ends at `(s + 1) * 1 s`; every kind's
//! log uses the same bounds for a second, so the logs line up.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

use super::hlog::HlogSet;
use super::summary::{Counts, Live, Percentiles, PhaseSummary, SecondRow, Summary};
use super::{merge_hist, merge_hist_ref, Counter, Interval, Kind, SECOND_US};
use crate::names::Phase;

/// How many seconds past a second the run must be before that second is written.
const GRACE_S: u64 = 3;

/// A phase of the run and its time window, in µs since the origin; phases may overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseSpan {
    /// Which phase.
    pub name: Phase,
    /// Start (inclusive), in µs since the run origin.
    pub from_us: u64,
    /// End (exclusive), in µs since the run origin.
    pub to_us: u64,
}

impl PhaseSpan {
    fn contains_second(&self, second: u64) -> bool {
        let start = second.saturating_mul(SECOND_US);
        self.from_us <= start && start < self.to_us
    }
}

/// All sources' data for one second, merged.
struct SecondAcc {
    start_us: u64,
    hists: [Option<Histogram<u64>>; Kind::COUNT],
    counters: [u64; Counter::COUNT],
    errors: BTreeMap<String, u64>,
}

impl SecondAcc {
    fn new(second: u64) -> SecondAcc {
        SecondAcc {
            start_us: second.saturating_mul(SECOND_US),
            hists: Default::default(),
            counters: [0; Counter::COUNT],
            errors: BTreeMap::new(),
        }
    }

    /// Returns, per kind, how many values could not be merged.
    fn absorb(&mut self, iv: Interval) -> [u64; Kind::COUNT] {
        let mut lost = [0; Kind::COUNT];
        self.start_us = self.start_us.min(iv.start_us);
        for (k, h) in iv.hists.into_iter().enumerate() {
            if let Some(h) = h {
                lost[k] = merge_hist(&mut self.hists[k], h);
            }
        }
        for (slot, n) in self.counters.iter_mut().zip(iv.counters) {
            *slot = slot.saturating_add(n);
        }
        add_errors(
            &mut self.errors,
            iv.errors.iter().map(|(k, n)| (k.as_str(), *n)),
        );
        lost
    }
}

struct PhaseAcc {
    phase: PhaseSpan,
    counts: Counts,
    errors: BTreeMap<String, u64>,
    hists: [Option<Histogram<u64>>; Kind::COUNT],
}

/// Merges intervals from every recorder; see the module docs.
pub struct Aggregator {
    hlogs: HlogSet,
    phases: Vec<PhaseAcc>,
    /// Seconds not yet final, by second.
    pending: BTreeMap<u64, SecondAcc>,
    rows: BTreeMap<u64, SecondRow>,
    /// Highest second any report was for.
    newest: Option<u64>,
    /// Every second below this is final.
    final_below: u64,
    totals: Counts,
    errors: BTreeMap<String, u64>,
    overflow: [u64; Kind::COUNT],
    unrecorded: [u64; Kind::COUNT],
    late_intervals: u64,
    /// The first .hlog write failure; writing stops there, aggregation goes on, `run` reports it.
    write_error: Option<anyhow::Error>,
}

impl Aggregator {
    /// Creates `out_dir` if needed and `<kind>.hlog` in it for every kind (with headers).
    /// `start_wall_ms` is the wall clock at the run origin, ms since the Unix epoch.
    pub fn new(out_dir: &Path, start_wall_ms: u64, phases: Vec<PhaseSpan>) -> Result<Aggregator> {
        for p in &phases {
            if p.to_us <= p.from_us {
                bail!(
                    "phase \"{}\" is empty: from {} µs is not before to {} µs",
                    p.name,
                    p.from_us,
                    p.to_us
                );
            }
        }
        std::fs::create_dir_all(out_dir)
            .with_context(|| format!("cannot create {}", out_dir.display()))?;
        let hlogs = HlogSet::create(out_dir, start_wall_ms)?;
        Ok(Aggregator {
            hlogs,
            phases: phases
                .into_iter()
                .map(|phase| PhaseAcc {
                    phase,
                    counts: Counts::default(),
                    errors: BTreeMap::new(),
                    hists: Default::default(),
                })
                .collect(),
            pending: BTreeMap::new(),
            rows: BTreeMap::new(),
            newest: None,
            final_below: 0,
            totals: Counts::default(),
            errors: BTreeMap::new(),
            overflow: [0; Kind::COUNT],
            unrecorded: [0; Kind::COUNT],
            late_intervals: 0,
            write_error: None,
        })
    }

    /// Consumes intervals until every sender is dropped, then finalizes what is left. An .hlog
    /// write failure does not stop the aggregation (recorders keep being drained) but makes this
    /// return that error at the end.
    pub fn run(mut self, rx: Receiver<Interval>, live: Arc<Mutex<Live>>) -> Result<Summary> {
        for iv in rx.iter() {
            self.accept(iv);
            self.publish(&live);
        }
        while let Some((second, acc)) = self.pending.pop_first() {
            self.finalize(second, acc, false);
        }
        self.flush();
        self.publish(&live);
        match self.write_error.take() {
            Some(e) => Err(e),
            None => Ok(self.into_summary()),
        }
    }

    fn accept(&mut self, iv: Interval) {
        self.totals.add(&iv.counters);
        add_errors(
            &mut self.errors,
            iv.errors.iter().map(|(k, n)| (k.as_str(), *n)),
        );
        for k in 0..Kind::COUNT {
            self.overflow[k] = self.overflow[k].saturating_add(iv.overflow[k]);
            self.unrecorded[k] = self.unrecorded[k].saturating_add(iv.unrecorded[k]);
        }
        let second = iv.second;
        if second < self.final_below {
            self.late_intervals += 1;
            let mut acc = SecondAcc::new(second);
            let lost = acc.absorb(iv);
            self.count_unrecorded(lost);
            self.finalize(second, acc, true);
            self.flush();
            return;
        }
        let lost = self
            .pending
            .entry(second)
            .or_insert_with(|| SecondAcc::new(second))
            .absorb(iv);
        self.count_unrecorded(lost);
        let newest = self.newest.map_or(second, |n| n.max(second));
        self.newest = Some(newest);
        self.final_below = self.final_below.max(newest.saturating_sub(GRACE_S - 1));
        let mut wrote = false;
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= self.final_below {
                break;
            }
            let (second, acc) = entry.remove_entry();
            self.finalize(second, acc, false);
            wrote = true;
        }
        if wrote {
            self.flush();
        }
    }

    fn finalize(&mut self, second: u64, acc: SecondAcc, late: bool) {
        let end_us = second.saturating_add(1).saturating_mul(SECOND_US);
        for kind in Kind::ALL {
            let Some(h) = acc.hists[kind.index()].as_ref().filter(|h| !h.is_empty()) else {
                continue;
            };
            if self.write_error.is_none() {
                let late_second = late.then_some(second);
                if let Err(e) = self.hlogs.write(kind, h, acc.start_us, end_us, late_second) {
                    self.write_error = Some(e);
                }
            }
        }
        let row = SecondRow::new(second, &acc.counters, &acc.hists);
        match self.rows.entry(second) {
            Entry::Occupied(mut e) => e.get_mut().merge_late(&row),
            Entry::Vacant(e) => {
                e.insert(row);
            }
        }
        let mut lost = [0; Kind::COUNT];
        for p in self
            .phases
            .iter_mut()
            .filter(|p| p.phase.contains_second(second))
        {
            p.counts.add(&acc.counters);
            add_errors(
                &mut p.errors,
                acc.errors.iter().map(|(k, n)| (k.as_str(), *n)),
            );
            for (k, h) in acc.hists.iter().enumerate() {
                let Some(h) = h else { continue };
                match &mut p.hists[k] {
                    Some(dst) => lost[k] += merge_hist_ref(dst, h),
                    slot @ None => *slot = Some(h.clone()),
                }
            }
        }
        self.count_unrecorded(lost);
    }

    fn count_unrecorded(&mut self, lost: [u64; Kind::COUNT]) {
        for (slot, n) in self.unrecorded.iter_mut().zip(lost) {
            *slot = slot.saturating_add(n);
        }
    }

    fn flush(&mut self) {
        if self.write_error.is_none() {
            if let Err(e) = self.hlogs.flush() {
                self.write_error = Some(e);
            }
        }
    }

    fn publish(&self, live: &Mutex<Live>) {
        let mut l = live.lock().unwrap_or_else(PoisonError::into_inner);
        l.elapsed_s = self.newest.map_or(0, |n| n.saturating_add(1));
        l.sent_total = self.totals.sent;
        l.acked_total = self.totals.acked;
        l.failed_total = self.totals.failed;
        l.consumed_total = self.totals.consumed;
        l.last_second = self.rows.last_key_value().map(|(_, r)| r.clone());
    }

    fn into_summary(self) -> Summary {
        let per_kind = |a: &[u64; Kind::COUNT], keep_zero: bool| -> BTreeMap<String, u64> {
            Kind::ALL
                .iter()
                .filter(|k| keep_zero || a[k.index()] > 0)
                .map(|k| (k.name().to_string(), a[k.index()]))
                .collect()
        };
        Summary {
            phases: self
                .phases
                .into_iter()
                .map(|p| PhaseSummary {
                    latency: Kind::ALL
                        .iter()
                        .filter_map(|k| {
                            let h = p.hists[k.index()].as_ref().filter(|h| !h.is_empty())?;
                            Some((k.name().to_string(), Percentiles::from_histogram(h)))
                        })
                        .collect(),
                    name: p.phase.name,
                    from_us: p.phase.from_us,
                    to_us: p.phase.to_us,
                    counts: p.counts,
                    errors: p.errors,
                    histograms: p.hists,
                })
                .collect(),
            series: self.rows.into_values().collect(),
            errors: self.errors,
            late_intervals: self.late_intervals,
            overflow: per_kind(&self.overflow, true),
            unrecorded: per_kind(&self.unrecorded, false),
            totals: self.totals,
        }
    }
}

fn add_errors<'a>(into: &mut BTreeMap<String, u64>, from: impl Iterator<Item = (&'a str, u64)>) {
    for (name, n) in from {
        match into.get_mut(name) {
            Some(slot) => *slot = slot.saturating_add(n),
            None => {
                into.insert(name.to_owned(), n);
            }
        }
    }
}
