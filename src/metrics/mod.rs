//! Measurement: per-thread HDR recorders, the aggregator that merges their one-second intervals,
//! the standard HdrHistogram interval logs (.hlog, one per latency kind), the per-second series,
//! and the per-phase latency summaries that results.json is built from.
//!
//! # Time and coordinated omission
//!
//! Every time here is microseconds since the run's one monotonic origin. The recorder does no
//! arithmetic on latencies: callers pass finished values. Coordinated-omission correction comes
//! from *what* the caller subtracts: [`Kind::AckCorrected`] and [`Kind::EndToEnd`] are measured
//! from the record's **intended** send time, which the open-loop schedule fixes before the record
//! is sent. A producer that stalls (full queue, blocked broker) therefore cannot hide the stall:
//! every record scheduled during it carries the waiting time in its latency, as in wrk2. The raw
//! view ([`Kind::AckRaw`], from the actual send) and the generator's own delay
//! ([`Kind::SendLag`]) are kept beside it so the two can be told apart.
//!
//! # Values above the 1 h ceiling
//!
//! Histograms are created for 1 µs .. 1 h at 3 significant digits, with auto-resize on. A value
//! above 1 h is counted in a per-kind `overflow` counter *and* recorded unclamped (the histogram
//! grows to hold it), so percentiles and maxima stay true and the overflow is visible. Recording
//! can only fail if hdrhistogram cannot grow (no realistic µs value does that); such a value is
//! counted in `unrecorded`, never silently dropped.

mod aggregator;
pub mod bytes;
mod hlog;
mod recorder;
mod summary;

#[cfg(test)]
mod metrics_tests;

use hdrhistogram::Histogram;
use serde::Serialize;

pub use aggregator::{Aggregator, PhaseSpan};
pub use hlog::{read_hlog, read_hlog_seconds};
pub use recorder::{Interval, Recorder};
pub use summary::{Counts, Live, Percentiles, PhaseSummary, SecondRow, Summary};

/// Lowest discernible value of every histogram, in µs.
pub const LOWEST_US: u64 = 1;
/// Highest value tracked without resizing (1 h in µs); larger values count as overflow.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant digits of every histogram.
pub const SIGFIG: u8 = 3;
/// Microseconds per interval.
pub const SECOND_US: u64 = 1_000_000;

/// One latency distribution that is measured; one histogram and one .hlog file per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    /// Ack time − intended send time (coordinated-omission corrected).
    #[serde(rename = "ack_corrected")]
    AckCorrected,
    /// Ack time − actual send time.
    #[serde(rename = "ack_raw")]
    AckRaw,
    /// Actual send time − intended send time.
    #[serde(rename = "send_lag")]
    SendLag,
    /// Consume time − intended send time.
    #[serde(rename = "e2e")]
    EndToEnd,
    /// Failure time − intended send time, for failed deliveries.
    #[serde(rename = "error_ttf")]
    ErrorTtf,
    /// A schema registration the registry answered (`POST /subjects/{s}/versions`).
    #[serde(rename = "registry_register")]
    RegistryRegister,
    /// A writer-schema lookup by id the registry answered (`GET /schemas/ids/{id}`): cache
    /// misses only, a cache hit asks nothing.
    #[serde(rename = "registry_by_id")]
    RegistryById,
    /// A lookup of a schema's version under its subject (`POST /subjects/{s}`).
    #[serde(rename = "registry_version")]
    RegistryVersion,
}

impl Kind {
    /// Every kind, in index order.
    pub const ALL: [Kind; 8] = [
        Kind::AckCorrected,
        Kind::AckRaw,
        Kind::SendLag,
        Kind::EndToEnd,
        Kind::ErrorTtf,
        Kind::RegistryRegister,
        Kind::RegistryById,
        Kind::RegistryVersion,
    ];
    /// Number of kinds.
    pub const COUNT: usize = Kind::ALL.len();

    /// The kind's name in results.json, the report and its .hlog file name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::AckCorrected => "ack_corrected",
            Kind::AckRaw => "ack_raw",
            Kind::SendLag => "send_lag",
            Kind::EndToEnd => "e2e",
            Kind::ErrorTtf => "error_ttf",
            Kind::RegistryRegister => "registry_register",
            Kind::RegistryById => "registry_by_id",
            Kind::RegistryVersion => "registry_version",
        }
    }

    /// The kind's .hlog file name, e.g. `e2e.hlog`.
    pub fn file_name(self) -> String {
        format!("{}.hlog", self.name())
    }

    /// One line for the .hlog header, so a log read on its own says what it measures.
    pub fn description(self) -> &'static str {
        match self {
            Kind::AckCorrected => "ack time - intended send time (coordinated-omission corrected)",
            Kind::AckRaw => "ack time - actual send time",
            Kind::SendLag => "actual send time - intended send time",
            Kind::EndToEnd => "consume time - intended send time",
            Kind::ErrorTtf => "failure time - intended send time (failed deliveries)",
            Kind::RegistryRegister => "schema registry: registration request to its answer",
            Kind::RegistryById => "schema registry: lookup by id (cache miss) to its answer",
            Kind::RegistryVersion => {
                "schema registry: version lookup under a subject to its answer"
            }
        }
    }

    /// Position in [`Kind::ALL`] and in every per-kind array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Event counters carried by every interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Records sent by a producer (counted at the actual send time).
    Sent,
    /// Records the cluster acknowledged.
    Acked,
    /// Deliveries reported failed, including records the client refused.
    Failed,
    /// kbench records consumed and decoded.
    Consumed,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 4] = [
        Counter::Sent,
        Counter::Acked,
        Counter::Failed,
        Counter::Consumed,
    ];
    /// Number of counters.
    pub const COUNT: usize = Counter::ALL.len();

    /// Position in [`Counter::ALL`] and in every per-counter array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An empty histogram with the run's bounds and auto-resize on (see the module docs on overflow).
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail, and a test pins that.
    let mut h = Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
        .expect("constant histogram bounds are valid");
    h.auto(true);
    h
}

/// Adds `src` into `slot`, taking it over when the slot is empty (no copy). Returns how many
/// values could not be merged (only if hdrhistogram cannot grow), so the caller can count them.
pub(crate) fn merge_hist(slot: &mut Option<Histogram<u64>>, src: Histogram<u64>) -> u64 {
    match slot {
        None => {
            *slot = Some(src);
            0
        }
        Some(dst) => merge_hist_ref(dst, &src),
    }
}

/// Like [`merge_hist`] for a borrowed source.
pub(crate) fn merge_hist_ref(dst: &mut Histogram<u64>, src: &Histogram<u64>) -> u64 {
    match dst.add(src) {
        Ok(()) => 0,
        Err(_) => src.len(),
    }
}
