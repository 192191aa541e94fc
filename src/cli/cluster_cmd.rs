//! `kbench cluster up | status | down`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use kbench::cluster::cleanup;
use kbench::cluster::docker::{self, DockerBackend};
use kbench::cluster::process::ProcessBackend;
use kbench::cluster::{ClusterBackend, ClusterGuard, StartOptions, Topology};
use kbench::names::BackendKind;
use kbench::{paths, signals};

use kbench::cluster::secure::LocalSecurity;
use kbench::cluster::{Member, NodeAction};

use super::{ClusterCommand, NodeArg, SecurityArg};

pub fn run(cmd: ClusterCommand) -> Result<ExitCode> {
    match cmd {
        ClusterCommand::Up {
            detach,
            workdir,
            timeout,
            backend,
            images,
            security,
        } => up(detach, workdir, timeout, (backend, images), security),
        ClusterCommand::Env => env(),
        ClusterCommand::Node { action, node } => node_action(action, node),
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
    (kind, images): (BackendKind, kbench::images::Choice),
    security: Option<SecurityArg>,
) -> Result<ExitCode> {
    if images != kbench::images::Choice::Auto && kind != BackendKind::Docker {
        bail!("--images chooses the docker backend's images; add --backend docker");
    }
    if security.is_some() && kind != BackendKind::Process {
        bail!(
            "--security secures the process backend's listeners; the docker backend runs plaintext"
        );
    }
    let security = security.map(|s| match s {
        SecurityArg::SaslSsl => LocalSecurity::SaslSsl,
        SecurityArg::Ssl => LocalSecurity::Ssl,
    });
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
        BackendKind::Process => Box::new(
            ProcessBackend::create(workdir.clone(), Topology::default())?.secured(security),
        ),
        BackendKind::Docker => Box::new(docker()?.with_images(images)),
        BackendKind::External => {
            bail!("kbench starts no external cluster: it only runs against one")
        }
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

fn status(json: bool, kind: BackendKind) -> Result<ExitCode> {
    if kind == BackendKind::Docker {
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
        return Ok(ExitCode::from(super::exit::FAILURE));
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

fn down(kind: BackendKind) -> Result<ExitCode> {
    if kind == BackendKind::Docker {
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

/// The running local cluster, attached through its state file.
fn attached() -> Result<ProcessBackend> {
    let runs = paths::runs_dir()?;
    match cleanup::live_state(&runs) {
        Some(path) => ProcessBackend::attach(&path),
        None => bail!(
            "no cluster started by kbench is running (looked in {}); start one with `kbench cluster up --detach`",
            runs.display()
        ),
    }
}

/// Single-quote `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn env() -> Result<ExitCode> {
    let b = attached()?;
    let path = |p: &std::path::Path| sh_quote(&p.display().to_string());
    println!(
        "export KBENCH_BOOTSTRAP={}",
        sh_quote(&b.endpoints().brokers.bootstrap)
    );
    println!(
        "export KBENCH_REGISTRY={}",
        sh_quote(&b.endpoints().registry.url)
    );
    let Some(c) = b.state().security.as_ref().map(|s| s.connection()) else {
        return Ok(ExitCode::SUCCESS);
    };
    println!("export KBENCH_SECURITY_PROTOCOL={}", c.protocol);
    println!("export KBENCH_CA_FILE={}", path(&c.ca_file));
    if let (Some(cert), Some(key)) = (&c.cert_file, &c.key_file) {
        println!("export KBENCH_CERT_FILE={}", path(cert));
        println!("export KBENCH_KEY_FILE={}", path(key));
    }
    if let (Some(m), Some(u), Some(p)) = (&c.sasl_mechanism, &c.username, &c.password_file) {
        println!("export KBENCH_SASL_MECHANISM={m}");
        println!("export KBENCH_SASL_USERNAME={}", sh_quote(u));
        println!("export KBENCH_SASL_PASSWORD=\"$(cat {})\"", path(p));
    }
    if let (Some(u), Some(p)) = (&c.registry_username, &c.password_file) {
        println!("export KBENCH_REGISTRY_USERNAME={}", sh_quote(u));
        println!("export KBENCH_REGISTRY_PASSWORD=\"$(cat {})\"", path(p));
    }
    Ok(ExitCode::SUCCESS)
}

fn node_action(action: NodeAction, node: NodeArg) -> Result<ExitCode> {
    let mut b = attached()?;
    let member = match node {
        NodeArg::Broker(id) => Member::Broker(id),
        NodeArg::Registry => Member::Registry,
    };
    action.carry_out(&mut b, member)?;
    let pid = match member {
        Member::Broker(id) => b.state().node(id).and_then(|n| n.process),
        Member::Registry => b.state().registry.process,
    };
    match pid {
        Some(p) => println!("{member} {} (pid {})", action.done(), p.pid),
        None => println!("{member} {}", action.done()),
    }
    Ok(ExitCode::SUCCESS)
}
