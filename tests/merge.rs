//! `kbench merge` on shard directories made from a real run (tests/fixtures/quickstart-run):
//! the merged .hlog files, read back with the hdrhistogram crate's own reader, hold exactly the
//! sum of the shards' values; the merged percentiles are read from that sum (not the average
//! of the shards'); a shard that never reported makes the result incomplete and is named; two
//! shards writing as one producer are refused. No cluster: merging is file work.

mod common;

use std::path::{Path, PathBuf};

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use kbench::audit::ledger::Ledger;
use serde_json::json;

use common::fixtures::fresh_copy;
use common::TestHome;

const BARRIER_MS: u64 = 1_765_000_000_000;
const KINDS: [&str; 5] = ["ack_corrected", "ack_raw", "e2e", "error_ttf", "send_lag"];

/// Every interval of an .hlog file, summed, read with hdrhistogram's own log reader.
fn sum_of_log(path: &Path) -> Histogram<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut sum = Histogram::<u64>::new(3).unwrap();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let Ok(LogEntry::Interval(iv)) = entry {
            let raw = base64_decode(iv.encoded_histogram());
            let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
            sum.add(&h).unwrap();
        }
    }
    sum
}

/// Base64 as interval logs write it (standard alphabet, padded).
fn base64_decode(text: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ABC.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The intervals of a log whose second starts within [from_us, to_us), summed, as the
/// aggregator assigns seconds to phases.
fn measured_seconds(path: &Path, from_us: u64, to_us: u64) -> Histogram<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut sum = Histogram::<u64>::new(3).unwrap();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let Ok(LogEntry::Interval(iv)) = entry {
            let end = iv.start_timestamp() + iv.duration();
            let second_us = (end.as_secs_f64().round() as u64 - 1) * 1_000_000;
            if from_us <= second_us && second_us < to_us {
                let raw = base64_decode(iv.encoded_histogram());
                let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
                sum.add(&h).unwrap();
            }
        }
    }
    sum
}

/// Every value of a log multiplied by `factor`, interval by interval.
fn scale_log(path: &Path, factor: u64) {
    let bytes = std::fs::read(path).unwrap();
    let mut de = Deserializer::new();
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let Ok(LogEntry::Interval(iv)) = entry {
            let raw = base64_decode(iv.encoded_histogram());
            let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
            let mut scaled = Histogram::<u64>::new(3).unwrap();
            for v in h.iter_recorded() {
                scaled
                    .record_n(v.value_iterated_to() * factor, v.count_at_value())
                    .unwrap();
            }
            intervals.push((iv.start_timestamp(), iv.duration(), scaled));
        }
    }
    let mut text: Vec<u8> = Vec::new();
    let mut ser = V2DeflateSerializer::new();
    {
        let mut w = hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder::new()
            .begin_log_with(&mut text, &mut ser)
            .unwrap();
        for (start, length, h) in &intervals {
            w.write_histogram(h, *start, *length, None).unwrap();
        }
    }
    std::fs::write(path, text).unwrap();
}

/// Shard `index` of `of`, made from the quickstart run: producer ids moved by `index`, every
/// latency multiplied by `scale`, and a ledger in which all its records were acked and read.
fn shard(name: &str, index: u32, of: u32, producer: u32, scale: u64) -> PathBuf {
    let dir = fresh_copy("quickstart-run", &format!("merge-{name}-{index}"));
    let path = dir.join("results.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    r["shard"] = json!({
        "shard": {"index": index, "of": of},
        "barrier_wall_ms": BARRIER_MS,
        "start_offset_ms": 0.0
    });
    r["producers"][0]["id"] = producer.into();
    let acked = r["counts"]["acked"].as_u64().unwrap();
    std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
    let mut ledger = Ledger::default();
    for seq in 0..acked {
        ledger.on_ack(producer, seq);
        ledger.on_consumed(producer, (seq % 3) as i32, seq);
    }
    kbench::audit::ledger_file::write(&dir, &ledger).unwrap();
    if scale != 1 {
        for kind in KINDS {
            scale_log(&dir.join(format!("{kind}.hlog")), scale);
        }
    }
    dir
}

