//! The time axis every chart over time shares: its range (seconds since load start, each second's
//! value at the middle of that second), the bands shaded on it, the chart layout with room for band
//! labels and a legend strip, and the per-second series broken into segments where a second has
//! no value.

use anyhow::Result;
use plotters::coord::ranged1d::AsRangedCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    bands, de, label_rows, stroke, title_font, Band, LegendItem, Mark, LABEL_ROW_PX, LEGEND_ROW_PX,
    WIDTH,
};
use crate::metrics::SecondRow;
use crate::report::phases::load_start_s;
use crate::report::results::Results;

/// Left and right margins and the y label area of every time chart, in pixels.
const MARGIN_LEFT: u32 = 12;
const MARGIN_RIGHT: u32 = 36;
const Y_LABEL_AREA: u32 = 86;
/// About how wide the plot is, for placing band labels before the chart is laid out.
const PLOT_PX: f64 = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT - Y_LABEL_AREA) as f64;

/// What every time chart shares: the x range and the shaded bands.
pub(super) struct Frame {
    pub(super) load_start_s: f64,
    pub(super) x: (f64, f64),
    pub(super) bands: Vec<Band>,
}

impl Frame {
    pub(super) fn new(results: &Results) -> Frame {
        let load_start_s = load_start_s(results);
        let planned = results.scenario.warmup_s + results.scenario.duration_s;
        let last = (results.series.iter())
            .map(|r| r.t as f64 + 1.0 - load_start_s)
            .fold(planned, f64::max);
        let first = (results.series.iter())
            .map(|r| r.t as f64 - load_start_s)
            .fold(0.0, f64::min);
        let x = (first, last.max(first + 1.0));
        Frame {
            load_start_s,
            x,
            bands: bands(results, load_start_s, x, PLOT_PX),
        }
    }

    pub(super) fn x_of(&self, row: &SecondRow) -> f64 {
        row.t as f64 + 0.5 - self.load_start_s
    }

    /// Runs of consecutive seconds that have a value: a second without one (no ack at all during
    /// a failover) is a gap in the line, not an interpolation across it.
    pub(super) fn segments(
        &self,
        rows: &[SecondRow],
        f: impl Fn(&SecondRow) -> Option<f64>,
    ) -> Vec<Vec<(f64, f64)>> {
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

    /// A chart on `area`; `labels` leaves room above the plot for the band labels.
    pub(super) fn build<'a, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        y: Y,
        labels: bool,
    ) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>> {
        let top = if labels {
            8 + LABEL_ROW_PX * label_rows(&self.bands)
        } else {
            8
        };
        ChartBuilder::on(area)
            .margin_top(top)
            .margin_bottom(4)
            .margin_left(MARGIN_LEFT)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(52)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(self.x.0..self.x.1, y)
            .map_err(de)
    }

    /// Splits a chart's canvas into the title, the body and the legend strip under it.
    pub(super) fn areas<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<(DrawingArea<DB, Shift>, DrawingArea<DB, Shift>)> {
        root.fill(&WHITE).map_err(de)?;
        let area = root.titled(title, title_font()).map_err(de)?;
        let h = area.dim_in_pixel().1;
        Ok(area.split_vertically(h.saturating_sub(LEGEND_ROW_PX + 4)))
    }
}

/// One named line made of segments.
pub(super) struct Series {
    pub(super) label: String,
    pub(super) colour: RGBColor,
    pub(super) width: u32,
    pub(super) dashed: bool,
    pub(super) segments: Vec<Vec<(f64, f64)>>,
}

pub(super) fn draw_series<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    series: &[Series],
) -> Result<()> {
    for s in series {
        let style = stroke(s.colour, s.width);
        for seg in &s.segments {
            if s.dashed {
                chart.draw_series(DashedLineSeries::new(seg.clone(), 10, 6, style))
            } else if seg.len() == 1 {
                // A lone second would be an invisible zero-length line.
                chart.draw_series(seg.iter().map(|p| Circle::new(*p, 3, style.filled())))
            } else {
                chart.draw_series(LineSeries::new(seg.clone(), style))
            }
            .map_err(de)?;
        }
    }
    Ok(())
}

pub(super) fn legend_items(series: &[Series]) -> Vec<LegendItem> {
    (series.iter())
        .map(|s| LegendItem {
            label: s.label.clone(),
            colour: s.colour,
            mark: Mark::Line {
                width: s.width,
                dashed: s.dashed,
            },
        })
        .collect()
}

pub(super) const X_DESC: &str = "time since load start (s)";

pub(super) fn fmt_count(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub(super) fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|u| (u as f64 / 1000.0).max(0.001))
}

/// Every y value of a set of series, for ranges.
pub(super) fn values(series: &[Series]) -> impl Iterator<Item = f64> + Clone + '_ {
    series
        .iter()
        .flat_map(|s| s.segments.iter().flatten().map(|p| p.1))
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
