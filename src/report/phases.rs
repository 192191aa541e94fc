//! Per-phase latency histograms rebuilt from a run directory's .hlog files, so the report needs
//! nothing but results.json and the logs: the run's own phases (warm-up, measured, ...) and, for
//! every fault, a before / during / after window.
//!
//! # Which interval belongs to which phase
//!
//! The aggregator puts second `s` into a phase when `s * 1 s` lies in the phase's
//! `[from_us, to_us)`. An interval's logged start is `s * 1 s`, or a little earlier when it holds
//! a straggler from the previous second, so an interval starting at `t` seconds is second
//! `ceil(t)`; phases rebuilt that way hold exactly what results.json's percentiles were computed
//! from (a test pins that on the fixture).
//!
//! # Fault windows
//!
//! For a fault fired at `F` that ends at `E` (its recovery, or `F + 5 s` when it has none — the
//! same span the charts shade), in firing order:
//! - before: from the end of the previous fault (or the start of the measured phase) to `F`;
//! - during: `F` to `E`;
//! - after: `E` to the next fault's firing (or the end of the measured phase).
//!
//! Empty windows (a fault right after another) are left out. These windows are only a fallback:
//! when results.json has its own fault phases ("fault N before" / "during" / "after", written by
//! the run), those are used as they are, so the report and results.json agree.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use hdrhistogram::Histogram;

use crate::metrics::{read_hlog, Percentiles, SECOND_US};
use crate::names::{FaultStage, Phase};
use crate::report::results::Results;

/// Span shaded (and used as the "during" window) for a fault that never recovered, in seconds.
pub const UNRECOVERED_SPAN_S: f64 = 5.0;

/// One phase's merged histograms, by latency kind name ("ack_corrected", ...).
#[derive(Debug, Clone)]
pub struct PhaseHists {
    /// Which phase: one of results.json's, or a fault's window.
    pub phase: Phase,
    /// Index into `results.faults` for a fault window.
    pub fault: Option<usize>,
    /// µs since the run origin, `[from_us, to_us)`.
    pub from_us: u64,
    /// End of the window, exclusive (µs since the run origin).
    pub to_us: u64,
    /// Kinds without a value in the window are left out.
    pub hists: BTreeMap<String, Histogram<u64>>,
    /// The percentiles results.json stores for this phase, when it is one of results.json's.
    pub stored: Option<BTreeMap<String, Percentiles>>,
}

impl PhaseHists {
    /// The window around a fault the phase is, if it is one.
    pub fn stage(&self) -> Option<FaultStage> {
        self.phase.fault_window().map(|(_, stage)| stage)
    }

    /// Percentiles by kind: results.json's when it has them, else computed from the logs.
    pub fn latency(&self) -> BTreeMap<String, Percentiles> {
        if let Some(stored) = &self.stored {
            return stored.clone();
        }
        (self.hists.keys())
            .filter_map(|k| self.percentiles(k).map(|q| (k.clone(), q)))
            .collect()
    }

    /// Percentiles of one kind, if the window had any value of it.
    pub fn percentiles(&self, kind: &str) -> Option<Percentiles> {
        self.hists
            .get(kind)
            .filter(|h| !h.is_empty())
            .map(Percentiles::from_histogram)
    }
}

/// Everything rebuilt from the logs.
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// results.json's phases, in its order.
    pub phases: Vec<PhaseHists>,
    /// Fault windows, in firing order (before, during, after per fault).
    pub fault_phases: Vec<PhaseHists>,
    /// Log files results.json names that are not in the directory (kind name, file name).
    pub missing: Vec<(String, String)>,
    /// The registry's request latency, whole run and per second.
    pub requests: Vec<super::requests::RequestLatency>,
}

