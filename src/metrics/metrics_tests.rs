//! End-to-end tests of the metrics pipeline on synthetic data: recorders on several "threads",
//! the aggregator, the .hlog files read back, the series and the phase summaries, all checked
//! against reference histograms built directly.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use hdrhistogram::Histogram;

use super::*;
use crate::names::Phase;

const S: u64 = SECOND_US;
const TWO_HOURS_US: u64 = 2 * HIGHEST_US;
const START_WALL_MS: u64 = 1_700_000_000_123;

/// A scratch directory removed on drop (no tempfile crate here).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "kbench-metrics-{tag}-{}-{nanos}",
            std::process::id()
        ));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn reference(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
    let mut h = new_histogram();
    for v in values {
        h.record(v).expect("reference value fits");
    }
    h
}

fn phase(s: &Summary, name: Phase) -> &PhaseSummary {
    PhaseSummary::find(&s.phases, name).expect("phase exists")
}

fn phases() -> Vec<PhaseSpan> {
    let p = |name, from_us, to_us| PhaseSpan {
        name,
        from_us,
        to_us,
    };
    vec![
        p(Phase::Warmup, 0, 2 * S),
        p(Phase::Measured, 2 * S, 5 * S),
        p(Phase::All, 0, 5 * S),
    ]
}

/// Source A: a producer with 1000 acks per second (1000..=1999 µs), plus one straggler ack
/// recorded after second 3 was opened but timestamped in second 2.
/// Source B: a consumer with one 0 µs ack and one e2e per second, one 2 h ack in second 3, and
/// failures. Source C: one ack in second 0 that is only reported at the end (late).
fn run_synthetic(dir: &Path) -> (Summary, Live) {
    let (tx, rx) = mpsc::channel();
    let mut a = Recorder::new("producer-0".into(), tx.clone());
    let mut b = Recorder::new("consumer-0".into(), tx.clone());
    let mut c = Recorder::new("producer-1".into(), tx);
    c.record(Kind::AckCorrected, 300_000, 5000);
    c.count(Counter::Acked, 300_000, 1);
    c.error("Local_QueueFull", 300_000, 10);
    c.count(Counter::Failed, 300_000, 1);
    for s in 0..5 {
        if s == 3 {
            a.record(Kind::AckCorrected, 2_999_000, 1500);
            a.count(Counter::Acked, 2_999_000, 1);
        }
        for i in 0..1000 {
            let at = s * S + i * 1000;
            a.record(Kind::SendLag, at, i % 7);
            a.count(Counter::Sent, at, 1);
            a.record(Kind::AckCorrected, at + 1, 1000 + i);
            a.record(Kind::AckRaw, at + 1, 500 + i);
            a.count(Counter::Acked, at + 1, 1);
        }
        let mid = s * S + S / 2;
        b.record(Kind::AckCorrected, mid, 0);
        b.record(Kind::EndToEnd, mid, 2000 + s);
        b.count(Counter::Consumed, mid, 1);
        if s == 3 {
            b.record(Kind::AckCorrected, mid + 100_000, TWO_HOURS_US);
        }
        if s == 1 {
            for _ in 0..2 {
                b.error("Local_MsgTimedOut", mid, 30_000_000);
                b.count(Counter::Failed, mid, 1);
            }
        }
        if s == 4 {
            b.error("Broker_NotLeaderForPartition", mid, 1500);
            b.count(Counter::Failed, mid, 1);
        } else {
            // The last second is closed by `finish`, not by a tick into an empty second 5.
            a.tick((s + 1) * S);
            b.tick((s + 1) * S);
        }
    }
    // By now second 3 has been reported, so second 0 is final and C's report is late.
    c.finish();
    a.finish();
    b.finish();

    let live = Arc::new(Mutex::new(Live::default()));
    let agg = Aggregator::new(dir, START_WALL_MS, phases()).expect("aggregator");
    let summary = agg.run(rx, Arc::clone(&live)).expect("run");
    let live = live.lock().expect("live").clone();
    (summary, live)
}

