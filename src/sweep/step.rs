//! One step of a sweep: the scenario run once on the running cluster (its warm-up as the
//! settle time) into a directory of its own, and its verdict — the same objectives and audit
//! a single run is judged by, plus the search's honesty rule: a step whose generator could not
//! offer the rate by itself is inconclusive, one the cluster held back is a failure, and a
//! generator that stalled but still sent the rate can make a step look worse, never better, so
//! such a step's pass stands and its failure says nothing.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::search::{Purpose, Verdict};
use crate::load::schedule::RateProfile;
use crate::progress::Progress;
use crate::report::results::Results;
use crate::run::{measure, StartedCluster};
use crate::scenario::Scenario;

/// Waiting this long in total for room in librdkafka's queue means the cluster, not the
/// generator, held the schedule back.
const HELD_BACK_S: f64 = 0.5;
/// The generator offered the rate when it sent at least this share of it over the measured
/// window (the share `min_achieved_pct` asks of the cluster by default).
const OFFERED_SHARE: f64 = 0.99;

/// The scenario of step `index` at `rate` records/s.
pub fn at_rate(sc: &Scenario, index: usize, rate: f64) -> Scenario {
    let mut step = sc.clone();
    step.name = format!("{}-step{:02}", sc.name, index + 1);
    step.producer.rate = RateProfile::Constant { rate };
    step
}

/// About how long one run of `sc` takes on a running cluster: its load and a drain.
pub fn duration(sc: &Scenario) -> Duration {
    sc.total_duration() + sc.drain_timeout.min(sc.total_duration())
}

/// Where step `index` goes: `dir/rel`.
pub struct At<'a> {
    /// 0-based.
    pub index: usize,
    /// The sweep's directory.
    pub dir: &'a Path,
    /// The step's directory, relative to it.
    pub rel: String,
}

/// Run `sc` as step `at` on `cluster`: its record (full results inside) and whether it was cut
/// short.
pub fn run(
    sc: &Scenario,
    cluster: &mut StartedCluster,
    at: At<'_>,
    purpose: Purpose,
    progress: &Progress,
) -> Result<(StepRecord, bool)> {
    let n = at.index + 1;
    let rate = match &sc.producer.rate {
        RateProfile::Constant { rate } => format!("{rate:.0} records/s"),
        _ => "the scenario's rate profile".into(),
    };
    progress.note(&format!("step {n}: {rate} ({purpose})"));
    let dir = at.dir.join(&at.rel);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let results = measure(sc, cluster, &dir, progress, &mut crate::run::Part::Whole)?;
    let verdict = match purpose {
        Purpose::WarmUp => Verdict::Inconclusive {
            reason: "warm-up: not judged".into(),
        },
        // A combination is judged as `kbench run` judges a run: its objectives and audit. A
        // saturated generator is shown beside it, not turned into a verdict: the figure a
        // combination is run for (a failover window, a compression ratio) still holds.
        Purpose::Combination => judged(&results),
        _ => verdict(&results),
    };
    progress.note(&format!("step {n}: {verdict}"));
    let aborted = results.aborted.is_some();
    Ok((
        StepRecord::of(n, purpose, results, verdict, at.rel),
        aborted,
    ))
}

/// What step `r` showed: what its objectives and audit say, unless kbench's own generator
/// fell behind its schedule while the cluster kept up. Then a pass stands if the generator
/// still sent the rate (its lag is in the corrected latencies, so it can only have made the
/// step look worse), and anything else is inconclusive: nothing is known of the rate.
pub fn verdict(r: &Results) -> Verdict {
    let judged = judged(r);
    let unknown = matches!(judged, Verdict::Inconclusive { .. });
    if unknown || !r.rate.generator_saturated || held_back_s(r) >= HELD_BACK_S {
        return judged;
    }
    let offered = r.rate.sent_rate >= OFFERED_SHARE * r.rate.target_rate;
    let lag_ms = r.rate.send_lag_max_us as f64 / 1e3;
    let reason = match (offered, &judged) {
        (true, Verdict::Pass) => return judged,
        (true, _) => format!(
            "kbench's generator fell behind its schedule (send lag up to {lag_ms:.0} ms) \
             though the cluster never held it back, so the failed objectives may be its own"
        ),
        (false, _) => format!(
            "kbench's generator could not offer {:.0} records/s (sent {:.0}/s, send lag up to \
             {lag_ms:.0} ms) though the cluster never held it back",
            r.rate.target_rate, r.rate.sent_rate
        ),
    };
    Verdict::Inconclusive { reason }
}

/// Seconds the producers' queues were full over the step, summed: the cluster holding them back.
fn held_back_s(r: &Results) -> f64 {
    r.producers.iter().map(|p| p.queue_full_s).sum()
}

