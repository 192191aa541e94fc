//! `kbench compare BASE NEW`: the key figures of two runs side by side with their deltas —
//! latency percentiles from the measured phase's histograms merged from each run's .hlog files —
//! a regression verdict against a threshold, and an HTML page with both distributions overlaid.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::charts::distribution::compare_runs;
use super::html::esc;
use super::phases::{rebuild, PhaseHists};
use super::results::{read, Results};
use crate::names::Phase;

/// One key figure of both runs, with its delta and whether it regressed.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What is compared, e.g. "ack p99" or "lost".
    pub name: String,
    /// Unit of `base` and `new`: records/s, ms, s or records.
    pub unit: String,
    /// Value in the base run.
    pub base: f64,
    /// Value in the new run.
    pub new: f64,
    /// (new − base) / base, in percent; infinite when base is 0 and new is not.
    pub delta_pct: f64,
    /// Whether an increase is a change for the worse (false for the achieved rate).
    pub higher_is_worse: bool,
    /// Worse by more than the threshold; lost, duplicated and reordered regress on any
    /// increase.
    pub regressed: bool,
}

/// Outcome of `kbench compare`: every key figure and the overall verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The base run directory.
    pub base: String,
    /// The new run directory.
    pub new: String,
    /// How much worse a figure may get before it counts as regressed (%).
    pub threshold_pct: f64,
    /// The compared figures, in table order.
    pub figures: Vec<Figure>,
    /// Whether any figure regressed.
    pub regressed: bool,
}

fn measured(dir: &Path, r: &Results) -> Result<PhaseHists> {
    rebuild(dir, r)?
        .phases
        .into_iter()
        .find(|p| p.phase == Phase::Measured)
        .with_context(|| format!("{} has no measured phase", dir.display()))
}

fn figure(
    name: &str,
    unit: &str,
    base: f64,
    new: f64,
    higher_is_worse: bool,
    threshold_pct: f64,
    strict: bool,
) -> Figure {
    let delta_pct = if base == 0.0 {
        if new == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(new)
        }
    } else {
        (new - base) / base * 100.0
    };
    let worse = if higher_is_worse {
        delta_pct
    } else {
        -delta_pct
    };
    // Counts of lost / duplicated / reordered records regress on any increase at all.
    let regressed = if strict {
        worse > 0.0
    } else {
        worse > threshold_pct
    };
    Figure {
        name: name.into(),
        unit: unit.into(),
        base,
        new,
        delta_pct,
        higher_is_worse,
        regressed,
    }
}

