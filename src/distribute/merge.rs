//! `kbench merge`: the run directories of one distributed load — its shards', and its
//! coordinator's when it had one — joined into one run directory: histograms added on the
//! barrier's clock, counts and ledgers summed, one audit, one results.json and report with a
//! row per shard. The coordinator brings what only it measured (the reading, the faults, the
//! registry); the shards bring the producing. Pure file work: a shard that never reported is
//! named in the result, which is then incomplete, never a smaller total that looks whole.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::replay::{self, ShardRun};
use crate::audit::ledger::{Ledger, Verdict};
use crate::audit::ledger_file;
use crate::metrics::{Kind, PhaseSpan, PhaseSummary, SECOND_US};
use crate::names::Phase;
use crate::report::results::{self, Results};
use crate::report::shard::{Distribution, Shard, ShardInfo, ShardRow};
use crate::scenario::Scenario;

/// One run directory of the load, read.
struct Source {
    dir: PathBuf,
    results: Results,
    ledger: Ledger,
    role: Role,
}

enum Role {
    Shard(ShardInfo),
    /// The coordinator, with its engine's view of the shards.
    Coordinator(Distribution),
}

impl Source {
    /// The barrier's second on this run's own clock.
    fn barrier_second(&self) -> u64 {
        match &self.role {
            Role::Shard(info) => info.barrier_second(self.results.load_start_s),
            // The coordinator set the barrier on its own load start.
            Role::Coordinator(_) => self.results.load_start_s.round() as u64,
        }
    }

    fn shard(&self) -> Option<&ShardInfo> {
        match &self.role {
            Role::Shard(info) => Some(info),
            Role::Coordinator(_) => None,
        }
    }
}

/// A directory given, read or with why it could not be.
struct Read {
    dir: PathBuf,
    found: std::result::Result<Source, String>,
}

/// The sources that were read: at most one coordinator, and the shards.
struct Sources<'a> {
    coordinator: Option<&'a Source>,
    shards: Vec<&'a Source>,
    /// How many shards the load had, and its barrier (wall clock ms).
    of: u32,
    barrier_wall_ms: u64,
}

/// What the merge wrote.
pub struct Merged {
    /// The merged run directory.
    pub dir: PathBuf,
    /// Its results.json.
    pub results: Results,
}

/// Merges the run directories `dirs` (shards, and the coordinator if there was one) into a
/// new directory under `reports`.
pub fn merge(dirs: &[PathBuf], reports: &Path) -> Result<Merged> {
    let read: Vec<Read> = dirs.iter().map(|d| read_dir(d)).collect();
    let sources = sources(&read)?;
    let all: Vec<&Source> = sources
        .coordinator
        .iter()
        .copied()
        .chain(sources.shards.iter().copied())
        .collect();
    let clock = Clock::of(&sources, &all);
    let template = &clock.template.results;
    let sc = Scenario::parse(
        Path::new(&template.scenario.file),
        template.scenario.text.clone(),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "merge reads the load's scenario again, from the directory it was started in: {e}"
        )
    })?;
    let dir = crate::run::report_dir(reports, &format!("{}-merged", sc.name))?;
    let summary = replay::add_up(
        &dir,
        clock.origin_wall_ms,
        clock.phases(),
        &clock.runs(&all),
    )?;
    let ledger = joined_ledger(&sources)?;
    let distribution = distribution(&sources, &read);
    let from_coordinator = sources.coordinator.map(|c| c.results.clone());
    let c = from_coordinator.as_ref();
    let mut results = results::build(results::Inputs {
        scenario: &sc,
        environment: environment(&all),
        schema: template.schema.clone(),
        target_total: shard_target(&sources) * u64::from(sources.of),
        load_start_s: clock.load_start_s(),
        faults: c.map(|c| c.faults.clone()).unwrap_or_default(),
        registry: c.and_then(|c| c.registry.clone()),
        schemas: c.and_then(|c| c.schemas.clone()),
        cold_groups: c.map(|c| c.cold_groups.clone()).unwrap_or_default(),
        summary,
        verdict: audit(&ledger, &distribution),
        producers: all
            .iter()
            .flat_map(|s| s.results.producers.clone())
            .collect(),
        consumers: all
            .iter()
            .flat_map(|s| s.results.consumers.clone())
            .collect(),
        payload: template.payload.clone(),
        aborted: c.and_then(|c| c.aborted.clone()),
    });
    results.distribution = Some(distribution);
    results::write(&dir, &results)?;
    ledger_file::write(&dir, &ledger)?;
    crate::report::rebuild::build_report_from(&dir, &results).context("building the report")?;
    Ok(Merged { dir, results })
}

