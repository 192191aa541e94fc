//! Shards as Docker Swarm jobs on the engine this machine reaches: one one-shot job per shard
//! from kbench's own image, on the host's network, the scenario's directories bound read-only
//! and the shards' output directory read-write at their host paths, so each shard's run
//! directory lands where the coordinator merges it. A job that fails is never restarted; one
//! that outlives its time is stopped; every job is removed at the end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cluster::docker::swarm::{JobSpec, JobState, Swarm as Engine, SHARDS_LABEL};
use crate::report::shard::Shard;
use crate::run::remote::{run_dir_in, ShardEnd, ShardEngine, ShardJob};

/// SIGTERM to SIGKILL: time for a stopped shard to write what it measured.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// One shard's job.
struct Job {
    shard: Shard,
    name: String,
    reports: PathBuf,
    ended: Option<JobState>,
}

/// Shards as swarm jobs.
pub struct Swarm {
    engine: Engine,
    image: String,
    jobs: Vec<Job>,
    /// When the shards must have ended: the load, its drain and a margin past the barrier.
    deadline: Option<Instant>,
    limit: Duration,
}

impl Swarm {
    /// The engine, checked to be a swarm manager with kbench's image; `limit` is how long a
    /// shard may run past its launch before it is stopped.
    pub fn connect(limit: Duration) -> Result<Swarm> {
        let engine = Engine::connect()?;
        let image = engine.kbench_image()?.reference;
        Ok(Swarm {
            engine,
            image,
            jobs: Vec::new(),
            deadline: None,
            limit,
        })
    }

    fn spec(&self, job: &ShardJob, index: u32, name: &str) -> Result<JobSpec> {
        let cwd = real(&std::env::current_dir().context("cannot read the working directory")?)?;
        let out = real(&job.out)?;
        let mut binds: Vec<(String, bool)> = read_only_dirs(&cwd, &job.scenario)?
            .into_iter()
            .map(|d| (d.display().to_string(), true))
            .collect();
        binds.push((out.display().to_string(), false));
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let user = unsafe { format!("{}:{}", libc::getuid(), libc::getgid()) };
        Ok(JobSpec {
            name: name.to_string(),
            image: self.image.clone(),
            args: job.args(index),
            workdir: cwd.display().to_string(),
            user,
            binds,
            labels: HashMap::from([(SHARDS_LABEL.to_string(), out.display().to_string())]),
            stop_grace: STOP_GRACE,
        })
    }
}

/// `p` made absolute against the working directory.
fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(p))
}

/// `p` with every symbolic link resolved: a bind mounts what a link points to, and a link in a
/// bound directory leads, inside the container, only to a path that is bound too.
fn real(p: &Path) -> Result<PathBuf> {
    let p = absolute(p)?;
    p.canonicalize()
        .with_context(|| format!("cannot resolve {}", p.display()))
}

/// The directories a shard reads, at their real paths: the working directory (relative paths
/// resolve there) and the scenario's own, when it lies elsewhere. A schema beside it or below
/// either is covered.
fn read_only_dirs(cwd: &Path, scenario: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![cwd.to_path_buf()];
    let scenario_dir = real(scenario)?.parent().map(Path::to_path_buf);
    if let Some(d) = scenario_dir.filter(|d| !d.starts_with(cwd)) {
        dirs.push(d);
    }
    Ok(dirs)
}

impl ShardEngine for Swarm {
    fn name(&self) -> String {
        format!("Docker Swarm ({})", self.image)
    }

    fn lead(&self) -> Duration {
        Duration::from_secs(20)
    }

    fn launch(&mut self, job: &ShardJob) -> Result<()> {
        let tag = std::process::id();
        for index in 0..job.shards {
            let name = format!("kbench-shard-{tag}-{index}");
            let reports = job.reports_of(index);
            std::fs::create_dir_all(&reports)
                .with_context(|| format!("cannot create {}", reports.display()))?;
            self.engine.create(&self.spec(job, index, &name)?)?;
            let shard = Shard {
                index,
                of: job.shards,
            };
            self.jobs.push(Job {
                shard,
                name,
                reports,
                ended: None,
            });
        }
        self.deadline = Some(Instant::now() + self.limit);
        Ok(())
    }

    fn poll(&mut self) -> Result<Option<Vec<ShardEnd>>> {
        for job in self.jobs.iter_mut().filter(|j| j.ended.is_none()) {
            let state = self.engine.state(&job.name)?;
            if matches!(state, JobState::Ended { .. }) {
                job.ended = Some(state);
            }
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            self.stop();
            for job in self.jobs.iter_mut().filter(|j| j.ended.is_none()) {
                let how = format!(
                    "still running {} s after its launch: stopped",
                    self.limit.as_secs()
                );
                job.ended = Some(JobState::Ended { exit: None, how });
            }
        }
        if self.jobs.iter().any(|j| j.ended.is_none()) {
            return Ok(None);
        }
        Ok(Some(self.jobs.iter().map(end_of).collect()))
    }

    fn stop(&mut self) {
        for job in self.jobs.iter().filter(|j| j.ended.is_none()) {
            let _ = self.engine.stop(&job.name, STOP_GRACE);
        }
    }

    fn remove(&mut self) {
        for job in &self.jobs {
            let _ = self.engine.remove(&job.name);
        }
    }
}

/// How a job ended: its run directory, and its exit if that was not a success.
fn end_of(job: &Job) -> ShardEnd {
    let problem = match &job.ended {
        Some(JobState::Ended { exit: Some(0), .. }) => None,
        Some(JobState::Ended { exit, how }) => Some(match exit {
            Some(code) => format!("its container exited with code {code} ({how})"),
            None => format!("its job ended without a container exit code ({how})"),
        }),
        _ => Some("never ended".into()),
    };
    ShardEnd {
        shard: job.shard,
        dir: run_dir_in(&job.reports),
        problem,
    }
}
