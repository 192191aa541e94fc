//! `kbench sweep`: many measured runs under one driver, one report. Two kinds: a capacity
//! search (`[search]`: which rate to try next, `capacity`) on one cluster, and a parameter
//! sweep (`[sweep]`: every combination of setting values, `grid`, each a run or a search of
//! its own). Every step is an ordinary run (`run::measure`) with its own results and report;
//! `sweep.json` holds them all, `index.html` draws them. The cluster is torn down at the end,
//! also on error and Ctrl-C.

mod capacity;
mod frame;
pub mod grid;
mod grid_page;
mod page;
pub mod search;
mod step;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::progress::Progress;
use crate::run::start_cluster;
use crate::scenario::Scenario;
use search::{Answer, Stop};
pub use step::StepRecord;

/// Bumped whenever a field of `sweep.json` changes meaning or goes away (3: objectives as
/// `{key, op, limit}`, and only the fields of its kind of sweep).
pub const FORMAT_VERSION: u32 = 3;

/// Everything a sweep found, as `sweep.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResults {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The kbench that wrote it.
    pub kbench_version: String,
    /// `run.name`.
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The objectives every step was judged by.
    pub objectives: Vec<crate::slo::Slo>,
    /// Settle (warm-up) time of every step, s.
    pub settle_s: f64,
    /// Measured window of every step, s.
    pub measure_s: f64,
    /// What the sweep found, by kind: `{"capacity": {...}}` or `{"parameters": {...}}`.
    pub found: Found,
    /// The outcome in one sentence.
    pub conclusion: String,
    /// When it started and ended (RFC 3339, UTC).
    pub started_at: String,
    /// End.
    pub finished_at: String,
}

/// What each kind of sweep found. Externally tagged on purpose: a flattened or internally
/// tagged enum is read through serde's buffer, which cannot read the integer map keys of the
/// steps' results (partition numbers) back from JSON's strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Found {
    /// A capacity search over rates (`[search]`).
    Capacity(CapacityFound),
    /// Combinations of setting values (`[sweep]`).
    Parameters(ParametersFound),
}

/// A capacity search's steps and answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CapacityFound {
    /// Precision asked for.
    pub precision: f64,
    /// The steps, in order.
    pub steps: Vec<StepRecord>,
    /// What they say (a search is never "complete": its answer says how it ended).
    pub answer: Answer,
}

/// A parameter sweep's combinations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParametersFound {
    /// The swept parameters.
    pub parameters: Vec<crate::scenario::sweep::Parameter>,
    /// The combinations run, in order.
    pub points: Vec<grid::PointRecord>,
    /// Every combination ran.
    pub complete: bool,
}

/// Where a sweep writes.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Parent of the sweep's directory.
    pub reports_dir: PathBuf,
}

/// Run the capacity search (`[search]`) or parameter sweep (`[sweep]`) of `sc`, and write
/// `sweep.json` and `index.html`.
pub fn sweep(sc: &Scenario, opts: &SweepOptions) -> Result<(PathBuf, SweepResults)> {
    if sc.search.is_none() && sc.sweep.is_none() {
        bail!(
            "{} has neither [search] nor [sweep]: `kbench sweep` runs a capacity search or a \
             parameter sweep (see README, \"Capacity and sweeps\"); for one run use `kbench run`",
            sc.file.display()
        );
    }
    let progress = Progress::new();
    let dir = crate::run::report_dir(&opts.reports_dir, &sc.name)?;
    let started_at = crate::timefmt::now_rfc3339();
    let (found, conclusion, error) = match &sc.sweep {
        Some(spec) => parameters(spec, &dir, &progress),
        None => capacity(sc, &dir, &progress)?,
    };
    let results = SweepResults {
        format_version: FORMAT_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        scenario: sc.name.clone(),
        file: sc.file.display().to_string(),
        objectives: sc.slos.clone(),
        settle_s: sc.warmup.as_secs_f64(),
        measure_s: sc.duration.as_secs_f64(),
        found,
        conclusion,
        started_at,
        finished_at: crate::timefmt::now_rfc3339(),
    };
    write(&dir, &results)?;
    if let Some(e) = error {
        return Err(e);
    }
    Ok((dir, results))
}

/// What a sweep found, its conclusion, and the error that cut it short if one did.
type Outcome = (Found, String, Option<anyhow::Error>);

/// A capacity search on a cluster of its own.
fn capacity(sc: &Scenario, dir: &Path, progress: &Progress) -> Result<Outcome> {
    let spec = sc.search.as_ref().expect("checked by the caller");
    let t0 = Instant::now();
    let mut cluster = start_cluster(sc, progress, false)?;
    let place = capacity::Place {
        dir,
        prefix: String::new(),
        deadline: t0 + spec.budget,
    };
    let found = capacity::search(sc, spec, &mut cluster, &place, progress);
    let (teardown, _) = cluster.finish(false, &sc.topic.name);
    let conclusion = conclusion(&found.answer, spec.spec.precision);
    let error = (found.error).or(teardown.context("tearing the cluster down").err());
    let found = Found::Capacity(CapacityFound {
        precision: spec.spec.precision,
        steps: found.steps,
        answer: found.answer,
    });
    Ok((found, conclusion, error))
}

