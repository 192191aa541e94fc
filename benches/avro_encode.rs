//! Producer hot path: Avro record generation + kbench header + Confluent framing + encoding, per
//! record, exactly as `src/load/producer.rs` does it (generate a value, stamp the header, start the
//! frame, `write_value_ref` into a reused buffer).
//!
//! Groups:
//! - `produce/{small,order_1k,nested}`: the whole per-record loop for the small `reading.avsc`
//!   record, `order.avsc` calibrated to 1 KiB, and a bench-local nested schema (records in
//!   records, arrays of records, maps of unions).
//! - `order_1k_parts/*`: where the time of the 1 KiB record goes (generate alone, header alone,
//!   encode alone), and prototypes of fixes measured against the current loop: the writer without
//!   validation, and a bench-local positional encoder (no per-record `HashMap`), see [`proto`].
//!
//! Every bench reports records/s (`Throughput::Elements(1)`).

mod common;
mod encode_protos;

use std::hint::black_box;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::avro::generate::{calibrate, Generator, Sizes};
use kbench::avro::header::{augment_schema, Header, HeaderSlots};
use kbench::avro::wire;

use encode_protos::{direct, proto};

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
struct Producer<'s> {
    generator: Generator,
    writer: GenericDatumWriter<'s>,
    slots: HeaderSlots,
    buf: Vec<u8>,
    seq: u64,
}

impl<'s> Producer<'s> {
    fn new(case: &'s Case, validate: bool) -> Producer<'s> {
        let writer = GenericDatumWriter::builder(&case.schema)
            .validate(validate)
            .build()
            .expect("writer");
        Producer {
            generator: case.generator(),
            writer,
            slots: case.slots,
            buf: Vec::with_capacity(1024),
            seq: 0,
        }
    }

    /// Generate, stamp, frame, encode: the body of the producer loop minus the Kafka send.
    /// Not inlined, so a profiler (callgrind `--toggle-collect`) can isolate it.
    #[inline(never)]
    fn produce(&mut self) -> usize {
        let mut value = self.generator.generate();
        self.slots.set(&mut value, &header(self.seq));
        self.seq += 1;
        wire::start_frame(&mut self.buf, SCHEMA_ID);
        self.writer
            .write_value_ref(&mut self.buf, &value)
            .expect("encode");
        self.buf.len()
    }
}

/// Mean framed size of the first `n` records, for the report.
fn mean_frame(case: &Case, n: usize) -> f64 {
    let mut p = Producer::new(case, true);
    (0..n).map(|_| p.produce()).sum::<usize>() as f64 / n as f64
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
        eprintln!(
            "produce/{}: {:?}, mean framed record {:.0} bytes",
            case.name,
            case.sizes,
            mean_frame(case, 256)
        );
        let mut p = Producer::new(case, true);
        g.bench_function(case.name, |b| b.iter(|| black_box(p.produce())));
    }
    g.finish();
}

/// A pool of generated, stamped values so the encode benches do not see one value only.
fn pool(case: &Case, n: usize) -> Vec<Value> {
    let mut generator = case.generator();
    (0..n as u64)
        .map(|seq| {
            let mut v = generator.generate();
            case.slots.set(&mut v, &header(seq));
            v
        })
        .collect()
}

fn order_1k_parts(c: &mut Criterion) {
    let case = Case::new("order_1k", ORDER, Some(TARGET_1K));
    let values = pool(&case, 256);
    let mut g = c.benchmark_group("order_1k_parts");
    g.throughput(Throughput::Elements(1));

    let mut generator = case.generator();
    g.bench_function("generate", |b| b.iter(|| black_box(generator.generate())));

    let mut value = values[0].clone();
    let mut seq = 0u64;
    g.bench_function("set_header", |b| {
        b.iter(|| {
            seq += 1;
            black_box(case.slots.set(&mut value, &header(seq)))
        })
    });

    // Encode alone, validation on (what the producer runs) and off.
    for validate in [true, false] {
        let writer = GenericDatumWriter::builder(&case.schema)
            .validate(validate)
            .build()
            .expect("writer");
        let mut buf = Vec::with_capacity(2048);
        let mut i = 0usize;
        let name = match validate {
            true => "encode",
            false => "encode_no_validate",
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % values.len();
                wire::start_frame(&mut buf, SCHEMA_ID);
                writer
                    .write_value_ref(&mut buf, &values[i])
                    .expect("encode");
                black_box(buf.len())
            })
        });
    }

    let enc = proto::Encoder::new(&case.schema);
    let mut buf = Vec::with_capacity(2048);
    let mut i = 0usize;
    g.bench_function("encode_positional_proto", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            wire::start_frame(&mut buf, SCHEMA_ID);
            enc.write(&mut buf, &values[i]);
            black_box(buf.len())
        })
    });

    // The whole loop with the fixes prototyped.
    let mut p = Producer::new(&case, false);
    g.bench_function("produce_no_validate", |b| b.iter(|| black_box(p.produce())));
    let mut generator = case.generator();
    let mut buf = Vec::with_capacity(2048);
    let mut seq = 0u64;
    g.bench_function("produce_positional_proto", |b| {
        b.iter(|| {
            let mut value = generator.generate();
            case.slots.set(&mut value, &header(seq));
            seq += 1;
            wire::start_frame(&mut buf, SCHEMA_ID);
            enc.write(&mut buf, &value);
            black_box(buf.len())
        })
    });
    let mut d = direct::Direct::new(&case.schema, SEED, case.sizes);
    let mut seq = 0u64;
    g.bench_function("produce_direct_proto", |b| {
        b.iter(|| {
            wire::start_frame(&mut buf, SCHEMA_ID);
            d.write(&mut buf, &header(seq));
            seq += 1;
            black_box(buf.len())
        })
    });
    g.finish();
}

/// The prototype is only worth measuring if it writes the same bytes as apache-avro.
fn proto_matches_apache_avro(_: &mut Criterion) {
    for (avsc, target) in [(READING, None), (ORDER, Some(TARGET_1K)), (NESTED, None)] {
        let case = Case::new("check", avsc, target);
        let writer = GenericDatumWriter::builder(&case.schema).build().unwrap();
        let enc = proto::Encoder::new(&case.schema);
        for v in pool(&case, 64) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            writer.write_value_ref(&mut a, &v).unwrap();
            enc.write(&mut b, &v);
            assert_eq!(a, b, "prototype encoder differs from apache-avro");
        }
        // The direct prototype's records must decode, carry the header, and be as large.
        let reader = GenericDatumReader::builder(&case.schema).build().unwrap();
        let mut d = direct::Direct::new(&case.schema, SEED, case.sizes);
        let mut total = 0;
        for seq in 0..256 {
            let mut buf = Vec::new();
            d.write(&mut buf, &header(seq));
            let v = reader
                .read_value(&mut &buf[..])
                .expect("direct record decodes");
            assert_eq!(case.slots.get(&v), Some(header(seq)));
            total += buf.len() + wire::PREFIX_LEN;
        }
        let (real, direct) = (mean_frame(&case, 256), total as f64 / 256.0);
        eprintln!("direct prototype: mean framed {direct:.0} bytes (generator: {real:.0})");
        assert!((direct - real).abs() < 0.05 * real, "{direct} vs {real}");
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = proto_matches_apache_avro, produce, order_1k_parts
}
criterion_main!(benches);
