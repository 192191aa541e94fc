//! Charts over time, from results.json's per-second series: ack latency (p50 / p99 / max),
//! throughput (target, sent, acked, consumed, and failures in a panel below), and the generator's
//! send lag. x is seconds since load start; a second's value sits at the middle of that second.
//! Warm-up is shaded grey and every fault red, from its action to its recovery.

use std::path::Path;

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    axis_font, bands, de, draw_bands, legend_font, log_ticks, no_data, render, stroke, tick_font,
    title_font, Band, Chart, Draw, BLUE, GREEN, INK, ORANGE, VERMILLION, WIDTH,
};
use crate::metrics::SecondRow;
use crate::report::phases::load_start_s;
use crate::report::results::Results;

/// What every time chart shares: the x range and the shaded bands.
struct Frame {
    load_start_s: f64,
    x: (f64, f64),
    bands: Vec<Band>,
}

impl Frame {
    fn new(results: &Results) -> Frame {
        let load_start_s = load_start_s(results);
        let planned = results.scenario.warmup_s + results.scenario.duration_s;
        let last = (results.series.iter())
            .map(|r| r.t as f64 + 1.0 - load_start_s)
            .fold(planned, f64::max);
        let first = (results.series.iter())
            .map(|r| r.t as f64 - load_start_s)
            .fold(0.0, f64::min);
        Frame {
            load_start_s,
            x: (first, last.max(first + 1.0)),
            bands: bands(results, load_start_s),
        }
    }

    fn x_of(&self, row: &SecondRow) -> f64 {
        row.t as f64 + 0.5 - self.load_start_s
    }

    /// Runs of consecutive seconds that have a value: a second without one (no ack at all during
    /// a failover) is a gap in the line, not an interpolation across it.
    fn segments(&self, rows: &[SecondRow], f: impl Fn(&SecondRow) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut prev_t = None;
        for r in rows {
            match f(r) {
                Some(v) if v.is_finite() => {
                    let contiguous = prev_t.is_some_and(|p: u64| r.t == p + 1);
                    match out.last_mut() {
                        Some(seg) if contiguous => seg.push((self.x_of(r), v)),
                        _ => out.push(vec![(self.x_of(r), v)]),
                    }
                    prev_t = Some(r.t);
                }
                _ => prev_t = None,
            }
        }
        out
    }

    fn build<'a, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        y: Y,
        x_label_area: u32,
    ) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>> {
        ChartBuilder::on(area)
            .margin(12)
            .margin_right(30)
            .x_label_area_size(x_label_area)
            .y_label_area_size(86)
            .build_cartesian_2d(self.x.0..self.x.1, y)
            .map_err(de)
    }
}

/// One named line made of segments.
struct Series {
    label: String,
    colour: RGBColor,
    width: u32,
    dashed: bool,
    segments: Vec<Vec<(f64, f64)>>,
}

fn draw_series<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    series: &[Series],
) -> Result<()> {
    for s in series {
        let style = stroke(s.colour, s.width);
        for (i, seg) in s.segments.iter().enumerate() {
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(seg.clone(), 10, 6, style))
            } else if seg.len() == 1 {
                // A lone second would be an invisible zero-length line.
                chart.draw_series(seg.iter().map(|p| Circle::new(*p, 3, style.filled())))
            } else {
                chart.draw_series(LineSeries::new(seg.clone(), style))
            }
            .map_err(de)?;
            if i == 0 {
                let (c, w) = (s.colour, s.width.max(2));
                drawn
                    .label(&s.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke(c, w)));
            }
        }
    }
    Ok(())
}

fn legend<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .label_font(legend_font())
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xBB, 0xBB, 0xBB))
        .draw()
        .map_err(de)
}

const X_DESC: &str = "time since load start (s)";

