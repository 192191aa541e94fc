//! What the time charts draw around their data: shaded bands (warm-up, faults) with their labels
//! on lines above the plot, legends in a strip under the plot so they never hide data, and the
//! "no data" note for an empty chart.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{de, legend_font, stroke, FAULT, GREY, PURPLE, WIDTH};
use crate::report::font::FAMILY;
use crate::report::results::Results;

/// What a band marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BandKind {
    /// Warm-up: grey.
    Warmup,
    /// A fault, from its action to its recovery: red, with a line at the action.
    Fault,
    /// A moment (a schema evolution, a cold group's start): a purple line, no span.
    Event,
}

/// A shaded span of the time axis, in seconds since load start (an event spans nothing).
#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub from_x: f64,
    pub to_x: f64,
    pub label: String,
    pub kind: BandKind,
    /// Which line of labels above the plot this band's label goes on (0 = nearest the plot).
    pub row: usize,
}

/// Height of one line of band labels above a plot, in pixels.
pub(crate) const LABEL_ROW_PX: u32 = 18;
/// At most this many lines of band labels; more faults than fit share lines.
const MAX_LABEL_ROWS: usize = 4;

fn band_font() -> FontDesc<'static> {
    (FAMILY, 14).into_font()
}

/// Warm-up and fault bands for a time chart whose x axis spans `x` over about `plot_px` pixels,
/// with label lines assigned so labels do not print over each other.
pub(crate) fn bands(
    results: &Results,
    load_start_s: f64,
    x: (f64, f64),
    plot_px: f64,
) -> Vec<Band> {
    let mut out = Vec::new();
    if results.scenario.warmup_s > 0.0 {
        out.push(Band {
            from_x: 0.0,
            to_x: results.scenario.warmup_s,
            label: "warm-up".into(),
            kind: BandKind::Warmup,
            row: 0,
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
            kind: BandKind::Fault,
            row: 0,
        });
    }
    out.extend(events(results).into_iter().map(|(t, label)| Band {
        from_x: t - load_start_s,
        to_x: t - load_start_s,
        label,
        kind: BandKind::Event,
        row: 0,
    }));
    // Greedy: each label takes the nearest line where it clears the previous label's end.
    let px = |v: f64| (v - x.0) / (x.1 - x.0).max(1e-9) * plot_px;
    let mut line_end = [f64::NEG_INFINITY; MAX_LABEL_ROWS];
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[a].from_x.total_cmp(&out[b].from_x));
    for i in order {
        let start = px(out[i].from_x.max(x.0));
        let width = band_font()
            .box_size(&out[i].label)
            .map_or(8.0 * out[i].label.len() as f64, |b| f64::from(b.0));
        let row = (0..MAX_LABEL_ROWS)
            .find(|&r| line_end[r] + 10.0 < start)
            .unwrap_or_else(|| {
                (0..MAX_LABEL_ROWS)
                    .min_by(|&a, &b| line_end[a].total_cmp(&line_end[b]))
                    .unwrap_or(0)
            });
        out[i].row = row;
        line_end[row] = start + 4.0 + width;
    }
    out
}

/// Event labels: the event line's purple, darkened so small text stays readable.
const EVENT_TEXT: RGBColor = RGBColor(0x8E, 0x3B, 0x6E);

/// Moments worth a line on every time chart (s since the origin): each schema evolution with
/// the registry's verdict, and each cold consumer group's start.
fn events(results: &Results) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for e in results.schemas.iter().flat_map(|a| &a.events) {
        let name = e.label.trim_end_matches(".avsc");
        out.push((e.at_s, format!("{name} {}", e.outcome)));
    }
    for g in &results.cold_groups {
        if let Some(t) = g.started_s {
            out.push((t, format!("cold group {} starts", g.group)));
        }
    }
    out
}

/// How many label lines the bands need above the plot.
pub(crate) fn label_rows(bands: &[Band]) -> u32 {
    bands.iter().map(|b| b.row as u32 + 1).max().unwrap_or(0)
}