/// Reads every .hlog results.json names and merges its intervals into the phases. A missing log
/// is listed in `missing` (the report says so); an unreadable or malformed one is an error.
pub fn rebuild(dir: &Path, results: &Results) -> Result<Rebuilt> {
    let mut phases = Vec::new();
    let mut fault_phases = Vec::new();
    for p in &results.phases {
        let mut ph = PhaseHists {
            phase: p.name,
            fault: None,
            from_us: p.from_us,
            to_us: p.to_us,
            hists: BTreeMap::new(),
            stored: Some(p.latency.clone()),
        };
        match p.name.fault_window() {
            Some((index, _)) => {
                ph.fault = (results.faults.iter().position(|f| f.index == index))
                    .or_else(|| (index < results.faults.len()).then_some(index));
                fault_phases.push(ph);
            }
            None => phases.push(ph),
        }
    }
    if fault_phases.is_empty() {
        fault_phases = fault_windows(results);
    }
    let mut missing = Vec::new();
    for (kind, file) in &results.hlog_files {
        if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
            bail!(
                "results.json names {file:?} as the {kind} log; expected a file name in {}",
                dir.display()
            );
        }
        let path = dir.join(file);
        if !path.exists() {
            missing.push((kind.clone(), file.clone()));
            continue;
        }
        for (start_s, h) in read_hlog(&path)? {
            let second_start_us = second_of(start_s).saturating_mul(SECOND_US);
            for phase in phases.iter_mut().chain(fault_phases.iter_mut()) {
                if phase.from_us <= second_start_us && second_start_us < phase.to_us {
                    merge_into(&mut phase.hists, kind, &h, &path)?;
                }
            }
        }
    }
    Ok(Rebuilt {
        phases,
        fault_phases,
        missing,
        requests: super::requests::read(dir)?,
    })
}

fn merge_into(
    hists: &mut BTreeMap<String, Histogram<u64>>,
    kind: &str,
    h: &Histogram<u64>,
    path: &Path,
) -> Result<()> {
    match hists.get_mut(kind) {
        Some(dst) => dst
            .add(h)
            .map_err(|e| anyhow::anyhow!("{}: cannot merge an interval: {e:?}", path.display())),
        None => {
            hists.insert(kind.to_string(), h.clone());
            Ok(())
        }
    }
}

/// The second an interval starting at `start_s` belongs to (see the module docs). The small
/// tolerance absorbs the log's millisecond rounding of exact second starts.
fn second_of(start_s: f64) -> u64 {
    let s = (start_s - 1e-6).ceil();
    if s.is_finite() && s > 0.0 {
        s as u64
    } else {
        0
    }
}

fn to_us(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        (s * 1e6).round() as u64
    } else {
        0
    }
}

/// The measured phase's span in µs; the whole of the run's phases when there is no "measured".
pub fn measured_span_us(results: &Results) -> (u64, u64) {
    if let Some(p) = results.measured() {
        return (p.from_us, p.to_us);
    }
    let from = results.phases.iter().map(|p| p.from_us).min();
    let to = results.phases.iter().map(|p| p.to_us).max();
    match (from, to) {
        (Some(f), Some(t)) => (f, t),
        _ => (0, u64::MAX),
    }
}

/// When the load started, in seconds since the run origin: time charts and tables count from it.
/// Results written before `load_start_s` existed read it as 0; the warm-up phase starts with the
/// load, so its start stands in then.
pub fn load_start_s(results: &Results) -> f64 {
    if results.load_start_s > 0.0 {
        return results.load_start_s;
    }
    (results.phases.iter())
        .map(|p| p.from_us)
        .min()
        .map_or(0.0, |us| us as f64 / 1e6)
}

/// Where a fault's shaded span ends, in seconds since the origin.
pub fn fault_end_s(fired_s: f64, recovered_s: Option<f64>) -> f64 {
    recovered_s
        .filter(|r| r.is_finite() && *r > fired_s)
        .unwrap_or(fired_s + UNRECOVERED_SPAN_S)
}

