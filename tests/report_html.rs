//! The HTML report built from a real run's results (tests/fixtures/quickstart-run): every section
//! and chart is there, nothing external is referenced, charts exist as SVG and PNG, faults add
//! their table and bands, a real failover run renders its fault and objectives. The browser
//! checks are in tests/report_browser.rs.

use std::path::Path;

use kbench::faults::plan::Action;
use kbench::faults::report::{FailoverMetrics, FaultReport};
use kbench::report::rebuild::{build_report, build_report_from};
use kbench::slo::{Op, SloResult};

use common::fixtures::{assert_png, fresh_failover_run, fresh_run, CHARTS};
use kbench::cluster::ProcessState;
use kbench::faults::evidence::Evidence;

mod common;

/// The page without its `<pre>` scenario echo, which quotes the scenario file verbatim.
fn outside_pre(html: &str) -> String {
    let start = html
        .find("<pre")
        .expect("the page echoes the scenario in a <pre>");
    let end = html[start..].find("</pre>").unwrap() + start;
    format!("{}{}", &html[..start], &html[end..])
}

/// The inline SVG of one chart figure.
fn figure_svg<'a>(html: &'a str, chart: &str) -> &'a str {
    let start = html
        .find(&format!("<figure id=\"chart-{chart}\">"))
        .unwrap_or_else(|| panic!("no figure for chart {chart}"));
    let end = html[start..].find("</figure>").unwrap() + start;
    let fig = &html[start..end];
    let svg = fig
        .find("<svg")
        .unwrap_or_else(|| panic!("chart {chart} has no inline <svg>"));
    &fig[svg..]
}

