//! The report's charts: each is drawn once per backend, into an SVG string (inlined in index.html
//! and written as `charts/<name>.svg`) and a PNG (`charts/<name>.png`). This module holds what the
//! charts share: rendering to both backends, the palette, text styles, log-scale latency ticks and
//! the shaded time bands (warm-up, faults); the charts themselves live in `distribution` and
//! `timeline`.

pub mod distribution;
pub mod timeline;

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::font::{self, FAMILY};
use crate::report::phases::Rebuilt;
use crate::report::results::Results;

/// Chart width in pixels; the page scales SVGs down to fit, PNGs are for attaching elsewhere.
pub const WIDTH: u32 = 1100;

/// One rendered chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem under `charts/`, also the HTML anchor.
    pub name: String,
    pub title: String,
    /// One sentence under the chart saying how to read it.
    pub caption: String,
    /// The SVG document as plotters wrote it (with its xmlns, as a standalone file needs).
    pub svg: String,
}

/// A chart that can draw itself on any plotters backend.
pub(crate) trait Draw {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Turns a plotters drawing error into an anyhow one; plotters' errors are generic over the
/// backend, so `?` alone cannot convert them.
pub(crate) fn de<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow!("drawing a chart failed: {e}")
}

/// Draws `chart` as SVG (returned, and written to `<charts_dir>/<name>.svg`) and as PNG.
pub(crate) fn render(
    charts_dir: &Path,
    name: &str,
    title: &str,
    caption: &str,
    chart: &impl Draw,
) -> Result<Chart> {
    font::register()?;
    let size = chart.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        chart
            .draw(&root)
            .with_context(|| format!("chart {name} (SVG)"))?;
        root.present().map_err(de)?;
    }
    let svg_path = charts_dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, &svg)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    let png_path = charts_dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png_path, size).into_drawing_area();
        chart
            .draw(&root)
            .with_context(|| format!("chart {name} (PNG)"))?;
        root.present()
            .map_err(de)
            .with_context(|| format!("cannot write {}", png_path.display()))?;
    }
    Ok(Chart {
        name: name.to_string(),
        title: title.to_string(),
        caption: caption.to_string(),
        svg,
    })
}

/// Every chart of the report, in page order. Charts that have nothing to show (no faults) are
/// left out.
pub fn build_all(charts_dir: &Path, results: &Results, rebuilt: &Rebuilt) -> Result<Vec<Chart>> {
    std::fs::create_dir_all(charts_dir)
        .with_context(|| format!("cannot create {}", charts_dir.display()))?;
    let mut out = vec![distribution::run_phases(charts_dir, rebuilt)?];
    if !rebuilt.fault_phases.is_empty() {
        out.push(distribution::fault_phases(charts_dir, results, rebuilt)?);
    }
    out.push(timeline::latency(charts_dir, results)?);
    out.push(timeline::throughput(charts_dir, results)?);
    out.push(timeline::send_lag(charts_dir, results)?);
    Ok(out)
}

// Okabe-Ito: distinguishable with the common colour-vision deficiencies, and print well.
pub(crate) const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(crate) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub(crate) const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub(crate) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
pub(crate) const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub(crate) const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const GREY: RGBColor = RGBColor(0x77, 0x77, 0x77);
pub(crate) const FAULT: RGBColor = RGBColor(0xC0, 0x20, 0x20);

/// Colours for lines that have no fixed meaning, in order.
pub(crate) const SERIES: [RGBColor; 6] = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY];

pub(crate) fn title_font() -> TextStyle<'static> {
    (FAMILY, 22).into_font().style(FontStyle::Bold).color(&INK)
}

pub(crate) fn axis_font() -> TextStyle<'static> {
    (FAMILY, 16).into_font().color(&INK)
}

pub(crate) fn tick_font() -> TextStyle<'static> {
    (FAMILY, 14).into_font().color(&INK)
}

pub(crate) fn legend_font() -> TextStyle<'static> {
    (FAMILY, 14).into_font().color(&INK)
}

/// A line of the given colour and width, for legends and series alike.
pub(crate) fn stroke(c: RGBColor, width: u32) -> ShapeStyle {
    c.stroke_width(width)
}

