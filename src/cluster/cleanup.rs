//! `kbench cluster down` and `status` without the process that started the cluster: find the
//! state files under the runs directory, and, as a last resort, JVMs whose command line names a
//! work directory there (a crash between spawning a JVM and writing the state file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::proc_ctl::ProcRef;
use super::process::ProcessBackend;
use super::state::{self, ClusterState};
use super::ClusterBackend;

/// The newest state file whose cluster still has a live process.
pub fn live_state(runs_dir: &Path) -> Option<PathBuf> {
    state::find_all(runs_dir)
        .into_iter()
        .find(|p| ClusterState::load(p).is_ok_and(|s| s.any_alive()))
}

/// What `down` did.
#[derive(Debug, Default)]
pub struct DownReport {
    /// State files of the clusters that were torn down.
    pub clusters: Vec<PathBuf>,
    /// Pids of the stray kbench JVMs that were terminated.
    pub strays: Vec<i32>,
}

/// Tear down every cluster recorded under `runs_dir`, then any stray JVM started for one.
pub fn down_all(runs_dir: &Path) -> Result<DownReport> {
    let mut report = DownReport::default();
    let mut errors = Vec::new();
    for path in state::find_all(runs_dir) {
        match ProcessBackend::attach(&path) {
            Ok(mut b) => {
                if let Err(e) = b.teardown() {
                    errors.push(format!("{}: {e:#}", path.display()));
                }
                report.clusters.push(path);
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for p in strays(runs_dir) {
        p.terminate(Duration::from_secs(5));
        report.strays.push(p.pid);
    }
    if errors.is_empty() {
        Ok(report)
    } else {
        anyhow::bail!("some clusters could not be stopped:\n{}", errors.join("\n"))
    }
}

/// Processes whose command line carries `-Dkbench.workdir=<a directory under runs_dir>`.
pub fn strays(runs_dir: &Path) -> Vec<ProcRef> {
    let Ok(runs) = runs_dir.canonicalize() else {
        return Vec::new();
    };
    let marker = format!("-Dkbench.workdir={}/", runs.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
                raw.split(|b| *b == 0)
                    .any(|arg| arg.starts_with(marker.as_bytes()))
            })
        })
        .filter_map(ProcRef::of)
        .collect()
}
