//! What the aggregator reports: the live progress snapshot, the per-second series rows, per-phase
//! counts and percentiles, and the run `Summary` that results.json is built from.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{Counter, Kind};
use crate::names::Phase;

/// Event counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Records sent.
    pub sent: u64,
    /// Records the cluster acknowledged.
    pub acked: u64,
    /// Deliveries reported failed.
    pub failed: u64,
    /// kbench records consumed and decoded.
    pub consumed: u64,
}

impl Counts {
    /// Adds counters indexed by [`Counter::index`].
    pub fn add(&mut self, counters: &[u64; Counter::COUNT]) {
        for c in Counter::ALL {
            let n = counters[c.index()];
            let slot = match c {
                Counter::Sent => &mut self.sent,
                Counter::Acked => &mut self.acked,
                Counter::Failed => &mut self.failed,
                Counter::Consumed => &mut self.consumed,
            };
            *slot = slot.saturating_add(n);
        }
    }
}

/// Snapshot for the progress line. Raw totals move as intervals arrive; `last_second` moves when
/// a second is finalized (a few seconds behind, see the aggregator).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Live {
    /// End of the latest second any source reported, in whole seconds since the origin.
    pub elapsed_s: u64,
    /// Records sent so far, all producers.
    pub sent_total: u64,
    /// Records acknowledged so far, all producers.
    pub acked_total: u64,
    /// Deliveries reported failed so far, all producers.
    pub failed_total: u64,
    /// Records consumed so far, all consumers.
    pub consumed_total: u64,
    /// The latest finalized second; `None` until one is finalized.
    pub last_second: Option<SecondRow>,
}

/// One second of the series. "ack" is [`Kind::AckCorrected`]. Latency fields are `None` when
/// the second had no value of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    /// Second index since the run origin.
    pub t: u64,
    /// Records sent in this second.
    pub sent: u64,
    /// Records acknowledged in this second.
    pub acked: u64,
    /// Deliveries reported failed in this second.
    pub failed: u64,
    /// Records consumed in this second.
    pub consumed: u64,
    /// Median ack latency (µs).
    pub ack_p50_us: Option<u64>,
    /// 99th percentile ack latency (µs).
    pub ack_p99_us: Option<u64>,
    /// Highest ack latency (µs).
    pub ack_max_us: Option<u64>,
    /// Median end-to-end latency (µs).
    pub e2e_p50_us: Option<u64>,
    /// 99th percentile end-to-end latency (µs).
    pub e2e_p99_us: Option<u64>,
    /// Highest end-to-end latency (µs).
    pub e2e_max_us: Option<u64>,
    /// Highest send lag (µs).
    pub lag_max_us: Option<u64>,
}

impl SecondRow {
    pub(crate) fn new(
        t: u64,
        counters: &[u64; Counter::COUNT],
        hists: &[Option<Histogram<u64>>; Kind::COUNT],
    ) -> SecondRow {
        let mut c = Counts::default();
        c.add(counters);
        let h = |k: Kind| hists[k.index()].as_ref().filter(|h| !h.is_empty());
        let q = |k: Kind, q: f64| h(k).map(|h| h.value_at_quantile(q));
        let max = |k: Kind| h(k).map(|h| h.max());
        SecondRow {
            t,
            sent: c.sent,
            acked: c.acked,
            failed: c.failed,
            consumed: c.consumed,
            ack_p50_us: q(Kind::AckCorrected, 0.5),
            ack_p99_us: q(Kind::AckCorrected, 0.99),
            ack_max_us: max(Kind::AckCorrected),
            e2e_p50_us: q(Kind::EndToEnd, 0.5),
            e2e_p99_us: q(Kind::EndToEnd, 0.99),
            e2e_max_us: max(Kind::EndToEnd),
            lag_max_us: max(Kind::SendLag),
        }
    }

    /// Folds in data that arrived after this row was finalized. Counts and maxima merge exactly;
    /// p50/p99 cannot be merged from two percentiles, so they keep the on-time data's values
    /// unless the row had none (then the late data's are the only ones there are).
    pub(crate) fn merge_late(&mut self, late: &SecondRow) {
        self.sent = self.sent.saturating_add(late.sent);
        self.acked = self.acked.saturating_add(late.acked);
        self.failed = self.failed.saturating_add(late.failed);
        self.consumed = self.consumed.saturating_add(late.consumed);
        if self.ack_max_us.is_none() {
            self.ack_p50_us = late.ack_p50_us;
            self.ack_p99_us = late.ack_p99_us;
        }
        if self.e2e_max_us.is_none() {
            self.e2e_p50_us = late.e2e_p50_us;
            self.e2e_p99_us = late.e2e_p99_us;
        }
        self.ack_max_us = self.ack_max_us.max(late.ack_max_us);
        self.e2e_max_us = self.e2e_max_us.max(late.e2e_max_us);
        self.lag_max_us = self.lag_max_us.max(late.lag_max_us);
    }
}