fn merge(home: &TestHome, dirs: &[&Path], reports: &Path) -> (i32, String, Option<PathBuf>) {
    let _ = std::fs::remove_dir_all(reports);
    let mut args = vec!["merge".to_string(), "--reports".into()];
    args.push(reports.display().to_string());
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = home.run(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = std::fs::read_dir(reports)
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path());
    (out.status.code().unwrap_or(-1), text, merged)
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn merged_histograms_are_the_sum_of_the_shards_and_percentiles_come_from_it() {
    let home = TestHome::new("merge-sum");
    let a = shard("sum", 0, 2, 0, 1);
    let b = shard("sum", 1, 2, 1, 3);
    let reports = home.home.join("merged");
    let (code, out, merged) = merge(&home, &[&a, &b], &reports);
    assert_eq!(code, 0, "{out}");
    let merged = merged.expect("a merged run directory");
    assert!(out.contains("2 of 2 reported"), "{out}");
    for kind in KINDS {
        let file = format!("{kind}.hlog");
        let mut expected = sum_of_log(&a.join(&file));
        expected.add(sum_of_log(&b.join(&file))).unwrap();
        let got = sum_of_log(&merged.join(&file));
        assert_eq!(
            got.len(),
            expected.len(),
            "{kind}: values in the merged log"
        );
        let pairs = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
            (h.iter_recorded())
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        assert_eq!(pairs(&got), pairs(&expected), "{kind}: value by value");
    }
    // The measured phase's ack p99 is read from the sum of both shards' measured seconds;
    // with one shard 3x slower that is not the average of the two shards' p99s.
    let r = results(&merged);
    let measured = &r["phases"][1];
    assert_eq!(measured["name"], "measured");
    let (from, to) = (
        measured["from_us"].as_u64().unwrap(),
        measured["to_us"].as_u64().unwrap(),
    );
    let mut sum = Histogram::<u64>::new(3).unwrap();
    for dir in [&a, &b] {
        sum.add(measured_seconds(&dir.join("ack_corrected.hlog"), from, to))
            .unwrap();
    }
    let p99 = measured["latency"]["ack_corrected"]["p99_us"]
        .as_u64()
        .unwrap();
    assert_eq!(p99, sum.value_at_quantile(0.99));
    let shard_p99 = |d: &Path| {
        results(d)["phases"][1]["latency"]["ack_corrected"]["p99_us"]
            .as_u64()
            .unwrap()
    };
    let average = (shard_p99(&a)
        + measured_seconds(&b.join("ack_corrected.hlog"), from, to).value_at_quantile(0.99))
        / 2;
    assert_ne!(p99, average, "the merged p99 is the average of the shards'");
    assert_eq!(r["counts"]["acked"], 25_000);
    assert_eq!(r["audit"]["acked"], 25_000);
    assert_eq!(r["audit"]["lost"], 0);
    assert_eq!(r["audit"]["ok"], true);
    assert_eq!(r["distribution"]["shards"].as_array().unwrap().len(), 2);
    assert_eq!(r["producers"].as_array().unwrap().len(), 2);
    let html = std::fs::read_to_string(merged.join("index.html")).unwrap();
    assert!(
        html.contains("<section id=\"shards\">"),
        "no Shards section"
    );
    assert!(!html.contains("MISSING"));
}

#[test]
fn a_shard_that_never_reported_makes_the_result_incomplete_and_is_named() {
    let home = TestHome::new("merge-missing");
    let a = shard("missing", 0, 3, 0, 1);
    let c = shard("missing", 2, 3, 2, 1);
    let broken = home.home.join("shard-1-never-wrote");
    std::fs::create_dir_all(&broken).unwrap();
    let reports = home.home.join("merged");
    let (code, out, merged) = merge(&home, &[&a, &broken, &c], &reports);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("shard 1/3  MISSING"), "{out}");
    assert!(out.contains("shard-1-never-wrote"), "{out}");
    assert!(out.contains("2 of 3 reported"), "{out}");
    let merged = merged.expect("a merged run directory");
    let html = std::fs::read_to_string(merged.join("index.html")).unwrap();
    assert!(
        html.contains("Shard 1/3 MISSING:"),
        "no warning for the missing shard"
    );
    let r = results(&merged);
    assert_eq!(r["audit"]["complete"], false);
    assert_eq!(r["audit"]["ok"], false);
    assert_eq!(r["counts"]["acked"], 25_000);
    // The whole load's target: three shards' worth, so the rate shows a third missing.
    assert_eq!(r["rate"]["target_records"], 3 * 12_500);
}

#[test]
fn two_shards_writing_as_one_producer_are_refused() {
    let home = TestHome::new("merge-collide");
    let a = shard("collide", 0, 2, 7, 1);
    let b = shard("collide", 1, 2, 7, 1);
    let reports = home.home.join("merged");
    let (code, out, _) = merge(&home, &[&a, &b], &reports);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("both wrote as producer 7"), "{out}");
    let (code, out, _) = merge(&home, &[&a, &a], &reports);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("shard 0/2 is given twice"), "{out}");
}

/// Bad input to the distributed commands: a clear message and a non-zero exit, before any
/// cluster is started.
#[test]
fn distributed_commands_refuse_what_cannot_work_and_say_why() {
    let home = TestHome::new("merge-refusals");
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &[
                "run",
                "scenarios/quickstart.toml",
                "--shard",
                "3/3",
                "--start-at",
                "1",
            ],
            2,
            "INDEX/COUNT",
        ),
        (
            &[
                "run",
                "scenarios/quickstart.toml",
                "--shard",
                "0/3",
                "--start-at",
                "1",
            ],
            2,
            "cluster that already runs",
        ),
        (
            &[
                "distribute",
                "scenarios/quickstart.toml",
                "--engine",
                "k8s",
                "--dry-run",
            ],
            2,
            "cannot reach a cluster kbench starts",
        ),
        (
            &["distribute", "scenarios/capacity.toml"],
            2,
            "sweep or capacity search",
        ),
        (
            &["merge", "/nonexistent-shard-dir"],
            1,
            "no run of the load could be read",
        ),
    ];
    for (args, code, says) in cases {
        let out = home.run(args);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?} should say {says:?}: {text}");
    }
}
