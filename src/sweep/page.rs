//! The sweep's `index.html` and its headline chart: achieved rate against ack latency (p50,
//! p99, p99.9) for every step — the hockey stick — with inconclusive steps marked apart, the
//! latency objective as a line and the found capacity as a line; then the conclusion, and one
//! row per step linking to that step's own report.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::frame::{banner, finish, head, steps_table};
use super::search::{Purpose, Stop, Verdict};
use super::{CapacityFound, StepRecord, SweepResults};
use crate::report::draw::{
    de, esc, house_style, inline_svg, legend, log_ticks, points_line, render, stroke, title_font,
    Draw, BLUE, FAULT, GREEN, GREY, ORANGE, VERMILLION, WIDTH,
};
use crate::slo::{Objective, Percentile, Slo};

/// One latency figure of a step.
type Pick = fn(&super::StepRecord) -> Option<f64>;

/// The latency curve over a search's judged steps.
pub(super) struct Curve<'a> {
    /// The steps, warm-up included (it is left out of the curve).
    pub steps: &'a [StepRecord],
    /// The highest pass, and whether the search ended with it as its answer.
    pub capacity: Option<(f64, bool)>,
    /// The ack latency objectives (ms), each drawn as its own line.
    pub objectives_ms: Vec<Slo>,
}

/// Every bound on a percentile of the (corrected) ack latency among the objectives: the
/// latency the curve's y axis shows.
pub(super) fn latency_objectives(objectives: &[Slo]) -> Vec<Slo> {
    (objectives.iter().copied())
        .filter(|s| s.objective.ack_percentile().is_some())
        .collect()
}

/// An objective's line in the colour of the percentile it bounds.
fn objective_colour(o: Objective) -> RGBColor {
    match o.ack_percentile() {
        Some(Percentile::P50) => BLUE,
        Some(Percentile::P99) => ORANGE,
        Some(Percentile::P999) => VERMILLION,
        _ => FAULT,
    }
}

impl Draw for Curve<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let area = root
            .titled(
                "Ack latency against achieved rate, one point per step",
                title_font(),
            )
            .map_err(de)?;
        let steps: Vec<&StepRecord> = (self.steps.iter())
            .filter(|s| s.purpose != Purpose::WarmUp)
            .collect();
        let lat = |f: fn(&super::StepRecord) -> Option<f64>| {
            steps
                .iter()
                .filter_map(move |s| f(s).map(|v| (s.achieved_rate, v.max(0.01))))
        };
        let all: Vec<f64> = (lat(|s| s.ack_p50_ms).chain(lat(|s| s.ack_p99_9_ms)))
            .map(|p| p.1)
            .chain(self.objectives_ms.iter().map(|s| s.limit))
            .collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(0.0, f64::max);
        let (y_lo, y_hi, ticks) = log_ticks(lo, hi);
        let x_hi = (steps.iter().map(|s| s.rate.max(s.achieved_rate))).fold(1.0, f64::max) * 1.08;
        let mut chart = ChartBuilder::on(&area)
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..x_hi, (y_lo..y_hi).log_scale().with_key_points(ticks))
            .map_err(de)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("achieved rate (acked records/s, measured window)")
            .y_desc("ack latency (ms, corrected, log scale)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| crate::report::draw::fmt_ms_tick(*v));
        house_style(&mut mesh).draw().map_err(de)?;
        self.objective_lines(&mut chart, x_hi)?;
        self.capacity_line(&mut chart, (y_lo, y_hi))?;
        step_points(&mut chart, &steps)?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

impl Curve<'_> {
    /// Each latency objective as a dashed line across the chart.
    fn objective_lines<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
        &self,
        chart: &mut ChartContext<'_, DB, CT>,
        x_hi: f64,
    ) -> Result<()> {
        for slo in &self.objectives_ms {
            let colour = objective_colour(slo.objective);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, slo.limit), (x_hi, slo.limit)],
                    10,
                    6,
                    stroke(colour, 2),
                ))
                .map_err(de)?
                .label(format!("objective {slo} ms"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], stroke(colour, 2))
                });
        }
        Ok(())
    }

    /// The highest pass as a vertical line, saying whether it is the answer.
    fn capacity_line<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
        &self,
        chart: &mut ChartContext<'_, DB, CT>,
        (y_lo, y_hi): (f64, f64),
    ) -> Result<()> {
        let Some((cap, answered)) = self.capacity else {
            return Ok(());
        };
        let label = match answered {
            true => format!("capacity found: {cap:.0} records/s (target rate)"),
            false => format!("highest pass so far: {cap:.0} records/s (not an answer)"),
        };
        chart
            .draw_series(LineSeries::new(
                vec![(cap, y_lo), (cap, y_hi)],
                stroke(GREEN, 2),
            ))
            .map_err(de)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke(GREEN, 2)));
        Ok(())
    }
}