/// Records one shard's schedule asks for: the whole load is that many times the shard count.
fn shard_target(sources: &Sources<'_>) -> u64 {
    (sources.shards.first()).map_or(0, |s| s.results.rate.target_records)
}

/// The merged run's clock: its origin lies whole seconds before the barrier, which every run's
/// seconds are moved onto; the coordinator (else the earliest shard) gives the phases.
struct Clock<'a> {
    template: &'a Source,
    /// The barrier's second on the merged clock.
    barrier_s: u64,
    origin_wall_ms: u64,
}

impl<'a> Clock<'a> {
    fn of(sources: &Sources<'a>, all: &[&'a Source]) -> Clock<'a> {
        let offset = |s: &&Source| s.shard().map_or(0.0, |i| i.start_offset_ms);
        let earliest = (sources.shards.iter()).min_by(|a, b| offset(a).total_cmp(&offset(b)));
        let template = sources.coordinator.or(earliest.copied()).unwrap_or(all[0]);
        let barrier_s = all.iter().map(|s| s.barrier_second()).max().unwrap_or(1);
        Clock {
            template,
            barrier_s,
            origin_wall_ms: sources.barrier_wall_ms.saturating_sub(barrier_s * 1000),
        }
    }

    /// Whole seconds a run's clock is behind the merged one.
    fn shift(&self, s: &Source) -> u64 {
        self.barrier_s - s.barrier_second()
    }

    fn runs<'f>(&self, all: &[&'f Source]) -> Vec<ShardRun<'f>> {
        (all.iter())
            .map(|s| ShardRun {
                dir: &s.dir,
                results: &s.results,
                shift_s: self.shift(s),
            })
            .collect()
    }

    /// The template's phases on the merged clock.
    fn phases(&self) -> Vec<PhaseSpan> {
        let shift = self.shift(self.template) * SECOND_US;
        (self.template.results.phases.iter())
            .map(|p| PhaseSpan {
                name: p.name,
                from_us: p.from_us + shift,
                to_us: p.to_us + shift,
            })
            .collect()
    }

    fn load_start_s(&self) -> f64 {
        self.template.results.load_start_s + self.shift(self.template) as f64
    }
}

/// A run directory's results, role and ledger; anything missing makes it a run that did not
/// report.
fn read_dir(dir: &Path) -> Read {
    let found = (|| {
        let results = results::read(dir).map_err(|e| format!("{e:#}"))?;
        let role = match (&results.shard, &results.distribution) {
            (Some(info), _) => Role::Shard(info.clone()),
            (None, Some(d)) => Role::Coordinator(d.clone()),
            (None, None) => {
                return Err(format!(
                    "{} is neither a shard's run (`kbench run --shard`) nor a coordinator's \
                     (`kbench distribute`)",
                    dir.display()
                ))
            }
        };
        let ledger = ledger_file::read(dir).map_err(|e| format!("{e:#}"))?;
        Ok(Source {
            dir: dir.to_path_buf(),
            results,
            ledger,
            role,
        })
    })();
    Read {
        dir: dir.to_path_buf(),
        found,
    }
}

