//! The drawing kit every page of kbench draws with — the run report's charts and the sweep
//! pages alike: the `Draw` trait and `render` to SVG and PNG, the palette, fonts and strokes,
//! log-scale latency ticks, the house style of a chart's mesh and legend, a line of points, and
//! the HTML pieces a page inlines a chart with.

use anyhow::Result;
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::CoordTranslate;
use plotters::prelude::*;

pub(crate) use super::charts::{
    axis_font, de, fmt_ms_tick, legend_font, log_ticks, render, stroke, tick_font, title_font,
    Draw, BLUE, FAULT, GREEN, GREY, INK, ORANGE, SERIES, VERMILLION, WIDTH,
};
pub(crate) use super::html::{esc, inline_svg, stylesheet};

/// The grid lines every chart's mesh has.
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);

/// The house style of a chart's mesh: axis and tick fonts, light grid lines.
pub fn house_style<'a, 'b, X, Y, DB>(
    mesh: &'b mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'b mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged<ValueType: std::fmt::Debug> + ValueFormatter<X::ValueType>,
    Y: Ranged<ValueType: std::fmt::Debug> + ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    mesh.axis_desc_style(axis_font())
        .label_style(tick_font())
        .light_line_style(WHITE)
        .bold_line_style(GRID)
}

/// The chart's legend at `at`, boxed.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(at)
        .label_font(legend_font())
        .background_style(WHITE.mix(0.9))
        .border_style(stroke(INK, 1))
        .draw()
        .map_err(de)?;
    Ok(())
}

/// `pts` as a line with a dot on each point, sorted by x, in the legend as `label`.
pub fn points_line<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    mut pts: Vec<(f64, f64)>,
    colour: RGBColor,
    label: String,
) -> Result<()> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(pts.clone(), stroke(colour, 2)))
        .map_err(de)?;
    chart
        .draw_series(pts.iter().map(|p| Circle::new(*p, 5, colour.filled())))
        .map_err(de)?
        .label(label)
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, colour.filled()));
    Ok(())
}