/// The judged steps' p50 / p99 / p99.9 as lines of points, the inconclusive ones' p99 as crosses.
fn step_points<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    steps: &[&StepRecord],
) -> Result<()> {
    let series: [(&str, RGBColor, Pick); 3] = [
        ("p50", BLUE, |s| s.ack_p50_ms),
        ("p99", ORANGE, |s| s.ack_p99_ms),
        ("p99.9", VERMILLION, |s| s.ack_p99_9_ms),
    ];
    let judged = |s: &&&StepRecord| !matches!(s.verdict, Verdict::Inconclusive { .. });
    for (label, colour, f) in series {
        let pts: Vec<(f64, f64)> = (steps.iter())
            .filter(judged)
            .filter_map(|s| f(s).map(|v| (s.achieved_rate, v.max(0.01))))
            .collect();
        points_line(chart, pts, colour, label.to_string())?;
    }
    let inconclusive: Vec<(f64, f64)> = (steps.iter())
        .filter(|s| !judged(s))
        .filter_map(|s| s.ack_p99_ms.map(|v| (s.achieved_rate, v.max(0.01))))
        .collect();
    if !inconclusive.is_empty() {
        chart
            .draw_series(
                inconclusive
                    .iter()
                    .map(|p| Cross::new(*p, 7, stroke(GREY, 2))),
            )
            .map_err(de)?
            .label("p99 of an inconclusive step (generator saturated)")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, stroke(GREY, 2)));
    }
    Ok(())
}

/// A capacity search's `index.html` and its curve into `dir` (which has `charts/`).
pub(super) fn write(dir: &Path, r: &SweepResults, found: &CapacityFound) -> Result<()> {
    let charts = dir.join("charts");
    let a = &found.answer;
    let answered = matches!(
        a.stop,
        Some(Stop::Found | Stop::AtMax | Stop::GeneratorLimit)
    );
    let curve = Curve {
        steps: &found.steps,
        capacity: a.capacity.map(|c| (c, answered)),
        objectives_ms: latency_objectives(&r.objectives),
    };
    let caption = "Each point is one step's measured window: x is the rate the cluster \
                   acknowledged, y its ack latency from the intended send time. Crosses are \
                   inconclusive steps (kbench's generator fell behind its schedule), which \
                   the search never counts as passes.";
    let chart = render(&charts, "capacity-curve", "Capacity curve", caption, &curve)?;
    let mut s = String::new();
    head(&mut s, r, "Capacity search", "on one cluster");
    let class = match a.stop {
        Some(Stop::Found | Stop::AtMax) => "ok",
        Some(Stop::GeneratorLimit | Stop::Budget) => "warn",
        _ => "fail",
    };
    banner(&mut s, r, class, "step");
    let _ = writeln!(
        s,
        "<figure id=\"chart-capacity-curve\">{}<figcaption>{} Files: <a \
         href=\"charts/capacity-curve.svg\">capacity-curve.svg</a>, <a \
         href=\"charts/capacity-curve.png\">capacity-curve.png</a>, <a \
         href=\"sweep.json\">sweep.json</a>.</figcaption></figure>",
        inline_svg(&chart.svg, &chart.title),
        esc(caption)
    );
    steps_table(&mut s, "Steps", &found.steps);
    finish(dir, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ack_latency_objective_gets_a_line_and_nothing_else_does() {
        let slo = |key: &str, limit| Slo {
            objective: Objective::parse(key).unwrap(),
            limit,
        };
        let objectives = [
            slo("ack_p50_ms", 20.0),
            slo("ack_p99_ms", 100.0),
            slo("ack_raw_p99_ms", 100.0),
            slo("e2e_p99_ms", 500.0),
            slo("lost", 0.0),
            slo("min_achieved_pct", 99.5),
        ];
        assert_eq!(latency_objectives(&objectives), objectives[..2]);
        assert_eq!(objective_colour(objectives[1].objective), ORANGE);
        assert_eq!(objectives[1].to_string(), "ack_p99_ms <= 100");
        assert_eq!(objectives[5].to_string(), "min_achieved_pct >= 99.5");
    }
}