/// The usual latency digest of one histogram, in µs. Values are hdrhistogram's (highest
/// equivalent value of the bucket, 3 significant digits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Number of values.
    pub count: u64,
    /// Lowest value (µs).
    pub min_us: u64,
    /// Mean (µs).
    pub mean_us: f64,
    /// Median (µs).
    pub p50_us: u64,
    /// 90th percentile (µs).
    pub p90_us: u64,
    /// 99th percentile (µs).
    pub p99_us: u64,
    /// 99.9th percentile (µs).
    pub p99_9_us: u64,
    /// 99.99th percentile (µs).
    pub p99_99_us: u64,
    /// 99.999th percentile (µs).
    pub p99_999_us: u64,
    /// Highest value (µs).
    pub max_us: u64,
}

impl Percentiles {
    /// For an empty histogram every field is 0.
    pub fn from_histogram(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles {
                count: 0,
                min_us: 0,
                mean_us: 0.0,
                p50_us: 0,
                p90_us: 0,
                p99_us: 0,
                p99_9_us: 0,
                p99_99_us: 0,
                p99_999_us: 0,
                max_us: 0,
            };
        }
        Percentiles {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p99_9_us: h.value_at_quantile(0.999),
            p99_99_us: h.value_at_quantile(0.9999),
            p99_999_us: h.value_at_quantile(0.99999),
            max_us: h.max(),
        }
    }
}

/// Counts and latency of one phase: every second whose start lies in `[from_us, to_us)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// Which phase (results.json writes its name: `measured`, `fault 1 during`).
    pub name: Phase,
    /// Start (inclusive), in µs since the run origin.
    pub from_us: u64,
    /// End (exclusive), in µs since the run origin.
    pub to_us: u64,
    /// Events in the phase's seconds.
    pub counts: Counts,
    /// Failed deliveries by librdkafka error name.
    pub errors: BTreeMap<String, u64>,
    /// Kind name -> percentiles; kinds without any value in the phase are left out.
    pub latency: BTreeMap<String, Percentiles>,
    /// The merged histograms behind `latency`, indexed by [`Kind::index`], for comparing
    /// distributions later; use [`PhaseSummary::histogram`].
    #[serde(skip, default = "no_histograms")]
    pub histograms: [Option<Histogram<u64>>; Kind::COUNT],
}

fn no_histograms() -> [Option<Histogram<u64>>; Kind::COUNT] {
    Default::default()
}

impl PhaseSummary {
    /// The merged histogram of `kind`; `None` if the phase had no value of it, or when the
    /// summary was read back from JSON (histograms are not serialized).
    pub fn histogram(&self, kind: Kind) -> Option<&Histogram<u64>> {
        self.histograms[kind.index()].as_ref()
    }

    /// Phase `which` among `phases`, if the run had it.
    pub fn find(phases: &[PhaseSummary], which: Phase) -> Option<&PhaseSummary> {
        phases.iter().find(|p| p.name == which)
    }
}

/// Everything the aggregator learned over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Per-phase counts and latency, in the order the phases were given.
    pub phases: Vec<PhaseSummary>,
    /// One row per second that any source reported (an idle source still reports, via `tick`),
    /// ordered by `t`.
    pub series: Vec<SecondRow>,
    /// Failed deliveries by librdkafka error name, whole run.
    pub errors: BTreeMap<String, u64>,
    /// Intervals that arrived after their second was finalized; merged, never dropped.
    pub late_intervals: u64,
    /// Kind name -> values above the 1 h ceiling (every kind listed, zeros included). These
    /// values are in the histograms, unclamped.
    pub overflow: BTreeMap<String, u64>,
    /// Kind name -> values hdrhistogram could not hold at all (kinds with none are left out;
    /// normally empty). Counted here because they are missing from the histograms.
    pub unrecorded: BTreeMap<String, u64>,
    /// Event counts over the whole run.
    pub totals: Counts,
}
