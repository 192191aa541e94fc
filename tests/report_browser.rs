//! The report in a real browser: Debian's chromium, headless and offline, renders a real
//! failover run's page, takes a screenshot, and requests nothing but the file itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::{assert_png, fresh_failover_run, CHARTS};
use kbench::report::rebuild::build_report;

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