/// Latency in ms for a tick label: as few digits as tell the value.
pub(crate) fn fmt_ms_tick(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{}", ms.round())
    } else {
        let s = format!("{ms:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The 1-2-5 values from below `lo` to above `hi` (a log axis' range and its ticks, in ms).
pub(crate) fn log_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let lo = if lo.is_finite() && lo > 0.0 { lo } else { 0.001 };
    let hi = if hi.is_finite() && hi > lo { hi } else { lo * 10.0 };
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    let mut start = None;
    let mut end = None;
    'outer: loop {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v <= lo {
                start = Some(v);
                ticks.clear();
            }
            ticks.push(v);
            if v >= hi {
                end = Some(v);
                break 'outer;
            }
        }
        decade *= 10.0;
    }
    let start = start.unwrap_or(ticks[0]);
    let end = end.unwrap_or(hi);
    (start, end, ticks)
}

/// A shaded span of the time axis, in seconds since load start.
#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub from_x: f64,
    pub to_x: f64,
    pub label: String,
    pub fault: bool,
}

/// Warm-up and fault bands for a time chart.
pub(crate) fn bands(results: &Results, load_start_s: f64) -> Vec<Band> {
    let mut out = Vec::new();
    if results.scenario.warmup_s > 0.0 {
        out.push(Band {
            from_x: 0.0,
            to_x: results.scenario.warmup_s,
            label: "warm-up".into(),
            fault: false,
        });
    }
    for f in &results.faults {
        let end = crate::report::phases::fault_end_s(f.fired_s, f.recovered_s);
        let label = if f.label.is_empty() {
            format!("{} {}", f.action, f.target)
        } else {
            f.label.clone()
        };
        out.push(Band {
            from_x: f.fired_s - load_start_s,
            to_x: end - load_start_s,
            label,
            fault: true,
        });
    }
    out
}

/// Shades every band over the whole height of the plot and labels it at the top; fault labels are
/// staggered so neighbouring faults do not print over each other.
pub(crate) fn draw_bands<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    bands: &[Band],
) -> Result<()>
where
    DB: DrawingBackend,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let yr = chart.y_range();
    let (y_lo, y_hi) = (yr.start, yr.end);
    let xr = chart.x_range();
    let mut row = 0;
    for b in bands {
        let from = b.from_x.max(xr.start);
        let to = b.to_x.min(xr.end);
        if from >= to {
            continue;
        }
        let (fill, text_colour) = if b.fault {
            (FAULT.mix(0.14).filled(), FAULT)
        } else {
            (GREY.mix(0.12).filled(), GREY)
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from, y_lo), (to, y_hi)],
                fill,
            )))
            .map_err(de)?;
        if b.fault {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(from, y_lo), (from, y_hi)],
                    stroke(FAULT, 2),
                )))
                .map_err(de)?;
        }
        let dy = if b.fault {
            row += 1;
            6 + 18 * ((row - 1) % 3)
        } else {
            6
        };
        let style = (FAMILY, 14)
            .into_font()
            .color(&text_colour)
            .pos(Pos::new(HPos::Left, VPos::Top));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((from, y_hi)) + Text::new(b.label.clone(), (5, dy), style),
            ))
            .map_err(de)?;
    }
    Ok(())
}

/// Writes "no data" in the middle of an empty chart, so a blank plot is not mistaken for zero.
pub(crate) fn no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, what: &str) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = (FAMILY, 18)
        .into_font()
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        format!("no data: {what}"),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))
    .map_err(de)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_the_range_in_1_2_5_steps() {
        let (lo, hi, ticks) = log_ticks(2.1, 767.0);
        assert_eq!((lo, hi), (2.0, 1000.0));
        assert_eq!(ticks, vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]);
        let (lo, hi, _) = log_ticks(0.0, f64::NAN);
        assert!(lo > 0.0 && hi > lo);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(fmt_ms_tick(0.05), "0.05");
        assert_eq!(fmt_ms_tick(2.0), "2");
        assert_eq!(fmt_ms_tick(1000.0), "1000");
    }
}
