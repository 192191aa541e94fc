//! Schema evolution under load on the real cluster and registry: a backward-compatible v2 is
//! registered mid-run and the producers move to it one by one; an incompatible v3 is refused by
//! the registry itself (its own 409 and message, and the subject's versions afterwards say so);
//! v1 and v2 records are both on the topic under their own ids and every one decodes — in the
//! run's audit and in a reader of this test's own; the per-version counts add up; and the
//! scenario's `schema_rejections = 0` objective fails the run on the rejection.

mod common;

use std::path::Path;

use common::TestHome;

const SUBJECT: &str = "kbench-evolve-short-value";
const REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";

#[test]
fn a_compatible_version_is_adopted_under_load_and_an_incompatible_one_refused_by_the_registry() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("schema-evolution");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/evolve-short.toml");
    let (out, r) = home.run_keeping_cluster(&scenario);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the rejection fails the scenario's schema_rejections = 0"
    );
    let a = r.schemas.as_ref().expect("the schema audit");
    assert!(a.full_decode, "an evolving run decodes every record whole");
    assert_eq!(a.compatibility.as_deref(), Some("BACKWARD"));

    // The events: v2 registered under a new id, v3 refused with the registry's own words.
    assert_eq!(a.events.len(), 2, "{:?}", a.events);
    let (v2, v3) = (&a.events[0], &a.events[1]);
    assert_eq!(v2.outcome, "registered", "{v2:?}");
    assert_eq!(v3.outcome, "rejected", "{v3:?}");
    assert_eq!(v3.status, Some(409));
    let msg = v3.message.as_deref().unwrap_or_default();
    assert!(
        msg.contains("merchant_id"),
        "the registry names the field: {msg}"
    );

    // Per version: both written, every acknowledged record read back and decoded.
    assert_eq!(a.versions.len(), 2, "{:?}", a.versions);
    let ids: Vec<u32> = a.versions.iter().map(|v| v.id).collect();
    assert_eq!(Some(ids[1]), v2.id);
    assert_ne!(ids[0], ids[1]);
    for v in &a.versions {
        assert!(v.produced > 500, "{v:?}");
        assert_eq!((v.acked, v.consumed), (v.produced, v.produced), "{v:?}");
        assert_eq!(v.read, v.decoded, "{v:?}");
    }
    let produced: u64 = a.versions.iter().map(|v| v.produced).sum();
    assert_eq!(
        produced, r.counts.sent,
        "the versions add up to every record sent"
    );
    assert_eq!(a.mismatched, 0);
    assert!(a.undecodable.is_empty(), "{:?}", a.undecodable);
    assert_eq!(r.audit.lost, 0);
    let slo = (r.slos.iter().find(|s| s.key == "schema_rejections")).expect("the objective");
    assert!(!slo.pass && slo.measured == Some(1.0), "{slo:?}");

    // Outside kbench: the registry holds v1 and v2 only, and keeps calling v3 incompatible.
    let http = reqwest::blocking::Client::new();
    let versions: Vec<u32> = http
        .get(format!("{REGISTRY}/subjects/{SUBJECT}/versions"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(versions, [1, 2]);
    let v3_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schemas/payment-v3.avsc"),
    )
    .unwrap();
    let check: serde_json::Value = http
        .post(format!(
            "{REGISTRY}/compatibility/subjects/{SUBJECT}/versions/latest"
        ))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(serde_json::json!({ "schema": v3_text }).to_string())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(check["is_compatible"], false, "{check}");

    // A reader of the test's own finds both ids on the topic, each record decoding.
    let on_topic = common::decode_topic("kbench-evolve-short", r.counts.acked);
    let counted: Vec<(u32, u64)> = a.versions.iter().map(|v| (v.id, v.acked)).collect();
    let seen: Vec<(u32, u64)> = on_topic.into_iter().collect();
    assert_eq!(seen, counted, "ids and counts on the topic match the audit");
    assert!(home.run(&["cluster", "down"]).status.success());
    home.assert_nothing_left();
}
