//! `kbench cluster up | status | down`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use kbench::cluster::cleanup;
use kbench::cluster::docker::{self, DockerBackend};
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, ClusterGuard, StartOptions, Topology};
use kbench::{paths, signals};

use super::{Backend, ClusterCommand};

pub fn run(cmd: ClusterCommand) -> Result<ExitCode> {
    match cmd {
        ClusterCommand::Up {
            detach,
            workdir,
            timeout,
            backend,
        } => up(detach, workdir, timeout, backend),
        ClusterCommand::Status { json, backend } => status(json, backend),
        ClusterCommand::Down { backend } => down(backend),
    }
}

fn docker() -> Result<DockerBackend> {
    DockerBackend::connect(Topology::default(), docker::DEFAULT_CLUSTER)
}

fn up(
    detach: bool,
    workdir: Option<std::path::PathBuf>,
    timeout: std::time::Duration,
    kind: Backend,
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
    let backend: Box<dyn ClusterBackend> = match kind {
        Backend::Process => Box::new(ProcessBackend::create(
            workdir.clone(),
            Topology::default(),
        )?),
        Backend::Docker => Box::new(docker()?),
    };
    let mut guard = ClusterGuard::new(backend);
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

fn status(json: bool, kind: Backend) -> Result<ExitCode> {
    if kind == Backend::Docker {
        let st = docker()?.status()?;
        println!(
            "{}",
            if json {
                serde_json::to_string_pretty(&st)?
            } else {
                st.to_string()
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
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

fn down(kind: Backend) -> Result<ExitCode> {
    if kind == Backend::Docker {
        let removed = docker::down_labelled(None)?;
        if removed.is_empty() {
            println!("nothing to stop: no container or network labelled by kbench");
        }
        for r in removed {
            println!("removed {r}");
        }
        return Ok(ExitCode::SUCCESS);
    }
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
