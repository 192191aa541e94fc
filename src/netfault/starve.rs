//! CPU starvation: the node's JVM moved into a cgroup of its own with a CFS quota (a fraction
//! of one CPU per 100 ms period), and moved back to the cgroup it came from when healed. Works
//! with the cgroup v1 `cpu` hierarchy and with cgroup v2's `cpu.max`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The CFS period the quota is a fraction of.
const PERIOD_US: u64 = 100_000;
/// Mount point of the cgroup v1 `cpu` controller.
const V1_CPU: &str = "/sys/fs/cgroup/cpu";
/// Mount point of the cgroup v2 unified hierarchy.
const V2_ROOT: &str = "/sys/fs/cgroup";

/// A quota in force: the cgroup made for it and where the process was before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// The cgroup kbench made (removed when healed).
    pub path: PathBuf,
    /// The cgroup the process is moved back to.
    pub origin: PathBuf,
    /// The process.
    pub pid: i32,
}

/// Which cgroup hierarchy carries the CPU controller here; `None` if neither does.
fn hierarchy() -> Option<(bool, PathBuf)> {
    if Path::new(V1_CPU).join("cpu.cfs_quota_us").exists() {
        return Some((true, PathBuf::from(V1_CPU)));
    }
    let ctl = std::fs::read_to_string(Path::new(V2_ROOT).join("cgroup.controllers")).ok()?;
    ctl.split_whitespace()
        .any(|c| c == "cpu")
        .then(|| (false, PathBuf::from(V2_ROOT)))
}

/// Whether CPU quotas can be set on this machine.
pub fn available() -> bool {
    hierarchy().is_some()
}

/// The cgroup `pid` is in now, in the CPU hierarchy.
fn current_cgroup(root: &Path, v1: bool, pid: i32) -> Result<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .with_context(|| format!("process {pid} is gone"))?;
    let rel = text
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
            let ours = if v1 {
                ctl.split(',').any(|c| c == "cpu")
            } else {
                ctl.is_empty()
            };
            ours.then(|| path.trim_start_matches('/').to_string())
        })
        .next()
        .unwrap_or_default();
    Ok(root.join(rel))
}

/// The cgroups in the CPU hierarchy's root whose names start with `prefix`: what a killed
/// kbench left of its quotas.
pub fn named(prefix: &str) -> Vec<PathBuf> {
    let Some((_, root)) = hierarchy() else {
        return Vec::new();
    };
    let entries = std::fs::read_dir(&root).into_iter().flatten().flatten();
    (entries.map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| (p.file_name()).is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .collect()
}

/// Where process `pid` will be limited (a new cgroup named `name`) and where it is now.
pub fn plan(pid: i32, name: &str) -> Result<Quota> {
    let Some((v1, root)) = hierarchy() else {
        bail!("this machine has no cgroup CPU controller (neither {V1_CPU} nor cgroup v2's cpu)");
    };
    let origin = current_cgroup(&root, v1, pid)?;
    Ok(Quota {
        path: root.join(name),
        origin,
        pid,
    })
}

/// Limit the planned process to `cpu` CPUs (e.g. 0.2).
pub fn apply(q: &Quota, cpu: f64) -> Result<()> {
    let path = &q.path;
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create cgroup {}", path.display()))?;
    let quota = ((cpu * PERIOD_US as f64) as u64).max(1000);
    if path.join("cpu.cfs_quota_us").exists() {
        write(&path.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
        write(&path.join("cpu.cfs_quota_us"), &quota.to_string())?;
    } else {
        write(&path.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
    }
    write(&path.join("cgroup.procs"), &q.pid.to_string())
}

/// How often the cgroup's quota held its processes back, from `cpu.stat`.
pub fn throttled_periods(q: &Quota) -> Option<u64> {
    let text = std::fs::read_to_string(q.path.join("cpu.stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("nr_throttled "))
        .and_then(|v| v.trim().parse().ok())
}

/// Move the process back where it was and remove the cgroup. A process that is gone needs no
/// moving; the cgroup is removed either way.
pub fn release(q: &Quota) -> Result<()> {
    if Path::new(&format!("/proc/{}", q.pid)).exists() {
        write(&q.origin.join("cgroup.procs"), &q.pid.to_string()).ok();
    }
    if q.path.exists() {
        // Threads can take a moment to leave; rmdir fails with EBUSY until they have.
        for _ in 0..50 {
            if std::fs::remove_dir(&q.path).is_ok() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        bail!(
            "cannot remove cgroup {}: it still has processes",
            q.path.display()
        );
    }
    Ok(())
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value)
        .with_context(|| format!("cannot write {value} to {}", path.display()))
}
