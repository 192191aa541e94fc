//! How the process backend is seen while it starts (the `ready` module's questions): are its
//! JVMs alive, who leads the quorum, which brokers registered, does the registry answer, and
//! which log to show when one does not come up.

use std::time::Duration;

use anyhow::Result;

use super::ProcessBackend;
use crate::cluster::proc_ctl;
use crate::cluster::ready::{Stage, Starting};
use crate::cluster::{probe, ClusterBackend};
use crate::names::BrokerId;

impl Starting for ProcessBackend {
    fn check_alive(&self, _stage: Stage) -> Result<()> {
        ProcessBackend::check_alive(self)
    }

    fn quorum_leader(&self) -> Option<BrokerId> {
        ProcessBackend::quorum_leader(self)
    }

    fn registered(&self) -> Vec<BrokerId> {
        probe::registered_brokers(&self.endpoints().brokers, Duration::from_secs(1))
            .unwrap_or_default()
    }

    fn registry_answers(&self) -> bool {
        self.endpoints().registry.answers(Duration::from_secs(2))
    }

    fn log_tail(&self, stage: Stage, registered: &[BrokerId]) -> String {
        if stage == Stage::Registry {
            let log = &self.state.registry.log;
            return format!(
                "last lines of {}:\n{}",
                log.display(),
                proc_ctl::tail(log, 30)
            );
        }
        let missing = self
            .state
            .nodes
            .iter()
            .find(|n| !registered.contains(&n.id));
        missing.map_or(String::new(), |n| {
            format!(
                "\nlast lines of node {} ({}):\n{}",
                n.id,
                n.log.display(),
                proc_ctl::tail(&n.log, 30)
            )
        })
    }
}