/// Empty before / during / after windows for every fault (see the module docs).
pub fn fault_windows(results: &Results) -> Vec<PhaseHists> {
    let (m_from, m_to) = measured_span_us(results);
    let mut order: Vec<usize> = (0..results.faults.len()).collect();
    order.sort_by(|&a, &b| {
        results.faults[a]
            .fired_s
            .total_cmp(&results.faults[b].fired_s)
    });
    let mut out = Vec::new();
    let mut prev_end = m_from;
    for (n, &i) in order.iter().enumerate() {
        let f = &results.faults[i];
        let fired = to_us(f.fired_s);
        let end = to_us(fault_end_s(f.fired_s, f.recovered_s));
        let next = order
            .get(n + 1)
            .map_or(m_to, |&j| to_us(results.faults[j].fired_s));
        let windows = [
            (FaultStage::Before, prev_end.max(m_from), fired),
            (FaultStage::During, fired, end),
            (FaultStage::After, end, next.min(m_to)),
        ];
        for (stage, from_us, to_us) in windows {
            if from_us < to_us {
                out.push(PhaseHists {
                    phase: Phase::of_fault(f.index, stage),
                    fault: Some(i),
                    from_us,
                    to_us,
                    hists: BTreeMap::new(),
                    stored: None,
                });
            }
        }
        prev_end = prev_end.max(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::report::FaultReport;

    fn fixture() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run")
    }

    #[test]
    fn rebuilt_phases_match_results_percentiles() {
        let dir = fixture();
        let results = crate::report::results::read(&dir).unwrap();
        let rebuilt = rebuild(&dir, &results).unwrap();
        assert!(rebuilt.missing.is_empty());
        assert_eq!(rebuilt.phases.len(), results.phases.len());
        for (p, r) in results.phases.iter().zip(&rebuilt.phases) {
            for (kind, want) in &p.latency {
                let mut got = r.percentiles(kind).unwrap();
                // The mean is a float sum: merge order and JSON round-trips move its last digit.
                assert!((got.mean_us - want.mean_us).abs() <= 1e-9 * want.mean_us.abs().max(1.0));
                got.mean_us = want.mean_us;
                assert_eq!(&got, want, "phase {} kind {kind}", p.name);
            }
        }
    }

    #[test]
    fn intervals_map_to_the_aggregators_seconds() {
        assert_eq!(second_of(0.0), 0);
        assert_eq!(second_of(2.0), 2);
        assert_eq!(second_of(1.999), 2);
        assert_eq!(second_of(2.0004), 3);
    }

    #[test]
    fn fault_windows_split_the_measured_phase() {
        let mut results = crate::report::results::read(&fixture()).unwrap();
        let fault = |fired_s: f64, recovered_s: Option<f64>| FaultReport {
            label: format!("at {fired_s}"),
            fired_s,
            recovered_s,
            ..FaultReport::of(crate::faults::plan::Action::Kill)
        };
        // Listed out of order on purpose: windows follow firing order.
        results.faults = vec![fault(18.0, None), fault(8.0, Some(12.0))];
        let w = fault_windows(&results);
        let spans: Vec<(usize, FaultStage, u64, u64)> = w
            .iter()
            .map(|p| (p.fault.unwrap(), p.stage().unwrap(), p.from_us, p.to_us))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, FaultStage::Before, 5_255_952, 8_000_000),
                (1, FaultStage::During, 8_000_000, 12_000_000),
                (1, FaultStage::After, 12_000_000, 18_000_000),
                (0, FaultStage::Before, 12_000_000, 18_000_000),
                (0, FaultStage::During, 18_000_000, 23_000_000),
                (0, FaultStage::After, 23_000_000, 25_255_952),
            ]
        );
        let rebuilt = rebuild(&fixture(), &results).unwrap();
        let during = &rebuilt.fault_phases[1];
        // Seconds 9, 10 and 11 start inside [8 s, 12 s); second 8 does too.
        let n: u64 = (results.series.iter())
            .filter(|r| (8..12).contains(&r.t))
            .map(|r| r.acked)
            .sum();
        assert_eq!(during.hists["ack_corrected"].len(), n);
    }
}
