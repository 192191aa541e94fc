//! The table printed at the end of a run: rate, counts, latency percentiles per phase, audit.

use std::fmt::Write;

use super::results::Results;
use crate::faults::report::{FailoverMetrics, FaultReport};

use super::summary_ms;

/// The plain-text summary `kbench run` prints: rate, resources, counts, latency per phase,
/// faults, objectives and the audit.
pub fn render(r: &Results) -> String {
    let mut s = String::new();
    if let Some(a) = &r.aborted {
        let total = r.scenario.duration_s + r.scenario.warmup_s;
        let _ = writeln!(
            s,
            "CUT SHORT {}; figures cover the run up to the stop, SLOs not evaluated",
            a.describe(total)
        );
    }
    rate_and_resources(&mut s, r);
    latency(&mut s, r);
    faults(&mut s, r);
    schemas(&mut s, r);
    super::summary_registry::render(&mut s, r);
    slos(&mut s, r);
    let _ = write!(s, "{}", r.audit);
    s
}

fn rate_and_resources(s: &mut String, r: &Results) {
    let rate = &r.rate;
    let _ = writeln!(
        s,
        "scenario  {} ({}s measured, {}s warm-up)",
        r.scenario.name, r.scenario.duration_s, r.scenario.warmup_s
    );
    let _ = writeln!(
        s,
        "rate      target {:.0}/s, achieved {:.0}/s acked ({:.2}% of target), sent {:.0}/s{}",
        rate.target_rate,
        rate.achieved_rate,
        rate.achieved_ratio * 100.0,
        rate.sent_rate,
        if rate.generator_saturated {
            "  GENERATOR SATURATED: offered load fell behind schedule"
        } else {
            ""
        }
    );
    let e = &r.environment;
    let jvms: Vec<String> = e
        .cluster_peak_rss_mib
        .iter()
        .map(|(k, v)| format!("{k} {v:.0}"))
        .collect();
    let _ = writeln!(
        s,
        "resources kbench {:.1} CPU-s, peak RSS {:.0} MiB; cluster peak RSS (MiB) {}",
        e.kbench_cpu_s,
        e.kbench_peak_rss_mib,
        if jvms.is_empty() {
            "-".to_string()
        } else {
            jvms.join(", ")
        }
    );
    if let Some(p) = &r.payload {
        let _ = writeln!(s, "{}", p.line());
    }
    for b in &e.broker_settings {
        let _ = writeln!(
            s,
            "broker    {} = {} (reported by every broker)",
            b.key, b.value
        );
    }
}

fn latency(s: &mut String, r: &Results) {
    let c = &r.counts;
    let _ = writeln!(
        s,
        "records   sent {} acked {} failed {} consumed {}",
        c.sent, c.acked, c.failed, c.consumed
    );
    let _ = writeln!(
        s,
        "{:<10} {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "phase", "latency (ms)", "p50", "p90", "p99", "p99.9", "p99.99", "max", "count"
    );
    for p in &r.phases {
        for (kind, q) in &p.latency {
            if q.count == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "{:<10} {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                p.name,
                kind,
                summary_ms(q.p50_us),
                summary_ms(q.p90_us),
                summary_ms(q.p99_us),
                summary_ms(q.p99_9_us),
                summary_ms(q.p99_99_us),
                summary_ms(q.max_us),
                q.count
            );
        }
    }
    if !r.errors.is_empty() {
        let list: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k} x{v}")).collect();
        let _ = writeln!(s, "errors    {}", list.join(", "));
    }
}

fn faults(s: &mut String, r: &Results) {
    if let Some(a) = &r.registry {
        let _ = writeln!(
            s,
            "registry  probed every {} ms: {} probes, {} failed, {} outage(s)",
            a.period_ms,
            a.probes,
            a.failed,
            a.outages.len()
        );
    }
    for f in &r.faults {
        let _ = write!(
            s,
            "fault {}   {} at {:.3}s",
            f.index + 1,
            f.label,
            f.fired_s
        );
        if let Some(b) = f.recovered_s {
            let _ = write!(s, ", back at {b:.3}s");
        }
        if let Some(e) = &f.error {
            let _ = write!(s, "  FAILED: {e}");
        }
        let _ = writeln!(s);
        if let Some(o) = &f.registry_outage {
            let _ = writeln!(s, "          {}", outage_line(o));
        }
        if let Some(m) = &f.metrics {
            let reelect: Vec<String> = m
                .leader_reelection_s
                .iter()
                .map(|(p, t)| format!("p{p} {:.0} ms", t * 1000.0))
                .collect();
            let _ = writeln!(
                s,
                "          longest ack gap {:.0} ms; leader re-election {}; throughput back to 90% after {}; first error after {}; under-replicated max {} (cleared after {})",
                m.longest_ack_gap_s * 1000.0,
                if reelect.is_empty() { "-".to_string() } else { reelect.join(", ") },
                m.throughput_recovery_s.map_or("never".into(), |t| format!("{t:.1} s")),
                m.first_error_after_s.map_or("-".into(), |t| format!("{:.0} ms", t * 1000.0)),
                m.max_under_replicated,
                m.under_replicated_cleared_after_s.map_or("-".into(), |t| format!("{t:.1} s")),
            );
            let moved = !m.isr_shrunk_s.is_empty() || !m.isr_expanded_s.is_empty();
            if moved || !m.leader_changes.is_empty() || !f.controller_changes.is_empty() {
                let _ = writeln!(s, "          {}", replication_line(m, f));
            }
            if !m.errors.is_empty() {
                let list: Vec<String> = m.errors.iter().map(|(k, v)| format!("{k} x{v}")).collect();
                let _ = writeln!(s, "          errors {}", list.join(", "));
            }
        }
    }
}