/// The coordinator and the shards, which must agree on the load: one shard count and barrier,
/// one scenario, no shard twice, at most one coordinator.
fn sources(read: &[Read]) -> Result<Sources<'_>> {
    let found: Vec<&Source> = read.iter().filter_map(|r| r.found.as_ref().ok()).collect();
    let Some(first) = found.first() else {
        let why: Vec<String> =
            (read.iter().filter_map(|r| r.found.as_ref().err()).cloned()).collect();
        bail!("no run of the load could be read:\n  {}", why.join("\n  "));
    };
    let (mut coordinator, mut shards) = (None, Vec::new());
    for s in &found {
        if s.results.scenario.text != first.results.scenario.text {
            bail!(
                "{} and {} ran different scenarios",
                first.dir.display(),
                s.dir.display()
            );
        }
        match &s.role {
            Role::Coordinator(_) if coordinator.is_some() => {
                bail!(
                    "two coordinators given: {} and {}",
                    first.dir.display(),
                    s.dir.display()
                )
            }
            Role::Coordinator(_) => coordinator = Some(*s),
            Role::Shard(_) => shards.push(*s),
        }
    }
    let (of, barrier_wall_ms) = agreed(coordinator, &shards)?;
    Ok(Sources {
        coordinator,
        shards,
        of,
        barrier_wall_ms,
    })
}

/// The shard count and barrier every run states alike.
fn agreed(coordinator: Option<&Source>, shards: &[&Source]) -> Result<(u32, u64)> {
    let stated = |s: &Source| match &s.role {
        Role::Shard(i) => (i.shard.of, i.barrier_wall_ms),
        Role::Coordinator(d) => (d.shards_expected, d.barrier_wall_ms),
    };
    let all: Vec<&Source> = coordinator
        .into_iter()
        .chain(shards.iter().copied())
        .collect();
    let first = all[0];
    let mut seen: Vec<(Shard, &Path)> = Vec::new();
    for s in &all {
        if stated(s) != stated(first) {
            let ((n1, b1), (n2, b2)) = (stated(first), stated(s));
            bail!(
                "{} and {} are runs of different loads ({n1} shards from {b1} ms, {n2} shards \
                 from {b2} ms)",
                first.dir.display(),
                s.dir.display()
            );
        }
        if let Some(info) = s.shard() {
            if let Some((_, other)) = seen.iter().find(|(sh, _)| *sh == info.shard) {
                bail!(
                    "shard {} is given twice: {} and {}",
                    info.shard,
                    other.display(),
                    s.dir.display()
                );
            }
            seen.push((info.shard, &s.dir));
        }
    }
    Ok(stated(first))
}

/// The coordinator's ledger (what was read, and the acks it took in) joined with every
/// shard's; two shards that wrote under one producer id would make their records
/// indistinguishable, so that is refused.
fn joined_ledger(sources: &Sources<'_>) -> Result<Ledger> {
    let mut owner: std::collections::BTreeMap<u32, Shard> = Default::default();
    let mut joined = sources
        .coordinator
        .map(|c| c.ledger.clone())
        .unwrap_or_default();
    for s in &sources.shards {
        let Some(info) = s.shard() else { continue };
        for (id, _) in s.ledger.producers() {
            if let Some(other) = owner.insert(id, info.shard) {
                bail!(
                    "shards {other} and {} both wrote as producer {id}: their records cannot be told apart",
                    info.shard
                );
            }
        }
        // Sets merge by union: the acks the coordinator already took in count once.
        joined.merge(s.ledger.clone());
    }
    Ok(joined)
}

