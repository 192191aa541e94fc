//! The report in a real browser: Debian's chromium, headless and offline, renders a real
//! failover run's page, takes a screenshot, and requests nothing but the file itself.

mod common;

use std::path::Path;

use common::browser::run_chromium;
use common::fixtures::{assert_png, fresh_failover_run, CHARTS};
use kbench::report::rebuild::build_report;

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
    let dir = fresh_failover_run("chromium");
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
    assert!(
        dom.contains("id=\"chart-latency-distribution-faults\""),
        "DOM lacks the fault distributions"
    );
    for needle in [
        "<table",
        "Audit OK:",
        "Latency percentiles",
        "p99.9 (ms)",
        "Kafka version",
        "Failover",
        "kill broker 2 (leader p0)",
        "3 of 5 SLOs met",
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