/// The schema versions: evolution events, counts per version, undecodable records.
fn schemas(s: &mut String, r: &Results) {
    let Some(a) = &r.schemas else {
        return;
    };
    if !a.full_decode && a.versions.len() <= 1 && a.undecodable.is_empty() {
        return; // one version, header reads: the audit line says it all
    }
    let how = if a.full_decode {
        "every record decoded whole with the writer schema its id names"
    } else {
        "first record of each id decoded whole, headers read off the rest"
    };
    let mode = a
        .compatibility
        .as_deref()
        .unwrap_or("the registry's default");
    let _ = writeln!(s, "schemas   compatibility {mode}; {how}");
    for e in &a.events {
        let _ = writeln!(s, "          {}", e.describe());
    }
    let _ = writeln!(
        s,
        "          {:<8} {:>6} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "version", "id", "file", "produced", "acked", "consumed", "read", "decoded"
    );
    for v in &a.versions {
        let _ = writeln!(
            s,
            "          {:<8} {:>6} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}",
            v.version.map_or("?".into(), |n| n.to_string()),
            v.id,
            v.label,
            v.produced,
            v.acked,
            v.consumed,
            v.read,
            v.decoded
        );
    }
    let bad: Vec<String> = (a.undecodable.iter())
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    let bad = if bad.is_empty() {
        "none".into()
    } else {
        bad.join(", ")
    };
    let _ = writeln!(
        s,
        "          id mismatches {}; undecodable {bad}; schema lookups retried {} ({:.1} s \
         waiting for the registry)",
        a.mismatched, a.lookup_retries, a.lookup_stall_s
    );
    for e in &a.undecodable_examples {
        let _ = writeln!(s, "            {e}");
    }
}

/// When the registry stopped answering, when it answered again, and how its probes failed.
fn outage_line(o: &crate::faults::registry_probe::Outage) -> String {
    let kinds: Vec<String> = (o.failures.iter())
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    let back = match (o.to_s, o.duration_s()) {
        (Some(t), Some(d)) => format!("answered again at {t:.3}s: unavailable {d:.1} s"),
        _ => "never answered again before probing stopped".into(),
    };
    format!(
        "registry stopped answering at {:.3}s (last answer {}), {back}; failed probes {}",
        o.from_s,
        o.last_ok_s.map_or("-".into(), |t| format!("{t:.3}s")),
        kinds.join(", ")
    )
}

/// ISR shrink / whole-again times, leader changes and controller moves, on one line.
fn replication_line(m: &FailoverMetrics, f: &FaultReport) -> String {
    let parts: std::collections::BTreeSet<i32> = (m.isr_shrunk_s.keys())
        .chain(m.isr_expanded_s.keys())
        .copied()
        .collect();
    let isr: Vec<String> = (parts.iter())
        .map(|p| {
            let shrank = m
                .isr_shrunk_s
                .get(p)
                .map_or("already short".into(), |t| format!("shrank {t:.1} s"));
            let back = m
                .isr_expanded_s
                .get(p)
                .map_or("not whole in the window".into(), |e| {
                    format!("whole {e:.1} s")
                });
            format!("p{p} {shrank}, {back}")
        })
        .collect();
    let leaders: Vec<String> = (m.leader_changes.iter())
        .map(|(p, n)| format!("p{p} x{n}"))
        .collect();
    let who = |n: Option<u32>| n.map_or("none".to_string(), |n| n.to_string());
    let ctl: Vec<String> = (f.controller_changes.iter())
        .map(|c| format!("{} -> {} after {:.1} s", who(c.from), who(c.to), c.after_s))
        .collect();
    let or_dash = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "ISR {}; leader changes {}; controller {}",
        or_dash(isr),
        or_dash(leaders),
        or_dash(ctl)
    )
}

fn slos(s: &mut String, r: &Results) {
    for o in &r.slos {
        let measured = o
            .measured
            .map_or("not measured".to_string(), |v| format!("{v:.3} {}", o.unit));
        let _ = writeln!(
            s,
            "slo       {} {} {} {}: {measured} ({})",
            match (o.evaluated, o.pass) {
                (false, _) => "NOT EVALUATED",
                (true, true) => "PASS",
                (true, false) => "FAIL",
            },
            o.key,
            o.op,
            o.limit,
            o.description
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_latency_table_keeps_its_columns() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/failover-run");
        let r = crate::report::results::read(&dir).unwrap();
        let text = super::render(&r);
        // The phase column is 10 wide whatever the phase's type prints.
        assert!(text.contains("\nmeasured   ack_corrected "), "{text}");
        assert!(text.contains("\nfault 1 before ack_corrected "), "{text}");
    }
}
