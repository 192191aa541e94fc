//! Median and spread of repeated runs, and the kbench / perf-test ratio of each figure.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::tools::{Sample, Workload, KBENCH, PERF_TEST};

/// Median and spread (max − min) of one figure over repeated runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stat {
    /// Median of the finite values; NaN if there were none.
    pub median: f64,
    /// Smallest finite value; NaN if there were none.
    pub min: f64,
    /// Largest finite value; NaN if there were none.
    pub max: f64,
}

/// Median, min and max of the finite values in `values` (NaN, infinities ignored).
pub fn stat(values: &[f64]) -> Stat {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return Stat {
            median: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
        };
    }
    let median = if !v.len().is_multiple_of(2) {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Stat {
        median,
        min: v[0],
        max: v[v.len() - 1],
    }
}

/// One phase of a layout (unthrottled or fixed rate): every sample and their summary.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// `unthrottled` or `fixed_rate`.
    pub name: String,
    /// Target rate of the phase in records/s; `None` when unthrottled.
    pub rate: Option<f64>,
    /// Records each tool sent per run.
    pub records: u64,
    /// Every measured run of both tools, in the order they ran.
    pub samples: Vec<Sample>,
    /// Per tool and figure: median and spread.
    pub stats: BTreeMap<String, BTreeMap<String, Stat>>,
    /// kbench median / perf-test median per figure.
    pub ratios: BTreeMap<String, f64>,
}

/// The figures compared, in reading order (the JSON's maps are alphabetical).
pub(super) const FIGURES: [&str; 6] = [
    "records_per_s",
    "cpu_s_per_million",
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "records_per_request",
];

/// One sample's values of [`FIGURES`], in the same order.
fn figures(s: &Sample) -> [f64; 6] {
    [
        s.records_per_s,
        s.cpu_s_per_million,
        s.p50_ms,
        s.p99_ms,
        s.p999_ms,
        s.records_per_request,
    ]
}

/// `repeats` rounds of `run` (each gives one sample per tool), summarised.
pub(super) fn phase(
    name: &str,
    w: &Workload,
    repeats: usize,
    mut run: impl FnMut(usize, &Workload) -> Result<Vec<Sample>>,
) -> Result<PhaseResult> {
    let mut samples = Vec::new();
    for i in 0..repeats {
        samples.extend(run(i, w)?);
    }
    Ok(summarize(name, w, samples))
}

/// Median and spread of every figure per tool, and kbench's median over perf-test's.
pub(super) fn summarize(name: &str, w: &Workload, samples: Vec<Sample>) -> PhaseResult {
    let mut stats = BTreeMap::new();
    for tool in [KBENCH, PERF_TEST] {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.tool == tool).collect();
        let mut per = BTreeMap::new();
        for (i, k) in FIGURES.iter().enumerate() {
            let vals: Vec<f64> = mine.iter().map(|s| figures(s)[i]).collect();
            per.insert(k.to_string(), stat(&vals));
        }
        if tool == KBENCH && w.rate.is_some() {
            let errs: Vec<f64> = mine.iter().filter_map(|s| s.rate_error).collect();
            per.insert("rate_error".into(), stat(&errs));
        }
        stats.insert(tool.to_string(), per);
    }
    let ratios = stats[KBENCH]
        .iter()
        .filter_map(|(k, v)| {
            stats[PERF_TEST]
                .get(k)
                .map(|p| (k.clone(), v.median / p.median))
        })
        .collect();
    PhaseResult {
        name: name.into(),
        rate: w.rate,
        records: w.records,
        samples,
        stats,
        ratios,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = stat(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(stat(&[1.0, 2.0, 3.0, 10.0]).median, 2.5);
    }

    fn sample(tool: &str, rps: f64, p99: f64, rate_error: Option<f64>) -> Sample {
        Sample {
            tool: tool.into(),
            records_per_s: rps,
            p99_ms: p99,
            rate_error,
            ..Sample::default()
        }
    }

    #[test]
    fn ratios_are_kbench_median_over_perf_test_median() {
        let w = Workload {
            rate: Some(1000.0),
            ..Workload::default()
        };
        let samples = vec![
            sample(KBENCH, 300.0, 10.0, Some(-0.01)),
            sample(PERF_TEST, 100.0, 40.0, None),
            sample(KBENCH, 100.0, 30.0, Some(0.0)),
            sample(PERF_TEST, 50.0, 60.0, None),
            sample(KBENCH, 200.0, 20.0, Some(-0.03)),
            sample(PERF_TEST, 400.0, 10.0, None),
        ];
        let p = summarize("fixed_rate", &w, samples);
        // kbench's medians are 200 records/s and 20 ms, perf-test's 100 and 40: a ratio taken
        // the other way round, or of means, or of the first runs, would not give these.
        assert_eq!(p.ratios["records_per_s"], 2.0);
        assert_eq!(p.ratios["p99_ms"], 0.5);
        let rps = p.stats[KBENCH]["records_per_s"];
        assert_eq!((rps.median, rps.min, rps.max), (200.0, 100.0, 300.0));
        assert_eq!(p.stats[PERF_TEST]["p99_ms"].max, 60.0);
        assert_eq!(p.stats[KBENCH]["rate_error"].median, -0.01);
        assert!(!p.stats[PERF_TEST].contains_key("rate_error"));
        assert!(!p.ratios.contains_key("rate_error"));
    }

    #[test]
    fn a_phase_without_samples_is_nan_not_a_panic() {
        let p = summarize("unthrottled", &Workload::default(), Vec::new());
        assert!(p.ratios["records_per_s"].is_nan());
    }
}
