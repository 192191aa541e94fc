//! Charts over time, from results.json's per-second series: ack latency (p50 / p99 / max),
//! throughput (target, sent, acked, consumed, and failures in a panel below), and the generator's
//! send lag. x is seconds since load start; a second's value sits at the middle of that second.
//! Warm-up is shaded grey and every fault red, from its action to its recovery.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::frame::{draw_series, fmt_count, legend_items, ms, values, Frame, Series, X_DESC};
use super::{
    de, draw_bands, legend_strip, log_ticks, no_data, render, stroke, Chart, Draw, LegendItem,
    Mark, BLUE, GREEN, INK, ORANGE, VERMILLION, WIDTH,
};
use crate::metrics::SecondRow;
use crate::report::results::Results;

struct LatencyChart {
    frame: Frame,
    series: Vec<Series>,
}

/// Ack latency (corrected) per second: p50, p99 and max.
pub fn latency(charts_dir: &Path, results: &Results) -> Result<Chart> {
    let frame = Frame::new(results);
    let rows = &results.series;
    let mk = |label: &str, colour, width, f: fn(&SecondRow) -> Option<u64>| Series {
        label: label.into(),
        colour,
        width,
        dashed: false,
        segments: frame.segments(rows, |r| ms(f(r))),
    };
    let series = vec![
        mk("max", VERMILLION, 2, |r| r.ack_max_us),
        mk("p99", ORANGE, 2, |r| r.ack_p99_us),
        mk("p50", BLUE, 3, |r| r.ack_p50_us),
    ];
    render(
        charts_dir,
        "latency-over-time",
        "Ack latency over time",
        "Ack latency (corrected, from the intended send time) of the acks that arrived in each \
         second; a gap means no ack at all in that second.",
        &LatencyChart { frame, series },
    )
}

impl Draw for LatencyChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 500)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (body, legend) = Frame::areas(root, "Ack latency per second (corrected)")?;
        let all = values(&self.series);
        let lo = all.clone().fold(f64::INFINITY, f64::min);
        let hi = all.fold(0.0, f64::max);
        let (y_lo, y_hi, ticks) = log_ticks(lo, hi);
        let y = (y_lo..y_hi).log_scale().with_key_points(ticks);
        let mut chart = self.frame.build(&body, y, true)?;
        time_mesh(&mut chart, "ack latency (ms, log scale)", 11, &|v| {
            super::fmt_ms_tick(*v)
        })?;
        draw_bands(&mut chart, Some(root), &self.frame.bands)?;
        if !lo.is_finite() {
            return no_data(&body, "no acks");
        }
        draw_series(&mut chart, &self.series)?;
        legend_strip(&legend, &legend_items(&self.series))
    }
}

struct ThroughputChart {
    frame: Frame,
    target_rate: f64,
    target_to_x: f64,
    series: Vec<Series>,
    failed: Vec<(f64, f64)>,
}

/// Target, sent, acked and consumed records per second, failures per second below.
pub fn throughput(charts_dir: &Path, results: &Results) -> Result<Chart> {
    let frame = Frame::new(results);
    let rows = &results.series;
    let mk = |label: &str, colour, width, dashed, f: fn(&SecondRow) -> u64| Series {
        label: label.into(),
        colour,
        width,
        dashed,
        segments: frame.segments(rows, |r| Some(f(r) as f64)),
    };
    let series = vec![
        mk("sent", BLUE, 4, false, |r| r.sent),
        mk("acked", GREEN, 2, false, |r| r.acked),
        mk("consumed", ORANGE, 2, true, |r| r.consumed),
    ];
    let failed = rows
        .iter()
        .map(|r| (frame.x_of(r), r.failed as f64))
        .collect();
    let chart = ThroughputChart {
        target_to_x: results.scenario.warmup_s + results.scenario.duration_s,
        target_rate: results.rate.target_rate,
        frame,
        series,
        failed,
    };
    render(
        charts_dir,
        "throughput-over-time",
        "Throughput over time",
        "Records per second: the schedule's mean target rate, what the producers sent, what \
         brokers acknowledged and what consumers read; failed deliveries per second below.",
        &chart,
    )
}

