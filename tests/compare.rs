//! `kbench compare` on a real run's fixture: a run compared with itself shows no regression; a
//! copy whose latency histograms are worse and which lost a record is flagged, exits 3, and the
//! HTML page overlays both distributions without fetching anything.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run");
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `kbench compare BASE NEW --html HTML`: exit code and stdout.
fn compare(base: &Path, new: &Path, html: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kbench"))
        .arg("compare")
        .args([base, new])
        .arg("--html")
        .arg(html)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn compare_flags_regressions_and_writes_html() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare");
    let _ = std::fs::remove_dir_all(&root);
    let (base, new) = (root.join("base"), root.join("new"));
    copy_fixture(&base);
    copy_fixture(&new);

    let html = root.join("same.html");
    let (code, out) = compare(&base, &new, &html);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no regression"), "{out}");

    // Make the new run worse: every ack-latency interval of its log doubled, one record lost.
    let log = new.join("ack_corrected.hlog");
    let worse = kbench::metrics::read_hlog(&log).unwrap();
    let mut w = kbench::metrics::new_histogram();
    for (_, h) in &worse {
        for v in h.iter_recorded() {
            w.record_n(v.value_iterated_to() * 2, v.count_at_value())
                .unwrap();
        }
    }
    let mut text: Vec<u8> = Vec::new();
    let mut ser = hdrhistogram::serialization::V2DeflateSerializer::new();
    {
        let mut writer = hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder::new()
            .begin_log_with(&mut text, &mut ser)
            .unwrap();
        let start = kbench::report::results::read(&new)
            .unwrap()
            .measured()
            .unwrap()
            .from_us as f64
            / 1e6;
        writer
            .write_histogram(
                &w,
                std::time::Duration::from_secs_f64(start),
                std::time::Duration::from_secs(1),
                None,
            )
            .unwrap();
    }
    std::fs::write(&log, text).unwrap();
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("results.json")).unwrap()).unwrap();
    r["audit"]["lost"] = 1.into();
    std::fs::write(new.join("results.json"), serde_json::to_vec(&r).unwrap()).unwrap();

    let html = root.join("worse.html");
    let (code, out) = compare(&base, &new, &html);
    assert_eq!(code, 3, "a regression exits 3:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ack p99 ") && l.contains("REGRESSED")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("lost ") && l.contains("REGRESSED")),
        "{out}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("REGRESSION"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page references nothing external"
    );
}
