//! `kbench compare-tools`: kbench and kafka-producer-perf-test side by side on one cluster.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{dist, ClusterGuard, StartOptions, Topology};
use kbench::compare_tools::{self, Options};

pub fn run(o: Options, reports: PathBuf) -> Result<ExitCode> {
    let workdir = kbench::paths::runs_dir()?.join(kbench::paths::new_run_name("compare-tools"));
    let mut guard = ClusterGuard::new(Box::new(ProcessBackend::create(
        workdir,
        Topology::default(),
    )?));
    guard
        .backend()
        .start(&StartOptions::default(), &|m| eprintln!("kbench: {m}"))?;
    let dist = dist::ensure(&|m| eprintln!("kbench: {m}"))?;
    let ep = guard.backend().endpoints();
    let c = compare_tools::compare(&dist, &ep, &o, &|m| eprintln!("kbench: {m}"))?;
    guard.teardown()?;
    println!("{}", compare_tools::render(&c));
    std::fs::create_dir_all(&reports)
        .with_context(|| format!("cannot create {}", reports.display()))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let path = reports.join(format!(
        "compare-tools-{}.json",
        kbench::timefmt::utc_compact(secs)
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(&c)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("written {}", path.display());
    Ok(ExitCode::SUCCESS)
}