/// A row per shard expected, in index order; a shard that never reported says why (the
/// coordinator's engine may know).
fn distribution(sources: &Sources<'_>, read: &[Read]) -> Distribution {
    let unreadable: Vec<String> = (read.iter())
        .filter_map(|r| {
            r.found
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", r.dir.display()))
        })
        .collect();
    let engine_saw = |shard: Shard| match sources.coordinator.map(|c| &c.role) {
        Some(Role::Coordinator(d)) => d
            .shards
            .iter()
            .find(|r| r.shard == shard)
            .and_then(|r| r.missing.clone()),
        _ => None,
    };
    let rows: Vec<ShardRow> = (0..sources.of)
        .map(|index| {
            let shard = Shard {
                index,
                of: sources.of,
            };
            let found = (sources.shards.iter())
                .find_map(|s| s.shard().filter(|i| i.shard == shard).map(|i| (*s, i)));
            match (found, engine_saw(shard)) {
                (Some((s, info)), problem) => ShardRow {
                    missing: problem,
                    ..reported(s, info)
                },
                (None, Some(problem)) => ShardRow {
                    missing: Some(problem),
                    ..never_reported(shard, &[])
                },
                (None, None) => never_reported(shard, &unreadable),
            }
        })
        .collect();
    let offsets = (rows.iter().filter(|r| r.missing.is_none())).map(|r| r.start_offset_ms);
    let (lo, hi) = offsets.fold((f64::MAX, f64::MIN), |(lo, hi), o| (lo.min(o), hi.max(o)));
    Distribution {
        shards_expected: sources.of,
        shards: rows,
        start_skew_ms: if hi >= lo { hi - lo } else { 0.0 },
        barrier_wall_ms: sources.barrier_wall_ms,
    }
}

fn reported(s: &Source, info: &ShardInfo) -> ShardRow {
    let (r, dir) = (&s.results, &s.dir);
    let measured = PhaseSummary::find(&r.phases, Phase::Measured);
    let p99 = measured.and_then(|m| m.latency.get(Kind::AckCorrected.name()));
    ShardRow {
        shard: info.shard,
        dir: dir.display().to_string(),
        missing: None,
        acked: r.counts.acked,
        achieved_rate: r.rate.achieved_rate,
        saturated: r.rate.generator_saturated,
        send_lag_max_us: r.rate.send_lag_max_us,
        ack_p99_us: p99.map(|q| q.p99_us),
        start_offset_ms: info.start_offset_ms,
    }
}

fn never_reported(shard: Shard, unreadable: &[String]) -> ShardRow {
    let mut why =
        "never reported: no run directory of this shard was given or readable".to_string();
    if !unreadable.is_empty() {
        why.push_str(&format!(" (unreadable: {})", unreadable.join("; ")));
    }
    ShardRow::bare(shard, String::new(), Some(why))
}

/// The joined ledger's verdict. With no record read back (shards only produce; the reading is
/// the coordinator's) nothing can be called lost: the acked records count as unread. A shard
/// that never reported leaves the audit incomplete: what it got acknowledged is unknown.
fn audit(ledger: &Ledger, d: &Distribution) -> Verdict {
    let v = ledger.verdict();
    if v.consumed_unique == 0 && v.acked > 0 {
        return v.cut_short();
    }
    if d.complete() {
        return v;
    }
    Verdict {
        complete: false,
        ok: false,
        ..v
    }
}

/// The first run's (the coordinator's, when there is one: it ran the cluster) environment,
/// with the times spanning every run and kbench's own CPU summed over them.
fn environment(all: &[&Source]) -> results::Environment {
    let envs = all.iter().map(|s| &s.results.environment);
    let mut env = all[0].results.environment.clone();
    env.started_at = envs
        .clone()
        .map(|e| e.started_at.clone())
        .min()
        .unwrap_or_default();
    env.finished_at = envs
        .clone()
        .map(|e| e.finished_at.clone())
        .max()
        .unwrap_or_default();
    env.cpus = envs.clone().map(|e| e.cpus).sum();
    env.kbench_cpu_s = envs.clone().map(|e| e.kbench_cpu_s).sum();
    env.kbench_peak_rss_mib = envs.map(|e| e.kbench_peak_rss_mib).fold(0.0, f64::max);
    env
}
