//! `kbench sweep`: many measured runs under one driver, one report. Two kinds: a capacity
//! search (`[search]`: which rate to try next, `capacity`) on one cluster, and a parameter
//! sweep (`[sweep]`: every combination of setting values, `grid`, each a run or a search of
//! its own). Every step is an ordinary run (`run::measure`) with its own results and report;
//! `sweep.json` holds them all, `index.html` draws them. The cluster is torn down at the end,
//! also on error and Ctrl-C.

mod capacity;
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

/// Bumped whenever a field of `sweep.json` changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 2;

/// Which kind of sweep ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepKind {
    /// A capacity search over rates (`[search]`).
    Capacity,
    /// Combinations of setting values (`[sweep]`).
    Parameters,
}

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
    /// Capacity search or parameter sweep.
    pub kind: SweepKind,
    /// The objectives every step was judged by, e.g. `ack_p99_ms <= 50`.
    pub objectives: Vec<String>,
    /// Settle (warm-up) time of every step, s.
    pub settle_s: f64,
    /// Measured window of every step, s.
    pub measure_s: f64,
    /// Precision asked for (capacity searches).
    pub precision: f64,
    /// A capacity search's steps, in order (a parameter sweep's are in `points`).
    pub steps: Vec<StepRecord>,
    /// What a capacity search's steps say.
    pub answer: Option<Answer>,
    /// A parameter sweep's parameters.
    pub parameters: Vec<crate::scenario::sweep::Parameter>,
    /// A parameter sweep's combinations, in order.
    pub points: Vec<grid::PointRecord>,
    /// A parameter sweep ran every combination (and a capacity search is never "complete":
    /// its answer says how it ended).
    #[serde(default)]
    pub complete: bool,
    /// The outcome in one sentence.
    pub conclusion: String,
    /// When it started and ended (RFC 3339, UTC).
    pub started_at: String,
    /// End.
    pub finished_at: String,
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
    let mut results = SweepResults {
        format_version: FORMAT_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        scenario: sc.name.clone(),
        file: sc.file.display().to_string(),
        kind: SweepKind::Capacity,
        objectives: objectives(sc),
        settle_s: sc.warmup.as_secs_f64(),
        measure_s: sc.duration.as_secs_f64(),
        precision: sc.search.as_ref().map_or(0.0, |s| s.spec.precision),
        steps: Vec::new(),
        answer: None,
        parameters: Vec::new(),
        points: Vec::new(),
        complete: false,
        conclusion: String::new(),
        started_at: crate::timefmt::now_rfc3339(),
        finished_at: String::new(),
    };
    let error = match &sc.sweep {
        Some(spec) => parameters(spec, &dir, &progress, &mut results),
        None => capacity(sc, &dir, &progress, &mut results)?,
    };
    results.finished_at = crate::timefmt::now_rfc3339();
    write(&dir, &results)?;
    if let Some(e) = error {
        return Err(e);
    }
    Ok((dir, results))
}

/// The objectives as `key op limit`.
fn objectives(sc: &Scenario) -> Vec<String> {
    (sc.slos.iter())
        .map(|s| {
            format!(
                "{} {} {}",
                s.objective.key(),
                s.objective.op().as_str(),
                s.limit
            )
        })
        .collect()
}

/// A capacity search on a cluster of its own; the error that cut it short, if one did.
fn capacity(
    sc: &Scenario,
    dir: &Path,
    progress: &Progress,
    out: &mut SweepResults,
) -> Result<Option<anyhow::Error>> {
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
    out.conclusion = conclusion(&found.answer, spec.spec.precision);
    out.steps = found.steps;
    out.answer = Some(found.answer);
    Ok(found
        .error
        .or(teardown.context("tearing the cluster down").err()))
}

/// A parameter sweep; the error that cut it short, if one did.
fn parameters(
    spec: &crate::scenario::sweep::SweepSpec,
    dir: &Path,
    progress: &Progress,
    out: &mut SweepResults,
) -> Option<anyhow::Error> {
    let swept = grid::run(spec, dir, progress);
    out.kind = SweepKind::Parameters;
    out.parameters = spec.parameters.clone();
    let done = swept.points.len();
    out.points = swept.points;
    out.complete = swept.stopped.is_none() && swept.error.is_none();
    out.conclusion = match (&swept.stopped, &swept.error) {
        (_, Some(e)) => format!(
            "stopped after {done} of {} combinations: {e:#}",
            spec.points.len()
        ),
        (Some(why), None) => format!("{done} of {} combinations run: {why}", spec.points.len()),
        (None, None) => format!("all {} combinations run", spec.points.len()),
    };
    swept.error
}

/// A verdict in a few words, for the progress line and tables.
pub fn describe(v: &search::Verdict) -> String {
    match v {
        search::Verdict::Pass => "pass".into(),
        search::Verdict::Fail { failed } => format!("fail: {}", failed.join("; ")),
        search::Verdict::Inconclusive { reason } => format!("inconclusive: {reason}"),
    }
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
            stop.map_or("still running".into(), |s| format!("{s:?}").to_lowercase()),
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
    match r.kind {
        SweepKind::Capacity => page::write(dir, r),
        SweepKind::Parameters => grid_page::write(dir, r),
    }
}
