//! README promises of `kbench run`, checked on one detached cluster so the topic and the
//! registry can be inspected after each run: the release gate (an objective that must fail
//! exits 3 and is listed as failed), more than one producer and consumer (the rate split),
//! rate steps, `acks = 1` without idempotence, `record_size`, `subject_strategy`,
//! `[topic.configs]`, `recreate = false`, and the results' `slos`, `producers`, `consumers`,
//! `schema` and `errors` sections.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestHome;
use kbench::report::results::Results;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

const BOOTSTRAP: &str = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";
const REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";
const TOPIC: &str = "kbench-promises";

/// A 14 s scenario (2 s warm-up) on the detached cluster; `schema` adds to its `[schema]`.
fn scenario(dir: &Path, name: &str, schema: &str, body: &str) -> PathBuf {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schemas/reading.avsc");
    let text = format!(
        "[run]\nname = \"{name}\"\nduration = \"12s\"\nwarmup = \"2s\"\nseed = 7\n\n\
         [cluster]\nbackend = \"external\"\nbootstrap = \"{BOOTSTRAP}\"\n\
         registry_url = \"{REGISTRY}\"\n\n\
         [schema]\nfile = \"{}\"\n{schema}\n\n{body}",
        file.display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `kbench run` into a reports directory of its own; the exit code and the parsed results.
fn run(home: &TestHome, scenario: &Path) -> (i32, Results) {
    let reports = home.home.join("reports").join(
        scenario
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("run"),
    );
    let out = home.run(&[
        "run",
        scenario.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let (_, r) = common::read_run(&reports);
    (out.status.code().unwrap_or(-1), r)
}

fn topic_config(key: &str) -> Option<String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let res = rt
        .block_on(admin.describe_configs([&ResourceSpecifier::Topic(TOPIC)], &opts))
        .unwrap();
    let cfg = res.into_iter().next()?.ok()?;
    cfg.get(key).and_then(|e| e.value.clone())
}

/// Records in the topic: the sum of every partition's high watermark.
fn records_in_topic() -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(TOPIC), Duration::from_secs(10))
        .unwrap();
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (lo, hi) = c
                .fetch_watermarks(TOPIC, p.id(), Duration::from_secs(10))
                .unwrap();
            hi - lo
        })
        .sum()
}

