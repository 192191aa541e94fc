//! A parameter sweep's `index.html`: one chart per parameter — the sweep's figure (capacity,
//! failover window or ack p99, by what each combination ran) and a second figure against the
//! parameter's values, one line per combination of the other parameters — then one table of
//! every combination linking to each run's own report.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::grid::{PointMode, PointRecord};
use super::search::Verdict;
use super::{ParametersFound, SweepResults};
use crate::report::draw::{
    axis_font, de, esc, house_style, inline_svg, legend, points_line, render, title_font, Draw,
    SERIES, WIDTH,
};
use crate::scenario::sweep::Parameter;

/// One figure of a combination.
struct Figure {
    title: &'static str,
    /// Its column heading.
    short: &'static str,
    unit: &'static str,
    /// Decimals in the table.
    decimals: usize,
    /// A search's capacity: written "≥ N" in the table when the search ended on a floor.
    capacity: bool,
    get: fn(&PointRecord) -> Option<f64>,
}

/// What the charts show, by what the combinations ran.
fn figures(mode: PointMode) -> [Figure; 2] {
    let p99 = |p: &PointRecord| p.main_step().and_then(|s| s.ack_p99_ms);
    match mode {
        PointMode::Search => [
            Figure {
                title: "capacity found",
                short: "capacity",
                unit: "records/s",
                decimals: 0,
                capacity: true,
                get: |p| p.answer.as_ref().and_then(|a| a.capacity),
            },
            Figure {
                title: "ack p99 at that rate",
                short: "p99",
                unit: "ms",
                decimals: 2,
                capacity: false,
                get: p99,
            },
        ],
        PointMode::Faults => [
            Figure {
                title: "failover window (longest time a partition got no ack)",
                short: "failover window",
                unit: "s",
                decimals: 2,
                capacity: false,
                get: |p| p.main_step().map(|s| s.max_unavailability_s),
            },
            Figure {
                title: "ack p99 over the measured window",
                short: "p99",
                unit: "ms",
                decimals: 2,
                capacity: false,
                get: p99,
            },
        ],
        PointMode::Fixed => [
            Figure {
                title: "ack p99 over the measured window",
                short: "p99",
                unit: "ms",
                decimals: 2,
                capacity: false,
                get: p99,
            },
            Figure {
                title: "compression ratio on the wire (record bytes ÷ batch bytes)",
                short: "compression ratio",
                unit: "×",
                decimals: 2,
                capacity: false,
                get: |p| p.main_step().and_then(|s| s.compression_ratio),
            },
        ],
    }
}

/// The mode the combinations ran in.
fn mode_of(r: &ParametersFound) -> PointMode {
    r.points.first().map_or(PointMode::Fixed, |p| p.mode)
}

/// Both figures of the sweep against parameter `index`.
struct ByParameter<'a> {
    r: &'a ParametersFound,
    index: usize,
    figures: [Figure; 2],
}

