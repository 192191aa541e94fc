//! The schema registry over time: whether it answered (the probe's answered and failed
//! requests per second) and how fast (the probe's slowest request per second, and every
//! answered request of kbench's own clients: registrations, lookups by id, version lookups).
//! Faults and schema events are drawn as on every time chart.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::frame::{draw_series, legend_items, values, Frame, Series};
use super::timeline::time_mesh;
use super::{
    draw_bands, legend_strip, log_ticks, no_data, render, Chart, Draw, BLUE, GREEN, GREY, ORANGE,
    PURPLE, VERMILLION, WIDTH,
};
use crate::faults::registry_probe::RegistryAvailability;
use crate::metrics::Kind;
use crate::report::requests::RequestLatency;
use crate::report::results::Results;

struct RegistryChart {
    frame: Frame,
    series: Vec<Series>,
    title: &'static str,
    y_desc: &'static str,
    log: bool,
}

/// Runs of consecutive seconds, each value at the middle of its second.
fn segments(frame: &Frame, points: impl Iterator<Item = (u64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut prev = None;
    for (t, v) in points {
        let x = t as f64 + 0.5 - frame.load_start_s;
        match out.last_mut() {
            Some(seg) if prev.is_some_and(|p: u64| t == p + 1) => seg.push((x, v)),
            _ => out.push(vec![(x, v)]),
        }
        prev = Some(t);
    }
    out
}

fn line(label: &str, colour: RGBColor, segments: Vec<Vec<(f64, f64)>>) -> Series {
    Series {
        label: label.into(),
        colour,
        width: 2,
        dashed: false,
        segments,
    }
}

/// Answered and failed probes per second.
pub fn availability(dir: &Path, results: &Results, a: &RegistryAvailability) -> Result<Chart> {
    let frame = Frame::new(results);
    let per_s = 1000.0 / a.period_ms.max(1) as f64;
    let ok = segments(&frame, a.seconds.iter().map(|s| (s.t, f64::from(s.ok))));
    let failed = segments(&frame, a.seconds.iter().map(|s| (s.t, f64::from(s.failed))));
    let series = vec![
        line("probes answered", GREEN, ok),
        line("probes failed", VERMILLION, failed),
    ];
    render(
        dir,
        "registry-availability",
        "Schema registry availability",
        &format!(
            "kbench's own probe (GET /subjects, {per_s:.0} per second, 1 s timeout): answered \
             and failed probes per second. Red bands are faults, purple lines schema events."
        ),
        &RegistryChart {
            frame,
            series,
            title: "Registry probes per second",
            y_desc: "probes per second",
            log: false,
        },
    )
}

/// The probe's slowest request per second, and every answered request of kbench's clients.
pub fn latency(
    dir: &Path,
    results: &Results,
    probe: Option<&RegistryAvailability>,
    requests: &[RequestLatency],
) -> Result<Chart> {
    let frame = Frame::new(results);
    let mut series = Vec::new();
    if let Some(a) = probe {
        let pts = a.seconds.iter().filter(|s| s.ok > 0 || s.failed > 0);
        let pts = pts.map(|s| (s.t, s.max_ms.max(0.001)));
        series.push(line(
            "probe, slowest per second",
            GREY,
            segments(&frame, pts),
        ));
    }
    for r in requests {
        let (label, colour) = match r.kind {
            Kind::RegistryById => ("lookup by id (cache miss), slowest", BLUE),
            Kind::RegistryRegister => ("registration, slowest", PURPLE),
            _ => ("version lookup, slowest", ORANGE),
        };
        let pts = (r.seconds.iter()).map(|s| (s.t_s.floor() as u64, s.max_us as f64 / 1e3));
        series.push(line(label, colour, segments(&frame, pts)));
    }
    render(
        dir,
        "registry-latency",
        "Schema registry request latency",
        "Slowest answered request per second, log scale: the probe's GET /subjects (failed \
         probes included, at the time they took to fail) and each kind of request kbench's \
         own clients sent. A dot is a second with a single request.",
        &RegistryChart {
            frame,
            series,
            title: "Registry request latency per second",
            y_desc: "latency (ms, log scale)",
            log: true,
        },
    )
}

impl Draw for RegistryChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 440)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (body, legend) = Frame::areas(root, self.title)?;
        let all = values(&self.series);
        let hi = all.clone().fold(0.0, f64::max);
        if self.log {
            let lo = all.fold(f64::INFINITY, f64::min);
            let (y_lo, y_hi, ticks) = log_ticks(lo.min(hi), hi);
            let y = (y_lo..y_hi).log_scale().with_key_points(ticks);
            let mut chart = self.frame.build(&body, y, true)?;
            time_mesh(&mut chart, self.y_desc, 11, &|v| super::fmt_ms_tick(*v))?;
            draw_bands(&mut chart, Some(root), &self.frame.bands)?;
            if !lo.is_finite() {
                return no_data(&body, "no registry requests");
            }
            draw_series(&mut chart, &self.series)?;
        } else {
            let mut chart = self.frame.build(&body, 0.0..(hi * 1.15).max(1.0), true)?;
            time_mesh(&mut chart, self.y_desc, 8, &|v| super::frame::fmt_count(*v))?;
            draw_bands(&mut chart, Some(root), &self.frame.bands)?;
            if self.series.iter().all(|s| s.segments.is_empty()) {
                return no_data(&body, "no probes");
            }
            draw_series(&mut chart, &self.series)?;
        }
        legend_strip(&legend, &legend_items(&self.series))
    }
}
