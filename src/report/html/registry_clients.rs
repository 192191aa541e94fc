//! The registry section's tables on kbench's own registry clients: each client's cache hits
//! and misses, requests and failures; the registry's request latency by kind; and each cold
//! consumer group — start, wait for the registry, catch-up, and its audit.

use std::fmt::Write;

use super::tables::{row, thead};
use super::{esc, fmt_int, fmt_s};
use crate::audit::cold::ColdGroupReport;
use crate::report::results::Results;

/// The clients, the latency and the cold groups, each where the run has any.
pub(super) fn tables(s: &mut String, r: &Results, start: f64) {
    clients(s, r);
    latency(s, r);
    if !r.cold_groups.is_empty() {
        cold_groups(s, &r.cold_groups, start);
    }
    s.push_str(
        "<p class=\"note\">Charts: <a href=\"#chart-registry-latency\">request latency</a>; \
         with a registry fault, <a href=\"#chart-registry-availability\">availability</a>.</p>\n",
    );
}

fn clients(s: &mut String, r: &Results) {
    let all = r.registry_clients();
    s.push_str(
        "<h3>kbench's registry clients</h3>\n<p class=\"note\">Producers use the id registered \
         before the load and never ask the registry again; consumers look writer schemas up by \
         id once each (a miss), then serve them from their cache (hits). Requests count \
         retries while the registry did not answer — or answered HTTP 404 for an id it gave \
         this run, as a restarted registry does until its storage has caught up; such a \
         lookup is asked again for up to 60 s.</p>\n",
    );
    thead(
        s,
        "clients",
        &[
            "client",
            "cache hits",
            "cache misses",
            "requests",
            "answered",
            "failed",
        ],
    );
    for c in all {
        let failed: Vec<String> = (c.failed.iter())
            .map(|(k, n)| format!("{k} ×{}", fmt_int(*n)))
            .collect();
        let cells = [
            (true, fmt_int(c.cache_hits)),
            (true, fmt_int(c.cache_misses)),
            (true, fmt_int(c.requests)),
            (true, fmt_int(c.answered)),
            (
                false,
                if failed.is_empty() {
                    "none".into()
                } else {
                    failed.join(", ")
                },
            ),
        ];
        row(s, &esc(&c.client), &cells);
    }
    s.push_str("</tbody></table>\n");
}

fn latency(s: &mut String, r: &Results) {
    let Some(a) = r.schemas.as_ref().filter(|a| !a.request_latency.is_empty()) else {
        return;
    };
    s.push_str(
        "<h3>Registry request latency</h3>\n<p class=\"note\">Answered requests of kbench's own \
         clients over the whole run (start-up and drain included), from their .hlog files.</p>\n",
    );
    thead(
        s,
        "requests",
        &["request", "answered", "p50 (ms)", "p99 (ms)", "max (ms)"],
    );
    let ms = |us: u64| format!("{:.2}", us as f64 / 1e3);
    for (kind, q) in &a.request_latency {
        let cells = [
            (true, fmt_int(q.count)),
            (true, ms(q.p50_us)),
            (true, ms(q.p99_us)),
            (true, ms(q.max_us)),
        ];
        row(s, &esc(kind), &cells);
    }
    s.push_str("</tbody></table>\n");
}

fn cold_groups(s: &mut String, groups: &[ColdGroupReport], start: f64) {
    s.push_str(
        "<h3>Cold consumer groups</h3>\n<p class=\"note\">Each starts mid-run in a group of its \
         own with no offsets and no cached schema, and must read every acknowledged record. \
         Caught up: every partition it held was read within 1 s of the record's intended send \
         time.</p>\n",
    );
    thead(
        s,
        "cold",
        &[
            "group",
            "started (s)",
            "waited for the registry (s)",
            "lookups retried",
            "caught up (s)",
            "read",
            "unread acked",
            "undecodable",
            "verdict",
        ],
    );
    for g in groups {
        let at = |t: Option<f64>| t.map_or("—".into(), |t| fmt_s(t - start, 1));
        let cells = [
            (true, at(g.started_s)),
            (true, fmt_s(g.lookup_stall_s, 1)),
            (true, fmt_int(g.lookup_retries)),
            (true, at(g.caught_up_s)),
            (true, fmt_int(g.consumed)),
            (true, fmt_int(g.unread)),
            (true, fmt_int(g.undecodable)),
            (
                false,
                if g.clean() {
                    "ok".into()
                } else {
                    "FAILED".into()
                },
            ),
        ];
        row(s, &esc(&g.group), &cells);
    }
    s.push_str("</tbody></table>\n");
    for e in groups.iter().flat_map(|g| &g.errors) {
        let _ = writeln!(s, "<p class=\"fail\">{}</p>", esc(e));
    }
}