/// Shades every band over the whole height of the plot; with `root` (the whole canvas), also
/// writes each label above the plot, on its line, starting where the band starts.
pub(crate) fn draw_bands<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    root: Option<&DrawingArea<DB, Shift>>,
    bands: &[Band],
) -> Result<()>
where
    DB: DrawingBackend,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let yr = chart.y_range();
    let (y_lo, y_hi) = (yr.start, yr.end);
    let xr = chart.x_range();
    for b in bands {
        let from = b.from_x.max(xr.start);
        let to = b.to_x.min(xr.end);
        let visible = match b.kind {
            BandKind::Event => xr.contains(&b.from_x),
            _ => from < to,
        };
        if !visible {
            continue;
        }
        let (fill, text_colour) = match b.kind {
            BandKind::Fault => (FAULT.mix(0.14).filled(), FAULT),
            BandKind::Warmup => (GREY.mix(0.12).filled(), GREY),
            BandKind::Event => (PURPLE.mix(0.0).filled(), EVENT_TEXT),
        };
        if b.kind != BandKind::Event {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, y_lo), (to, y_hi)],
                    fill,
                )))
                .map_err(de)?;
        }
        let line = match b.kind {
            BandKind::Fault => Some(stroke(FAULT, 2)),
            BandKind::Event => Some(stroke(PURPLE, 2)),
            BandKind::Warmup => None,
        };
        if let Some(line) = line {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(from, y_lo), (from, y_hi)],
                    line,
                )))
                .map_err(de)?;
        }
        if let Some(root) = root {
            // Backend pixels: the label sits above the plot, outside the lines' way.
            let (px, top) = chart.backend_coord(&(from, y_hi));
            let y = top - 3 - (LABEL_ROW_PX as i32) * b.row as i32;
            let style = band_font()
                .color(&text_colour)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            root.draw(&Text::new(b.label.clone(), (px + 2, y), style))
                .map_err(de)?;
        }
    }
    Ok(())
}

/// What a legend entry shows next to its label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mark {
    Line { width: u32, dashed: bool },
    Block,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub label: String,
    pub colour: RGBColor,
    pub mark: Mark,
}

/// Height of one row of a legend strip under a chart, in pixels.
pub(crate) const LEGEND_ROW_PX: u32 = 26;
const LEGEND_GAP_PX: i32 = 28;

/// Each item's width, and the items split into rows that fit `width` pixels.
fn legend_layout(items: &[LegendItem], width: u32) -> Vec<Vec<(usize, i32)>> {
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut used = 0;
    for (i, item) in items.iter().enumerate() {
        let text = (FAMILY, 14)
            .into_font()
            .box_size(&item.label)
            .map_or(8 * item.label.len() as i32, |b| b.0 as i32);
        let w = 26 + text;
        let row = rows
            .last_mut()
            .filter(|r| r.is_empty() || used + LEGEND_GAP_PX + w <= width as i32 - 16);
        match row {
            Some(r) => {
                used += if r.is_empty() { w } else { LEGEND_GAP_PX + w };
                r.push((i, w));
            }
            None => {
                rows.push(vec![(i, w)]);
                used = w;
            }
        }
    }
    rows
}

/// Height of the legend strip `items` need at chart width.
pub(crate) fn legend_height(items: &[LegendItem]) -> u32 {
    legend_layout(items, WIDTH).len() as u32 * LEGEND_ROW_PX + 4
}

/// A legend in centred rows, in its own strip under the plot, so it never hides data.
pub(crate) fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    for (r, row) in legend_layout(items, w).iter().enumerate() {
        let total: i32 =
            row.iter().map(|(_, w)| w).sum::<i32>() + LEGEND_GAP_PX * (row.len() as i32 - 1).max(0);
        let mut x = ((w as i32 - total) / 2).max(4);
        let y = (r as i32) * LEGEND_ROW_PX as i32 + LEGEND_ROW_PX as i32 / 2;
        for &(i, width) in row {
            draw_legend_item(area, &items[i], x, y)?;
            x += width + LEGEND_GAP_PX;
        }
    }
    Ok(())
}

fn draw_legend_item<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    item: &LegendItem,
    x: i32,
    y: i32,
) -> Result<()> {
    match item.mark {
        Mark::Line { width, dashed } => {
            let style = stroke(item.colour, width.clamp(2, 4));
            // Two strokes with a gap read as a dash in a 20 px sample; without a gap, as a line.
            let split = if dashed { 8 } else { 10 };
            area.draw(&PathElement::new(vec![(x, y), (x + split, y)], style))
                .map_err(de)?;
            area.draw(&PathElement::new(
                vec![(x + 20 - split, y), (x + 20, y)],
                style,
            ))
            .map_err(de)?;
        }
        Mark::Block => {
            area.draw(&Rectangle::new(
                [(x, y - 6), (x + 20, y + 6)],
                item.colour.filled(),
            ))
            .map_err(de)?;
        }
    }
    let style = legend_font().pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(item.label.clone(), (x + 26, y), style))
        .map_err(de)
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