#[test]
fn report_has_every_section_and_chart() {
    let dir = fresh_run("sections");
    let index = build_report(&dir).unwrap();
    assert_eq!(index, dir.join("index.html"));
    let html = std::fs::read_to_string(&index).unwrap();
    let results = kbench::report::results::read(&dir).unwrap();

    for needle in [
        "<title>kbench report: quickstart</title>",
        "<section id=\"verdict\">",
        "Audit OK:",
        "Generator saturated:",
        "No SLOs: the scenario has no [slo] section",
        "<section id=\"environment\">",
        "Kafka version",
        "4.1.1",
        "registry version",
        "3.3.3",
        "500 records/s",
        "<section id=\"counts\">",
        "lost (acked, never consumed)",
        "<section id=\"percentiles\">",
        "Phase: measured",
        "p99.999 (ms)",
        "<section id=\"charts\">",
        "<section id=\"files\">",
        "href=\"results.json\"",
        "<pre class=\"scenario\">",
        "rate = 500",
        "@media print",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    // No faults in this run: no failover table, no fault chart.
    assert!(!html.contains("<section id=\"faults\">"));
    assert!(!html.contains("chart-latency-distribution-faults"));

    for file in results.hlog_files.values() {
        assert!(
            html.contains(&format!("href=\"{file}\"")),
            "no link to {file}"
        );
    }
    for chart in CHARTS {
        let svg = figure_svg(&html, chart);
        assert!(svg.contains("</svg>"), "chart {chart} SVG is cut short");
        assert!(svg.contains("<text"), "chart {chart} has no text");
        assert!(
            std::fs::read_to_string(dir.join(format!("charts/{chart}.svg")))
                .unwrap()
                .starts_with("<svg"),
            "charts/{chart}.svg"
        );
        assert_png(&dir.join(format!("charts/{chart}.png")));
    }
    // Units on the axes.
    for label in [
        "latency (ms, log scale)",
        "records per second",
        "max send lag (ms)",
    ] {
        assert!(html.contains(label), "no axis label {label:?}");
    }
    for tick in ["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"] {
        assert!(
            figure_svg(&html, "latency-distribution").contains(&format!(">\n{tick}\n<")),
            "no percentile tick {tick}"
        );
    }

    // Self-contained: nothing that loads anything, and no URL outside the scenario echo except
    // the run's own endpoints, which the environment table names as plain text.
    for bad in [
        "<script", "<link", "<img", "<iframe", "<object", "url(", "@import", "src=",
    ] {
        assert!(!html.contains(bad), "index.html contains {bad:?}");
    }
    let mut rest = outside_pre(&html);
    for endpoint in [
        &results.environment.registry_url,
        &results.environment.bootstrap_servers,
    ] {
        rest = rest.replace(&kbench::report::html::esc(endpoint), "");
    }
    for scheme in ["http://", "https://", "//cdn", "ftp://"] {
        assert!(!rest.contains(scheme), "index.html mentions {scheme}");
    }
    assert!(!html.contains("href=\"http"), "no external link at all");
}

#[test]
fn fault_adds_failover_table_bands_and_fault_distributions() {
    let dir = fresh_run("fault");
    let mut results = kbench::report::results::read(&dir).unwrap();
    let start = kbench::report::phases::load_start_s(&results);
    let label = "kill broker 2 (leader p0) <&>";
    results.faults.push(FaultReport {
        index: 0,
        target: "leader:0".into(),
        node: Some(2),
        label: label.into(),
        scheduled_s: start + 12.0,
        fired_s: start + 12.004,
        recovered_s: Some(start + 17.5),
        rejoined_s: Some(start + 18.25),
        evidence: vec![
            Evidence::Down {
                node: Some(3),
                process: Some(ProcessState::Down),
                answers: Some(false),
            },
            Evidence::StayedRegistered { node: 3 },
        ],
        metrics: Some(FailoverMetrics {
            first_error_after_s: Some(0.12),
            longest_ack_gap_s: 2.346,
            partition_ack_gaps_s: [(0, 2.346), (1, 0.2)].into(),
            leader_reelection_s: [(0, 1.234)].into(),
            throughput_recovery_s: Some(3.5),
            pre_fault_ack_rate: 500.0,
            max_under_replicated: 3,
            under_replicated_cleared_after_s: Some(9.0),
            errors: [("NotEnoughReplicas".to_string(), 17u64)].into(),
            ..FailoverMetrics::default()
        }),
        ..FaultReport::of(Action::Kill)
    });
    // A second fault whose label would collide with the first's: it goes on another line.
    results.faults.push(FaultReport {
        index: 1,
        target: "broker:1".into(),
        node: Some(1),
        label: "stop broker 1".into(),
        scheduled_s: start + 15.0,
        fired_s: start + 15.0,
        ..FaultReport::of(Action::Stop)
    });
    let index = build_report_from(&dir, &results).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    let escaped = "kill broker 2 (leader p0) &lt;&amp;&gt;";

    assert!(html.contains("<section id=\"faults\">"), "failover table");
    assert!(!html.contains(label), "the label is escaped everywhere");
    for needle in [
        escaped,
        "broker 2",
        "12.00 s",
        "2.35 s",
        "p0: 1.23 s",
        "3.5 s",
        "NotEnoughReplicas: 17",
        "3, cleared after 9.0 s",
        "17.50 s (rejoined 18.25 s)",
        "broker 3: process down, client port closed; cluster metadata: broker 3 stayed \
         registered until it was brought back",
        "Before fault #1",
        "During fault #1",
        "During fault #2 stop broker 1",
        "After fault #2 stop broker 1",
        "no failover metrics recorded",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    // Every band is labelled in every time chart.
    for chart in [
        "latency-over-time",
        "throughput-over-time",
        "send-lag-over-time",
    ] {
        for band in [escaped, "stop broker 1"] {
            assert!(
                figure_svg(&html, chart).contains(&format!(">\n{band}\n<")),
                "chart {chart} has no band labelled {band}"
            );
        }
    }
    let faults_svg = figure_svg(&html, "latency-distribution-faults");
    for legend in ["before", "during", "after", escaped, "#2 stop broker 1"] {
        assert!(
            faults_svg.contains(legend),
            "fault distribution lacks {legend}"
        );
    }
    assert_png(&dir.join("charts/latency-distribution-faults.png"));
}

#[test]
fn slos_are_listed_with_their_measured_values() {
    let dir = fresh_run("slo");
    let mut results = kbench::report::results::read(&dir).unwrap();
    let slo = |key: &str, op: Op, limit, measured, unit: &str, pass| SloResult {
        key: key.into(),
        description: format!("objective {key}"),
        op,
        limit,
        measured,
        unit: unit.into(),
        pass,
        evaluated: true,
    };
    results.slos = vec![
        slo("ack_p99_ms", Op::AtMost, 50.0, Some(627.2), "ms", false),
        slo("lost", Op::AtMost, 0.0, Some(0.0), "records", true),
        slo("max_unavailability_s", Op::AtMost, 5.0, None, "s", false),
    ];
    let html = std::fs::read_to_string(build_report_from(&dir, &results).unwrap()).unwrap();
    for needle in [
        "Run FAILED:",
        "1 of 3 SLOs met; audit OK.",
        "<strong>FAIL</strong> objective ack_p99_ms (<code>ack_p99_ms</code>): measured 627.2 ms, objective ≤ 50 ms",
        "<strong>PASS</strong> objective lost (<code>lost</code>): measured 0 records, objective ≤ 0 records",
        "(<code>max_unavailability_s</code>): not measured in this run, objective ≤ 5 s",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    assert!(!html.contains("No SLOs:"));
}

/// The path a real run takes: a fault with measured failover figures and objectives judged by
/// kbench itself, rendered from files alone.
#[test]
fn a_real_failover_run_reports_its_fault_and_objectives() {
    let dir = fresh_failover_run("real-failover");
    let results = kbench::report::results::read(&dir).unwrap();
    let html = std::fs::read_to_string(build_report(&dir).unwrap()).unwrap();
    let m = results.faults[0].metrics.as_ref().expect("measured");
    let reelection = format!("p0: {:.2} s", m.leader_reelection_s[&0]);
    let missed: Vec<&str> = (results.slos.iter())
        .filter(|s| !s.pass)
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(missed, ["ack_p50_ms", "ack_p99_ms"], "{:?}", results.slos);
    for needle in [
        "<title>kbench report: failover-fixture</title>",
        "Run FAILED:",
        "3 of 5 SLOs met; audit OK.",
        "<section id=\"faults\">",
        "kill broker 2 (leader p0)",
        reelection.as_str(),
        "Before fault #1",
        "During fault #1",
        "After fault #1",
        "<strong>PASS</strong> longest time a partition got no ack, any fault",
        "<strong>FAIL</strong> ack_corrected latency p50, measured phase",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    assert!(!html.contains("No SLOs:"));
    for chart in CHARTS.iter().chain(&["latency-distribution-faults"]) {
        assert!(
            html.contains(&format!("id=\"chart-{chart}\"")),
            "no chart {chart}"
        );
    }
    assert_png(&dir.join("charts/latency-distribution-faults.png"));
}

/// README: failed deliveries raise a warning at the top of the report, with their count; a
/// run without any has none.
#[test]
fn failed_deliveries_raise_a_warning() {
    let dir = fresh_run("failed-deliveries");
    let clean = std::fs::read_to_string(build_report(&dir).unwrap()).unwrap();
    assert!(
        !clean.contains("Failed deliveries:"),
        "no warning without failures"
    );
    let mut results = kbench::report::results::read(&dir).unwrap();
    results.counts.failed = 1234;
    results.errors.insert("MessageTimedOut".into(), 1234);
    let html = std::fs::read_to_string(build_report_from(&dir, &results).unwrap()).unwrap();
    let warning = html
        .find("Failed deliveries:")
        .expect("a failed-deliveries banner");
    assert!(
        html[warning..].contains("1,234 deliveries were reported failed"),
        "the banner counts them"
    );
    assert!(html.contains("MessageTimedOut"), "by kind in the counts");
}

#[test]
fn missing_results_is_a_clear_error() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_html/empty");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let err = format!("{:#}", build_report(&dir).unwrap_err());
    assert!(err.contains("has no results.json"), "{err}");
    let err = format!("{:#}", build_report(&dir.join("nope")).unwrap_err());
    assert!(err.contains("is not a directory"), "{err}");
}

#[test]
fn broken_inputs_are_errors_not_panics() {
    let dir = fresh_run("broken-json");
    std::fs::write(dir.join("results.json"), "{ not json").unwrap();
    let err = format!("{:#}", build_report(&dir).unwrap_err());
    assert!(err.contains("results.json"), "{err}");

    let dir = fresh_run("broken-hlog");
    std::fs::write(dir.join("ack_raw.hlog"), "0.000,1.000,5.000,HISTFAAA!!!!\n").unwrap();
    let err = format!("{:#}", build_report(&dir).unwrap_err());
    assert!(err.contains("ack_raw.hlog"), "{err}");

    // A missing log is reported in the page, not fatal.
    let dir = fresh_run("missing-hlog");
    std::fs::remove_file(dir.join("e2e.hlog")).unwrap();
    let html = std::fs::read_to_string(build_report(&dir).unwrap()).unwrap();
    assert!(html.contains("Missing log:"));
    assert!(html.contains("e2e.hlog (missing)"));
}

#[test]
fn a_run_cut_short_says_so_first_and_does_not_report_a_rate_it_never_measured() {
    use kbench::report::results::{AbortKind, Aborted};
    let dir = fresh_run("cut-short");
    let mut results = kbench::report::results::read(&dir).unwrap();
    let warmup = results.scenario.warmup_s;
    results.aborted = Some(Aborted {
        kind: AbortKind::Error,
        reason: "broker 2 exited outside the fault plan".into(),
        at: "2026-12-01T00:00:00Z".into(),
        load_s: warmup / 2.0,
        drain_skipped: false,
    });
    results.audit = results.audit.clone().cut_short();
    results.slos = results
        .slos
        .into_iter()
        .map(SloResult::not_evaluated)
        .collect();
    let html = std::fs::read_to_string(build_report_from(&dir, &results).unwrap()).unwrap();
    let banner = html.find("Run CUT SHORT:").expect("the cut-short banner");
    assert!(
        banner
            < html
                .find("Audit INCOMPLETE:")
                .expect("the audit says incomplete")
    );
    assert!(html.contains("stopped by an error: broker 2 exited outside the fault plan"));
    assert!(html.contains("cut short before the measured phase"));
    assert!(!html.contains("Run PASSED"), "a run cut short never passes");
}
