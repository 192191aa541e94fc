//! The Shards section of a merged run (`kbench merge`): one row per shard of the distributed
//! load — its acked records, rate, generator state, own ack p99 and start against the barrier —
//! and, at the top of the page, a warning for every shard that never reported.

use std::fmt::Write;

use super::tables::{row, thead};
use super::{esc, fmt_int, fmt_ms, fmt_rate};
use crate::report::results::Results;

/// The warning banner for each shard missing from a merged run.
pub(super) fn missing(s: &mut String, r: &Results) {
    let Some(d) = &r.distribution else { return };
    for shard in d.missing() {
        let _ = writeln!(
            s,
            "<div class=\"banner fail\"><strong>Shard {} MISSING:</strong> {} Every total on \
             this page lacks its part of the load; the audit is incomplete.</div>",
            shard.shard,
            esc(shard.missing.as_deref().unwrap_or_default())
        );
    }
}

/// The table of shards; nothing for a run that was not merged.
pub(super) fn section(s: &mut String, r: &Results) {
    let Some(d) = &r.distribution else { return };
    let _ = writeln!(
        s,
        "<section id=\"shards\">\n<h2>Shards</h2>\n<p class=\"note\">The load was split over {} \
         shards, each a run of its own; every figure above is their histograms added (never \
         their percentiles averaged). Start skew between shards: {:.2} ms.</p>",
        d.shards_expected, d.start_skew_ms
    );
    thead(
        s,
        "shards",
        &[
            "shard",
            "acked (records)",
            "achieved (records/s)",
            "generator saturated",
            "max send lag (ms)",
            "own ack p99 (ms)",
            "start vs barrier (ms)",
            "run directory",
        ],
    );
    for shard in &d.shards {
        let cells = match &shard.missing {
            Some(why) => vec![(false, format!("missing: {why}"))],
            None => vec![
                (true, fmt_int(shard.acked)),
                (true, fmt_rate(shard.achieved_rate)),
                (true, if shard.saturated { "yes" } else { "no" }.to_string()),
                (true, fmt_ms(shard.send_lag_max_us)),
                (true, shard.ack_p99_us.map_or("-".to_string(), fmt_ms)),
                (true, format!("{:+.2}", shard.start_offset_ms)),
                (false, shard.dir.clone()),
            ],
        };
        row(s, &shard.shard.to_string(), &cells);
    }
    s.push_str("</tbody></table>\n</section>\n");
}
