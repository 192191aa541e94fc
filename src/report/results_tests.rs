//! Tests of building, judging and reading a run's results.
use super::*;
use crate::slo::{evaluate, Objective, Op, Slo};

#[test]
fn objectives_are_judged_on_a_real_runs_numbers() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run");
    let r = read(&dir).unwrap();
    let slo = |k: &str, limit: f64| Slo {
        objective: Objective::parse(k).unwrap(),
        limit,
    };
    let out = evaluate(
        &[
            slo("ack_p99_ms", 1e9),
            slo("ack_p50_ms", 0.0),
            slo("lost", 0.0),
            slo("min_achieved_pct", 100.0),
            slo("max_unavailability_s", 1.0),
        ],
        &r.numbers(),
    );
    let pass: Vec<bool> = out.iter().map(|o| o.pass).collect();
    assert_eq!(
        pass,
        [true, false, true, r.rate.achieved_ratio >= 1.0, true]
    );
    let p50 = r.measured().unwrap().latency["ack_corrected"].p50_us;
    assert_eq!(out[1].measured, Some(p50 as f64 / 1000.0));
    assert_eq!(out[3].op, Op::AtLeast);
}

#[test]
fn a_run_cut_short_never_passes_and_says_why() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run");
    let mut r = read(&dir).unwrap();
    assert!(
        r.aborted.is_none(),
        "older results.json files read as whole runs"
    );
    let whole = r.passed();
    r.aborted = Some(Aborted {
        kind: AbortKind::Interrupted,
        reason: "SIGINT".into(),
        at: "2026-12-01T00:00:00Z".into(),
        load_s: 9.25,
        drain_skipped: true,
    });
    assert!(whole && !r.passed());
    let line = r.aborted.as_ref().unwrap().describe(25.0);
    assert_eq!(
        line,
        "run cut short 9.2 s into its 25 s load, interrupted by SIGINT (drain skipped by a \
         second signal)"
    );
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"kind\":\"interrupted\""), "{json:.0}");
}