fn a_acks(seconds: std::ops::Range<u64>) -> impl Iterator<Item = u64> {
    seconds.flat_map(|_| 1000..=1999)
}

#[test]
fn phases_match_reference_histograms() {
    let dir = Scratch::new("phases");
    let (sum, _) = run_synthetic(&dir.0);

    let warm_ack = reference(a_acks(0..2).chain([0, 0, 5000]));
    let meas_ack = reference(a_acks(2..5).chain([1500, 0, 0, 0, TWO_HOURS_US]));
    let warm = phase(&sum, Phase::Warmup);
    let meas = phase(&sum, Phase::Measured);
    assert_eq!(warm.histogram(Kind::AckCorrected), Some(&warm_ack));
    assert_eq!(meas.histogram(Kind::AckCorrected), Some(&meas_ack));
    assert_eq!(
        warm.latency["ack_corrected"],
        Percentiles::from_histogram(&warm_ack)
    );
    assert_eq!(
        meas.latency["ack_corrected"],
        Percentiles::from_histogram(&meas_ack)
    );
    let p = &meas.latency["ack_corrected"];
    assert_eq!(p.min_us, 0, "0 µs values are kept");
    assert!(
        meas_ack.equivalent(p.max_us, TWO_HOURS_US),
        "2 h is not clamped"
    );
    assert_eq!(p.count, 3000 + 1 + 3 + 1);

    let e2e = reference((2..5).map(|s| 2000 + s));
    assert_eq!(meas.latency["e2e"], Percentiles::from_histogram(&e2e));
    assert_eq!(meas.latency["send_lag"].count, 3000);
    assert_eq!(warm.latency["error_ttf"].count, 3);
    assert!(!meas.latency.contains_key("nothing"));

    let counts = |sent, acked, failed, consumed| Counts {
        sent,
        acked,
        failed,
        consumed,
    };
    assert_eq!(warm.counts, counts(2000, 2001, 3, 2));
    assert_eq!(meas.counts, counts(3000, 3001, 1, 3));
    assert_eq!(
        phase(&sum, Phase::All).counts,
        sum.totals,
        "overlapping phases"
    );
    assert_eq!(sum.totals, counts(5000, 5002, 4, 5));

    let errs = |v: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
        v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    };
    assert_eq!(
        warm.errors,
        errs(&[("Local_MsgTimedOut", 2), ("Local_QueueFull", 1)])
    );
    assert_eq!(meas.errors, errs(&[("Broker_NotLeaderForPartition", 1)]));
    assert_eq!(
        sum.errors,
        errs(&[
            ("Broker_NotLeaderForPartition", 1),
            ("Local_MsgTimedOut", 2),
            ("Local_QueueFull", 1),
        ])
    );
    assert_eq!(sum.overflow["ack_corrected"], 1);
    assert_eq!(sum.overflow.values().sum::<u64>(), 1);
    assert_eq!(sum.overflow.len(), Kind::COUNT);
    assert!(sum.unrecorded.is_empty());
    assert_eq!(sum.late_intervals, 1);
}

