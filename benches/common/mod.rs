//! Criterion configuration shared by kbench's benches: registers the chart font (plotters is built
//! with `ab_glyph` and no system fonts, so criterion's charts need DejaVu registered before they
//! draw) and pins the plotters backend, so the HTML report looks the same with or without gnuplot.

use criterion::{Criterion, PlottingBackend};

/// The config every bench group uses; command-line flags (`--warm-up-time`, ...) still apply on
/// top of it, because `criterion_group!` calls `configure_from_args` afterwards.
pub fn config() -> Criterion {
    kbench::report::font::register().expect("registering the chart font for criterion");
    Criterion::default().plotting_backend(PlottingBackend::Plotters)
}
