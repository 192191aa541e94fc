//! The top of the page, what a reader looks at first: the overall verdict (SLOs and audit), the
//! warnings that qualify it (generator saturated, failed fault actions, failed deliveries, missing
//! logs), the SLO list with measured values, and the key figures.

use std::fmt::Write;

use super::{esc, fmt_int, fmt_ms, fmt_rate};
use crate::audit::ledger::Verdict;
use crate::report::phases::Rebuilt;
use crate::report::results::Results;

fn banner(s: &mut String, class: &str, head: &str, body: &str) {
    let _ = writeln!(
        s,
        "<div class=\"banner {class}\"><strong>{}</strong> {}</div>",
        esc(head),
        esc(body)
    );
}

fn audit_body(v: &Verdict) -> String {
    let counts = format!(
        "{} acked, {} consumed, {} lost, {} duplicated, {} reordered",
        fmt_int(v.acked),
        fmt_int(v.consumed_unique),
        fmt_int(v.lost),
        fmt_int(v.duplicated),
        fmt_int(v.reordered)
    );
    let aside = format!(
        "{} consumed but never acked, {} reported failed yet delivered (neither is loss).",
        fmt_int(v.unexpected),
        fmt_int(v.failed_but_delivered)
    );
    if v.ok {
        return format!("{counts}. {aside}");
    }
    // Display names the first offending records; keep its wording after the head.
    let text = v.to_string();
    let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
    format!("{detail}. {aside}")
}

fn incomplete_body(r: &Results) -> String {
    let v = &r.audit;
    if r.distribution.as_ref().is_some_and(|d| !d.complete()) && r.aborted.is_none() {
        return format!(
            "{} acked, {} read back, {} lost, {} duplicated, {} reordered among the shards that \
             reported; {} read back without an ack (records of a shard that never reported \
             are among them). What a missing shard got acknowledged is unknown, so this audit \
             cannot prove that nothing was lost.",
            fmt_int(v.acked),
            fmt_int(v.consumed_unique),
            fmt_int(v.lost),
            fmt_int(v.duplicated),
            fmt_int(v.reordered),
            fmt_int(v.unexpected)
        );
    }
    format!(
        "{} acked, {} read back; {} unresolved ({} acked but not read back before the stop, {} \
         awaiting their ack) — none counted lost, since the drain that would settle them was \
         cut; {} duplicated, {} reordered.",
        fmt_int(v.acked),
        fmt_int(v.consumed_unique),
        fmt_int(v.unresolved()),
        fmt_int(v.unread),
        fmt_int(v.in_flight),
        fmt_int(v.duplicated),
        fmt_int(v.reordered)
    )
}

pub(super) fn verdict(s: &mut String, r: &Results, rebuilt: &Rebuilt) {
    s.push_str("<section id=\"verdict\">\n<h2 class=\"sr\">Verdict</h2>\n");
    if let Some(a) = &r.aborted {
        let total = r.scenario.duration_s + r.scenario.warmup_s;
        let body = format!(
            "{} (at {}). Every figure below covers the run up to the stop; the SLOs are not \
             evaluated and the audit is incomplete.",
            a.describe(total),
            a.at
        );
        banner(s, "fail big", "Run CUT SHORT:", &body);
    } else if !r.slos.is_empty() {
        let missed = r.slos.iter().filter(|x| !x.pass).count();
        let body = format!(
            "{} of {} SLOs met; audit {}.",
            r.slos.len() - missed,
            r.slos.len(),
            if r.audit.ok { "OK" } else { "FAILED" }
        );
        if r.passed() {
            banner(s, "ok big", "Run PASSED:", &body);
        } else {
            banner(s, "fail big", "Run FAILED:", &body);
        }
    }
    if !r.audit.complete {
        banner(s, "warn", "Audit INCOMPLETE:", &incomplete_body(r));
    } else if r.audit.ok {
        banner(s, "ok", "Audit OK:", &audit_body(&r.audit));
    } else {
        banner(s, "fail", "Audit FAILED:", &audit_body(&r.audit));
    }
    if r.rate.generator_saturated {
        let body = format!(
            "the load generator fell behind its schedule at times (max send lag {} ms), so \
             some records were offered later than scheduled; sent {} records/s and acked {} \
             records/s ({:.1}%) of {} records/s targeted. Latencies are measured from the \
             intended send times, so the lag is included, not hidden.",
            fmt_ms(r.rate.send_lag_max_us),
            fmt_rate(r.rate.sent_rate),
            fmt_rate(r.rate.achieved_rate),
            r.rate.achieved_ratio * 100.0,
            fmt_rate(r.rate.target_rate)
        );
        banner(s, "warn", "Generator saturated:", &body);
    }
    for f in r.faults.iter().filter(|f| f.error.is_some()) {
        let body = format!("{} — {}", f.label, f.error.as_deref().unwrap_or_default());
        banner(s, "fail", "Fault action failed:", &body);
    }
    if r.counts.failed > 0 {
        let body = format!(
            "{} deliveries were reported failed to the producers (by kind in Counts).",
            fmt_int(r.counts.failed)
        );
        banner(s, "warn", "Failed deliveries:", &body);
    }
    for (kind, file) in &rebuilt.missing {
        let body = format!("{file} ({kind}) is not in the run directory; its charts lack it.");
        banner(s, "warn", "Missing log:", &body);
    }
    slos(s, r);
    s.push_str("</section>\n");
}