/// A parameter sweep.
fn parameters(
    spec: &crate::scenario::sweep::SweepSpec,
    dir: &Path,
    progress: &Progress,
) -> Outcome {
    let swept = grid::run(spec, dir, progress);
    let done = swept.points.len();
    let conclusion = match (&swept.stopped, &swept.error) {
        (_, Some(e)) => format!(
            "stopped after {done} of {} combinations: {e:#}",
            spec.points.len()
        ),
        (Some(why), None) => format!("{done} of {} combinations run: {why}", spec.points.len()),
        (None, None) => format!("all {} combinations run", spec.points.len()),
    };
    let found = Found::Parameters(ParametersFound {
        parameters: spec.parameters.clone(),
        complete: swept.stopped.is_none() && swept.error.is_none(),
        points: swept.points,
    });
    (found, conclusion, swept.error)
}

/// The answer in one sentence, saying how sure it is and why the search ended.
pub fn conclusion(a: &Answer, precision: f64) -> String {
    let rate = |r: f64| format!("{r:.0} records/s");
    let cap = a.capacity.map(rate);
    let up = a.next_up.map(rate);
    match (a.stop, cap, up) {
        (Some(Stop::Found), Some(c), Some(u)) => format!(
            "capacity {c}: it passed {} time(s) and {u} failed {} time(s) (known to ±{:.1} %, \
             asked ±{:.1} %)",
            a.confirmations + 1,
            a.next_up_failures.max(1),
            a.precision.unwrap_or(0.0) * 100.0,
            precision * 100.0
        ),
        (Some(Stop::AtMax), Some(c), _) => {
            format!("at least {c}: the highest rate allowed (search.max) passed")
        }
        (Some(Stop::GeneratorLimit), Some(c), Some(u)) => format!(
            "at least {c}: kbench's generator fell behind its schedule at {u}, so the cluster \
             may take more; no capacity above what kbench could offer is claimed"
        ),
        (Some(Stop::NothingPasses), _, _) => {
            "no capacity found: not even the lowest rate tried passed".into()
        }
        (Some(Stop::Unstable), c, _) => format!(
            "unstable: the highest passing rate failed when run again, repeatedly; best pass so \
             far {}",
            c.unwrap_or_else(|| "none".into())
        ),
        (stop, c, u) => format!(
            "not known to ±{:.1} %: the search ended ({}) with highest pass {} and lowest failure {}",
            precision * 100.0,
            stop.map_or("still running".into(), |s| s.to_string()),
            c.unwrap_or_else(|| "none".into()),
            u.unwrap_or_else(|| "none".into())
        ),
    }
}

/// `index.html` of the sweep in `dir` drawn again from its `sweep.json` (`kbench report`).
pub fn rebuild_page(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format_version")?.as_u64());
    if let Some(v) = version.filter(|v| *v != u64::from(FORMAT_VERSION)) {
        bail!(
            "{} is a sweep of format {v}, written by another kbench; this one reads format \
             {FORMAT_VERSION} (run the sweep again, or use the kbench that wrote it)",
            path.display()
        );
    }
    let r: SweepResults = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a kbench sweep (format {FORMAT_VERSION})",
            path.display()
        )
    })?;
    write_page(dir, &r)?;
    Ok(dir.join("index.html"))
}

/// `sweep.json` and `index.html` into `dir`.
fn write(dir: &Path, r: &SweepResults) -> Result<()> {
    let json = dir.join("sweep.json");
    let text = serde_json::to_string_pretty(r).context("cannot serialise the sweep")?;
    std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
    write_page(dir, r)
}

/// The page of either kind of sweep, with its `charts/`.
fn write_page(dir: &Path, r: &SweepResults) -> Result<()> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("cannot create {}", charts.display()))?;
    match &r.found {
        Found::Capacity(c) => page::write(dir, r, c),
        Found::Parameters(p) => grid_page::write(dir, r, p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_with_fault_metrics_reads_back() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/failover-run");
        let run = crate::report::results::read(&dir).unwrap();
        assert!(
            run.faults.iter().any(|f| f.metrics.is_some()),
            "partition-keyed maps"
        );
        let step = StepRecord::of(
            1,
            search::Purpose::Combination,
            run,
            search::Verdict::Pass,
            "s".into(),
        );
        let r = SweepResults {
            format_version: FORMAT_VERSION,
            kbench_version: "test".into(),
            scenario: "s".into(),
            file: "s.toml".into(),
            objectives: Vec::new(),
            settle_s: 1.0,
            measure_s: 1.0,
            found: Found::Capacity(CapacityFound {
                precision: 0.1,
                steps: vec![step],
                answer: search::Search::new(search::SearchSpec {
                    start: 1.0,
                    max: 2.0,
                    factor: 2.0,
                    precision: 0.1,
                    max_steps: 1,
                })
                .answer(),
            }),
            conclusion: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
        };
        let text = serde_json::to_string(&r).unwrap();
        let back: SweepResults = serde_json::from_str(&text).unwrap();
        assert!(matches!(back.found, Found::Capacity(c) if c.steps.len() == 1));
    }
}
