//! Stopping the process backend's JVMs: one process as a fault does (graceful, kill, pause, and
//! continuing a paused one), all of a state's processes at teardown (registry front and
//! registry first, then every node at once), and waiting for a process to reach a state.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use anyhow::Context;

use super::{GRACEFUL_TIMEOUT, TEARDOWN_GRACE};
use crate::cluster::proc_ctl::{ProcRef, ProcState};
use crate::cluster::state::ClusterState;
use crate::cluster::StopMode;

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

/// Take `p` down as `mode` says: SIGTERM and wait (killed, and an error, if it hangs), SIGKILL,
/// or SIGSTOP. `who` names the process in errors, e.g. "node 2".
pub(super) fn take_down(p: ProcRef, who: &str, mode: StopMode) -> Result<()> {
    match mode {
        StopMode::Graceful => {
            p.signal(libc::SIGCONT);
            p.signal(libc::SIGTERM);
            if !p.wait_gone(GRACEFUL_TIMEOUT) {
                p.signal(libc::SIGKILL);
                p.wait_gone(Duration::from_secs(10));
                bail!(
                    "{who} did not finish its controlled shutdown within {}s and was killed",
                    GRACEFUL_TIMEOUT.as_secs()
                );
            }
        }
        StopMode::Kill => {
            p.signal(libc::SIGKILL);
            if !p.wait_gone(Duration::from_secs(10)) {
                bail!("{who} (pid {}) survived SIGKILL", p.pid);
            }
        }
        StopMode::Pause => {
            p.signal(libc::SIGSTOP);
            wait_for(|| p.state() == ProcState::Paused, Duration::from_secs(5))
                .with_context(|| format!("{who} did not stop on SIGSTOP"))?;
        }
    }
    Ok(())
}

/// SIGCONT a paused process and wait until it runs.
pub(super) fn continue_paused(p: ProcRef, who: &str) -> Result<()> {
    p.signal(libc::SIGCONT);
    wait_for(|| p.state() == ProcState::Running, Duration::from_secs(5))
        .with_context(|| format!("{who} did not continue on SIGCONT"))
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
