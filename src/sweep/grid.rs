//! A parameter sweep: every combination of `[sweep]` values run on as few clusters as the
//! broker settings allow — a combination that changes `[cluster.broker]` (or needs the nodes in
//! network namespaces) gets a cluster of its own, the others reuse the running one. Each
//! combination is one run (at the scenario's rate, with its faults if it has any) or, when the
//! scenario has `[search]`, a whole capacity search, in `points/NN/`.

use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::capacity::{self, Place};
use super::search::{Answer, Purpose, Stop, Verdict};
use super::step::{self, StepRecord};
use crate::progress::Progress;
use crate::run::{start_cluster, StartedCluster};
use crate::scenario::sweep::{Point, SweepSpec};
use crate::scenario::Scenario;

/// What each combination is run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointMode {
    /// One run at the scenario's rate.
    Fixed,
    /// One run with the scenario's faults: the failover window is the figure.
    Faults,
    /// A capacity search: the capacity is the figure.
    Search,
}

impl PointMode {
    /// The mode of `sc`'s combinations.
    pub fn of(sc: &Scenario) -> PointMode {
        match (&sc.search, sc.faults.is_empty()) {
            (Some(_), _) => PointMode::Search,
            (None, false) => PointMode::Faults,
            (None, true) => PointMode::Fixed,
        }
    }
}

/// One combination as `sweep.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointRecord {
    /// 1, 2, ...
    pub index: usize,
    /// What it ran as.
    pub mode: PointMode,
    /// One value per parameter, in parameter order.
    pub values: Vec<String>,
    /// `linger.ms=5, compression.type=lz4`.
    pub label: String,
    /// Whether a fresh cluster was started for it (its broker settings differ).
    pub new_cluster: bool,
    /// Its runs: one, or a search's steps.
    pub steps: Vec<StepRecord>,
    /// A search's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The combination's verdict: its run's, or for a search whether a capacity was found.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl PointRecord {
    /// The run that stands for the combination: its one run, or a search's highest pass.
    pub fn main_step(&self) -> Option<&StepRecord> {
        match &self.answer {
            Some(a) => (self.steps.iter().rev())
                .find(|s| Some(s.rate) == a.capacity && s.verdict == Verdict::Pass),
            None => self.steps.iter().find(|s| s.purpose != Purpose::WarmUp),
        }
    }

    /// A search whose capacity is only a floor: it ended on kbench's generator, on `max` or on
    /// its budget, not on a failing rate above it.
    pub fn capacity_is_a_floor(&self) -> bool {
        self.answer
            .as_ref()
            .is_some_and(|a| a.capacity.is_some() && a.stop != Some(Stop::Found))
    }
}

/// What the sweep did, and how it ended.
pub(super) struct Swept {
    pub points: Vec<PointRecord>,
    /// Why it stopped before the last combination, if it did.
    pub stopped: Option<String>,
    pub error: Option<anyhow::Error>,
}

/// A running cluster and what it was started with.
struct Running {
    cluster: StartedCluster,
    key: ClusterKey,
}

/// What decides whether a combination can reuse the running cluster.
#[derive(Debug, Clone, PartialEq)]
struct ClusterKey {
    broker: Vec<(String, String)>,
    namespaces: bool,
}

impl ClusterKey {
    fn of(sc: &Scenario) -> ClusterKey {
        ClusterKey {
            broker: sc.broker.clone(),
            namespaces: sc.faults.iter().any(|f| f.action.is_network()),
        }
    }
}