#[test]
fn series_has_one_row_per_second_with_late_data_merged() {
    let dir = Scratch::new("series");
    let (sum, live) = run_synthetic(&dir.0);

    let t: Vec<u64> = sum.series.iter().map(|r| r.t).collect();
    assert_eq!(t, vec![0, 1, 2, 3, 4]);
    let acked: Vec<u64> = sum.series.iter().map(|r| r.acked).collect();
    assert_eq!(
        acked,
        vec![1001, 1000, 1000, 1001, 1000],
        "late C and the straggler"
    );
    let failed: Vec<u64> = sum.series.iter().map(|r| r.failed).collect();
    assert_eq!(failed, vec![1, 2, 0, 0, 1]);
    assert!(sum.series.iter().all(|r| r.sent == 1000 && r.consumed == 1));

    let h = new_histogram();
    let r0 = &sum.series[0];
    assert_eq!(
        r0.ack_max_us,
        Some(h.highest_equivalent(5000)),
        "late max merged"
    );
    assert_eq!(r0.e2e_max_us, Some(h.highest_equivalent(2000)));
    let r3 = &sum.series[3];
    assert_eq!(r3.ack_max_us, Some(reference([TWO_HOURS_US]).max()));
    assert_eq!(r3.lag_max_us, Some(6));
    assert!(r3.ack_p50_us.is_some_and(|p| (1000..=2000).contains(&p)));

    assert_eq!(live.elapsed_s, 5);
    assert_eq!(live.acked_total, 5002);
    assert_eq!(live.consumed_total, 5);
    assert_eq!(live.last_second.as_ref().map(|r| r.t), Some(4));
}

#[test]
fn hlogs_parse_back_to_the_totals() {
    let dir = Scratch::new("hlog");
    let (sum, _) = run_synthetic(&dir.0);
    let all = phase(&sum, Phase::All);
    for kind in Kind::ALL {
        let path = dir.0.join(kind.file_name());
        let intervals = read_hlog(&path).expect("hlog parses");
        let mut merged = new_histogram();
        for (_, h) in &intervals {
            merged.add(h).expect("merge");
        }
        // Every value recorded: acks (A's 5000, the straggler, C's late one, B's five zeros and
        // its 2 h one), raw acks, send lags, e2e, failures.
        let want = match kind {
            Kind::AckCorrected => 5000 + 1 + 1 + 5 + 1,
            Kind::AckRaw | Kind::SendLag => 5000,
            Kind::EndToEnd => 5,
            Kind::ErrorTtf => 4,
            // Kinds nobody recorded: a log with its header and no interval.
            Kind::RegistryRegister | Kind::RegistryById | Kind::RegistryVersion => 0,
        };
        assert_eq!(merged.len(), want, "{}", kind.name());
        if want == 0 {
            assert!(all.histogram(kind).is_none(), "{}", kind.name());
            continue;
        }
        let phase_hist = all.histogram(kind).expect("every kind has values");
        assert_eq!(&merged, phase_hist, "{}: same distribution", kind.name());
    }

    let ms = |v: &[(f64, Histogram<u64>)]| -> Vec<u64> {
        v.iter().map(|(s, _)| (s * 1000.0).round() as u64).collect()
    };
    let ack = read_hlog(dir.0.join("ack_corrected.hlog")).expect("parses");
    // Second 0, C's late second 0, 1, 2, 3 (starting at the straggler's 2.999 s), 4.
    assert_eq!(ms(&ack), vec![0, 0, 1000, 2000, 2999, 4000]);
    assert_eq!(ack[1].1.len(), 1, "the late line holds only C's value");
    let e2e = read_hlog(dir.0.join("e2e.hlog")).expect("parses");
    // One set of interval bounds per second for every kind, so the logs line up.
    assert_eq!(ms(&e2e), vec![0, 1000, 2000, 2999, 4000]);
    let errors = read_hlog(dir.0.join("error_ttf.hlog")).expect("parses");
    assert_eq!(
        ms(&errors),
        vec![0, 1000, 4000],
        "empty seconds are skipped"
    );

    let text = std::fs::read_to_string(dir.0.join("ack_corrected.hlog")).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "#[kbench ack_corrected: ack time - intended send time (coordinated-omission corrected)]"
    );
    assert!(lines.contains(&"#[Histogram log format version 1.3]"));
    assert!(lines.contains(&"#[StartTime: 1700000000.123 (seconds since epoch)]"));
    assert!(lines.contains(&"#[BaseTime: 1700000000.123 (seconds since epoch)]"));
    assert!(lines.contains(
        &"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    ));
    assert!(lines.contains(&"#late data for second 0, merged after that second was written"));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("2.999,1.001,") && l.contains(",HISTFAAA")));
}

