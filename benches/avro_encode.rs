//! Producer hot path: Avro record generation + kbench header + Confluent framing, per record,
//! exactly as `src/load/producer.rs` does it (start the frame in a reused buffer, draw the record
//! straight into it with its header stamped).
//!
//! Groups:
//! - `produce/{small,order_1k,nested}`: the whole per-record work for the small `reading.avsc`
//!   record, `order.avsc` calibrated to 1 KiB, and a bench-local nested schema (records in
//!   records, arrays of records, maps of unions).
//! - `reference/apache_avro_encode_value_1k`: for the ratio, the encode step of the path kbench
//!   used before drawing records straight into bytes: apache-avro writing an already built
//!   `Value` of the same 1 KiB record (building the `Value` not counted).
//!
//! Every bench reports records/s (`Throughput::Elements(1)`).

mod common;

use std::hint::black_box;

use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::avro::generate::{calibrate, Generator, Sizes};
use kbench::avro::header::{augment_schema, Header, HeaderSlots};
use kbench::avro::wire;

const READING: &str = include_str!("../scenarios/schemas/reading.avsc");
const ORDER: &str = include_str!("../scenarios/schemas/order.avsc");

/// Nested records (reused by name), arrays of records, arrays of maps, maps of unions (one branch
/// a record).
const NESTED: &str = r#"{
  "type": "record", "name": "Shipment", "namespace": "dev.kbench.bench",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "origin", "type": {"type": "record", "name": "Address", "fields": [
      {"name": "street", "type": "string"},
      {"name": "city", "type": "string"},
      {"name": "geo", "type": {"type": "record", "name": "Geo", "fields": [
        {"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}]}}]}},
    {"name": "destination", "type": "Address"},
    {"name": "parcels", "type": {"type": "array", "items": {
      "type": "record", "name": "Parcel", "fields": [
        {"name": "weight_g", "type": "int"},
        {"name": "dims", "type": {"type": "array", "items": "float"}},
        {"name": "labels", "type": {"type": "map", "values": ["null", "string", "long"]}}]}}},
    {"name": "metadata", "type": {"type": "map", "values": ["null", "string", "double",
      {"type": "record", "name": "Stamp", "fields": [
        {"name": "by", "type": "string"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}]}},
    {"name": "history", "type": {"type": "array", "items": {"type": "map", "values": "int"}}}
  ]
}"#;

const SEED: u64 = 42;
const SCHEMA_ID: u32 = 7;
/// The `record_size` a 1 KiB scenario asks for.
const TARGET_1K: usize = 1024;
const WALL_ORIGIN_MS: i64 = 1_700_000_000_000;

/// A schema as the producer gets it: augmented with kbench's header fields, parsed, with the
/// header slots and the `Sizes` the run would use.
struct Case {
    name: &'static str,
    schema: Schema,
    slots: HeaderSlots,
    sizes: Sizes,
}

impl Case {
    fn new(name: &'static str, avsc: &str, target: Option<usize>) -> Case {
        let schema = Schema::parse_str(&augment_schema(avsc).expect("augment")).expect("parse");
        let slots = HeaderSlots::new(&schema).expect("header slots");
        let sizes = match target {
            Some(t) => calibrate(&schema, SEED, t).expect("calibrate"),
            None => Sizes::default(),
        };
        Case {
            name,
            schema,
            slots,
            sizes,
        }
    }

    fn generator(&self) -> Generator {
        Generator::new(&self.schema, SEED, self.sizes).expect("generator")
    }
}

fn header(seq: u64) -> Header {
    Header {
        producer: 3,
        seq: seq as i64,
        intended_us: (seq * 10) as i64,
        wall_ms: WALL_ORIGIN_MS + (seq / 100) as i64,
    }
}

/// One producer's per-record state, as in `load::producer::run`.
struct Producer {
    generator: Generator,
    slots: HeaderSlots,
    buf: Vec<u8>,
    seq: u64,
}

impl Producer {
    fn new(case: &Case) -> Producer {
        Producer {
            generator: case.generator(),
            slots: case.slots,
            buf: Vec::with_capacity(2048),
            seq: 0,
        }
    }

    /// Frame, draw, stamp: the body of the producer loop minus the Kafka send. Not inlined, so a
    /// profiler (callgrind `--toggle-collect`) can isolate it.
    #[inline(never)]
    fn produce(&mut self) -> usize {
        wire::start_frame(&mut self.buf, SCHEMA_ID);
        self.generator
            .encode_stamped(&mut self.buf, &self.slots, &header(self.seq));
        self.seq += 1;
        self.buf.len()
    }
}

fn produce(c: &mut Criterion) {
    let cases = [
        Case::new("small", READING, None),
        Case::new("order_1k", ORDER, Some(TARGET_1K)),
        Case::new("nested", NESTED, None),
    ];
    let mut g = c.benchmark_group("produce");
    g.throughput(Throughput::Elements(1));
    for case in &cases {
        let mut p = Producer::new(case);
        let mean = (0..256).map(|_| p.produce()).sum::<usize>() as f64 / 256.0;
        eprintln!(
            "produce/{}: {:?}, mean framed record {mean:.0} bytes",
            case.name, case.sizes
        );
        g.bench_function(case.name, |b| b.iter(|| black_box(p.produce())));
    }
    g.finish();
}

fn reference(c: &mut Criterion) {
    let case = Case::new("order_1k", ORDER, Some(TARGET_1K));
    let mut generator = case.generator();
    let values: Vec<_> = (0..256)
        .map(|_| generator.generate().expect("generate"))
        .collect();
    let writer = GenericDatumWriter::builder(&case.schema)
        .build()
        .expect("writer");
    let mut g = c.benchmark_group("reference");
    g.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(2048);
    let mut i = 0usize;
    g.bench_function("apache_avro_encode_value_1k", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            wire::start_frame(&mut buf, SCHEMA_ID);
            writer
                .write_value_ref(&mut buf, &values[i])
                .expect("encode");
            black_box(buf.len())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = produce, reference
}
criterion_main!(benches);
