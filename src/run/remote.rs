//! The seam between a coordinating run and the engine that runs its shards (`kbench
//! distribute`): the run hands the engine the job — scenario, cluster, barrier, where the
//! shards write — and polls it until every shard has ended; the engine says where each shard's
//! run directory is, or why there is none. The run never knows which engine it is.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::report::shard::Shard;

/// What every shard of a distributed load is told.
#[derive(Debug, Clone)]
pub struct ShardJob {
    /// The scenario file, as the operator gave it.
    pub scenario: PathBuf,
    /// How many shards.
    pub shards: u32,
    /// When their load starts, wall clock ms since the Unix epoch.
    pub barrier_wall_ms: u64,
    /// The coordinator's clock origin, whole seconds before the barrier (wall clock ms).
    pub origin_wall_ms: u64,
    /// The coordinator's cluster.
    pub bootstrap: String,
    /// Its schema registry.
    pub registry_url: String,
    /// Where shard I writes its run directory: `out/shard-I/`.
    pub out: PathBuf,
}

impl ShardJob {
    /// The directory shard `index` is given as its `--reports`.
    pub fn reports_of(&self, index: u32) -> PathBuf {
        self.out.join(format!("shard-{index}"))
    }

    /// The arguments of `kbench` that run shard `index` (the scenario path as given).
    pub fn args(&self, index: u32) -> Vec<String> {
        let shard = Shard {
            index,
            of: self.shards,
        };
        let reports = self.reports_of(index).display().to_string();
        self.args_with(
            &self.scenario.display().to_string(),
            &shard.to_string(),
            &reports,
        )
    }

    /// The arguments of `kbench` that run a shard named `shard` (`I/N`, or a placeholder the
    /// engine fills in) from `scenario`, writing under `reports`.
    pub fn args_with(&self, scenario: &str, shard: &str, reports: &str) -> Vec<String> {
        [
            "run",
            scenario,
            "--shard",
            shard,
            "--start-at",
            &self.barrier_wall_ms.to_string(),
            "--origin-at",
            &self.origin_wall_ms.to_string(),
            "--bootstrap",
            &self.bootstrap,
            "--registry-url",
            &self.registry_url,
            "--reports",
            reports,
        ]
        .map(String::from)
        .to_vec()
    }
}

/// How one shard ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardEnd {
    /// Which shard.
    pub shard: Shard,
    /// Its run directory, when it wrote one.
    pub dir: Option<PathBuf>,
    /// Why it counts as failed (exit code, never started, timed out); `None` if it ended well.
    pub problem: Option<String>,
}

/// An engine that runs the shards of a distributed load.
pub trait ShardEngine {
    /// The engine's name, for messages.
    fn name(&self) -> String;
    /// How long before the barrier the shards must be launched to be ready in time on this
    /// engine.
    fn lead(&self) -> Duration;
    /// Launch every shard of `job`.
    fn launch(&mut self, job: &ShardJob) -> Result<()>;
    /// Every shard's end once all have ended; `None` while any still runs.
    fn poll(&mut self) -> Result<Option<Vec<ShardEnd>>>;
    /// Ask the shards still running to stop (they write what they measured).
    fn stop(&mut self);
    /// Remove whatever the engine made for the job; safe to call more than once.
    fn remove(&mut self);
}

/// The run directory a shard wrote under `reports` (the newest, should it have been given an
/// old one too).
pub fn run_dir_in(reports: &std::path::Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(reports).ok()?;
    (entries.filter_map(|e| e.ok()))
        .map(|e| e.path())
        .filter(|p| p.join("results.json").is_file())
        .max()
}

/// The coordinator's side of a distributed load: the engine, the job it was given, and how
/// its shards ended. Dropping it removes whatever the engine made, on every way out.
pub struct Remote {
    engine: Box<dyn ShardEngine>,
    /// How many shards, the scenario file they run, and where they write.
    pub shards: u32,
    scenario: PathBuf,
    out: PathBuf,
    job: Option<ShardJob>,
    ends: Option<Vec<ShardEnd>>,
    stopped: bool,
}

