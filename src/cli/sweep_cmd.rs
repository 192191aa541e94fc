//! `kbench sweep`: a capacity search or a parameter sweep, its steps printed as they were
//! judged, its conclusion, and an exit code a CI job can gate on.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use kbench::sweep::grid::PointRecord;
use kbench::sweep::search::Stop;
use kbench::sweep::{Found, ParametersFound, StepRecord, SweepResults};

use super::exit::{CHECKS_FAILED, INTERRUPTED};
use super::run_cmd::load;

/// Run the sweep of `file`; exit 0 when it reached its answer (a capacity, or every
/// combination run), 3 when not, 130 on Ctrl-C.
pub fn sweep(
    file: &Path,
    reports: PathBuf,
    backend: (
        Option<kbench::names::BackendKind>,
        Option<kbench::images::Choice>,
    ),
) -> Result<ExitCode> {
    let sc = super::run_cmd::on_backend(file, load(file)?, backend)?;
    let opts = kbench::sweep::SweepOptions {
        reports_dir: reports,
    };
    let (dir, r) = kbench::sweep::sweep(&sc, &opts)?;
    let what = match &r.found {
        Found::Capacity(c) => {
            steps(&c.steps);
            "capacity"
        }
        Found::Parameters(p) => {
            points(p);
            "sweep"
        }
    };
    println!("{what:<9} {}", r.conclusion);
    println!("results   {}", dir.join("sweep.json").display());
    println!("report    {}", dir.join("index.html").display());
    Ok(ExitCode::from(exit_code(&r)))
}

fn exit_code(r: &SweepResults) -> u8 {
    if kbench::signals::requested() {
        return INTERRUPTED;
    }
    match &r.found {
        Found::Capacity(c) => match c.answer.stop {
            Some(Stop::Found | Stop::AtMax | Stop::GeneratorLimit) => 0,
            Some(Stop::Interrupted) => INTERRUPTED,
            _ => CHECKS_FAILED,
        },
        Found::Parameters(p) if p.complete => 0,
        Found::Parameters(_) => CHECKS_FAILED,
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn steps(steps: &[StepRecord]) {
    println!(
        "{:>4} {:>10} {:>10} {:>9} {:>9} {:>9}  verdict",
        "step", "target/s", "acked/s", "p50 ms", "p99 ms", "p99.9 ms"
    );
    for s in steps {
        println!(
            "{:>4} {:>10.0} {:>10.0} {:>9} {:>9} {:>9}  {} ({})",
            s.index,
            s.rate,
            s.achieved_rate,
            ms(s.ack_p50_ms),
            ms(s.ack_p99_ms),
            ms(s.ack_p99_9_ms),
            s.verdict,
            s.purpose
        );
    }
}

fn points(r: &ParametersFound) {
    println!(
        "{:>3}  {:<40} {:>10} {:>9} {:>10} {:>9} {:>7}  verdict",
        "#", "combination", "acked/s", "p99 ms", "capacity/s", "window s", "ratio"
    );
    for p in &r.points {
        let m = p.main_step();
        println!(
            "{:>3}  {:<40} {:>10} {:>9} {:>10} {:>9} {:>7}  {}",
            p.index,
            p.label,
            m.map_or("-".into(), |m| format!("{:.0}", m.achieved_rate)),
            ms(m.and_then(|m| m.ack_p99_ms)),
            capacity(p),
            m.map_or("-".into(), |m| format!("{:.2}", m.max_unavailability_s)),
            m.and_then(|m| m.compression_ratio)
                .map_or("-".into(), |c| format!("{c:.2}")),
            p.verdict
        );
    }
}

fn capacity(p: &PointRecord) -> String {
    let floor = if p.capacity_is_a_floor() { ">=" } else { "" };
    (p.answer.as_ref().and_then(|a| a.capacity)).map_or("-".into(), |c| format!("{floor}{c:.0}"))
}
