//! Per-record cost of latency recording: `kbench::metrics::Recorder::record` (the one-compare
//! interval check plus an hdrhistogram increment) next to a raw `hdrhistogram::Histogram::record`
//! with the same bounds, for a spread of realistic latencies (µs, log-uniform 100 µs .. 1 s with a
//! tail to 30 s). Event times advance 1 µs per record so the recorder crosses a second boundary
//! (and hands an interval to the channel) once per million records, as at 1 M records/s.
//!
//! Target from issue 6: ≤ 20 ns per record.

mod common;

use std::hint::black_box;
use std::sync::mpsc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::metrics::{new_histogram, Counter, Kind, Recorder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Power of two so the index wraps with a mask.
const VALUES: usize = 4096;

/// Latencies in µs: mostly 100 µs .. 1 s (log-uniform), 1 % up to 30 s.
fn latencies() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    (0..VALUES)
        .map(|_| {
            let hi: f64 = if rng.random_bool(0.01) { 7.5 } else { 6.0 };
            10f64.powf(rng.random_range(2.0..hi)) as u64
        })
        .collect()
}

fn record(c: &mut Criterion) {
    let values = latencies();
    let mut g = c.benchmark_group("histogram");
    g.throughput(Throughput::Elements(1));

    let (tx, rx) = mpsc::channel();
    // The aggregator's side: take each one-second interval and drop it, so memory stays flat.
    let drain = std::thread::spawn(move || rx.into_iter().count());
    let mut recorder = Recorder::new("bench".into(), tx);
    let mut at = 0u64;
    g.bench_function("recorder_record", |b| {
        b.iter(|| {
            at += 1;
            let v = values[at as usize & (VALUES - 1)];
            recorder.record(black_box(Kind::AckCorrected), black_box(at), black_box(v));
        })
    });

    // What the producer's delivery callback does per ack: two latencies and a counter.
    g.bench_function("recorder_ack_path", |b| {
        b.iter(|| {
            at += 1;
            let v = values[at as usize & (VALUES - 1)];
            recorder.record(Kind::AckCorrected, black_box(at), black_box(v));
            recorder.record(Kind::AckRaw, at, black_box(v / 2));
            recorder.count(Counter::Acked, at, 1);
        })
    });
    recorder.finish();
    let intervals = drain.join().expect("drain thread");
    eprintln!("histogram: the recorder handed over {intervals} intervals");

    let mut hist = new_histogram();
    let mut i = 0usize;
    g.bench_function("hdrhistogram_record", |b| {
        b.iter(|| {
            i = (i + 1) & (VALUES - 1);
            black_box(hist.record(black_box(values[i]))).ok();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = record
}
criterion_main!(benches);
