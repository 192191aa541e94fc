//! `kbench merge`: the run directories of one distributed load's shards joined into one run
//! directory — histograms added on the barrier's clock, counts and ledgers summed, one audit,
//! one results.json and report with a row per shard. Pure file work: a shard that never
//! reported is named in the result, which is then incomplete, never a smaller total that looks
//! whole.

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

/// A shard directory that was read, or why it could not be.
struct Read {
    dir: PathBuf,
    found: std::result::Result<(Results, ShardInfo, Ledger), String>,
}

/// What the merge wrote.
pub struct Merged {
    /// The merged run directory.
    pub dir: PathBuf,
    /// Its results.json.
    pub results: Results,
}

/// A shard that reported: its directory, results, place and ledger.
type Found<'a> = (&'a Path, &'a Results, &'a ShardInfo, &'a Ledger);

/// Merges the shard directories `dirs` into a new directory under `reports`.
pub fn merge(dirs: &[PathBuf], reports: &Path) -> Result<Merged> {
    let read: Vec<Read> = dirs.iter().map(|d| read_shard(d)).collect();
    let (of, barrier) = agreed_set(&read)?;
    let found: Vec<Found<'_>> = (read.iter())
        .filter_map(|r| {
            let (x, s, l) = r.found.as_ref().ok()?;
            Some((r.dir.as_path(), x, s, l))
        })
        .collect();
    let clock = Clock::of(&found, barrier);
    let template = clock.template.1;
    let sc = Scenario::parse(
        Path::new(&template.scenario.file),
        template.scenario.text.clone(),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "merge reads the shards' scenario again, from the directory they were started in: {e}"
        )
    })?;
    let dir = crate::run::report_dir(reports, &format!("{}-merged", sc.name))?;
    let summary = replay::add_up(
        &dir,
        clock.origin_wall_ms,
        clock.phases(),
        &clock.runs(&found),
    )?;
    let ledger = joined_ledger(&found)?;
    let distribution = distribution(of, &read);
    let mut results = results::build(results::Inputs {
        scenario: &sc,
        environment: environment(&found),
        schema: template.schema.clone(),
        target_total: template.rate.target_records * u64::from(of),
        load_start_s: clock.load_start_s(),
        faults: Vec::new(),
        registry: None,
        schemas: None,
        cold_groups: Vec::new(),
        summary,
        verdict: audit(&ledger, &distribution),
        producers: found.iter().flat_map(|f| f.1.producers.clone()).collect(),
        consumers: found.iter().flat_map(|f| f.1.consumers.clone()).collect(),
        payload: template.payload.clone(),
        aborted: None,
    });
    results.distribution = Some(distribution);
    results::write(&dir, &results)?;
    ledger_file::write(&dir, &ledger)?;
    crate::report::rebuild::build_report_from(&dir, &results).context("building the report")?;
    Ok(Merged { dir, results })
}

/// The merged run's clock: its origin lies whole seconds before the barrier, which every
/// shard's seconds are moved onto; the earliest shard gives the phases.
struct Clock<'a> {
    template: Found<'a>,
    /// The barrier's second on the merged clock.
    barrier_s: u64,
    origin_wall_ms: u64,
}