fn registry_subjects() -> Vec<String> {
    let body = reqwest::blocking::get(format!("{REGISTRY}/subjects"))
        .unwrap()
        .text()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

#[test]
fn run_keeps_its_readme_promises() {
    let _lock = common::cluster_lock();
    let home = TestHome::detached("promises");
    let dir = home.home.join("scenarios");
    std::fs::create_dir_all(&dir).unwrap();

    // Two producers share stepped rates (200/s for 7 s, then 400/s) with acks=1; two consumers.
    // ack_p50_ms = 0 cannot hold: the run must fail its gate with exit code 3.
    let gate = scenario(
        &dir,
        "promises-gate",
        "subject_strategy = \"topic_record\"\nrecord_size = 300",
        &format!(
            "[topic]\nname = \"{TOPIC}\"\npartitions = 4\n[topic.configs]\n\"retention.ms\" = \"3600000\"\n\n\
             [producer]\ncount = 2\nacks = 1\nidempotence = false\n\
             [[producer.steps]]\nat = \"0s\"\nrate = 200\n[[producer.steps]]\nat = \"7s\"\nrate = 400\n\n\
             [consumer]\ncount = 2\n\n[slo]\nack_p50_ms = 0\nlost = 0\n"
        ),
    );
    let (code, r) = run(&home, &gate);
    assert_eq!(code, 3, "a missed objective exits 3");
    assert_eq!(r.slos.len(), 2, "{:?}", r.slos);
    let p50 = r.slos.iter().find(|s| s.key == "ack_p50_ms").unwrap();
    assert!(
        !p50.pass && p50.measured.is_some_and(|m| m > 0.0),
        "{p50:?}"
    );
    let lost = r.slos.iter().find(|s| s.key == "lost").unwrap();
    assert!(lost.pass && lost.measured == Some(0.0), "{lost:?}");
    // The schedule: 200/s over 7 s, then 400/s over 7 s, split over two producers.
    assert_eq!(r.rate.target_records, 200 * 7 + 400 * 7);
    assert_eq!(
        r.counts.sent, r.rate.target_records,
        "open loop sends every record"
    );
    assert_eq!(r.producers.len(), 2);
    for p in &r.producers {
        assert_eq!(p.sent, r.rate.target_records / 2, "an even split: {p:?}");
    }
    // Series seconds count from the run's origin; the load (and its steps) from load_start_s.
    let ls = r.load_start_s.round() as u64;
    let sent_in = |from: u64, to: u64| -> u64 {
        (r.series.iter())
            .filter(|s| s.t >= ls + from && s.t < ls + to)
            .map(|s| s.sent)
            .sum()
    };
    let (early, late) = (sent_in(2, 6), sent_in(9, 13));
    assert!(
        late > early * 3 / 2,
        "the step doubles the rate: {early} then {late}"
    );
    assert_eq!(r.consumers.len(), 2);
    assert_eq!(
        r.consumers.iter().map(|c| c.consumed).sum::<u64>(),
        r.counts.consumed
    );
    assert!(
        r.consumers.iter().all(|c| c.consumed > 0),
        "both consumers read: {:?}",
        r.consumers
    );
    assert!(
        r.errors.is_empty() && r.counts.failed == 0,
        "{:?}",
        r.errors
    );
    assert!(
        r.audit.ok && r.audit.acked == r.counts.acked && r.counts.acked > 0,
        "{}",
        r.audit
    );
    // topic_record strategy and a calibrated size: strings grew past the 16-character default.
    let subject = format!("{TOPIC}-dev.kbench.seed.Reading");
    assert_eq!(r.schema.subject, subject);
    assert!(registry_subjects().contains(&subject));
    assert!(r.schema.string_length > 16, "{:?}", r.schema);
    assert_eq!(topic_config("retention.ms").as_deref(), Some("3600000"));
    let after_first = records_in_topic();
    assert_eq!(after_first, r.counts.acked as i64);

    // recreate = false keeps the topic and its records; the group resumes at its committed
    // offsets, so the audit sees only this run's records. This run also ramps its rate with
    // acks = 0 and registers its schema under the record's full name.
    let keep = scenario(
        &dir,
        "promises-keep",
        "subject_strategy = \"record\"",
        &format!(
            "[topic]\nname = \"{TOPIC}\"\npartitions = 4\nrecreate = false\n\n\
             [producer]\nacks = 0\nidempotence = false\n\
             [producer.ramp]\nfrom = 100\nto = 500\nover = \"12s\"\n\n\
             [consumer]\ngroup = \"kbench-promises-gate\"\n"
        ),
    );
    let (code, second) = run(&home, &keep);
    assert_eq!(code, 0, "{}", second.audit);
    assert!(
        second.audit.ok && second.audit.duplicated == 0,
        "{}",
        second.audit
    );
    assert_eq!(records_in_topic(), after_first + second.counts.acked as i64);
    assert_eq!(second.schema.subject, "dev.kbench.seed.Reading");
    assert!(registry_subjects().contains(&second.schema.subject));
    // A ramp from 100/s to 500/s over 12 s, then 500/s: (100 + 500) / 2 * 12 + 500 * 2.
    assert_eq!(second.rate.target_records, 3_600 + 1_000);
    let ls = second.load_start_s.round() as u64;
    let sent_at = |s: u64| {
        (second.series.iter())
            .find(|r| r.t == ls + s)
            .map_or(0, |r| r.sent)
    };
    assert!(
        sent_at(1) < sent_at(6) && sent_at(6) < sent_at(11),
        "the rate ramps up: {} {} {}",
        sent_at(1),
        sent_at(6),
        sent_at(11)
    );

    // `kbench produce` starts its clock when its producer is ready, so its first second is no
    // worse than its steady state (before, the first second's p99 was ~0.5 s against ~10 ms).
    let out = home.run(&[
        "produce",
        "--json",
        "--topic",
        TOPIC,
        "--count",
        "30000",
        "--rate",
        "10000",
        "--record-size",
        "1024",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(
        v["ready_after_s"].as_f64().is_some(),
        "the producer was seen ready: {v}"
    );
    let p99 = |row: &serde_json::Value| row["ack_p99_us"].as_u64().unwrap_or(0);
    let seconds = v["seconds"].as_array().unwrap();
    let worst_later = seconds[1..].iter().map(p99).max().unwrap_or(0);
    assert!(
        p99(&seconds[0]) <= worst_later + 100_000,
        "the first second ({} µs p99) is not dominated by start-up (later seconds at most {} µs)",
        p99(&seconds[0]),
        worst_later
    );
}
