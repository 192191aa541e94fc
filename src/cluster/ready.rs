//! Waiting for a starting cluster, the same way for every backend that starts one: poll until
//! every broker is registered and the quorum has a leader, then until the registry answers —
//! checking on each round that nothing died, giving up at the deadline with the failing part's
//! last log lines, and leaving at once on Ctrl-C.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::names::BrokerId;
use crate::signals;

/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(100);

/// Which part of start-up is being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The brokers, before the registry was started.
    Brokers,
    /// The registry, after the brokers.
    Registry,
}

/// What a starting backend tells the wait about itself.
pub(crate) trait Starting {
    /// An error when a process (or container) that should be running has exited.
    fn check_alive(&self, stage: Stage) -> Result<()>;
    /// The active controller, once the quorum has one.
    fn quorum_leader(&self) -> Option<BrokerId>;
    /// Broker ids the cluster metadata lists now (empty when no broker answers).
    fn registered(&self) -> Vec<BrokerId>;
    /// Whether the registry answers `GET /subjects`.
    fn registry_answers(&self) -> bool;
    /// What to show when `stage` timed out: the last lines of the log of the first node not in
    /// `registered` (for brokers) or of the registry.
    fn log_tail(&self, stage: Stage, registered: &[BrokerId]) -> String;
}

/// Until every node of `want` is registered and the quorum has a leader.
pub(crate) fn wait_brokers(b: &dyn Starting, want: &[BrokerId], deadline: Instant) -> Result<()> {
    loop {
        signals::check()?;
        b.check_alive(Stage::Brokers)?;
        let have = b.registered();
        let leader = b.quorum_leader();
        if want.iter().all(|id| have.contains(id)) && leader.is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the cluster was not ready in time: brokers registered {have:?} of {want:?}, \
                 quorum leader {leader:?}{}",
                b.log_tail(Stage::Brokers, &have)
            );
        }
        signals::sleep(POLL)?;
    }
}

/// Until the registry at `url` answers.
pub(crate) fn wait_registry(b: &dyn Starting, url: &str, deadline: Instant) -> Result<()> {
    loop {
        signals::check()?;
        b.check_alive(Stage::Registry)?;
        if b.registry_answers() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the schema registry did not answer GET {url}/subjects in time; {}",
                b.log_tail(Stage::Registry, &[])
            );
        }
        signals::sleep(POLL)?;
    }
}
