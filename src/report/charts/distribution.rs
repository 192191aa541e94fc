//! Latency percentile distributions, HdrHistogram style: x is the percentile on a log scale of
//! 1/(1−q), so 90%, 99%, 99.9% ... are evenly spaced and the tail gets the room it deserves; y is
//! latency in ms on a log scale. One chart overlays ack (corrected and raw) and end-to-end latency
//! for the run's phases (warm-up left out); when the run had faults, a second one has a panel per
//! kind with every fault's before / during / after window.

use std::path::Path;

use anyhow::Result;
use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;
use strum::VariantArray;

use super::{
    axis_font, de, legend_height, legend_strip, log_ticks, no_data, render, stroke, tick_font,
    title_font, Chart, Draw, LegendItem, Mark, BLUE, GREEN, INK, SERIES, VERMILLION, WIDTH,
};
use crate::names::{FaultStage, Phase};
use crate::report::phases::{PhaseHists, Rebuilt};
use crate::report::results::Results;

/// Kinds drawn, with their legend names.
pub(crate) const KINDS: [(&str, &str); 3] = [
    ("ack_corrected", "ack, corrected"),
    ("ack_raw", "ack, raw"),
    ("e2e", "end-to-end"),
];

/// Rightmost x: log10(1 / (1 − 0.99999)).
const X_MAX: f64 = 5.0;
/// Sampling step along x; 500 points per line is smooth at chart width.
const X_STEP: f64 = 0.01;

struct Line {
    colour: RGBColor,
    width: u32,
    /// Dash length in pixels; `None` for a solid line.
    dash: Option<u32>,
    /// (x = log10(1/(1−q)), latency in ms)
    points: Vec<(f64, f64)>,
}

struct Panel {
    title: Option<String>,
    lines: Vec<Line>,
}

struct Distribution {
    title: String,
    panels: Vec<Panel>,
    panel_height: u32,
    legend: Vec<LegendItem>,
}

/// The x position of quantile `q`.
fn x_of(q: f64) -> f64 {
    (1.0 / (1.0 - q)).log10()
}

/// "50%", "99.9%", ... for a key point of the x axis.
fn percentile_label(x: f64) -> String {
    let pct = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() as i64 - 2).max(0) as usize;
    format!("{pct:.decimals$}%")
}

/// The curve of one histogram, in ms. It stops at the percentile its count can resolve
/// (1 − 1/count), ending on the maximum, instead of drawing a flat line nobody measured.
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let x_end = (h.len() as f64).log10().clamp(0.0, X_MAX);
    let ms = |us: u64| (us as f64 / 1000.0).max(0.001);
    let steps = (x_end / X_STEP).floor() as usize;
    let mut out: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let x = i as f64 * X_STEP;
            (x, ms(h.value_at_quantile(1.0 - 10f64.powf(-x))))
        })
        .collect();
    out.push((x_end, ms(h.max())));
    out
}

/// ack corrected, ack raw and end-to-end for every phase of the run but the warm-up.
pub fn run_phases(charts_dir: &Path, rebuilt: &Rebuilt) -> Result<Chart> {
    let phases: Vec<&PhaseHists> = (rebuilt.phases.iter())
        .filter(|p| p.phase != Phase::Warmup)
        .collect();
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for (pi, p) in phases.iter().enumerate() {
        for (ki, (kind, name)) in KINDS.iter().enumerate() {
            let Some(h) = p.hists.get(*kind) else {
                continue;
            };
            // One phase: a colour per kind. Several: a colour per phase and kind.
            let colour = SERIES[(pi * KINDS.len() + ki) % SERIES.len()];
            // Kinds often coincide; lines drawn later are thinner so earlier ones show.
            let width = 4 - ki.min(2) as u32;
            legend.push(LegendItem {
                label: format!("{name} ({}, n={})", p.phase, h.len()),
                colour,
                mark: Mark::Line {
                    width,
                    dashed: false,
                },
            });
            lines.push(Line {
                colour,
                width,
                dash: None,
                points: curve(h),
            });
        }
    }
    let chart = Distribution {
        title: "Latency by percentile".into(),
        panels: vec![Panel { title: None, lines }],
        panel_height: 500,
        legend,
    };
    render(
        charts_dir,
        "latency-distribution",
        "Latency by percentile",
        "Latency at each percentile over the whole phase, merged from the .hlog files; \
         ack corrected is measured from the intended send time (coordinated omission included), \
         ack raw from the actual send.",
        &chart,
    )
}