impl Remote {
    /// The engine that will run `shards` shards of `scenario`, writing under `out`.
    pub fn new(
        engine: Box<dyn ShardEngine>,
        shards: u32,
        scenario: PathBuf,
        out: PathBuf,
    ) -> Remote {
        Remote {
            engine,
            shards,
            scenario,
            out,
            job: None,
            ends: None,
            stopped: false,
        }
    }

    /// How far ahead of the barrier the shards must be launched.
    pub(super) fn lead(&self) -> Duration {
        self.engine.lead()
    }

    /// Launch the shards on the coordinator's cluster, their load starting at the barrier.
    pub(super) fn launch(
        &mut self,
        endpoints: &crate::cluster::Endpoints,
        (origin_wall_ms, barrier_wall_ms): (u64, u64),
    ) -> Result<ShardJob> {
        let job = ShardJob {
            scenario: self.scenario.clone(),
            shards: self.shards,
            barrier_wall_ms,
            origin_wall_ms,
            bootstrap: endpoints.brokers.bootstrap.clone(),
            registry_url: endpoints.registry.url.clone(),
            out: self.out.clone(),
        };
        self.job = Some(job.clone());
        self.engine.launch(&job)?;
        Ok(job)
    }

    /// Whether any shard still runs; an engine that cannot say is an error.
    pub(super) fn running(&mut self) -> Result<bool> {
        if self.job.is_none() || self.ends.is_some() {
            return Ok(false);
        }
        self.ends = self.engine.poll()?;
        Ok(self.ends.is_none())
    }

    /// Ask the shards to stop, once.
    pub(super) fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.engine.stop();
        }
    }

    /// How each shard ended (empty before they all have).
    pub fn ends(&self) -> &[ShardEnd] {
        self.ends.as_deref().unwrap_or_default()
    }

    /// The engine's name.
    pub fn engine_name(&self) -> String {
        self.engine.name()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.engine.remove();
    }
}

/// What the shards that ended leave the coordinator: their producers; their acknowledged and
/// failed records, joined into the run's ledger (so the drain waits for them to be read); and
/// their ack timelines, moved onto the coordinator's clock (its barrier is `barrier_s` on it)
/// and joined into the run's. A shard whose files cannot be read is said and left out: the
/// merge names it again.
pub(super) fn take_in(
    ends: &[ShardEnd],
    ledger: &std::sync::Mutex<crate::audit::ledger::Ledger>,
    acks: &std::sync::Mutex<crate::faults::observe::AckTimeline>,
    barrier_s: u64,
    note: &dyn Fn(&str),
) -> Vec<crate::report::results::ProducerInfo> {
    let mut producers = Vec::new();
    let mut timelines = Vec::new();
    for end in ends {
        let Some(dir) = &end.dir else { continue };
        match read_shard(dir, barrier_s) {
            Ok((r, shard_ledger, timeline)) => {
                producers.extend(r.producers);
                ledger
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge(shard_ledger);
                timelines.push(timeline);
            }
            Err(e) => note(&format!("shard {}: {e:#}", end.shard)),
        }
    }
    let joined = crate::faults::observe::AckTimeline::joined(timelines);
    *acks.lock().unwrap_or_else(|e| e.into_inner()) = joined;
    producers
}

type ShardFiles = (
    crate::report::results::Results,
    crate::audit::ledger::Ledger,
    crate::faults::observe::AckTimeline,
);

/// A shard's results, ledger and ack timeline, the timeline moved onto the coordinator's clock.
fn read_shard(dir: &std::path::Path, barrier_s: u64) -> Result<ShardFiles> {
    let r = crate::report::results::read(dir)?;
    let Some(info) = &r.shard else {
        anyhow::bail!("{} holds no shard's results", dir.display());
    };
    let shift_s = barrier_s as i64 - info.barrier_second(r.load_start_s) as i64;
    let ledger = crate::audit::ledger_file::read(dir)?;
    let timeline = crate::faults::observe::AckTimeline::read_file(dir)?;
    Ok((r, ledger, timeline.shifted(shift_s * 1_000_000)))
}
