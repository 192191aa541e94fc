//! `kbench cluster up | status | down`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use kbench::cluster::cleanup;
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, ClusterGuard, StartOptions, Topology};
use kbench::{paths, signals};

use super::ClusterCommand;

pub fn run(cmd: ClusterCommand) -> Result<ExitCode> {
    match cmd {
        ClusterCommand::Up {
            detach,
            workdir,
            timeout,
        } => up(detach, workdir, timeout),
        ClusterCommand::Status { json } => status(json),
        ClusterCommand::Down => down(),
    }
}

fn up(
    detach: bool,
    workdir: Option<std::path::PathBuf>,
    timeout: std::time::Duration,
) -> Result<ExitCode> {
    let runs = paths::runs_dir()?;
    if let Some(live) = cleanup::live_state(&runs) {
        bail!(
            "a cluster kbench started is already running (state file {}); `kbench cluster down` stops it",
            live.display()
        );
    }
    let workdir = workdir.unwrap_or_else(|| runs.join(paths::new_run_name("cluster")));
    let t0 = Instant::now();
    let backend = ProcessBackend::create(workdir.clone(), Topology::default())?;
    let mut guard = ClusterGuard::new(Box::new(backend));
    let opts = StartOptions {
        ready_timeout: timeout,
        detached: detach,
    };
    guard
        .backend()
        .start(&opts, &|m| eprintln!("kbench: {m}"))?;
    println!("cluster ready in {:.1}s", t0.elapsed().as_secs_f64());
    println!("{}", guard.backend().status()?);
    println!("work directory {}", workdir.display());
    if detach {
        guard.detach();
        println!("detached; `kbench cluster down` stops it");
        return Ok(ExitCode::SUCCESS);
    }
    println!("running; press Ctrl-C to stop the cluster");
    while signals::sleep(std::time::Duration::from_secs(3600)).is_ok() {}
    eprintln!("kbench: stopping the cluster");
    guard.teardown()?;
    eprintln!("kbench: cluster stopped");
    Ok(ExitCode::SUCCESS)
}

fn status(json: bool) -> Result<ExitCode> {
    let runs = paths::runs_dir()?;
    let Some(path) = cleanup::live_state(&runs) else {
        eprintln!(
            "no cluster started by kbench is running (looked in {})",
            runs.display()
        );
        return Ok(ExitCode::from(1));
    };
    let backend = ProcessBackend::attach(&path)?;
    let st = backend.status()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        println!("{st}");
        println!("state file {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn down() -> Result<ExitCode> {
    let runs = paths::runs_dir()?;
    let report = cleanup::down_all(&runs)?;
    if report.clusters.is_empty() && report.strays.is_empty() {
        println!("nothing to stop: no cluster started by kbench is running");
    }
    for c in &report.clusters {
        println!("stopped the cluster of {}", c.display());
    }
    if !report.strays.is_empty() {
        println!("stopped stray kbench JVMs: {:?}", report.strays);
    }
    Ok(ExitCode::SUCCESS)
}