fn stage_colour(stage: FaultStage) -> RGBColor {
    match stage {
        FaultStage::Before => BLUE,
        FaultStage::During => VERMILLION,
        FaultStage::After => GREEN,
    }
}

/// Fault `fi`'s dash pattern: the first fault (in `faults`' order) solid, later ones dashed.
fn dash(faults: &[usize], fi: usize) -> Option<u32> {
    let k = faults.iter().position(|&f| f == fi).unwrap_or(0) as u32;
    (k > 0).then(|| 12u32.saturating_sub(3 * (k - 1)).max(3))
}

fn fault_name(results: &Results, fi: usize) -> String {
    match results.faults.get(fi) {
        Some(f) => format!("#{} {}", f.index + 1, f.label),
        None => "fault".to_string(),
    }
}

/// One panel per kind, one line per fault window.
pub fn fault_phases(charts_dir: &Path, results: &Results, rebuilt: &Rebuilt) -> Result<Chart> {
    // Faults in the order their windows come; the first is drawn solid, later ones dashed.
    let mut faults: Vec<usize> = Vec::new();
    for p in &rebuilt.fault_phases {
        let fi = p.fault.unwrap_or(usize::MAX);
        if !faults.contains(&fi) {
            faults.push(fi);
        }
    }
    let mut panels = Vec::new();
    for (kind, name) in KINDS {
        let lines = (rebuilt.fault_phases.iter())
            .filter_map(|p| {
                let h = p.hists.get(kind)?;
                let fi = p.fault.unwrap_or(usize::MAX);
                Some(Line {
                    colour: p.stage().map_or(GREEN, stage_colour),
                    width: 2,
                    dash: dash(&faults, fi),
                    points: curve(h),
                })
            })
            .collect();
        panels.push(Panel {
            title: Some(format!("{name} latency")),
            lines,
        });
    }
    let chart = Distribution {
        title: "Latency by percentile, before / during / after each fault".into(),
        panels,
        panel_height: 360,
        legend: fault_legend(results, &faults),
    };
    render(
        charts_dir,
        "latency-distribution-faults",
        "Latency by percentile around faults",
        "Before: since the previous fault (or the end of warm-up); during: from the action to \
         recovery (5 s when there is none); after: until the next fault or the end of the run.",
        &chart,
    )
}

/// Stages by colour; with several faults, each fault by its dash pattern too.
fn fault_legend(results: &Results, faults: &[usize]) -> Vec<LegendItem> {
    let mut legend: Vec<LegendItem> = (FaultStage::VARIANTS.iter().copied())
        .map(|stage| LegendItem {
            label: if faults.len() == 1 {
                format!("{stage} {}", fault_name(results, faults[0]))
            } else {
                stage.to_string()
            },
            colour: stage_colour(stage),
            mark: Mark::Line {
                width: 3,
                dashed: false,
            },
        })
        .collect();
    if faults.len() > 1 {
        legend.extend(faults.iter().map(|&fi| LegendItem {
            label: fault_name(results, fi),
            colour: INK,
            mark: Mark::Line {
                width: 2,
                dashed: dash(faults, fi).is_some(),
            },
        }));
    }
    legend
}

