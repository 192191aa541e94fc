//! The schema registry's request latency as kbench's own clients saw it (registrations, lookups
//! by id, version lookups), read back from their .hlog files: over the whole run — startup
//! lookups and the drain included, which no phase covers — and per second, for the report's
//! chart.

use std::path::Path;

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::metrics::{new_histogram, read_hlog, Kind, Percentiles};

/// The registry's request kinds, in the order the report shows them.
pub const KINDS: [Kind; 3] = [
    Kind::RegistryRegister,
    Kind::RegistryById,
    Kind::RegistryVersion,
];

/// One second of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSecond {
    /// Start of the interval, s since the run's origin.
    pub t_s: f64,
    /// Requests answered in it.
    pub count: u64,
    /// Median and slowest, µs.
    pub p50_us: u64,
    /// Slowest, µs.
    pub max_us: u64,
}

/// One request kind over the run.
#[derive(Debug, Clone)]
pub struct RequestLatency {
    /// The kind.
    pub kind: Kind,
    /// Every answered request of the run.
    pub total: Percentiles,
    /// Per interval, in log order.
    pub seconds: Vec<RequestSecond>,
}

/// Every registry request kind with at least one answer, from the .hlog files in `dir`; kinds
/// whose file is missing (an older run) are left out.
pub fn read(dir: &Path) -> Result<Vec<RequestLatency>> {
    let mut out = Vec::new();
    for kind in KINDS {
        let path = dir.join(kind.file_name());
        if !path.is_file() {
            continue;
        }
        let mut total: Histogram<u64> = new_histogram();
        let mut seconds = Vec::new();
        for (t_s, h) in read_hlog(&path)? {
            total
                .add(&h)
                .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
            seconds.push(RequestSecond {
                t_s,
                count: h.len(),
                p50_us: h.value_at_quantile(0.5),
                max_us: h.max(),
            });
        }
        if !total.is_empty() {
            out.push(RequestLatency {
                kind,
                total: Percentiles::from_histogram(&total),
                seconds,
            });
        }
    }
    Ok(out)
}