impl ByParameter<'_> {
    fn parameter(&self) -> &Parameter {
        &self.r.parameters[self.index]
    }

    /// One line per combination of the other parameters: its label and (x, y) points.
    fn lines(&self, f: &Figure) -> Vec<(String, Vec<(f64, f64)>)> {
        let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for p in &self.r.points {
            let others: Vec<String> = (self.r.parameters.iter().zip(&p.values).enumerate())
                .filter(|(i, _)| *i != self.index)
                .map(|(_, (q, v))| format!("{}={v}", q.name))
                .collect();
            let label = if others.is_empty() {
                self.parameter().name.clone()
            } else {
                others.join(", ")
            };
            let x = (self.parameter().values.iter()).position(|v| *v == p.values[self.index]);
            let (Some(x), Some(y)) = (x, (f.get)(p)) else {
                continue;
            };
            match lines.iter_mut().find(|(l, _)| *l == label) {
                Some(line) => line.1.push((x as f64, y)),
                None => lines.push((label, vec![(x as f64, y)])),
            }
        }
        lines
    }

    fn panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, f: &Figure) -> Result<()> {
        let lines = self.lines(f);
        let values = &self.parameter().values;
        let y_hi = (lines.iter().flat_map(|l| l.1.iter().map(|p| p.1))).fold(0.0, f64::max);
        // Headroom above the highest point keeps it clear of the legend.
        let y_hi = if y_hi > 0.0 { y_hi * 1.4 } else { 1.0 };
        let n = values.len() as f64;
        let mut chart = ChartBuilder::on(area)
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(86)
            .caption(format!("{} ({})", f.title, f.unit), axis_font())
            .build_cartesian_2d(-0.5..(n - 0.5), 0.0..y_hi)
            .map_err(de)?;
        let value_at = |x: &f64| {
            let i = x.round();
            match (i - x).abs() < 1e-6 && i >= 0.0 {
                true => values.get(i as usize).cloned().unwrap_or_default(),
                false => String::new(),
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(values.len())
            .x_label_formatter(&value_at)
            .x_desc(self.parameter().name.as_str())
            .y_desc(f.unit);
        house_style(&mut mesh).draw().map_err(de)?;
        for (i, (label, pts)) in lines.into_iter().enumerate() {
            points_line(&mut chart, pts, SERIES[i % SERIES.len()], label)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

impl Draw for ByParameter<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(de)?;
        let title = format!("Against {}", self.parameter().name);
        let area = root.titled(&title, title_font()).map_err(de)?;
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
        self.panel(&top, &self.figures[0])?;
        self.panel(&bottom, &self.figures[1])
    }
}

/// `index.html` of a parameter sweep and one chart per parameter.
pub(super) fn write(dir: &Path, r: &SweepResults, g: &ParametersFound) -> Result<()> {
    let mode = mode_of(g);
    let mut s = String::new();
    let on = match mode {
        PointMode::Search => "each combination a capacity search",
        PointMode::Faults => "each combination one run with the scenario's faults",
        PointMode::Fixed => "each combination one run at the scenario's rate",
    };
    super::frame::head(&mut s, r, "Parameter sweep", on);
    let class = match g.points.len() {
        0 => "fail",
        _ if g.complete => "ok",
        _ => "warn",
    };
    super::frame::banner(&mut s, r, class, "run");
    for (index, p) in g.parameters.iter().enumerate() {
        let chart = ByParameter {
            r: g,
            index,
            figures: figures(mode),
        };
        let name = format!(
            "by-{}",
            p.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let caption = format!(
            "Top: {}; bottom: {}; one point per combination, one line per value of the other \
             parameters.",
            chart.figures[0].title, chart.figures[1].title
        );
        let title = format!("Against {}", p.name);
        let drawn = render(&dir.join("charts"), &name, &title, &caption, &chart)?;
        let _ = writeln!(
            s,
            "<figure id=\"chart-{name}\">{}<figcaption>{} Files: <a \
             href=\"charts/{name}.svg\">{name}.svg</a>, <a href=\"charts/{name}.png\">{name}.png</a>, \
             <a href=\"sweep.json\">sweep.json</a>.</figcaption></figure>",
            inline_svg(&drawn.svg, &drawn.title),
            esc(&caption)
        );
    }
    table(&mut s, g, mode);
    for p in g.points.iter().filter(|p| p.answer.is_some()) {
        super::frame::steps_table(&mut s, &format!("Search steps of {}", p.label), &p.steps);
    }
    super::frame::finish(dir, s)
}

/// One row per combination.
fn table(s: &mut String, r: &ParametersFound, mode: PointMode) {
    let figs = figures(mode);
    s.push_str("<h2>Combinations</h2>\n<table class=\"steps\"><thead><tr><th>#</th>");
    for p in &r.parameters {
        let _ = write!(s, "<th>{}</th>", esc(&p.name));
    }
    for f in &figs {
        let _ = write!(s, "<th>{} ({})</th>", esc(f.short), esc(f.unit));
    }
    s.push_str(
        "<th>achieved (records/s)</th><th>generator saturated</th><th>cluster</th><th>verdict</th>\
         <th>report</th></tr></thead>\n<tbody>\n",
    );
    for p in &r.points {
        let class = match p.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Inconclusive { .. } => "warn",
        };
        let _ = write!(
            s,
            "<tr class=\"{class}\"><th class=\"row\">{}</th>",
            p.index
        );
        for v in &p.values {
            let _ = write!(s, "<td class=\"text\">{}</td>", esc(v));
        }
        for f in &figs {
            // A search's capacity that is only a floor reads "≥ N", never as a found edge.
            let floor = if f.capacity && p.capacity_is_a_floor() {
                "≥ "
            } else {
                ""
            };
            let v = (f.get)(p).map_or("—".into(), |v| format!("{floor}{v:.*}", f.decimals));
            let _ = write!(s, "<td class=\"num\">{v}</td>");
        }
        let main = p.main_step();
        let achieved = main.map_or("—".into(), |m| format!("{:.0}", m.achieved_rate));
        let saturated = match main.map(|m| m.generator_saturated) {
            Some(true) => "yes: the offered load fell behind",
            Some(false) => "no",
            None => "—",
        };
        let link = main.map_or(String::new(), |m| {
            format!("<a href=\"{d}/index.html\">{d}</a>", d = esc(&m.dir))
        });
        let _ = writeln!(
            s,
            "<td class=\"num\">{achieved}</td><td class=\"text\">{saturated}</td><td \
             class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{link}</td></tr>",
            if p.new_cluster { "fresh" } else { "reused" },
            esc(&p.verdict.to_string()),
        );
    }
    s.push_str("</tbody></table>\n");
}