fn fmt_count(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|u| (u as f64 / 1000.0).max(0.001))
}

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
        (WIDTH, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let area = root
            .titled("Ack latency per second (corrected)", title_font())
            .map_err(de)?;
        let values = values(&self.series);
        let lo = values.clone().fold(f64::INFINITY, f64::min);
        let hi = values.fold(0.0, f64::max);
        let (y_lo, y_hi, ticks) = log_ticks(lo, hi);
        let mut chart = self.frame.build(
            &area,
            (y_lo..y_hi).log_scale().with_key_points(ticks),
            52,
        )?;
        chart
            .configure_mesh()
            .x_desc(X_DESC)
            .y_desc("ack latency (ms, log scale)")
            .y_label_formatter(&|v| super::fmt_ms_tick(*v))
            .x_label_formatter(&|v| fmt_count(*v))
            .axis_desc_style(axis_font())
            .label_style(tick_font())
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(de)?;
        draw_bands(&mut chart, &self.frame.bands)?;
        if !lo.is_finite() {
            return no_data(&area, "no acks");
        }
        draw_series(&mut chart, &self.series)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Every y value of a set of series, for ranges.
fn values(series: &[Series]) -> impl Iterator<Item = f64> + Clone + '_ {
    series.iter().flat_map(|s| s.segments.iter().flatten().map(|p| p.1))
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
    let failed = rows.iter().map(|r| (frame.x_of(r), r.failed as f64)).collect();
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
        (WIDTH, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let area = root
            .titled("Throughput per second", title_font())
            .map_err(de)?;
        let (top, bottom) = area.split_vertically(410);
        let hi = (values(&self.series))
            .fold(self.target_rate, f64::max)
            .max(1.0);
        let mut chart = self.frame.build(&top, 0.0..hi * 1.15, 52)?;
        chart
            .configure_mesh()
            .x_desc(X_DESC)
            .y_desc("records per second")
            .y_label_formatter(&|v| fmt_count(*v))
            .x_label_formatter(&|v| fmt_count(*v))
            .axis_desc_style(axis_font())
            .label_style(tick_font())
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(de)?;
        draw_bands(&mut chart, &self.frame.bands)?;
        if self.target_rate > 0.0 {
            let target = vec![(0.0, self.target_rate), (self.target_to_x, self.target_rate)];
            chart
                .draw_series(DashedLineSeries::new(target, 6, 4, stroke(INK, 2)))
                .map_err(de)?
                .label(format!("target ({} records/s)", fmt_count(self.target_rate)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke(INK, 2)));
        }
        draw_series(&mut chart, &self.series)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;

        let f_hi = self.failed.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut chart = self.frame.build(&bottom, 0.0..(f_hi * 1.2).max(1.0), 52)?;
        chart
            .configure_mesh()
            .x_desc(X_DESC)
            .y_desc("failed / s")
            .y_labels(4)
            .y_label_formatter(&|v| fmt_count(*v))
            .x_label_formatter(&|v| fmt_count(*v))
            .axis_desc_style(axis_font())
            .label_style(tick_font())
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(de)?;
        draw_bands(&mut chart, &self.frame.bands)?;
        let bars = (self.failed.iter())
            .filter(|p| p.1 > 0.0)
            .map(|&(x, v)| Rectangle::new([(x - 0.4, 0.0), (x + 0.4, v)], VERMILLION.filled()));
        chart
            .draw_series(bars)
            .map_err(de)?
            .label(if f_hi > 0.0 {
                "failed deliveries per second"
            } else {
                "failed deliveries per second (none in this run)"
            })
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], VERMILLION.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
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
        (WIDTH, 400)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let title = if self.saturated {
            "Generator send lag per second (generator saturated)"
        } else {
            "Generator send lag per second"
        };
        let area = root.titled(title, title_font()).map_err(de)?;
        let hi = values(&self.series).fold(0.0, f64::max);
        let mut chart = self
            .frame
            .build(&area, 0.0..(hi * 1.15).max(1.0), 52)?;
        chart
            .configure_mesh()
            .x_desc(X_DESC)
            .y_desc("max send lag (ms)")
            .y_label_formatter(&|v| fmt_count(*v))
            .x_label_formatter(&|v| fmt_count(*v))
            .axis_desc_style(axis_font())
            .label_style(tick_font())
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(de)?;
        draw_bands(&mut chart, &self.frame.bands)?;
        if self.series.iter().all(|s| s.segments.is_empty()) {
            return no_data(&area, "no sends");
        }
        draw_series(&mut chart, &self.series)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, p50: Option<u64>) -> SecondRow {
        SecondRow {
            t,
            ack_p50_us: p50,
            ..SecondRow::default()
        }
    }

    #[test]
    fn seconds_without_a_value_break_the_line() {
        let frame = Frame {
            load_start_s: 0.5,
            x: (0.0, 10.0),
            bands: Vec::new(),
        };
        let rows = [
            row(1, Some(1000)),
            row(2, Some(2000)),
            row(3, None),
            row(4, Some(4000)),
            row(6, Some(6000)),
        ];
        let segs = frame.segments(&rows, |r| ms(r.ack_p50_us));
        assert_eq!(
            segs,
            vec![
                vec![(1.0, 1.0), (2.0, 2.0)],
                vec![(4.0, 4.0)],
                vec![(6.0, 6.0)]
            ]
        );
    }
}
