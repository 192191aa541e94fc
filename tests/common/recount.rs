//! An independent recount of a topic: a plain rdkafka consumer reads every partition from the
//! beginning and decodes each record with the writer schema it fetches by id from the registry,
//! as any Confluent client would; kbench's own reader and audit play no part.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

pub const BOOTSTRAP: &str = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";
pub const REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";

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

/// Every (producer, sequence) pair in `topic`, and how many records were read.
pub fn recount(topic: &str) -> (HashSet<(i32, i64)>, usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .set("group.id", format!("recount-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions = md.topics()[0].partitions().len();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
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

/// Records in `topic` now (the sum of its first three partitions' high watermarks); 0 before
/// it exists.
pub fn records_in(topic: &str) -> i64 {
    let Ok(consumer) = ClientConfig::new()
        .set("bootstrap.servers", BOOTSTRAP)
        .create::<BaseConsumer>()
    else {
        return 0;
    };
    (0..3)
        .filter_map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(2))
                .ok()
        })
        .map(|(_, high)| high)
        .sum()
}
