//! The comparison as the table `kbench compare-tools` prints: per topic layout and phase, each
//! figure's median [min..max] for both tools and the kbench / perf-test ratio.

use std::fmt::Write;

use super::stats::FIGURES;
use super::tools::{KBENCH, PERF_TEST};
use super::{Comparison, LayoutResult, PhaseResult};

/// The table printed at the end.
pub fn render(c: &Comparison) -> String {
    let mut s = String::new();
    let list = |props: &[(String, String)]| {
        let kv: Vec<String> = props.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kv.join(" ")
    };
    let _ = writeln!(
        s,
        "both tools: acks=all {}; kbench also: {} (perf-test's defaults)",
        list(&c.properties),
        list(&c.kbench_properties)
    );
    let _ = writeln!(s, "{}", start_up_note(c.fixed_rate_seconds));
    let _ = writeln!(
        s,
        "topics keep at most 256 MiB per partition (retention.bytes, enforced every 10 s) so the \
         runs fit on the disk"
    );
    for l in &c.layouts {
        let _ = writeln!(
            s,
            "\ntopic {}: {} partitions, replication factor {}, min.insync.replicas {}",
            l.topic, l.partitions, l.replication_factor, l.min_insync_replicas
        );
        for p in [&l.unthrottled, &l.fixed_rate] {
            phase(&mut s, c, p);
        }
    }
    if c.layouts.len() > 1 {
        summary(&mut s, &c.layouts);
    }
    s
}

fn phase(s: &mut String, c: &Comparison, p: &PhaseResult) {
    let rate = p
        .rate
        .map_or("unthrottled".to_string(), |r| format!("{r:.0} records/s"));
    let _ = writeln!(
        s,
        "{} ({rate}, {} records of {} bytes, {} runs each, median [min..max])",
        p.name, p.records, c.record_size, c.repeats
    );
    let _ = writeln!(
        s,
        "  {:<20} {:>28} {:>28} {:>8}",
        "figure", KBENCH, PERF_TEST, "ratio"
    );
    for (k, r) in FIGURES
        .iter()
        .filter_map(|k| p.ratios.get(*k).map(|r| (*k, r)))
    {
        let cell = |tool: &str| {
            p.stats[tool].get(k).map_or("-".into(), |st| {
                format!("{:.2} [{:.2}..{:.2}]", st.median, st.min, st.max)
            })
        };
        let _ = writeln!(
            s,
            "  {k:<20} {:>28} {:>28} {r:>8.3}",
            cell(KBENCH),
            cell(PERF_TEST)
        );
    }
    let _ = writeln!(
        s,
        "  p99 per run (ms): kbench {} | perf-test {}",
        p99_per_run(p, KBENCH),
        p99_per_run(p, PERF_TEST)
    );
    if let Some(e) = p.stats[KBENCH].get("rate_error") {
        let _ = writeln!(
            s,
            "  kbench achieved-rate error: median {:+.3}% [{:+.3}%..{:+.3}%]",
            e.median * 100.0,
            e.min * 100.0,
            e.max * 100.0
        );
    }
}

/// How both tools' start-up is kept out of the figures, and why the fixed-rate phase is long.
fn start_up_note(fixed_rate_seconds: f64) -> String {
    format!(
        "start-up: kbench's clock starts once its producer is ready (producer id, partition \
         leaders known and connected); perf-test's at its first send, which blocks until \
         metadata is known. Neither charges start-up to more than its first record. Fixed-rate \
         runs last {fixed_rate_seconds:.0} s, so a one-off stall shorter than {:.2} s cannot be \
         a run's p99 by itself; each run's p99 is listed.",
        fixed_rate_seconds / 100.0
    )
}

/// Each run's p99 in the order the runs came, so one bad run is visible behind a median.
fn p99_per_run(p: &PhaseResult, tool: &str) -> String {
    let runs: Vec<String> = (p.samples.iter())
        .filter(|x| x.tool == tool)
        .map(|x| format!("{:.1}", x.p99_ms))
        .collect();
    runs.join(", ")
}

/// The headline ratios of every layout on one screen.
fn summary(s: &mut String, layouts: &[LayoutResult]) {
    let _ = writeln!(
        s,
        "\nratios kbench / perf-test (medians)\n  {:<11} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "partitions", "records/s", "CPU/record", "fixed CPU", "fixed p50", "fixed p99"
    );
    for l in layouts {
        let r = |p: &PhaseResult, k: &str| p.ratios.get(k).copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            s,
            "  {:<11} {:>12.2} {:>12.2} {:>12.2} {:>10.2} {:>10.2}",
            l.partitions,
            r(&l.unthrottled, "records_per_s"),
            r(&l.unthrottled, "cpu_s_per_million"),
            r(&l.fixed_rate, "cpu_s_per_million"),
            r(&l.fixed_rate, "p50_ms"),
            r(&l.fixed_rate, "p99_ms"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare_tools::stats::summarize;
    use crate::compare_tools::{Sample, Workload};

    fn layout(partitions: u32, kbench_rps: f64) -> LayoutResult {
        let samples = |rate_error| {
            vec![
                Sample {
                    tool: KBENCH.into(),
                    records_per_s: kbench_rps,
                    p99_ms: 12.5,
                    rate_error,
                    ..Sample::default()
                },
                Sample {
                    tool: PERF_TEST.into(),
                    records_per_s: 100.0,
                    p99_ms: 9.0,
                    ..Sample::default()
                },
                Sample {
                    tool: KBENCH.into(),
                    records_per_s: kbench_rps,
                    p99_ms: 480.0,
                    rate_error,
                    ..Sample::default()
                },
            ]
        };
        let fixed = Workload {
            rate: Some(50.0),
            ..Workload::default()
        };
        LayoutResult {
            topic: format!("t{partitions}"),
            partitions,
            replication_factor: 3,
            min_insync_replicas: 2,
            unthrottled: summarize("unthrottled", &Workload::default(), samples(None)),
            fixed_rate: summarize("fixed_rate", &fixed, samples(Some(-0.002))),
        }
    }

    #[test]
    fn every_layout_gets_its_tables_and_a_summary_row() {
        let c = Comparison {
            kafka_version: "4.1.1".into(),
            record_size: 1024,
            repeats: 1,
            warmup_rounds: 0,
            fixed_rate_seconds: 40.0,
            properties: vec![("linger.ms".into(), "5".into())],
            kbench_properties: Vec::new(),
            layouts: vec![layout(3, 150.0), layout(6, 80.0)],
        };
        let out = render(&c);
        assert!(out.contains("topic t3: 3 partitions"), "{out}");
        assert!(out.contains("topic t6: 6 partitions"), "{out}");
        let rps = out.find("  records_per_s").expect("records row");
        assert!(rps < out.find("  p999_ms").expect("p99.9 row"), "{out}");
        assert!(out.contains("achieved-rate error: median -0.200%"), "{out}");
        // One bad run shows even though the median hides it.
        assert!(
            out.contains("p99 per run (ms): kbench 12.5, 480.0 | perf-test 9.0"),
            "{out}"
        );
        assert!(out.contains("shorter than 0.40 s cannot be"), "{out}");
        let summary = &out[out.find("ratios kbench / perf-test").expect("summary")..];
        let rows: Vec<&str> = summary.lines().skip(2).collect();
        assert!(rows[0].trim_start().starts_with("3 ") && rows[0].contains("1.50"));
        assert!(rows[1].trim_start().starts_with("6 ") && rows[1].contains("0.80"));
    }
}
