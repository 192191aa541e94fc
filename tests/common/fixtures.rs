//! Report fixtures for the report tests: fresh copies of tests/fixtures run directories and
//! the checks every report test shares.

use std::path::{Path, PathBuf};

/// The time and distribution charts every report has.
pub const CHARTS: [&str; 4] = [
    "latency-distribution",
    "latency-over-time",
    "throughput-over-time",
    "send-lag-over-time",
];

/// A fresh copy of a fixture run directory (tests/fixtures/FIXTURE), so building the report
/// never writes into the source tree.
pub fn fresh_copy(fixture: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report_html")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

/// The quickstart run: no faults, no objectives.
pub fn fresh_run(name: &str) -> PathBuf {
    fresh_copy("quickstart-run", name)
}

/// A real failover run (tests/scenarios/failover-fixture.toml): the leader of p0 killed and
/// restarted, five objectives of which two fail.
pub fn fresh_failover_run(name: &str) -> PathBuf {
    fresh_copy("failover-run", name)
}

/// `path` is a PNG image of some substance.
pub fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
        "{} is not a PNG",
        path.display()
    );
}