/// What step `r`'s objectives and audit say (and the cluster holding the producers back).
fn judged(r: &Results) -> Verdict {
    if let Some(a) = &r.aborted {
        return Verdict::Inconclusive {
            reason: format!("cut short: {}", a.reason),
        };
    }
    let held_back = held_back_s(r);
    let mut failed: Vec<String> = (r.slos.iter())
        .filter(|s| !s.pass)
        .map(|s| {
            let m = s
                .measured
                .map_or("nothing to measure".into(), |v| format!("{v:.2}"));
            format!(
                "{} {m} {} (objective {} {})",
                s.key,
                s.unit,
                s.op.as_str(),
                s.limit
            )
        })
        .collect();
    if r.rate.generator_saturated && held_back >= HELD_BACK_S {
        failed.push(format!(
            "the cluster held the producers back: librdkafka's queue was full for {held_back:.1} s"
        ));
    }
    if !r.audit.ok {
        failed.push(format!(
            "audit: {} lost, {} duplicated, {} reordered",
            r.audit.lost, r.audit.duplicated, r.audit.reordered
        ));
    }
    if failed.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail { failed }
    }
}

/// One step as the sweep's results keep it: what was asked, what came of it, where its run
/// directory is, and its full results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1, 2, ...
    pub index: usize,
    /// Target rate, records/s.
    pub rate: f64,
    /// Why it was run.
    pub purpose: Purpose,
    /// What it showed.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Acked records/s over the measured window.
    pub achieved_rate: f64,
    /// Ack latency (corrected) over the measured window, ms.
    pub ack_p50_ms: Option<f64>,
    /// p99, ms.
    pub ack_p99_ms: Option<f64>,
    /// p99.9, ms.
    pub ack_p99_9_ms: Option<f64>,
    /// The generator fell behind its schedule.
    pub generator_saturated: bool,
    /// Longest time any partition got no ack, s (the failover window of a run with faults).
    #[serde(default)]
    pub max_unavailability_s: f64,
    /// Key + value bytes ÷ batch bytes on the wire.
    #[serde(default)]
    pub compression_ratio: Option<f64>,
    /// Its run directory, relative to the sweep's.
    pub dir: String,
    /// The step's whole results.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Box<Results>>,
}

impl StepRecord {
    /// The record of step `index` from its results.
    pub fn of(index: usize, purpose: Purpose, r: Results, verdict: Verdict, dir: String) -> Self {
        let measured = r.measured();
        let ack = measured.and_then(|p| p.latency.get("ack_corrected"));
        let ms = |us: u64| us as f64 / 1e3;
        StepRecord {
            index,
            rate: r.rate.target_rate,
            purpose,
            verdict,
            achieved_rate: r.rate.achieved_rate,
            ack_p50_ms: ack.map(|q| ms(q.p50_us)),
            ack_p99_ms: ack.map(|q| ms(q.p99_us)),
            ack_p99_9_ms: ack.map(|q| ms(q.p99_9_us)),
            generator_saturated: r.rate.generator_saturated,
            max_unavailability_s: r.max_unavailability_s(),
            compression_ratio: r.payload.as_ref().and_then(|p| p.compression_ratio),
            dir,
            results: Some(Box::new(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::{Op, SloResult};

    /// The quickstart fixture as a step at 500 records/s whose generator fell behind (it did
    /// then: 45 ms of send lag), objectives all met, the cluster never holding it back.
    fn lagging_step(sent_rate: f64) -> Results {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run");
        let mut r = crate::report::results::read(&dir).unwrap();
        assert!(r.rate.generator_saturated && r.audit.ok && r.aborted.is_none());
        r.rate.target_rate = 500.0;
        r.rate.sent_rate = sent_rate;
        r.producers.iter_mut().for_each(|p| p.queue_full_s = 0.0);
        r
    }

    fn missed_p99(r: &mut Results) {
        r.slos.push(SloResult {
            key: "ack_p99_ms".into(),
            description: "ack p99".into(),
            op: Op::AtMost,
            limit: 10.0,
            measured: Some(40.0),
            unit: "ms".into(),
            pass: false,
            evaluated: true,
        });
    }

    #[test]
    fn a_lagging_generator_that_sent_the_rate_keeps_its_pass_but_not_its_failure() {
        assert_eq!(verdict(&lagging_step(499.0)), Verdict::Pass);
        let mut failed = lagging_step(499.0);
        missed_p99(&mut failed);
        assert!(
            matches!(verdict(&failed), Verdict::Inconclusive { reason } if reason.contains("may be its own")),
            "{:?}",
            verdict(&failed)
        );
    }

    #[test]
    fn a_generator_that_sent_less_than_the_rate_concludes_nothing() {
        let v = verdict(&lagging_step(450.0));
        assert!(
            matches!(&v, Verdict::Inconclusive { reason } if reason.contains("could not offer 500 records/s (sent 450/s")),
            "{v:?}"
        );
    }

    #[test]
    fn the_cluster_holding_the_generator_back_is_a_failure() {
        let mut r = lagging_step(450.0);
        r.producers[0].queue_full_s = HELD_BACK_S;
        assert!(
            matches!(verdict(&r), Verdict::Fail { failed } if failed[0].contains("held the producers back"))
        );
    }
}
