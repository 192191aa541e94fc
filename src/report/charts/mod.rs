//! The report's charts: each is drawn once per backend, into an SVG string (inlined in index.html
//! and written as `charts/<name>.svg`) and a PNG (`charts/<name>.png`). This module holds what the
//! charts share: rendering to both backends, the palette, text styles and log-scale latency ticks.
//! Bands and legends are in `decor`, the time axis in `frame`; the charts themselves live in
//! `distribution` and `timeline`.

mod decor;
pub mod distribution;
mod frame;
pub mod registry;
pub mod timeline;

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::font::{self, FAMILY};
use crate::report::phases::Rebuilt;
use crate::report::results::Results;
pub(crate) use decor::{
    bands, draw_bands, label_rows, legend_height, legend_strip, no_data, Band, LegendItem, Mark,
    LABEL_ROW_PX, LEGEND_ROW_PX,
};

/// Chart width in pixels; the page scales SVGs down to fit, PNGs are for attaching elsewhere.
pub const WIDTH: u32 = 1100;

/// One rendered chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem under `charts/`, also the HTML anchor.
    pub name: String,
    /// Title drawn on the chart and used as its heading on the page.
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
    if let Some(a) = &results.registry {
        out.push(registry::availability(charts_dir, results, a)?);
    }
    if results.registry_in_play() {
        let probe = results.registry.as_ref();
        out.push(registry::latency(
            charts_dir,
            results,
            probe,
            &rebuilt.requests,
        )?);
    }
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
    let lo = if lo.is_finite() && lo > 0.0 {
        lo
    } else {
        0.001
    };
    let hi = if hi.is_finite() && hi > lo {
        hi
    } else {
        lo * 10.0
    };
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    let mut start = None;
    'outer: loop {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v <= lo {
                start = Some(v);
                ticks.clear();
            }
            ticks.push(v);
            if v >= hi {
                break 'outer;
            }
        }
        decade *= 10.0;
    }
    // The loop pushes at least once before it can stop, and stops on a value >= hi.
    let start = start.unwrap_or(lo);
    let end = ticks.last().copied().unwrap_or(hi);
    (start, end, ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_the_range_in_1_2_5_steps() {
        let (lo, hi, ticks) = log_ticks(2.1, 767.0);
        assert_eq!((lo, hi), (2.0, 1000.0));
        assert_eq!(
            ticks,
            vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        );
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