impl Draw for ThroughputChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 680)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (body, legend) = Frame::areas(root, "Throughput per second")?;
        let split = body.dim_in_pixel().1 * 7 / 10;
        let (top, bottom) = body.split_vertically(split);
        let hi = values(&self.series)
            .fold(self.target_rate, f64::max)
            .max(1.0);
        let mut chart = self.frame.build(&top, 0.0..hi * 1.1, true)?;
        time_mesh(&mut chart, "records per second", 11, &|v| fmt_count(*v))?;
        draw_bands(&mut chart, Some(root), &self.frame.bands)?;
        draw_series(&mut chart, &self.series)?;
        let mut items = legend_items(&self.series);
        if self.target_rate > 0.0 {
            // Drawn last: at steady state "sent" runs right on it.
            let target = vec![
                (0.0, self.target_rate),
                (self.target_to_x, self.target_rate),
            ];
            chart
                .draw_series(DashedLineSeries::new(target, 6, 4, stroke(INK, 2)))
                .map_err(de)?;
            items.insert(
                0,
                LegendItem {
                    label: format!("target ({} records/s)", fmt_count(self.target_rate)),
                    colour: INK,
                    mark: Mark::Line {
                        width: 2,
                        dashed: true,
                    },
                },
            );
        }

        let f_hi = self.failed.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut chart = self
            .frame
            .build(&bottom, 0.0..(f_hi * 1.2).max(1.0), false)?;
        time_mesh(&mut chart, "failed / s", 4, &|v| fmt_count(*v))?;
        draw_bands(&mut chart, None, &self.frame.bands)?;
        let bars = (self.failed.iter())
            .filter(|p| p.1 > 0.0)
            .map(|&(x, v)| Rectangle::new([(x - 0.4, 0.0), (x + 0.4, v)], VERMILLION.filled()));
        chart.draw_series(bars).map_err(de)?;
        items.push(LegendItem {
            label: if f_hi > 0.0 {
                "failed deliveries per second".into()
            } else {
                "failed deliveries per second (none in this run)".into()
            },
            colour: VERMILLION,
            mark: Mark::Block,
        });
        legend_strip(&legend, &items)
    }
}

struct SendLagChart {
    frame: Frame,
    series: Vec<Series>,
    saturated: bool,
}

/// The generator's worst lag behind its schedule, per second.
pub fn send_lag(charts_dir: &Path, results: &Results) -> Result<Chart> {
    let frame = Frame::new(results);
    let series = vec![Series {
        label: "max send lag (actual − intended send time)".into(),
        colour: VERMILLION,
        width: 2,
        dashed: false,
        segments: frame.segments(&results.series, |r| ms(r.lag_max_us)),
    }];
    render(
        charts_dir,
        "send-lag-over-time",
        "Send lag over time",
        "How far the load generator was behind its schedule at worst in each second. A lag that \
         keeps growing means the generator could not offer the target rate (saturated).",
        &SendLagChart {
            frame,
            series,
            saturated: results.rate.generator_saturated,
        },
    )
}

impl Draw for SendLagChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let title = if self.saturated {
            "Generator send lag per second (generator saturated)"
        } else {
            "Generator send lag per second"
        };
        let (body, legend) = Frame::areas(root, title)?;
        let hi = values(&self.series).fold(0.0, f64::max);
        let mut chart = self.frame.build(&body, 0.0..(hi * 1.1).max(1.0), true)?;
        time_mesh(&mut chart, "max send lag (ms)", 11, &|v| fmt_count(*v))?;
        draw_bands(&mut chart, Some(root), &self.frame.bands)?;
        if self.series.iter().all(|s| s.segments.is_empty()) {
            return no_data(&body, "no sends");
        }
        draw_series(&mut chart, &self.series)?;
        legend_strip(&legend, &legend_items(&self.series))
    }
}

/// The mesh every time chart shares: seconds since load start on x, `y_desc` with `y_labels`
/// ticks formatted by `y_fmt` on y, in the report's fonts and grid colours.
pub(super) fn time_mesh<
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    y_desc: &str,
    y_labels: usize,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(X_DESC)
        .y_desc(y_desc)
        .y_labels(y_labels)
        .y_label_formatter(y_fmt)
        .x_label_formatter(&|v| fmt_count(*v));
    crate::report::draw::house_style(&mut mesh)
        .draw()
        .map_err(de)
}
