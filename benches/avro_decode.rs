//! Consumer-side decode of the 1 KiB record (`order.avsc` calibrated to 1024 bytes): the fast path
//! the consumer runs per message (`wire::split` + `wire::read_header`, four varints off the front
//! of the datum) against a full decode with apache-avro's `GenericDatumReader` followed by
//! `HeaderSlots::get` (what the consumer does once per schema id to check the fast path).

mod common;

use std::hint::black_box;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::Schema;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::avro::generate::{calibrate, Generator};
use kbench::avro::header::{augment_schema, Header, HeaderSlots};
use kbench::avro::wire;

const ORDER: &str = include_str!("../scenarios/schemas/order.avsc");
const SEED: u64 = 42;
const SCHEMA_ID: u32 = 7;
/// Power of two so the index wraps with a mask.
const FRAMES: usize = 256;

/// Framed messages as the producer writes them.
fn frames(schema: &Schema, slots: HeaderSlots) -> Vec<Vec<u8>> {
    let sizes = calibrate(schema, SEED, 1024).expect("calibrate");
    let mut generator = Generator::new(schema, SEED, sizes).expect("generator");
    (0..FRAMES as i64)
        .map(|seq| {
            let h = Header {
                producer: 1,
                seq,
                intended_us: seq * 10,
                wall_ms: 1_700_000_000_000 + seq,
            };
            let mut buf = Vec::new();
            wire::start_frame(&mut buf, SCHEMA_ID);
            generator.encode_stamped(&mut buf, &slots, &h);
            buf
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let schema = Schema::parse_str(&augment_schema(ORDER).expect("augment")).expect("parse");
    let slots = HeaderSlots::new(&schema).expect("header slots");
    let frames = frames(&schema, slots);
    let mean = frames.iter().map(Vec::len).sum::<usize>() as f64 / FRAMES as f64;
    eprintln!("decode: {FRAMES} framed 1 KiB orders, mean {mean:.0} bytes");
    let reader = GenericDatumReader::builder(&schema)
        .build()
        .expect("reader");
    // Both paths must agree, or the comparison is meaningless.
    for f in &frames {
        let (_, datum) = wire::split(f).unwrap();
        let full = slots.get(&reader.read_value(&mut &datum[..]).unwrap());
        assert_eq!(full, Some(wire::read_header(datum).unwrap()));
    }

    let mut g = c.benchmark_group("decode_order_1k");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("fast_header", |b| {
        b.iter(|| {
            i = (i + 1) & (FRAMES - 1);
            let (id, datum) = wire::split(black_box(&frames[i])).expect("frame");
            black_box((id, wire::read_header(datum).expect("header")))
        })
    });
    g.bench_function("full_generic_datum_reader", |b| {
        b.iter(|| {
            i = (i + 1) & (FRAMES - 1);
            let (id, datum) = wire::split(black_box(&frames[i])).expect("frame");
            let value = reader.read_value(&mut &datum[..]).expect("decode");
            black_box((id, slots.get(&value).expect("header")))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = decode
}
criterion_main!(benches);
