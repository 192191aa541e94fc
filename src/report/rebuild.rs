//! `build_report`: turns a run directory (results.json + .hlog files) into `charts/` and
//! `index.html`. Both `kbench run` (at the end) and `kbench report DIR` call it; it needs nothing
//! but the directory, so a report can be rebuilt anywhere, long after the cluster is gone.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::report::results::{self, Results};
use crate::report::{charts, html, phases};

/// Builds the report of the run in `dir` and returns the path of its index.html.
pub fn build_report(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory (expected a kbench run directory)",
            dir.display()
        );
    }
    if !dir.join("results.json").is_file() {
        bail!(
            "{} has no results.json: not a kbench run directory, or the run did not finish",
            dir.display()
        );
    }
    let results = results::read(dir)?;
    build_report_from(dir, &results)
}

/// Like [`build_report`], with results already in hand (a run that just finished, or a test that
/// altered them); the .hlog files are still read from `dir`.
pub fn build_report_from(dir: &Path, results: &Results) -> Result<PathBuf> {
    let rebuilt = phases::rebuild(dir, results)
        .with_context(|| format!("cannot rebuild latency histograms in {}", dir.display()))?;
    let charts = charts::build_all(&dir.join("charts"), results, &rebuilt)?;
    let page = html::page(results, &rebuilt, &charts);
    let index = dir.join("index.html");
    std::fs::write(&index, page).with_context(|| format!("cannot write {}", index.display()))?;
    Ok(index)
}