/// Run every combination of `spec` into `dir`, the cluster torn down at the end.
pub(super) fn run(spec: &SweepSpec, dir: &std::path::Path, progress: &Progress) -> Swept {
    let t0 = Instant::now();
    let deadline = t0 + spec.budget;
    let mut running: Option<Running> = None;
    let mut out = Swept {
        points: Vec::new(),
        stopped: None,
        error: None,
    };
    for (n, point) in spec.points.iter().enumerate() {
        let label = point.label(&spec.parameters);
        let sc = &point.scenario;
        if PointMode::of(sc) != PointMode::Search && Instant::now() + step::duration(sc) > deadline
        {
            out.stopped = Some(format!(
                "the budget ({}) ran out before {label}",
                crate::duration::display(spec.budget)
            ));
            break;
        }
        progress.note(&format!(
            "combination {} of {}: {label}",
            n + 1,
            spec.points.len()
        ));
        let result = cluster_for(sc, &mut running, progress).and_then(|fresh| {
            let r = running.as_mut().expect("started above");
            let place = Place {
                dir,
                prefix: format!("points/{:02}/", n + 1),
                deadline,
            };
            let warm = (fresh && PointMode::of(sc) == PointMode::Fixed)
                .then(|| warm_up(sc, &mut r.cluster, &place, progress))
                .transpose()?;
            let first = usize::from(warm.is_some());
            one_point(point, &mut r.cluster, (&place, first), progress).map(|mut p| {
                p.steps.splice(0..0, warm);
                p.index = n + 1;
                p.label = label.clone();
                p.new_cluster = fresh;
                p
            })
        });
        match result {
            Ok(p) => {
                let cut = p
                    .steps
                    .iter()
                    .any(|s| s.results.as_ref().is_some_and(|r| r.aborted.is_some()));
                out.points.push(p);
                if cut || crate::signals::requested() {
                    out.stopped = Some("interrupted".into());
                    break;
                }
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    if let Some(r) = running {
        if let (Err(e), _) = r.cluster.finish(false, "") {
            out.error
                .get_or_insert(e.context("tearing the cluster down"));
        }
    }
    out
}

/// Make sure the running cluster suits `sc`, starting a fresh one if not; whether it did.
fn cluster_for(sc: &Scenario, running: &mut Option<Running>, progress: &Progress) -> Result<bool> {
    let key = ClusterKey::of(sc);
    if running.as_ref().is_some_and(|r| r.key == key) {
        return Ok(false);
    }
    if let Some(old) = running.take() {
        progress.note("its broker settings differ: restarting the cluster");
        old.cluster.finish(false, "").0?;
    }
    *running = Some(Running {
        cluster: start_cluster(sc, progress, false)?,
        key,
    });
    Ok(true)
}

/// A fresh cluster's JIT has not settled: its first combination would pay for it, so it is
/// run once unjudged first (a capacity search warms up by itself; a run with faults has its
/// own warm-up, long enough for its fault).
fn warm_up(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    place: &Place<'_>,
    progress: &Progress,
) -> Result<StepRecord> {
    let at = step::At {
        index: 0,
        dir: place.dir,
        rel: format!("{}warm-up", place.prefix),
    };
    Ok(step::run(sc, cluster, at, Purpose::WarmUp, progress)?.0)
}

/// Run one combination: a search, or one run.
fn one_point(
    point: &Point,
    cluster: &mut StartedCluster,
    (place, first): (&Place<'_>, usize),
    progress: &Progress,
) -> Result<PointRecord> {
    let sc = &point.scenario;
    let (steps, answer, verdict) = match &sc.search {
        Some(spec) => {
            let found = capacity::search(sc, spec, cluster, place, progress);
            if let Some(e) = found.error {
                return Err(e);
            }
            let said = super::conclusion(&found.answer, spec.spec.precision);
            // Only a found edge passes: a capacity bounded by kbench's generator, by `max` or
            // by the budget says nothing of where the cluster stops keeping up.
            let verdict = match (found.answer.capacity, found.answer.stop) {
                (Some(_), Some(Stop::Found)) => Verdict::Pass,
                (Some(_), _) => Verdict::Inconclusive { reason: said },
                (None, _) => Verdict::Fail { failed: vec![said] },
            };
            (found.steps, Some(found.answer), verdict)
        }
        None => {
            let at = step::At {
                index: first,
                dir: place.dir,
                rel: format!("{}run", place.prefix),
            };
            let purpose = Purpose::Combination;
            let (record, _) = step::run(sc, cluster, at, purpose, progress)?;
            let verdict = record.verdict.clone();
            (vec![record], None, verdict)
        }
    };
    Ok(PointRecord {
        index: 0,
        mode: PointMode::of(sc),
        values: point.values.clone(),
        label: String::new(),
        new_cluster: false,
        steps,
        answer,
        verdict,
    })
}
