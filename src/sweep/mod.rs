//! `kbench sweep`: a capacity search on one cluster. The driver above `Run`: it starts the
//! cluster once, asks the search which rate to try, runs each step as an ordinary measured run
//! (`run::measure`, into `steps/NN-<rate>/` with its own results and report), judges it, and
//! writes one `sweep.json` and one `index.html` over every step. The cluster is torn down at
//! the end, also on error and Ctrl-C.

mod page;
pub mod search;
mod step;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::progress::Progress;
use crate::run::{measure, start_cluster};
use crate::scenario::Scenario;
use search::{Answer, Search, Stop};
pub use step::StepRecord;

/// Bumped whenever a field of `sweep.json` changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

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
    /// The objectives every step was judged by, e.g. `ack_p99_ms <= 50`.
    pub objectives: Vec<String>,
    /// Settle (warm-up) and measured time of every step, s.
    pub settle_s: f64,
    /// Measured window of every step, s.
    pub measure_s: f64,
    /// Precision asked for.
    pub precision: f64,
    /// Every step, in order.
    pub steps: Vec<StepRecord>,
    /// What the steps say.
    pub answer: Answer,
    /// The answer in one sentence.
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

/// Run the capacity search of `sc` (its `[search]`) and write `sweep.json` and `index.html`.
pub fn sweep(sc: &Scenario, opts: &SweepOptions) -> Result<(PathBuf, SweepResults)> {
    let Some(spec) = &sc.search else {
        bail!(
            "{} has no [search] section: `kbench sweep` runs a capacity search (see README, \
             \"Capacity\"); for one run use `kbench run`",
            sc.file.display()
        );
    };
    let progress = Progress::new();
    let dir = crate::run::report_dir(&opts.reports_dir, &sc.name)?;
    let started_at = crate::timefmt::now_rfc3339();
    let mut cluster = start_cluster(sc, &progress, false)?;
    let mut search = Search::new(spec.spec.clone());
    let t0 = Instant::now();
    let step_time = sc.total_duration() + sc.drain_timeout.min(sc.total_duration());
    let mut steps = Vec::new();
    let outcome = loop {
        let Some((rate, purpose)) = search.next_step() else {
            break Ok(());
        };
        if t0.elapsed() + step_time > spec.budget {
            search.stop(Stop::Budget);
            break Ok(());
        }
        let index = steps.len();
        progress.note(&format!(
            "step {}: {rate:.0} records/s ({purpose:?})",
            index + 1
        ));
        let rel = format!("steps/{:02}-{rate:.0}", index + 1);
        let step_dir = dir.join(&rel);
        std::fs::create_dir_all(&step_dir)
            .with_context(|| format!("cannot create {}", step_dir.display()))?;
        let results = match measure(
            &step::scenario(sc, index, rate),
            &mut cluster,
            &step_dir,
            &progress,
        ) {
            Ok(r) => r,
            Err(e) => break Err(e),
        };
        let verdict = step::verdict(&results);
        progress.note(&format!("step {}: {}", index + 1, describe(&verdict)));
        steps.push(StepRecord::of(
            index + 1,
            purpose,
            &results,
            verdict.clone(),
            rel,
        ));
        search.record(rate, purpose, verdict);
        if results.aborted.is_some() {
            search.stop(Stop::Interrupted);
            break Ok(());
        }
    };
    let (teardown, _) = cluster.finish(false, &sc.topic.name);
    if outcome.is_err() {
        search.stop(Stop::Interrupted);
    }
    let results = SweepResults {
        format_version: FORMAT_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        scenario: sc.name.clone(),
        file: sc.file.display().to_string(),
        objectives: (sc.slos.iter())
            .map(|s| {
                format!(
                    "{} {} {}",
                    s.objective.key(),
                    s.objective.op().as_str(),
                    s.limit
                )
            })
            .collect(),
        settle_s: sc.warmup.as_secs_f64(),
        measure_s: sc.duration.as_secs_f64(),
        precision: spec.spec.precision,
        conclusion: conclusion(&search.answer(), spec.spec.precision),
        answer: search.answer(),
        steps,
        started_at,
        finished_at: crate::timefmt::now_rfc3339(),
    };
    write(&dir, &results)?;
    outcome?;
    teardown.context("tearing the cluster down")?;
    Ok((dir, results))
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
            "capacity {c}: it passed {} time(s) and {u} failed (known to ±{:.1} %, asked ±{:.1} %)",
            a.confirmations + 1,
            a.precision.unwrap_or(0.0) * 100.0,
            precision * 100.0
        ),
        (Some(Stop::AtMax), Some(c), _) => {
            format!("at least {c}: the highest rate allowed (search.max) passed")
        }
        (Some(Stop::GeneratorLimit), Some(c), Some(u)) => format!(
            "at least {c}: kbench's generator could not offer {u}, so the cluster may take more; \
             no capacity above what kbench could offer is claimed"
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

/// `sweep.json` and `index.html` into `dir`.
fn write(dir: &Path, r: &SweepResults) -> Result<()> {
    let json = dir.join("sweep.json");
    let text = serde_json::to_string_pretty(r).context("cannot serialise the sweep")?;
    std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
    page::write(dir, r)
}
