//! Stopping the process backend's JVMs: all of a state's processes at teardown (registry front
//! and registry first, then every node at once), and waiting for a process to reach a state.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::TEARDOWN_GRACE;
use crate::cluster::proc_ctl::ProcRef;
use crate::cluster::state::ClusterState;

/// Stop every process of a state: the registry first (it is a client of the brokers), then all
/// nodes at once. Returns the pids that are still alive afterwards.
pub fn stop_all(state: &ClusterState) -> Vec<i32> {
    if let Some(p) = state.registry.front {
        p.terminate(TEARDOWN_GRACE);
    }
    if let Some(p) = state.registry.process {
        p.terminate(TEARDOWN_GRACE);
    }
    let nodes: Vec<ProcRef> = state.nodes.iter().filter_map(|n| n.process).collect();
    for p in &nodes {
        p.signal(libc::SIGCONT);
        p.signal(libc::SIGTERM);
    }
    let deadline = Instant::now() + TEARDOWN_GRACE;
    for p in &nodes {
        p.wait_gone(deadline.saturating_duration_since(Instant::now()));
    }
    for p in &nodes {
        p.terminate(Duration::ZERO);
    }
    state
        .processes()
        .into_iter()
        .filter(ProcRef::alive)
        .map(|p| p.pid)
        .collect()
}

pub(super) fn wait_for(cond: impl Fn() -> bool, timeout: Duration) -> Result<()> {
    let end = Instant::now() + timeout;
    while !cond() {
        if Instant::now() >= end {
            bail!("timed out after {}s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
