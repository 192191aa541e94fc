//! `kbench run scenarios/quickstart.toml` end to end against the real cluster it starts: the run
//! finishes, results.json parses, every acked record was consumed, nothing failed, and each
//! .hlog file parses back with the hdrhistogram reader and adds up to the results' counts.

mod common;

use std::path::Path;

use common::TestHome;

#[test]
fn quickstart_runs_end_to_end() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("quickstart");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    let (dir, r) = home.run_scenario(&scenario);
    assert_eq!(r.scenario.name, "quickstart");
    assert!(r.environment.kafka_version.starts_with("4."));
    assert_eq!(r.counts.failed, 0, "no failed deliveries: {:?}", r.errors);
    assert_eq!(r.rate.target_records, 12_500);
    assert_eq!(
        r.counts.sent, 12_500,
        "open loop: every scheduled record was sent"
    );
    assert_eq!(r.counts.acked, r.counts.sent);
    assert_eq!(r.audit.acked, r.counts.acked);
    assert_eq!(r.audit.consumed_unique, r.audit.acked, "acked == consumed");
    assert!(r.audit.ok && r.audit.lost == 0 && r.audit.duplicated == 0 && r.audit.reordered == 0);
    let measured = r.measured().expect("a measured phase");
    let ack = &measured.latency["ack_corrected"];
    assert!(
        ack.count > 0 && ack.p50_us > 0 && ack.p50_us <= ack.p99_us && ack.p99_us <= ack.max_us
    );
    assert!(r.series.len() >= 25, "a row per second");

    for (kind, file) in &r.hlog_files {
        let intervals =
            kbench::metrics::read_hlog(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e:#}"));
        let total: u64 = intervals.iter().map(|(_, h)| h.len()).sum();
        let expected = match kind.as_str() {
            "ack_corrected" | "ack_raw" => r.counts.acked,
            "e2e" => r.counts.consumed,
            "send_lag" => r.counts.sent,
            "error_ttf" => r.counts.failed,
            // Registry answers: lookups by id are the consumers' answered requests; a run that
            // does not evolve its schema registers nothing during the load.
            "registry_by_id" => r.consumers.iter().map(|c| c.registry.answered).sum(),
            "registry_register" | "registry_version" => 0,
            other => panic!("unexpected latency kind {other}"),
        };
        assert_eq!(total, expected, "{file} holds one value per event");
    }
}
