//! Per-record work of the open-loop rate scheduler: `Schedule::next_intended` (exact fixed-point
//! intended time of record k) for a constant rate, a ten-step profile and a ramp, and the whole
//! `Pacer::next` (schedule + clock read + lag accounting) on a `VirtualClock`, once on time (every
//! call sleeps to the slot) and once behind (catch-up, the clock never waits).
//!
//! Schedules are long enough (10^6 s at up to 1 M records/s) that no measurement runs off their end.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::load::pace::{Pacer, VirtualClock};
use kbench::load::schedule::{RateProfile, Schedule, Step};

const LONG: Duration = Duration::from_secs(1_000_000);

fn profiles() -> [(&'static str, RateProfile); 3] {
    let steps = (0..10)
        .map(|i| Step {
            at: Duration::from_secs(i * 60),
            rate: 10_000.0 * (i + 1) as f64,
        })
        .collect();
    [
        ("constant", RateProfile::Constant { rate: 100_000.0 }),
        ("steps10", RateProfile::Steps(steps)),
        (
            "ramp",
            RateProfile::Ramp {
                from: 1_000.0,
                to: 1_000_000.0,
                // Longer than any measurement, so every record is on the quadratic part.
                over: Duration::from_secs(100_000),
            },
        ),
    ]
}

fn schedule(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule");
    g.throughput(Throughput::Elements(1));
    for (name, profile) in profiles() {
        let mut s = Schedule::try_new(profile, LONG).expect("valid profile");
        g.bench_function(format!("next_intended/{name}"), |b| {
            b.iter(|| black_box(s.next_intended()))
        });
    }
    g.finish();
}

fn pacer(c: &mut Criterion) {
    let mut g = c.benchmark_group("pacer");
    g.throughput(Throughput::Elements(1));
    for (name, profile) in profiles() {
        let s = Schedule::try_new(profile, LONG).expect("valid profile");
        let mut p = Pacer::new(s, VirtualClock::new());
        g.bench_function(format!("on_time/{name}"), |b| {
            b.iter(|| black_box(p.next()))
        });
    }
    // Behind schedule: the clock is far ahead, so every slot is released at once (catch-up).
    let s = Schedule::try_new(RateProfile::Constant { rate: 100_000.0 }, LONG).expect("valid");
    let mut p = Pacer::new(s, VirtualClock::new());
    p.clock().advance(LONG);
    g.bench_function("behind/constant", |b| b.iter(|| black_box(p.next())));
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = schedule, pacer
}
criterion_main!(benches);