#[test]
fn a_late_report_for_a_second_without_a_row_adds_the_row() {
    let dir = Scratch::new("late-row");
    let (tx, rx) = mpsc::channel();
    let mut a = Recorder::new("a".into(), tx.clone());
    let mut stalled = Recorder::new("b".into(), tx);
    stalled.record(Kind::EndToEnd, 1_200_000, 77);
    stalled.count(Counter::Consumed, 1_200_000, 1);
    a.tick(0);
    a.tick(6 * S); // second 0 is reported, then the run jumps to 6: 0..=3 are final
    a.finish();
    stalled.finish();
    let agg = Aggregator::new(&dir.0, 0, vec![]).expect("aggregator");
    let sum = agg
        .run(rx, Arc::new(Mutex::new(Live::default())))
        .expect("run");
    assert_eq!(sum.late_intervals, 1);
    let t: Vec<u64> = sum.series.iter().map(|r| r.t).collect();
    assert_eq!(t, vec![0, 1, 6]);
    assert_eq!(sum.series[1].consumed, 1);
    assert_eq!(sum.series[1].e2e_p50_us, Some(77));
    assert_eq!(read_hlog(dir.0.join("e2e.hlog")).expect("parses").len(), 1);
}

#[test]
fn threads_report_concurrently_to_an_aggregator_thread() {
    let dir = Scratch::new("threads");
    let (tx, rx) = mpsc::channel();
    let live = Arc::new(Mutex::new(Live::default()));
    let agg = Aggregator::new(&dir.0, 0, phases()).expect("aggregator");
    let agg_live = Arc::clone(&live);
    let agg = std::thread::spawn(move || agg.run(rx, agg_live));
    let workers: Vec<_> = (0..4u64)
        .map(|id| {
            let mut r = Recorder::new(format!("producer-{id}"), tx.clone());
            std::thread::spawn(move || {
                for at in (0..5 * S).step_by(250) {
                    r.record(Kind::AckCorrected, at, id * 100 + at % 1000);
                    r.count(Counter::Acked, at, 1);
                    r.tick(at);
                }
                r.finish();
            })
        })
        .collect();
    drop(tx);
    for w in workers {
        w.join().expect("worker");
    }
    let sum = agg.join().expect("aggregator thread").expect("run");
    let per_thread = 5 * S / 250;
    assert_eq!(sum.totals.acked, 4 * per_thread);
    assert_eq!(
        phase(&sum, Phase::All).latency["ack_corrected"].count,
        4 * per_thread
    );
    assert_eq!(sum.series.len(), 5);
    let logged: u64 = read_hlog(dir.0.join("ack_corrected.hlog"))
        .expect("parses")
        .iter()
        .map(|(_, h)| h.len())
        .sum();
    assert_eq!(logged, 4 * per_thread);
    assert_eq!(live.lock().expect("live").acked_total, 4 * per_thread);
}

#[test]
fn empty_phases_are_rejected() {
    let dir = Scratch::new("bad-phase");
    let bad = vec![PhaseSpan {
        name: Phase::Measured,
        from_us: 5,
        to_us: 5,
    }];
    assert!(Aggregator::new(&dir.0, 0, bad).is_err());
}

#[test]
fn histogram_bounds_are_the_documented_ones() {
    let h = new_histogram();
    assert_eq!((h.low(), h.sigfig()), (LOWEST_US, SIGFIG));
    assert!(h.high() >= HIGHEST_US);
    assert!(h.is_auto_resize());
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "ack_corrected",
            "ack_raw",
            "send_lag",
            "e2e",
            "error_ttf",
            "registry_register",
            "registry_by_id",
            "registry_version"
        ]
    );
    assert_eq!(Kind::EndToEnd.file_name(), "e2e.hlog");
    assert!(Kind::ALL.iter().enumerate().all(|(i, k)| k.index() == i));
}
