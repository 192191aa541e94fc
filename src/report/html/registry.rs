//! The report's schema registry section: the registry's availability (each outage: last
//! answer, first failed probe, answered again, probes failed by kind), the schema evolution
//! events with the registry's own answers, and the audit's counts per schema version.

use std::fmt::Write;

use super::tables::{row, thead};
use super::{esc, fmt_int, fmt_s};
use crate::audit::versions::SchemaAudit;
use crate::faults::registry_probe::RegistryAvailability;
use crate::report::phases::load_start_s;
use crate::report::results::Results;

/// Whether the run has anything for this section: a registry fault, more than one version, a
/// cold consumer group.
pub(super) fn shown(r: &Results) -> bool {
    r.registry_in_play()
}

/// The section.
pub(super) fn section(s: &mut String, r: &Results) {
    s.push_str(
        "<section id=\"registry\">\n<h2>Schema registry</h2>\n<p class=\"note\">Times are \
         seconds since load start, like the fault times.</p>\n",
    );
    let start = load_start_s(r);
    if let Some(a) = &r.registry {
        availability(s, a, start);
    }
    if let Some(a) = &r.schemas {
        events(s, a, start);
        versions(s, a);
    }
    super::registry_clients::tables(s, r, start);
    s.push_str("</section>\n");
}

fn availability(s: &mut String, a: &RegistryAvailability, start: f64) {
    let _ = writeln!(
        s,
        "<h3>Availability</h3>\n<p class=\"note\">GET /subjects every {} ms (1 s timeout): \
         {} probes, {} failed.</p>",
        a.period_ms,
        fmt_int(a.probes),
        fmt_int(a.failed)
    );
    thead(
        s,
        "registry",
        &[
            "outage",
            "last answer (s)",
            "first failure (s)",
            "answered again (s)",
            "unavailable (s)",
            "failed probes",
        ],
    );
    for (i, o) in a.outages.iter().enumerate() {
        let kinds: Vec<String> = o
            .failures
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        let at = |v: Option<f64>| v.map_or("—".into(), |t| fmt_s(t - start, 3));
        let cells = [
            (true, at(o.last_ok_s)),
            (true, at(Some(o.from_s))),
            (
                true,
                o.to_s.map_or("never, before probing stopped".into(), |t| {
                    fmt_s(t - start, 3)
                }),
            ),
            (true, o.duration_s().map_or("—".into(), |d| fmt_s(d, 3))),
            (false, kinds.join(", ")),
        ];
        row(s, &format!("#{}", i + 1), &cells);
    }
    s.push_str("</tbody></table>\n");
}

fn events(s: &mut String, a: &SchemaAudit, start: f64) {
    if a.events.is_empty() {
        return;
    }
    let mode = a
        .compatibility
        .as_deref()
        .unwrap_or("the registry's default");
    let _ = writeln!(
        s,
        "<h3>Schema evolution</h3>\n<p class=\"note\">Compatibility {}; the registry decides.</p>",
        esc(mode)
    );
    thead(
        s,
        "evolution",
        &[
            "file",
            "sent at (s)",
            "outcome",
            "id",
            "version",
            "took (ms)",
            "registry's answer",
        ],
    );
    for e in &a.events {
        let cells = [
            (true, fmt_s(e.at_s - start, 3)),
            (false, e.outcome.clone()),
            (true, e.id.map_or("—".into(), |v| v.to_string())),
            (true, e.version.map_or("—".into(), |v| v.to_string())),
            (true, format!("{:.0}", e.latency_ms)),
            (false, e.message.clone().unwrap_or_else(|| "—".into())),
        ];
        row(s, &esc(&e.label), &cells);
    }
    s.push_str("</tbody></table>\n");
}

fn versions(s: &mut String, a: &SchemaAudit) {
    let how = if a.full_decode {
        "every record decoded whole with the writer schema its id names"
    } else {
        "the first record of each id decoded whole, the header read off the rest"
    };
    let _ = writeln!(
        s,
        "<h3>Records per schema version</h3>\n<p class=\"note\">Consumers: {how}. Consumed counts \
         acknowledged records read back; read counts every read, re-deliveries included. Id \
         mismatches: {}. Schema lookups retried while the registry did not answer: {} ({}).</p>",
        fmt_int(a.mismatched),
        fmt_int(a.lookup_retries),
        fmt_s(a.lookup_stall_s, 1)
    );
    thead(
        s,
        "versions",
        &[
            "version", "id", "file", "produced", "acked", "consumed", "read", "decoded",
        ],
    );
    for v in &a.versions {
        let cells = [
            (true, v.id.to_string()),
            (false, v.label.clone()),
            (true, fmt_int(v.produced)),
            (true, fmt_int(v.acked)),
            (true, fmt_int(v.consumed)),
            (true, fmt_int(v.read)),
            (true, fmt_int(v.decoded)),
        ];
        row(s, &v.version.map_or("?".into(), |n| n.to_string()), &cells);
    }
    s.push_str("</tbody></table>\n");
    if !a.undecodable.is_empty() {
        let kinds: Vec<String> = (a.undecodable.iter())
            .map(|(k, n)| format!("{} ×{n}", esc(k)))
            .collect();
        let _ = writeln!(
            s,
            "<p class=\"fail\">Undecodable records: {}</p><ul>",
            kinds.join(", ")
        );
        for e in &a.undecodable_examples {
            let _ = writeln!(s, "<li>{}</li>", esc(e));
        }
        s.push_str("</ul>\n");
    }
}
