//! The report's data tables: per-fault failover figures, latency percentiles per phase and kind,
//! counts and the audit, and per producer / consumer figures. Units sit in the column headers;
//! a dash means "not measured", never zero.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{esc, fmt_int, fmt_ms, fmt_s, kind_description, kind_order};
use crate::audit::ledger::Verdict;
use crate::faults::report::{FailoverMetrics, FaultReport};
use crate::metrics::Percentiles;
use crate::names::BrokerId;
use crate::report::phases::{load_start_s, Rebuilt};
use crate::report::results::Results;

const DASH: &str = "—";

fn opt_s(v: Option<f64>, decimals: usize) -> String {
    v.map_or(DASH.into(), |s| fmt_s(s, decimals))
}

/// Start a table with the given column headers (already escaped text; they hold units).
pub(super) fn thead(s: &mut String, class: &str, headers: &[&str]) {
    let _ = write!(s, "<table class=\"{class}\"><thead><tr>");
    for h in headers {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr></thead>\n<tbody>\n");
}

pub(super) fn row(s: &mut String, head: &str, cells: &[(bool, String)]) {
    let _ = write!(s, "<tr><th class=\"row\">{head}</th>");
    for (num, text) in cells {
        let class = if *num { "num" } else { "text" };
        let _ = write!(s, "<td class=\"{class}\">{}</td>", esc(text));
    }
    s.push_str("</tr>\n");
}

fn by_kind(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    let total: u64 = map.values().sum();
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}: {}", fmt_int(*v)))
        .collect();
    format!("{} ({})", fmt_int(total), parts.join(", "))
}

fn per_partition(map: &BTreeMap<i32, f64>) -> String {
    if map.is_empty() {
        return DASH.into();
    }
    let parts: Vec<String> = map
        .iter()
        .map(|(p, s)| format!("p{p}: {}", fmt_s(*s, 2)))
        .collect();
    parts.join(", ")
}

/// A fault table cell: the fault, and the load's start (s since the origin).
type FaultCell = fn(&FaultReport, f64) -> String;

/// A figure of the fault's failover metrics, or a dash where none were recorded.
fn metric(f: &FaultReport, get: impl Fn(&FailoverMetrics) -> String) -> String {
    f.metrics.as_ref().map_or(DASH.to_string(), get)
}

