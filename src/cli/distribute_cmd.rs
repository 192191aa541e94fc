//! `kbench distribute`: one scenario's load spread over shards an engine runs, coordinated
//! from here (cluster, reading, faults, audit), then merged into one run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use kbench::distribute::engine::{k8s, EngineKind, EngineOptions};
use kbench::run::remote::{Remote, ShardJob};
use kbench::run::RunOptions;
use kbench::scenario::{ClusterSpec, Scenario};

use super::exit::UsageError;

/// `kbench distribute`'s choices beyond the scenario.
pub struct Distribute {
    pub reports: PathBuf,
    pub engine: EngineKind,
    pub workers: u32,
    /// kbench's image as the engine's nodes pull it (k8s).
    pub image: Option<String>,
    /// Print the engine's manifests and stop (k8s).
    pub dry_run: bool,
}

pub fn distribute(file: &Path, d: Distribute) -> Result<ExitCode> {
    let sc = super::run_cmd::load(file)?;
    refuse_what_cannot_be_split(file, &sc, &d)?;
    let options = EngineOptions {
        // A shard runs from its launch through the lead, warm-up and measured time, then waits
        // for its deliveries; past that with a margin it is stopped.
        limit: sc.total_duration() + Duration::from_secs(300),
        image: (d.image.clone())
            .unwrap_or_else(|| format!("kbench/kbench:{}", env!("CARGO_PKG_VERSION"))),
        files: match d.engine {
            EngineKind::K8s => {
                k8s::scenario_files(&sc).map_err(|e| UsageError(format!("{e:#}")))?
            }
            _ => Vec::new(),
        },
    };
    if d.dry_run {
        return print_manifests(file, &sc, &d, options);
    }
    let engine = d.engine.engine(&options)?;
    let out = kbench::run::report_dir(&d.reports, &format!("{}-shards", sc.name))?;
    let remote = Remote::new(engine, d.workers, file.to_path_buf(), out.clone());
    let opts = RunOptions {
        reports_dir: d.reports.clone(),
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
    super::run_cmd::merge(&dirs, &d.reports)
}

/// `--dry-run`: the Kubernetes manifests for a load starting a minute from now.
fn print_manifests(
    file: &Path,
    sc: &Scenario,
    d: &Distribute,
    o: EngineOptions,
) -> Result<ExitCode> {
    let ClusterSpec::External {
        bootstrap,
        registry_url,
        ..
    } = &sc.cluster
    else {
        unreachable!("refused before");
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let job = ShardJob {
        scenario: file.to_path_buf(),
        shards: d.workers,
        barrier_wall_ms: now_ms + 60_000,
        origin_wall_ms: now_ms + 60_000 - 61_000,
        bootstrap: bootstrap.clone(),
        registry_url: registry_url.clone(),
        out: PathBuf::from("."),
    };
    print!(
        "{}",
        k8s::K8s::manifest(o.image, o.files, o.limit, job).yaml()?
    );
    Ok(ExitCode::SUCCESS)
}

/// A sweep or a search is many runs, not one load to split; pods cannot reach a cluster on
/// this machine's loopback; only Kubernetes has manifests to print.
fn refuse_what_cannot_be_split(file: &Path, sc: &Scenario, d: &Distribute) -> Result<()> {
    let usage =
        |m: &str| -> Result<()> { Err(UsageError(format!("{}: {m}", file.display())).into()) };
    if d.workers == 0 {
        return usage("--workers must be at least 1");
    }
    if sc.sweep.is_some() || sc.search.is_some() {
        return usage("a sweep or capacity search is many runs; distribute one run's scenario");
    }
    let external = matches!(sc.cluster, ClusterSpec::External { .. });
    if d.engine == EngineKind::K8s && !external {
        return usage(
            "--engine k8s runs the shards in pods, which cannot reach a cluster kbench starts on \
             this machine's loopback: use a scenario with an external [cluster] the pods reach",
        );
    }
    if d.dry_run && d.engine != EngineKind::K8s {
        return usage("--dry-run prints the Kubernetes manifests: it goes with --engine k8s");
    }
    Ok(())
}
