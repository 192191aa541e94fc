//! The registry's JVM in the process backend: starting it (behind its HTTPS front on a secured
//! cluster), and the registry faults — stop, kill, pause, resume, restart — on that one
//! process. The front stays up through a registry fault, as a load balancer would: clients see
//! the registry's absence, not the front's.

use anyhow::{Context, Result};

use super::stop::{continue_paused, take_down};
use super::{jvm_cmd, proc_ctl, secure, ProcessBackend};
use crate::cluster::proc_ctl::ProcRef;
use crate::cluster::{RegistryFault, StopMode};

/// How the registry is named in errors.
const WHO: &str = "the schema registry";

impl ProcessBackend {
    /// Start the registry's JVM, and its front on a secured cluster unless one runs already.
    pub(super) fn spawn_registry(&mut self) -> Result<()> {
        let dist = self.dist()?;
        if let Some(rec) = &self.state.security {
            let dir = self.state.workdir.join("registry").join("config");
            std::fs::create_dir_all(&dir)?;
            let props = rec.registry_properties(self.password.as_ref());
            secure::private_write(&dir.join("application.properties"), &props)?;
        }
        let cmd = jvm_cmd::registry(&dist, &self.state.workdir, &self.topo);
        let p = proc_ctl::spawn_logged(cmd, &self.state.registry.log)?;
        self.state.registry.process = Some(p);
        self.state.save()?;
        let front_runs = self.state.registry.front.is_some_and(|f| f.alive());
        if let (Some(rec), Some(pw), false) = (&self.state.security, &self.password, front_runs) {
            let dir = self.state.workdir.join("registry").join("front");
            let front =
                crate::cluster::registry_proxy::start(&dir, rec, pw, self.topo.registry_port)?;
            self.state.registry.front = Some(front);
            self.state.save()?;
        }
        Ok(())
    }

    /// The registry's process, if it runs (paused counts as running).
    fn registry_proc(&self) -> Result<ProcRef> {
        self.state
            .registry
            .process
            .filter(ProcRef::alive)
            .with_context(|| format!("{WHO} is not running"))
    }

    /// Carry out one registry fault on the registry's JVM.
    pub(super) fn fault_registry(&mut self, fault: RegistryFault) -> Result<()> {
        match fault {
            RegistryFault::Stop(mode) => take_down(self.registry_proc()?, WHO, mode),
            RegistryFault::Resume => continue_paused(self.registry_proc()?, WHO),
            RegistryFault::Restart => {
                if let Ok(p) = self.registry_proc() {
                    take_down(p, WHO, StopMode::Graceful)?;
                }
                self.spawn_registry()
            }
        }
    }
}
