//! Per-record bookkeeping of the audit: `Ledger::on_ack` followed by `Ledger::on_consumed` for
//! every record, as the producer's delivery callback and the consumer feed it. Four producers
//! interleave, each with its own in-order sequence; records of one producer spread over six
//! partitions in runs of 64 (like a sticky partitioner's batches).
//!
//! - `in_order`: everything acked and consumed in sequence order (the common case: O(1) tail runs).
//! - `gaps_every_100th`: every 100th record is acked but never consumed, so the consumed set grows
//!   one run per 100 records (the `BTreeMap` path).
//! - `out_of_order_window32`: consumption is a fixed shuffle within windows of 32 records, so
//!   inserts land below the tail run and some arrivals count as reorders in their partition.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::audit::ledger::Ledger;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const PRODUCERS: u64 = 4;
const PARTITIONS: u64 = 6;
const WINDOW: u64 = 32;

/// The i-th record overall as (producer, sequence, partition).
#[inline]
fn key(i: u64) -> (u32, u64, i32) {
    let producer = (i % PRODUCERS) as u32;
    let seq = i / PRODUCERS;
    let partition = ((seq / 64) % PARTITIONS) as i32;
    (producer, seq, partition)
}

fn ledger(c: &mut Criterion) {
    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(1));

    let mut l = Ledger::default();
    let mut i = 0u64;
    g.bench_function("in_order", |b| {
        b.iter(|| {
            let (p, s, part) = key(i);
            i += 1;
            l.on_ack(black_box(p), black_box(s));
            l.on_consumed(black_box(p), black_box(part), black_box(s));
        })
    });
    report("in_order", &l);

    let mut l = Ledger::default();
    let mut i = 0u64;
    g.bench_function("gaps_every_100th", |b| {
        b.iter(|| {
            let (p, s, part) = key(i);
            i += 1;
            l.on_ack(black_box(p), black_box(s));
            if s % 100 != 99 {
                l.on_consumed(black_box(p), black_box(part), black_box(s));
            }
        })
    });
    report("gaps_every_100th", &l);

    let mut perm: Vec<u64> = (0..WINDOW).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(4));
    let mut l = Ledger::default();
    let mut i = 0u64;
    g.bench_function("out_of_order_window32", |b| {
        b.iter(|| {
            let (p, s, _) = key(i);
            let (cp, cs, cpart) = key((i & !(WINDOW - 1)) | perm[(i % WINDOW) as usize]);
            i += 1;
            l.on_ack(black_box(p), black_box(s));
            l.on_consumed(black_box(cp), black_box(cpart), black_box(cs));
        })
    });
    report("out_of_order_window32", &l);
    g.finish();
}

/// The shape the ledger ended in, so a reader can tell the benches exercised what they claim.
fn report(name: &str, l: &Ledger) {
    let runs: usize = l.producers().map(|(_, a)| a.range_count()).sum();
    let v = l.verdict();
    eprintln!(
        "ledger/{name}: {} acked, {} consumed, {} lost, {} reordered, {runs} stored runs",
        v.acked, v.consumed_unique, v.lost, v.reordered
    );
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = ledger
}
criterion_main!(benches);