/// A measured or limit value of an SLO: as many decimals as it needs, at most three.
fn fmt_slo(v: f64) -> String {
    let t = format!("{v:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn slos(s: &mut String, r: &Results) {
    s.push_str("<h3>SLOs</h3>\n<ul class=\"slos\">\n");
    if r.slos.is_empty() {
        // Say so rather than show a pass nobody checked.
        s.push_str(
            "<li class=\"none\">No SLOs: the scenario has no [slo] section, so the run is judged by \
             the audit and the figures below.</li>\n",
        );
    }
    for slo in &r.slos {
        let (class, word) = match (slo.evaluated, slo.pass) {
            (false, _) => ("none", "NOT EVALUATED"),
            (true, true) => ("pass", "PASS"),
            (true, false) => ("fail", "FAIL"),
        };
        let unit = if slo.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", slo.unit)
        };
        let measured = slo
            .measured
            .map_or("not measured in this run".to_string(), |m| {
                format!("measured {}{unit}", fmt_slo(m))
            });
        let op = match slo.op {
            crate::slo::Op::AtMost => "≤",
            crate::slo::Op::AtLeast => "≥",
        };
        let _ = writeln!(
            s,
            "<li class=\"{class}\"><strong>{word}</strong> {} (<code>{}</code>): {}, \
             objective {} {}{}</li>",
            esc(&slo.description),
            esc(&slo.key),
            esc(&measured),
            esc(op),
            esc(&fmt_slo(slo.limit)),
            esc(&unit)
        );
    }
    s.push_str("</ul>\n");
}

pub(super) fn key_figures(s: &mut String, r: &Results) {
    let measured = r.measured();
    let p99 = |kind: &str| {
        measured
            .and_then(|p| p.latency.get(kind))
            .map_or(("—".to_string(), ""), |q| (fmt_ms(q.p99_us), "ms"))
    };
    // A run cut short in its warm-up has no measured time: a rate of 0 would read as a finding.
    let unmeasured = r
        .aborted
        .as_ref()
        .is_some_and(|a| a.load_s <= r.scenario.warmup_s);
    let achieved = if unmeasured {
        (
            ("—".to_string(), ""),
            "cut short before the measured phase".to_string(),
        )
    } else {
        (
            (fmt_rate(r.rate.achieved_rate), "records/s"),
            format!(
                "{:.1}% of {} records/s target",
                r.rate.achieved_ratio * 100.0,
                fmt_rate(r.rate.target_rate)
            ),
        )
    };
    let figures = [
        ("achieved rate".to_string(), achieved.0, achieved.1),
        (
            "ack p99 (corrected)".into(),
            p99("ack_corrected"),
            "measured phase".into(),
        ),
        ("end-to-end p99".into(), p99("e2e"), "measured phase".into()),
        (
            "lost records".into(),
            (fmt_int(r.audit.lost), ""),
            format!("of {} acked", fmt_int(r.audit.acked)),
        ),
        (
            "failed deliveries".into(),
            (fmt_int(r.counts.failed), ""),
            format!("of {} sent", fmt_int(r.counts.sent)),
        ),
        (
            "faults".into(),
            (r.faults.len().to_string(), ""),
            "injected during the run".into(),
        ),
    ];
    s.push_str("<section id=\"figures\" class=\"figures\">\n");
    for (label, (value, unit), sub) in figures {
        let _ = writeln!(
            s,
            "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\">{} \
             <span class=\"unit\">{}</span></div><div class=\"sub\">{}</div></div>",
            esc(&label),
            esc(&value),
            esc(unit),
            esc(&sub)
        );
    }
    s.push_str("</section>\n");
}