impl<'a> Clock<'a> {
    fn of(found: &[Found<'a>], barrier_wall_ms: u64) -> Clock<'a> {
        let earliest =
            (found.iter()).min_by(|a, b| a.2.start_offset_ms.total_cmp(&b.2.start_offset_ms));
        let barrier_s = (found.iter().map(|f| barrier_second(f.1, f.2)))
            .max()
            .unwrap_or(1);
        Clock {
            template: *earliest.unwrap_or(&found[0]),
            barrier_s,
            origin_wall_ms: barrier_wall_ms.saturating_sub(barrier_s * 1000),
        }
    }

    /// Whole seconds a shard's clock is behind the merged one.
    fn shift(&self, r: &Results, info: &ShardInfo) -> u64 {
        self.barrier_s - barrier_second(r, info)
    }

    fn runs<'f>(&self, found: &'f [Found<'a>]) -> Vec<ShardRun<'f>> {
        (found.iter())
            .map(|(dir, r, info, _)| ShardRun {
                dir,
                results: r,
                shift_s: self.shift(r, info),
            })
            .collect()
    }

    /// The template shard's phases on the merged clock.
    fn phases(&self) -> Vec<PhaseSpan> {
        let (_, r, info, _) = self.template;
        let shift = self.shift(r, info) * SECOND_US;
        (r.phases.iter())
            .map(|p| PhaseSpan {
                name: p.name,
                from_us: p.from_us + shift,
                to_us: p.to_us + shift,
            })
            .collect()
    }

    fn load_start_s(&self) -> f64 {
        let (_, r, info, _) = self.template;
        r.load_start_s + self.shift(r, info) as f64
    }
}

/// A shard's results, its place and its ledger; anything missing makes it a shard that did
/// not report.
fn read_shard(dir: &Path) -> Read {
    let found = (|| {
        let r = results::read(dir).map_err(|e| format!("{e:#}"))?;
        let Some(info) = r.shard.clone() else {
            return Err(format!(
                "{} is not a shard's run: its results.json names no shard (shards are runs \
                 started with `kbench run --shard INDEX/COUNT`)",
                dir.display()
            ));
        };
        let ledger = ledger_file::read(dir).map_err(|e| format!("{e:#}"))?;
        Ok((r, info, ledger))
    })();
    Read {
        dir: dir.to_path_buf(),
        found,
    }
}

/// How many shards the load had and its barrier, on which every shard read agrees; refuses a
/// set with no readable shard, shards of different loads, or one shard given twice.
fn agreed_set(read: &[Read]) -> Result<(u32, u64)> {
    let found: Vec<(&Path, &Results, &ShardInfo)> = (read.iter())
        .filter_map(|r| {
            r.found
                .as_ref()
                .ok()
                .map(|(x, s, _)| (r.dir.as_path(), x, s))
        })
        .collect();
    let Some((first_dir, first, info)) = found.first() else {
        let why: Vec<String> =
            (read.iter().filter_map(|r| r.found.as_ref().err()).cloned()).collect();
        bail!("no shard could be read:\n  {}", why.join("\n  "));
    };
    let mut seen: Vec<(Shard, &Path)> = Vec::new();
    for (dir, r, s) in &found {
        if s.shard.of != info.shard.of || s.barrier_wall_ms != info.barrier_wall_ms {
            bail!(
                "{} and {} are shards of different loads (shard {} with barrier {} ms, shard {} \
                 with barrier {} ms)",
                first_dir.display(),
                dir.display(),
                info.shard,
                info.barrier_wall_ms,
                s.shard,
                s.barrier_wall_ms
            );
        }
        if r.scenario.text != first.scenario.text {
            bail!(
                "{} and {} ran different scenarios",
                first_dir.display(),
                dir.display()
            );
        }
        if let Some((_, other)) = seen.iter().find(|(sh, _)| *sh == s.shard) {
            bail!(
                "shard {} is given twice: {} and {}",
                s.shard,
                other.display(),
                dir.display()
            );
        }
        seen.push((s.shard, dir));
    }
    Ok((info.shard.of, info.barrier_wall_ms))
}

/// The barrier's second on a shard's own clock: its load start less how late that was.
fn barrier_second(r: &Results, info: &ShardInfo) -> u64 {
    (r.load_start_s - info.start_offset_ms / 1000.0)
        .round()
        .max(0.0) as u64
}

/// Every shard's ledger in one; two shards that wrote under one producer id would make their
/// records indistinguishable, so that is refused.
fn joined_ledger(found: &[Found<'_>]) -> Result<Ledger> {
    let mut owner: std::collections::BTreeMap<u32, Shard> = Default::default();
    let mut joined = Ledger::default();
    for (_, _, info, ledger) in found {
        for (id, _) in ledger.producers() {
            if let Some(other) = owner.insert(id, info.shard) {
                bail!(
                    "shards {other} and {} both wrote as producer {id}: their records cannot be                      told apart",
                    info.shard
                );
            }
        }
        joined.merge((*ledger).clone());
    }
    Ok(joined)
}

/// A row per shard expected, in index order; a shard that never reported says why.
fn distribution(of: u32, read: &[Read]) -> Distribution {
    let unreadable: Vec<String> = (read.iter())
        .filter_map(|r| {
            r.found
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", r.dir.display()))
        })
        .collect();
    let rows: Vec<ShardRow> = (0..of)
        .map(|index| {
            let shard = Shard { index, of };
            let found = read.iter().find_map(|r| match &r.found {
                Ok((x, info, _)) if info.shard == shard => Some((r.dir.as_path(), x, info)),
                _ => None,
            });
            match found {
                Some((dir, r, info)) => reported(dir, r, info),
                None => never_reported(shard, &unreadable),
            }
        })
        .collect();
    let offsets = (rows.iter().filter(|r| r.missing.is_none())).map(|r| r.start_offset_ms);
    let (lo, hi) = offsets.fold((f64::MAX, f64::MIN), |(lo, hi), o| (lo.min(o), hi.max(o)));
    Distribution {
        shards_expected: of,
        shards: rows,
        start_skew_ms: if hi >= lo { hi - lo } else { 0.0 },
    }
}

fn reported(dir: &Path, r: &Results, info: &ShardInfo) -> ShardRow {
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
    ShardRow {
        shard,
        dir: String::new(),
        missing: Some(why),
        acked: 0,
        achieved_rate: 0.0,
        saturated: false,
        send_lag_max_us: 0,
        ack_p99_us: None,
        start_offset_ms: 0.0,
    }
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

/// The first shard's environment, with the times spanning every shard and kbench's own CPU
/// summed over them.
fn environment(found: &[Found<'_>]) -> results::Environment {
    let envs = found.iter().map(|f| &f.1.environment);
    let mut env = found[0].1.environment.clone();
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