/// Compare two run directories; the HTML page goes to `html_out`.
pub fn compare(
    base_dir: &Path,
    new_dir: &Path,
    threshold_pct: f64,
    html_out: &Path,
) -> Result<Comparison> {
    let (b, n) = (read(base_dir)?, read(new_dir)?);
    let (bm, nm) = (measured(base_dir, &b)?, measured(new_dir, &n)?);
    let mut figures = vec![figure(
        "achieved rate",
        "records/s",
        b.rate.achieved_rate,
        n.rate.achieved_rate,
        false,
        threshold_pct,
        false,
    )];
    for (kind, label) in [("ack_corrected", "ack"), ("e2e", "end-to-end")] {
        let (Some(bq), Some(nq)) = (bm.percentiles(kind), nm.percentiles(kind)) else {
            continue;
        };
        for (pct, bv, nv) in [
            ("p50", bq.p50_us, nq.p50_us),
            ("p99", bq.p99_us, nq.p99_us),
            ("p99.9", bq.p99_9_us, nq.p99_9_us),
            ("max", bq.max_us, nq.max_us),
        ] {
            figures.push(figure(
                &format!("{label} {pct}"),
                "ms",
                bv as f64 / 1000.0,
                nv as f64 / 1000.0,
                true,
                threshold_pct,
                false,
            ));
        }
    }
    figures.push(figure(
        "max unavailability",
        "s",
        b.max_unavailability_s(),
        n.max_unavailability_s(),
        true,
        threshold_pct,
        false,
    ));
    for (name, bv, nv) in [
        ("failed", b.counts.failed, n.counts.failed),
        ("lost", b.audit.lost, n.audit.lost),
        ("duplicated", b.audit.duplicated, n.audit.duplicated),
        ("reordered", b.audit.reordered, n.audit.reordered),
    ] {
        figures.push(figure(
            name,
            "records",
            bv as f64,
            nv as f64,
            true,
            threshold_pct,
            name != "failed",
        ));
    }
    let c = Comparison {
        base: base_dir.display().to_string(),
        new: new_dir.display().to_string(),
        threshold_pct,
        regressed: figures.iter().any(|f| f.regressed),
        figures,
    };
    let charts_dir = html_out.parent().unwrap_or(Path::new(".")).join("charts");
    std::fs::create_dir_all(&charts_dir)?;
    let chart = compare_runs(&charts_dir, ("base", &bm), ("new", &nm))?;
    std::fs::write(html_out, page(&c, &b, &n, &chart.svg))
        .with_context(|| format!("cannot write {}", html_out.display()))?;
    Ok(c)
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn delta(f: &Figure) -> String {
    if f.delta_pct.is_infinite() {
        "new".into()
    } else {
        format!("{:+.1}%", f.delta_pct)
    }
}

/// The table printed on the terminal.
pub fn render(c: &Comparison) -> String {
    let mut s = format!(
        "base {}\nnew  {}\n{:<22} {:>14} {:>14} {:>9}\n",
        c.base, c.new, "figure", "base", "new", "delta"
    );
    for f in &c.figures {
        let _ = writeln!(
            s,
            "{:<22} {:>14} {:>14} {:>9}{}",
            format!("{} ({})", f.name, f.unit),
            fmt(f.base),
            fmt(f.new),
            delta(f),
            if f.regressed { "  REGRESSED" } else { "" }
        );
    }
    let _ = write!(
        s,
        "{}",
        if c.regressed {
            format!("REGRESSION beyond {}%", c.threshold_pct)
        } else {
            format!("no regression beyond {}%", c.threshold_pct)
        }
    );
    s
}

fn page(c: &Comparison, b: &Results, n: &Results, svg: &str) -> String {
    let mut rows = String::new();
    for f in &c.figures {
        let _ = writeln!(
            rows,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if f.regressed { " class=\"bad\"" } else { "" },
            esc(&f.name),
            esc(&f.unit),
            fmt(f.base),
            fmt(f.new),
            esc(&delta(f))
        );
    }
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kbench compare</title><style>\
         body{{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}} table{{border-collapse:collapse}} \
         td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}} td:first-child{{text-align:left}} \
         tr.bad td{{background:#fde2e2}} .verdict{{padding:.6em 1em;font-weight:bold;background:{}}} svg{{max-width:100%;height:auto}}\
         </style></head><body>\n<h1>kbench compare</h1>\n<p class=\"verdict\">{}</p>\n\
         <p>base: {} ({}, {})<br>new: {} ({}, {})</p>\n<table><tr><th>figure</th><th>unit</th><th>base</th><th>new</th><th>delta</th></tr>\n{}</table>\n\
         <h2>Latency by percentile, measured phase</h2>\n{}\n</body></html>\n",
        if c.regressed { "#fde2e2" } else { "#e3f4e1" },
        esc(&if c.regressed { format!("REGRESSION beyond {}%", c.threshold_pct) } else { format!("No regression beyond {}%", c.threshold_pct) }),
        esc(&c.base), esc(&b.scenario.name), esc(&b.environment.started_at),
        esc(&c.new), esc(&n.scenario.name), esc(&n.environment.started_at),
        rows,
        svg
    )
}

/// Where the comparison page goes by default: next to the new run's results.
pub fn default_html(new_dir: &Path) -> PathBuf {
    new_dir.join("compare.html")
}
