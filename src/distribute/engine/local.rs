//! The simplest engine: every shard a `kbench run --shard` process on this machine, started
//! from the running binary. It proves the distribution end to end without an orchestrator, and
//! is what a user gets on one big machine with more cores than one kbench process can use.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::report::shard::Shard;
use crate::run::remote::{run_dir_in, ShardEnd, ShardEngine, ShardJob};

/// How long shards told to stop get to write what they measured before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// One shard process.
struct Running {
    shard: Shard,
    child: Child,
    log: PathBuf,
    reports: PathBuf,
    exit: Option<std::process::ExitStatus>,
}

/// Shards as local processes.
#[derive(Default)]
pub struct Local {
    running: Vec<Running>,
    stopped_at: Option<Instant>,
}

impl Local {
    fn start(job: &ShardJob, index: u32) -> Result<Running> {
        let reports = job.reports_of(index);
        std::fs::create_dir_all(&reports)
            .with_context(|| format!("cannot create {}", reports.display()))?;
        let log = reports.join("shard.log");
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let exe = std::env::current_exe().context("cannot find the running kbench binary")?;
        let child = Command::new(exe)
            .args(job.args(index))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            // Its own process group: a Ctrl-C at the terminal reaches the coordinator, which
            // stops the shards itself (as it must on engines where no terminal reaches them).
            .process_group(0)
            .spawn()
            .context("cannot start a shard process")?;
        Ok(Running {
            shard: Shard {
                index,
                of: job.shards,
            },
            child,
            log,
            reports,
            exit: None,
        })
    }

    /// `signal` to every shard not yet reaped (so its pid is still its own).
    fn signal_all(&mut self, signal: i32) {
        for r in self.running.iter().filter(|r| r.exit.is_none()) {
            // SAFETY: kill(2) on our own child, not yet waited for; no memory is shared.
            unsafe { libc::kill(r.child.id() as i32, signal) };
        }
    }
}

impl ShardEngine for Local {
    fn name(&self) -> String {
        "local processes".into()
    }

    fn lead(&self) -> Duration {
        Duration::from_secs(10)
    }

    fn launch(&mut self, job: &ShardJob) -> Result<()> {
        for index in 0..job.shards {
            let r = Local::start(job, index)?;
            self.running.push(r);
        }
        Ok(())
    }

    fn poll(&mut self) -> Result<Option<Vec<ShardEnd>>> {
        for r in self.running.iter_mut().filter(|r| r.exit.is_none()) {
            r.exit = r
                .child
                .try_wait()
                .context("cannot wait for a shard process")?;
        }
        if self.stopped_at.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            self.signal_all(libc::SIGKILL);
        }
        if self.running.iter().any(|r| r.exit.is_none()) {
            return Ok(None);
        }
        Ok(Some(self.running.iter().map(end_of).collect()))
    }

    fn stop(&mut self) {
        self.stopped_at.get_or_insert_with(Instant::now);
        self.signal_all(libc::SIGTERM);
    }

    fn remove(&mut self) {
        self.signal_all(libc::SIGKILL);
        for r in &mut self.running {
            let _ = r.child.wait();
        }
    }
}

/// How a shard process ended: its run directory, and its exit if that was not a success.
fn end_of(r: &Running) -> ShardEnd {
    let exit = r.exit.map(|e| e.code());
    let problem = match exit {
        Some(Some(0)) => None,
        Some(Some(code)) => Some(format!(
            "exited with code {code} (its output: {})",
            r.log.display()
        )),
        _ => Some(format!(
            "was killed by a signal (its output: {})",
            r.log.display()
        )),
    };
    ShardEnd {
        shard: r.shard,
        dir: run_dir_in(&r.reports),
        problem,
    }
}
