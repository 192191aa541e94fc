//! What the producer's statistics callback costs per document: `WireTally::observe` reads the
//! batch windows out of one librdkafka statistics document. It runs on librdkafka's poller
//! thread every `statistics.interval.ms` (50 ms, so 20 documents a second per producer), beside
//! the delivery callbacks, so its cost is taken from the same thread that acknowledges records.
//!
//! The document is a real one: a librdkafka 2.x idempotent, lz4 producer mid-load against
//! kbench's three-node cluster, one topic of six partitions (`benches/fixtures/producer-stats.json`).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::load::wire_stats::WireTally;

const DOC: &[u8] = include_bytes!("fixtures/producer-stats.json");

fn observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire_stats");
    g.throughput(Throughput::Bytes(DOC.len() as u64));
    let tally = WireTally::default();
    g.bench_function("observe/3-brokers-6-partitions", |b| {
        b.iter(|| tally.observe(black_box(DOC)))
    });
    g.finish();
    assert!(tally.totals().batches > 0, "the fixture has batch windows");
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = observe
}
criterion_main!(benches);
