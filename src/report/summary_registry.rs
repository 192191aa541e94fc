//! The terminal summary's lines on kbench's own registry clients: each client's cache hits and
//! misses, requests and failures by kind, the registry's request latency, and every cold
//! consumer group — when it started, how long it waited for the registry, when it caught up,
//! and whether it read every acknowledged record.

use std::fmt::Write;

use super::results::Results;
use crate::audit::cold::ColdGroupReport;
use crate::avro::schema_cache::ClientStats;

use super::summary_ms;

/// Registry clients, request latency and cold groups; nothing for a run whose clients never
/// needed the registry after start-up.
pub(super) fn render(s: &mut String, r: &Results) {
    let clients = r.registry_clients();
    if clients.iter().all(|c| c.requests == 0) && r.cold_groups.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "registry  kbench's clients (cache hits / misses, requests):"
    );
    for c in &clients {
        let _ = writeln!(s, "          {}", client_line(c));
    }
    if let Some(a) = &r.schemas {
        for (kind, q) in &a.request_latency {
            let _ = writeln!(
                s,
                "          {kind:<18} {} answered: p50 {} ms, p99 {} ms, max {} ms",
                q.count,
                summary_ms(q.p50_us),
                summary_ms(q.p99_us),
                summary_ms(q.max_us)
            );
        }
    }
    for g in &r.cold_groups {
        let _ = writeln!(s, "cold      {}", cold_line(g));
    }
}

/// `consumer-0  cache 90123 hits / 2 misses; 14 requests, 2 answered, failed: refused x12`.
pub(crate) fn client_line(c: &ClientStats) -> String {
    let failed = if c.failed.is_empty() {
        "none failed".to_string()
    } else {
        let kinds: Vec<String> = c.failed.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        format!("failed: {}", kinds.join(", "))
    };
    format!(
        "{:<15} cache {} hits / {} misses; {} requests, {} answered, {failed}",
        c.client, c.cache_hits, c.cache_misses, c.requests, c.answered
    )
}

/// One cold group: start, wait for the registry, catch-up, and its audit; times since the
/// run's origin, like the fault lines above it.
pub(crate) fn cold_line(g: &ColdGroupReport) -> String {
    let at = |t: f64| format!("{t:.1}s");
    let Some(started) = g.started_s else {
        return format!("{}: never started ({})", g.group, g.errors.join("; "));
    };
    let caught = g
        .caught_up_s
        .map_or("never read live before the load ended".into(), |t| {
            format!(
                "caught up at {} ({:.1} s after its start)",
                at(t),
                t - started
            )
        });
    let verdict = if g.clean() { "ok" } else { "FAILED" };
    format!(
        "{}: started at {}, waited {:.1} s for the registry ({} lookups retried), {caught}; \
         read {} records, {} acknowledged records unread, {} undecodable: {verdict}",
        g.group,
        at(started),
        g.lookup_stall_s,
        g.lookup_retries,
        g.consumed,
        g.unread,
        g.undecodable
    )
}
