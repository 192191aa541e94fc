//! The HTML report built from a real run's results (tests/fixtures/quickstart-run): every section
//! and chart is there, nothing external is referenced, charts exist as SVG and PNG, faults add
//! their table and bands — and Debian's chromium, headless and offline, renders the page, takes a
//! screenshot, and requests nothing but the file itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kbench::faults::report::{FailoverMetrics, FaultReport};
use kbench::report::rebuild::{build_report, build_report_from};
use kbench::slo::{Op, SloResult};

const CHARTS: [&str; 4] = [
    "latency-distribution",
    "latency-over-time",
    "throughput-over-time",
    "send-lag-over-time",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run")
}

/// A fresh copy of the fixture run directory, so building the report never writes into the
/// source tree.
fn fresh_run(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report_html")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

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

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
        "{} is not a PNG",
        path.display()
    );
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
        action: "kill".into(),
        target: "leader:0".into(),
        node: Some(2),
        label: label.into(),
        scheduled_s: start + 12.0,
        fired_s: start + 12.004,
        recovered_s: Some(start + 17.5),
        rejoined_s: Some(start + 18.25),
        evidence: vec!["pid 4242 gone".into(), "port 9094 closed".into()],
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
        ..FaultReport::default()
    });
    // A second fault whose label would collide with the first's: it goes on another line.
    results.faults.push(FaultReport {
        index: 1,
        action: "stop".into(),
        target: "broker:1".into(),
        node: Some(1),
        label: "stop broker 1".into(),
        scheduled_s: start + 15.0,
        fired_s: start + 15.0,
        ..FaultReport::default()
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
        "pid 4242 gone; port 9094 closed",
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

// ---- In a real browser -------------------------------------------------------------------------

fn chromium() -> PathBuf {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    if let Some(p) = std::env::var_os("KBENCH_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in candidates {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if let Some(path) = found.filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
    }
    panic!(
        "this test needs Debian's chromium to render the report (apt-get install -y chromium, \
         or set KBENCH_CHROMIUM to a Chromium binary); none of {candidates:?} is on PATH"
    );
}

/// Runs headless chromium on `page` with networking off (every host resolves to nothing) and a
/// net log, with extra arguments; returns its stdout and the net log's path. Output goes to files:
/// a DOM dump outgrows a pipe's buffer, and chromium would block on it.
fn run_chromium(work: &Path, tag: &str, page: &Path, extra: &[String]) -> (String, PathBuf) {
    let net_log = work.join(format!("netlog-{tag}.json"));
    let stdout_path = work.join(format!("{tag}.stdout"));
    let stderr_path = work.join(format!("{tag}.stderr"));
    let profile = work.join(format!("profile-{tag}"));
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&net_log);
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--net-log-capture-mode=Everything",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", net_log.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&stdout_path).unwrap())
    .stderr(std::fs::File::create(&stderr_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd.get_program().to_string_lossy()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    (std::fs::read_to_string(&stdout_path).unwrap(), net_log)
}

/// URLs that the page itself asked for (not the browser's own background services): requests
/// whose network isolation key is the file:// page.
fn page_requests(net_log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(net_log)
        .unwrap_or_else(|e| panic!("no net log at {}: {e}", net_log.display()));
    // A log cut short by a crash lacks its closing brackets; chromium documents that form.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names its event types");
    let events = log["events"].as_array().expect("the net log has events");
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| {
            let p = &e["params"];
            let nik = p["network_isolation_key"].as_str().unwrap_or("");
            let site = p["site_for_cookies"].as_str().unwrap_or("");
            nik.starts_with("file://") || site.contains("site=file://")
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn chromium_renders_the_report_offline() {
    let dir = fresh_run("chromium");
    let index = build_report(&dir).unwrap();
    let work = dir.join("chromium");
    std::fs::create_dir_all(&work).unwrap();

    // The detector must see an external request when a page makes one, or a pass means nothing.
    let control = work.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><img src=\"http://external.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let (_, log) = run_chromium(&work, "control", &control, &["--dump-dom".into()]);
    let seen = page_requests(&log);
    assert!(
        seen.iter()
            .any(|u| u.starts_with("http://external.invalid/")),
        "the net log check does not see a page's external request: {seen:?}"
    );

    let (dom, log) = run_chromium(&work, "dom", &index, &["--dump-dom".into()]);
    assert!(
        dom.matches("<svg").count() >= CHARTS.len(),
        "DOM has the inline charts"
    );
    for chart in CHARTS {
        assert!(
            dom.contains(&format!("id=\"chart-{chart}\"")),
            "DOM lacks {chart}"
        );
    }
    for needle in [
        "<table",
        "Audit OK:",
        "Latency percentiles",
        "p99.9 (ms)",
        "Kafka version",
    ] {
        assert!(dom.contains(needle), "DOM lacks {needle:?}");
    }
    let external: Vec<String> = (page_requests(&log).into_iter())
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:") && !u.starts_with("about:"))
        .collect();
    assert!(external.is_empty(), "the report requested {external:?}");

    let shot = dir.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let (_, log) = run_chromium(
        &work,
        "shot",
        &index,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,4000".into(),
        ],
    );
    assert_png(&shot);
    let external: Vec<String> = (page_requests(&log).into_iter())
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:") && !u.starts_with("about:"))
        .collect();
    assert!(external.is_empty(), "the report requested {external:?}");
    // CI keeps reports/ as an artifact; the directory is local output, not source.
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
    if std::fs::create_dir_all(&reports).is_ok() {
        let _ = std::fs::copy(&shot, reports.join("report-screenshot.png"));
    }
}
