//! kbench's audit checked by a reader nobody here wrote the audit for: a run with
//! `backend = "external"` against a detached cluster, a broker SIGKILLed and restarted from
//! outside kbench during the load, then the topic recounted with a plain rdkafka consumer and a
//! decoder that fetches each writer schema by id from the registry. The distinct
//! (producer, sequence) pairs must match what kbench says was acknowledged — and the recount
//! must itself be able to fail: records deleted from the topic afterwards show up as missing.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::TestHome;
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, StopMode};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::{Offset, TopicPartitionList};

use common::recount::{records_in, recount, BOOTSTRAP, REGISTRY};
const TOPIC: &str = "kbench-recount";

/// The broker leading partition 0 now.
fn leader_of_p0() -> u32 {
    let md =
        kbench::kafka::metadata::MetadataClient::new(&kbench::kafka::Brokers::plain(BOOTSTRAP))
            .unwrap();
    let parts = md.partitions(TOPIC, Duration::from_secs(5)).unwrap();
    parts[0].leader.expect("partition 0 has a leader")
}

#[test]
fn an_independent_recount_matches_the_audit_and_can_see_a_loss() {
    let _lock = common::cluster_lock();
    let home = TestHome::detached("recount");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schemas/reading.avsc");
    let scenario = home.home.join("recount.toml");
    std::fs::write(
        &scenario,
        format!(
            "[run]\nname = \"recount\"\nduration = \"30s\"\nseed = 5\n\n\
             [cluster]\nbackend = \"external\"\nbootstrap = \"{BOOTSTRAP}\"\nregistry_url = \"{REGISTRY}\"\n\n\
             [topic]\nname = \"{TOPIC}\"\npartitions = 3\n\n\
             [schema]\nfile = \"{}\"\n\n[producer]\nrate = 300\n",
            schema.display()
        ),
    )
    .unwrap();
    let reports = home.home.join("reports");
    let running = AtomicBool::new(true);
    let (out, killed) = std::thread::scope(|s| {
        let run = s.spawn(|| {
            let out = home.run(&[
                "run",
                scenario.to_str().unwrap(),
                "--reports",
                reports.to_str().unwrap(),
            ]);
            running.store(false, Ordering::Relaxed);
            out
        });
        // From outside kbench: once the load runs (a thousand records in the topic, about 3 s
        // of its 30), SIGKILL partition 0's leader; restart it after an 8 s outage.
        common::wait_for("the load to start", Duration::from_secs(300), || {
            records_in(TOPIC) >= 1000 || !running.load(Ordering::Relaxed)
        });
        assert!(running.load(Ordering::Relaxed), "the run was still loading");
        let mut cluster = ProcessBackend::attach(&home.state_file().unwrap()).unwrap();
        let node = leader_of_p0();
        cluster.stop(node, StopMode::Kill).unwrap();
        std::thread::sleep(Duration::from_secs(8));
        cluster.restart(node).unwrap();
        (run.join().unwrap(), node)
    });
    assert!(
        out.status.success(),
        "kbench run against the external cluster"
    );
    let (_, r) = common::read_run(&reports);
    assert!(r.counts.acked > 5_000, "{:?}", r.counts);
    assert_eq!(r.audit.acked, r.counts.acked, "{}", r.audit);
    assert!(r.audit.ok, "{}", r.audit);

    let (pairs, read) = recount(TOPIC);
    eprintln!(
        "recount after killing broker {killed}: {read} records, {} distinct, kbench acked {} (failed {})",
        pairs.len(),
        r.counts.acked,
        r.counts.failed
    );
    // Every acknowledged record is there; a failed delivery may still have been written.
    assert!(
        pairs.len() as u64 >= r.counts.acked
            && pairs.len() as u64 <= r.counts.acked + r.counts.failed,
        "distinct records {} vs acked {} (+{} failed)",
        pairs.len(),
        r.counts.acked,
        r.counts.failed
    );

    // Delete the first 100 records of partition 0: the recount must come up 100 short.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create()
        .unwrap();
    let mut cut = TopicPartitionList::new();
    cut.add_partition_offset(TOPIC, 0, Offset::Offset(100))
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(admin.delete_records(&cut, &AdminOptions::new()))
        .unwrap();
    let (after, _) = recount(TOPIC);
    assert_eq!(
        pairs.len() - after.len(),
        100,
        "the deleted records are missing from the recount"
    );
}
