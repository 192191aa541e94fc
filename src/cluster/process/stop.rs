//! Stopping the process backend's JVMs: one process as a fault does (graceful, kill, pause, and
//! continuing a paused one), all of a state's processes at teardown (registry front and
//! registry first, then every node at once, node 1 given the time to write its class-data
//! archive), and waiting for a process to reach a state.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use anyhow::Context;

use super::{ARCHIVE_GRACE, GRACEFUL_TIMEOUT, TEARDOWN_GRACE};
use crate::cluster::proc_ctl::{ProcRef, ProcState};
use crate::cluster::state::{ClusterState, NodeRecord};
use crate::cluster::StopMode;
use crate::names::BrokerId;

/// Stop every process of a state: the registry first (it is a client of the brokers), then all
/// nodes at once. Returns the pids that are still alive afterwards.
pub fn stop_all(state: &ClusterState) -> Vec<i32> {
    for p in [state.registry.front, state.registry.process]
        .into_iter()
        .flatten()
    {
        p.terminate(TEARDOWN_GRACE);
    }
    let nodes: Vec<(&NodeRecord, ProcRef)> = state
        .nodes
        .iter()
        .filter_map(|n| Some((n, n.process?)))
        .collect();
    for (_, p) in &nodes {
        p.signal(libc::SIGCONT);
        p.signal(libc::SIGTERM);
    }
    let deadline = Instant::now() + TEARDOWN_GRACE;
    for (n, p) in &nodes {
        match &n.archive_at_exit {
            Some(archive) => await_archive(n.id, *p, archive),
            None => {
                p.wait_gone(deadline.saturating_duration_since(Instant::now()));
            }
        }
    }
    for (_, p) in &nodes {
        p.terminate(Duration::ZERO);
    }
    state
        .processes()
        .into_iter()
        .filter(ProcRef::alive)
        .map(|p| p.pid)
        .collect()
}

/// Wait for a node that writes the class-data archive at exit to finish writing it: on a slow
/// machine that takes longer than any other node's exit, and a node killed while it writes
/// leaves no archive for the next start. A write cut short by the bound is removed, so no later
/// start maps a partial archive.
fn await_archive(id: BrokerId, p: ProcRef, archive: &Path) {
    if p.wait_gone(TEARDOWN_GRACE) {
        return;
    }
    eprintln!(
        "kbench: waiting for node {id} to finish writing its class-data archive \
         (first start of this Kafka version; at most {}s)",
        ARCHIVE_GRACE.as_secs()
    );
    if p.wait_gone(ARCHIVE_GRACE) {
        return;
    }
    p.terminate(Duration::ZERO);
    let _ = std::fs::remove_file(archive);
    eprintln!(
        "kbench: node {id} had not written its archive after {}s and was killed; the partial \
         archive was removed and the next start records it again",
        ARCHIVE_GRACE.as_secs()
    );
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