/// The fault table's rows, in reading order.
const FAULT_ROWS: [(&str, FaultCell); 17] = [
    ("action", |f, _| format!("{} {}", f.action, f.target)),
    ("node", |f, _| {
        f.node.map_or(DASH.into(), |n| format!("broker {n}"))
    }),
    ("fired at (s)", |f, start| fmt_s(f.fired_s - start, 2)),
    ("recovered at (s)", recovered),
    ("first error after (s)", |f, _| {
        metric(f, |m| opt_s(m.first_error_after_s, 2))
    }),
    ("longest ack gap (s)", |f, _| {
        metric(f, |m| fmt_s(m.longest_ack_gap_s, 2))
    }),
    ("ack gap per partition (s)", |f, _| {
        metric(f, |m| per_partition(&m.partition_ack_gaps_s))
    }),
    ("leader re-election per partition (s)", |f, _| {
        metric(f, |m| per_partition(&m.leader_reelection_s))
    }),
    ("ISR shrank per partition (s)", |f, _| {
        metric(f, |m| per_partition(&m.isr_shrunk_s))
    }),
    ("ISR whole again per partition (s)", |f, _| {
        metric(f, |m| per_partition(&m.isr_expanded_s))
    }),
    ("leader changes per partition (new epochs)", |f, _| {
        metric(f, |m| per_partition_count(&m.leader_changes))
    }),
    ("active controller changes", |f, _| controller_moves(f)),
    ("throughput recovery after (s)", |f, _| {
        metric(f, |m| opt_s(m.throughput_recovery_s, 1))
    }),
    ("pre-fault ack rate (records/s)", |f, _| {
        metric(f, |m| {
            format!("{} records/s", super::fmt_rate(m.pre_fault_ack_rate))
        })
    }),
    (
        "under-replicated partitions (max, cleared after)",
        |f, _| metric(f, under_replicated),
    ),
    ("failed deliveries by error", |f, _| {
        metric(f, |m| by_kind(&m.errors))
    }),
    ("checked after the action", |f, _| {
        if f.evidence.is_empty() {
            DASH.into()
        } else {
            (f.evidence.iter().map(ToString::to_string))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }),
];

/// One column per fault, one row per figure: faults are few, figures many, and a row per figure
/// keeps each column narrow enough to fit the page.
pub(super) fn faults(s: &mut String, r: &Results) {
    let start = load_start_s(r);
    s.push_str(
        "<section id=\"faults\">\n<h2>Failover</h2>\n<p class=\"note\">Times \"at\" are seconds \
         since load start; times \"after\" are seconds since the action. Ack gap: longest time \
         without any ack (the unavailability window); re-election: until another broker led each \
         partition the node led; throughput recovery: until acked throughput was back to ≥ 90% \
         of the pre-fault mean.</p>\n",
    );
    let mut head = String::from("<table class=\"faults\"><thead><tr><th>figure</th>");
    for f in &r.faults {
        let _ = write!(head, "<th>#{} {}</th>", f.index + 1, esc(&f.label));
    }
    head.push_str("</tr></thead>\n<tbody>\n");
    s.push_str(&head);
    for (label, cell) in FAULT_ROWS {
        let cells: Vec<(bool, String)> = r.faults.iter().map(|f| (false, cell(f, start))).collect();
        row(s, &esc(label), &cells);
    }
    let notes: Vec<(bool, String)> = (r.faults.iter())
        .map(|f| match (&f.error, &f.metrics) {
            (Some(e), _) => (false, format!("action failed: {e}")),
            (None, None) => (false, "no failover metrics recorded".into()),
            (None, Some(_)) => (false, "ok".into()),
        })
        .collect();
    row(s, "outcome", &notes);
    s.push_str("</tbody></table>\n</section>\n");
}

fn per_partition_count(m: &std::collections::BTreeMap<i32, u32>) -> String {
    if m.is_empty() {
        return DASH.into();
    }
    let parts: Vec<String> = m.iter().map(|(p, n)| format!("p{p}: {n}")).collect();
    parts.join(", ")
}

fn controller_moves(f: &FaultReport) -> String {
    if f.controller_changes.is_empty() {
        return DASH.into();
    }
    let who = |n: Option<BrokerId>| n.map_or("none".to_string(), |n| format!("node {n}"));
    let moves: Vec<String> = (f.controller_changes.iter())
        .map(|c| {
            format!(
                "{} → {} after {}",
                who(c.from),
                who(c.to),
                fmt_s(c.after_s, 1)
            )
        })
        .collect();
    moves.join("; ")
}

fn under_replicated(m: &FailoverMetrics) -> String {
    match m.under_replicated_cleared_after_s {
        Some(c) => format!("{}, cleared after {}", m.max_under_replicated, fmt_s(c, 1)),
        None if m.max_under_replicated == 0 => "0".into(),
        None => format!("{}, not cleared", m.max_under_replicated),
    }
}

fn recovered(f: &FaultReport, start: f64) -> String {
    let back = opt_s(f.recovered_s.map(|t| t - start), 2);
    match f.rejoined_s {
        Some(t) => format!("{back} (rejoined {})", fmt_s(t - start, 2)),
        None => back,
    }
}

const PCT_HEADERS: [&str; 11] = [
    "latency kind",
    "values",
    "min (ms)",
    "mean (ms)",
    "p50 (ms)",
    "p90 (ms)",
    "p99 (ms)",
    "p99.9 (ms)",
    "p99.99 (ms)",
    "p99.999 (ms)",
    "max (ms)",
];

fn pct_cells(q: &Percentiles) -> Vec<(bool, String)> {
    let mean = (q.mean_us.is_finite() && q.mean_us >= 0.0).then_some(q.mean_us.round() as u64);
    vec![
        (true, fmt_int(q.count)),
        (true, fmt_ms(q.min_us)),
        (true, mean.map_or(DASH.into(), fmt_ms)),
        (true, fmt_ms(q.p50_us)),
        (true, fmt_ms(q.p90_us)),
        (true, fmt_ms(q.p99_us)),
        (true, fmt_ms(q.p99_9_us)),
        (true, fmt_ms(q.p99_99_us)),
        (true, fmt_ms(q.p99_999_us)),
        (true, fmt_ms(q.max_us)),
    ]
}

fn pct_table(s: &mut String, title: &str, latency: &BTreeMap<String, Percentiles>) {
    let _ = writeln!(s, "<h3>{title}</h3>");
    if latency.values().all(|q| q.count == 0) {
        s.push_str("<p class=\"note\">No latency values in this phase.</p>\n");
        return;
    }
    thead(s, "pct", &PCT_HEADERS);
    for kind in kind_order(latency.keys()) {
        let q = &latency[kind];
        if q.count == 0 {
            continue;
        }
        let head = format!(
            "{}<br><span class=\"note\">{}</span>",
            esc(kind),
            esc(kind_description(kind))
        );
        row(s, &head, &pct_cells(q));
    }
    s.push_str("</tbody></table>\n");
}

fn window(p_from_us: u64, p_to_us: u64, start: f64) -> String {
    format!(
        "{:.1} s – {:.1} s",
        p_from_us as f64 / 1e6 - start,
        p_to_us as f64 / 1e6 - start
    )
}

/// One table per phase: results.json's phases, then each fault's windows rebuilt from the logs.
pub(super) fn percentiles(s: &mut String, r: &Results, rebuilt: &Rebuilt) {
    let start = load_start_s(r);
    s.push_str(
        "<section id=\"percentiles\">\n<h2>Latency percentiles</h2>\n<p class=\"note\">All values \
         in milliseconds, from HdrHistograms at 3 significant digits (each value is the highest \
         of its bucket). Warm-up is shown for completeness; it is not part of the measured \
         figures.</p>\n",
    );
    for p in &rebuilt.phases {
        let title = format!(
            "Phase: {} ({} since load start)",
            p.phase,
            window(p.from_us, p.to_us, start)
        );
        pct_table(s, &title, &p.latency());
    }
    for p in &rebuilt.fault_phases {
        let label = (p.fault)
            .and_then(|i| r.faults.get(i))
            .map_or(String::new(), |f| format!("#{} {}", f.index + 1, f.label));
        let title = format!(
            "{} fault {} ({} since load start)",
            capitalise(&p.stage().map_or(String::new(), |s| s.to_string())),
            esc(&label),
            window(p.from_us, p.to_us, start)
        );
        pct_table(s, &title, &p.latency());
    }
    s.push_str("</section>\n");
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// Records per phase and in total, then the audit and errors.
pub(super) fn counts(s: &mut String, r: &Results) {
    s.push_str("<section id=\"counts\">\n<h2>Counts</h2>\n");
    thead(
        s,
        "counts",
        &[
            "phase",
            "sent (records)",
            "acked (records)",
            "failed (records)",
            "consumed (records)",
        ],
    );
    let c = |x: &crate::metrics::Counts| {
        [x.sent, x.acked, x.failed, x.consumed].map(|n| (true, fmt_int(n)))
    };
    for p in &r.phases {
        row(s, &p.name.to_string(), &c(&p.counts));
    }
    row(s, "whole run", &c(&r.counts));
    s.push_str(
        "</tbody></table>\n<p class=\"note\">Phases count events by the second they \
        happened in, so an ack for a record sent in warm-up can count in the measured phase.</p>\n",
    );
    audit_table(s, &r.audit);
    audit_examples(s, &r.audit);
    let _ = writeln!(
        s,
        "<p>Failed deliveries by error: {}.</p>",
        esc(&by_kind(&r.errors))
    );
    let overflow: u64 = r.overflow.values().sum();
    let _ = writeln!(
        s,
        "<p class=\"note\">Values above the histograms' 1 h ceiling (kept, counted): {}. \
         Intervals that arrived late and were merged afterwards: {}.</p>\n</section>",
        fmt_int(overflow),
        fmt_int(r.late_intervals)
    );
}

/// The audit's counts, one row each.
fn audit_table(s: &mut String, a: &Verdict) {
    thead(s, "audit", &["audit", "records"]);
    let rows: [(&str, u64); 10] = [
        ("acked", a.acked),
        ("failed (reported to the producer)", a.failed),
        ("consumed (distinct)", a.consumed_unique),
        ("lost (acked, never consumed)", a.lost),
        ("duplicated (consumed more than once)", a.duplicated),
        ("extra deliveries of duplicates", a.duplicate_deliveries),
        ("reordered within a partition", a.reordered),
        ("consumed but neither acked nor failed", a.unexpected),
        ("failed yet delivered", a.failed_but_delivered),
        (
            "read again at an offset already read (consumer rewinds)",
            a.redelivered,
        ),
    ];
    for (label, n) in rows {
        row(s, &esc(label), &[(true, fmt_int(n))]);
    }
    s.push_str("</tbody></table>\n");
}

/// Every lost record as ranges, and the first few records of each kind the audit flagged.
fn audit_examples(s: &mut String, a: &Verdict) {
    let examples = [
        ("lost", seqs(&a.first_lost)),
        ("duplicated", seqs(&a.first_duplicated)),
        ("unexpected", seqs(&a.first_unexpected)),
        (
            "reordered",
            (a.first_reordered.iter())
                .map(|x| {
                    format!(
                        "p{}#{} after #{} in partition {}",
                        x.producer, x.seq, x.previous_seq, x.partition
                    )
                })
                .collect(),
        ),
    ];
    if !a.lost_ranges.is_empty() {
        let ranges: Vec<String> = (a.lost_ranges.iter())
            .map(|(p, from, to)| format!("p{p}#{from}–#{to}"))
            .collect();
        let _ = writeln!(
            s,
            "<p>Every lost record, as producer#sequence ranges: {}</p>",
            esc(&ranges.join(", "))
        );
    }
    for (what, list) in examples.iter().filter(|e| !e.1.is_empty()) {
        let _ = writeln!(
            s,
            "<p>First {what} records (producer#sequence): {}</p>",
            esc(&list.join(", "))
        );
    }
}

fn seqs(items: &[(u32, u64)]) -> Vec<String> {
    items.iter().map(|(p, s)| format!("p{p}#{s}")).collect()
}

/// Per producer and per consumer figures.
pub(super) fn clients(s: &mut String, r: &Results) {
    s.push_str("<section id=\"clients\">\n<h2>Producers and consumers</h2>\n");
    thead(
        s,
        "producers",
        &[
            "producer",
            "sent (records)",
            "saturated",
            "max send lag (ms)",
            "sends behind schedule",
            "unresolved at end (records)",
        ],
    );
    for p in &r.producers {
        let cells = [
            (true, fmt_int(p.sent)),
            (true, if p.saturated { "yes" } else { "no" }.to_string()),
            (true, fmt_ms(p.max_lag_us)),
            (true, fmt_int(p.behind_count)),
            (true, fmt_int(p.unresolved)),
        ];
        row(s, &p.id.to_string(), &cells);
    }
    s.push_str("</tbody></table>\n");
    thead(
        s,
        "consumers",
        &[
            "consumer",
            "consumed (records)",
            "undecodable (records)",
            "errors",
        ],
    );
    for c in &r.consumers {
        let errors = if c.errors.is_empty() {
            "none".to_string()
        } else {
            c.errors.join("; ")
        };
        let cells = [
            (true, fmt_int(c.consumed)),
            (true, fmt_int(c.undecodable)),
            (false, errors),
        ];
        row(s, &c.id.to_string(), &cells);
    }
    s.push_str("</tbody></table>\n</section>\n");
}
