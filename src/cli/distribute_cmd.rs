//! `kbench distribute`: one scenario's load spread over shards an engine runs, coordinated
//! from here (cluster, reading, faults, audit), then merged into one run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use kbench::distribute::engine::EngineKind;
use kbench::run::remote::Remote;
use kbench::run::RunOptions;

use super::exit::UsageError;

pub fn distribute(
    file: &Path,
    reports: PathBuf,
    engine: EngineKind,
    workers: u32,
) -> Result<ExitCode> {
    let sc = super::run_cmd::load(file)?;
    refuse_what_cannot_be_split(file, &sc, workers)?;
    let out = kbench::run::report_dir(&reports, &format!("{}-shards", sc.name))?;
    let remote = Remote::new(engine.engine(), workers, file.to_path_buf(), out.clone());
    let opts = RunOptions {
        reports_dir: reports.clone(),
        keep_cluster: false,
        shard: None,
    };
    let (outcome, remote) = kbench::run::coordinate(&sc, &opts, remote);
    let ends: Vec<_> = remote.ends().to_vec();
    drop(remote);
    let coordinator = outcome?;
    let mut dirs = vec![coordinator.dir.clone()];
    dirs.extend(ends.iter().filter_map(|e| e.dir.clone()));
    println!("coordinator {}", coordinator.dir.display());
    println!("shards      {}", out.display());
    super::run_cmd::merge(&dirs, &reports)
}

/// A sweep or a search is many runs, not one load to split.
fn refuse_what_cannot_be_split(
    file: &Path,
    sc: &kbench::scenario::Scenario,
    workers: u32,
) -> Result<()> {
    let usage =
        |m: String| -> Result<()> { Err(UsageError(format!("{}: {m}", file.display())).into()) };
    if workers == 0 {
        return usage("--workers must be at least 1".into());
    }
    if sc.sweep.is_some() || sc.search.is_some() {
        return usage(
            "a sweep or capacity search is many runs; distribute one run's scenario".into(),
        );
    }
    Ok(())
}