impl Draw for Distribution {
    fn size(&self) -> (u32, u32) {
        let panels = self.panel_height * self.panels.len() as u32;
        (WIDTH, 40 + panels + legend_height(&self.legend))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let area = root.titled(&self.title, title_font()).map_err(de)?;
        let h = area.dim_in_pixel().1;
        let (body, legend) = area.split_vertically(h.saturating_sub(legend_height(&self.legend)));
        let all = self.panels.iter().flat_map(|p| &p.lines);
        let lo = all.clone().flat_map(|l| l.points.first()).map(|p| p.1);
        let hi = all.flat_map(|l| l.points.last()).map(|p| p.1);
        let (lo, hi) = (lo.fold(f64::INFINITY, f64::min), hi.fold(0.0, f64::max));
        // One y range for every panel, so panels compare at a glance.
        let y = log_ticks(lo, hi);
        let areas = body.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(area, panel, &y)?;
        }
        legend_strip(&legend, &self.legend)
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    (y_lo, y_hi, y_ticks): &(f64, f64, Vec<f64>),
) -> Result<()> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(10)
        .margin_right(40)
        .x_label_area_size(52)
        .y_label_area_size(78);
    if let Some(t) = &panel.title {
        let font = (super::FAMILY, 16).into_font().style(FontStyle::Bold);
        builder.caption(t, font.color(&INK));
    }
    // No 0% tick: it would crowd 50%, and the axis starts there anyway.
    let x_keys = [x_of(0.5), 1.0, 2.0, 3.0, 4.0, 5.0].map(|x| 10f64.powf(x));
    let mut chart = builder
        .build_cartesian_2d(
            (1.0..10f64.powf(X_MAX))
                .log_scale()
                .with_key_points(x_keys.to_vec()),
            (*y_lo..*y_hi).log_scale().with_key_points(y_ticks.clone()),
        )
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc("percentile (log scale of 1/(1−q))")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|v| percentile_label(v.log10()))
        .y_label_formatter(&|v| super::fmt_ms_tick(*v))
        .axis_desc_style(axis_font())
        .label_style(tick_font())
        .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
        .draw()
        .map_err(de)?;
    if panel.lines.iter().all(|l| l.points.is_empty()) {
        return no_data(area, "no latency values in these phases");
    }
    for line in panel.lines.iter().filter(|l| !l.points.is_empty()) {
        let style = stroke(line.colour, line.width);
        // The axis is 1/(1−q) on a log scale; curves are kept in log10 of it.
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|&(x, y)| (10f64.powf(x), y))
            .collect();
        match line.dash {
            Some(d) => chart.draw_series(DashedLineSeries::new(pts, d, 5, style)),
            None => chart.draw_series(LineSeries::new(pts, style)),
        }
        .map_err(de)?;
    }
    Ok(())
}

/// Two runs' measured-phase distributions overlaid for `kbench compare`: a colour per kind,
/// solid for the base run, dashed for the new one.
pub fn compare_runs(
    charts_dir: &Path,
    base: (&str, &PhaseHists),
    new: (&str, &PhaseHists),
) -> Result<Chart> {
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for (ki, (kind, name)) in KINDS.iter().enumerate() {
        for (ri, (label, p)) in [base, new].into_iter().enumerate() {
            let Some(h) = p.hists.get(*kind) else {
                continue;
            };
            let colour = SERIES[ki % SERIES.len()];
            let dashed = ri == 1;
            legend.push(LegendItem {
                label: format!("{name} ({label}, n={})", h.len()),
                colour,
                mark: Mark::Line { width: 2, dashed },
            });
            lines.push(Line {
                colour,
                width: 2,
                dash: dashed.then_some(8),
                points: curve(h),
            });
        }
    }
    let chart = Distribution {
        title: "Latency by percentile: base (solid) vs new (dashed)".into(),
        panels: vec![Panel { title: None, lines }],
        panel_height: 500,
        legend,
    };
    render(
        charts_dir,
        "compare-distribution",
        "Latency by percentile, base vs new",
        "Measured phase of both runs, merged from their .hlog files; solid lines are the base run, dashed the new one.",
        &chart,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_labels() {
        let labels: Vec<String> = [0.0, x_of(0.5), 1.0, 2.0, 3.0, 4.0, 5.0]
            .iter()
            .map(|x| percentile_label(*x))
            .collect();
        assert_eq!(
            labels,
            ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        );
    }

    #[test]
    fn curve_ends_on_the_maximum_at_the_resolvable_percentile() {
        let mut h = crate::metrics::new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let c = curve(&h);
        let last = *c.last().unwrap();
        assert!((last.0 - 3.0).abs() < 1e-9, "1000 values resolve 99.9%");
        assert!((last.1 - 1000.0).abs() < 1.0, "ends on the max: {last:?}");
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1), "monotonic");
        assert!(curve(&crate::metrics::new_histogram()).is_empty());
    }
}
