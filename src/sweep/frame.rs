//! What both sweep pages are framed with: the head saying how every step ran, the conclusion
//! banner with the objectives, the table of steps linking to each step's own report, and the
//! page written out.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::search::Verdict;
use super::{StepRecord, SweepResults};
use crate::report::draw::{esc, stylesheet};
use crate::slo::Slo;

/// The page's head, title and the line saying how every step ran.
pub(super) fn head(s: &mut String, r: &SweepResults, title: &str, on: &str) {
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kbench sweep \
         {name}</title><style>{css}</style></head><body>\n<h1>{title}: {name}</h1>\n\
         <p class=\"meta\">{file} · {start} to {end} · every step: {settle:.0} s settle + \
         {measure:.0} s measured, {on}</p>\n",
        name = esc(&r.scenario),
        title = esc(title),
        css = stylesheet(),
        file = esc(&r.file),
        start = esc(&r.started_at),
        end = esc(&r.finished_at),
        settle = r.settle_s,
        measure = r.measure_s,
        on = esc(on),
    );
}

/// The conclusion in a banner of `class` (ok / warn / fail), and the objectives every `unit`
/// (step, run) was judged by.
pub(super) fn banner(s: &mut String, r: &SweepResults, class: &str, unit: &str) {
    let _ = write!(
        s,
        "<div class=\"banner big {class}\"><strong>{}</strong></div>\n<p>Objectives every {unit} \
         was judged by: {}.</p>\n",
        esc(&r.conclusion),
        esc(&(r.objectives.iter().map(Slo::to_string))
            .collect::<Vec<_>>()
            .join(", "))
    );
}

/// The page closed and written as `dir/index.html`.
pub(super) fn finish(dir: &Path, mut s: String) -> Result<()> {
    s.push_str("</body></html>\n");
    let index = dir.join("index.html");
    std::fs::write(&index, s).with_context(|| format!("cannot write {}", index.display()))
}

/// One row per step, linking to its own report.
pub(super) fn steps_table(s: &mut String, title: &str, steps: &[StepRecord]) {
    let _ = writeln!(s, "<h2>{}</h2>", esc(title));
    s.push_str(
        "<table class=\"steps\"><thead><tr><th>step</th><th>why</th><th>target \
         (records/s)</th><th>achieved (records/s)</th><th>p50 (ms)</th><th>p99 (ms)</th>\
         <th>p99.9 (ms)</th><th>verdict</th><th>report</th></tr></thead>\n<tbody>\n",
    );
    let ms = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.2}"));
    for st in steps {
        let class = match st.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Inconclusive { .. } => "warn",
        };
        let _ = writeln!(
            s,
            "<tr class=\"{class}\"><th class=\"row\">{}</th><td class=\"text\">{}</td><td \
             class=\"num\">{:.0}</td><td class=\"num\">{:.0}</td><td class=\"num\">{}</td><td \
             class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"text\">{}</td><td \
             class=\"text\"><a href=\"{dir}/index.html\">{dir}</a></td></tr>",
            st.index,
            st.purpose,
            st.rate,
            st.achieved_rate,
            ms(st.ack_p50_ms),
            ms(st.ack_p99_ms),
            ms(st.ack_p99_9_ms),
            esc(&st.verdict.to_string()),
            dir = esc(&st.dir),
        );
    }
    s.push_str("</tbody></table>\n");
}
