//! kbench's audit checked by a reader nobody here wrote the audit for: a run with
//! `backend = "external"` against a detached cluster, a broker SIGKILLed and restarted from
//! outside kbench during the load, then the topic recounted with a plain rdkafka consumer and a
//! decoder that fetches each writer schema by id from the registry. The distinct
//! (producer, sequence) pairs must match what kbench says was acknowledged — and the recount
//! must itself be able to fail: records deleted from the topic afterwards show up as missing.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use common::TestHome;
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, StopMode};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

const BOOTSTRAP: &str = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";
const REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";
const TOPIC: &str = "kbench-recount";

/// Writer schemas by id, fetched from the registry the way any Confluent client does.
struct Schemas(BTreeMap<u32, apache_avro::Schema>);

impl Schemas {
    fn get(&mut self, id: u32) -> &apache_avro::Schema {
        self.0.entry(id).or_insert_with(|| {
            let body: serde_json::Value =
                reqwest::blocking::get(format!("{REGISTRY}/schemas/ids/{id}"))
                    .unwrap()
                    .json()
                    .unwrap();
            apache_avro::Schema::parse_str(body["schema"].as_str().unwrap()).unwrap()
        })
    }
}

/// Every (producer, sequence) pair in the topic, and how many records were read.
fn recount() -> (HashSet<(i32, i64)>, usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .set("group.id", format!("recount-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(TOPIC), Duration::from_secs(10))
        .unwrap();
    let partitions = md.topics()[0].partitions().len();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut schemas = Schemas(BTreeMap::new());
    let (mut pairs, mut read, mut at_end) = (HashSet::new(), 0, HashSet::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    while at_end.len() < partitions && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Ok(m)) => {
                let payload = m.payload().unwrap();
                assert_eq!(payload[0], 0, "Confluent magic byte");
                let id = u32::from_be_bytes(payload[1..5].try_into().unwrap());
                let value = GenericDatumReader::builder(schemas.get(id))
                    .build()
                    .and_then(|r| r.read_value(&mut &payload[5..]))
                    .unwrap();
                let Value::Record(fields) = value else {
                    panic!("not a record")
                };
                let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                let (Some(Value::Int(producer)), Some(Value::Long(seq))) =
                    (field("kbench_producer"), field("kbench_seq"))
                else {
                    panic!("no kbench header in {fields:?}")
                };
                pairs.insert((*producer, *seq));
                read += 1;
            }
            // A broker the scenario killed refuses connections: librdkafka reports that and
            // goes on with the others, so only other errors end the recount.
            Some(Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown,
            ))) => {}
            Some(Err(e)) => panic!("recount: {e}"),
            None => {}
        }
    }
    assert_eq!(at_end.len(), partitions, "read every partition to its end");
    (pairs, read)
}

/// Records in the topic now (the sum of its partitions' high watermarks); 0 before it exists.
fn records_in_topic() -> i64 {
    let Ok(consumer) = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create::<BaseConsumer>()
    else {
        return 0;
    };
    (0..3)
        .filter_map(|p| {
            consumer
                .fetch_watermarks(TOPIC, p, Duration::from_secs(2))
                .ok()
        })
        .map(|(_, high)| high)
        .sum()
}

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
            records_in_topic() >= 1000 || !running.load(Ordering::Relaxed)
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

    let (pairs, read) = recount();
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
    let (after, _) = recount();
    assert_eq!(
        pairs.len() - after.len(),
        100,
        "the deleted records are missing from the recount"
    );
}
