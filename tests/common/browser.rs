//! Debian's chromium, headless and offline, for the tests that look at a report the way a user
//! does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
pub fn run_chromium(work: &Path, tag: &str, page: &Path, extra: &[String]) -> (String, PathBuf) {
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

/// The DOM of `page` as chromium renders it (networking off), with its work files in `work`.
pub fn dom_of(work: &Path, page: &Path) -> String {
    std::fs::create_dir_all(work).unwrap();
    run_chromium(work, "dom", page, &["--dump-dom".into()]).0
}
