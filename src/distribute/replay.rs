//! The shards' measurements added up: every shard's per-second histograms (read back from its
//! .hlog files) and per-second counts (its series) are fed, shifted onto one clock, through the
//! same aggregator a single run uses. The merged .hlog files, series and phase percentiles are
//! therefore built exactly as one run's are: histograms added, a percentile read from the sum,
//! never an average of the shards' percentiles.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::metrics::{
    read_hlog_seconds, Aggregator, Counter, Interval, Kind, Live, PhaseSpan, Summary,
};
use crate::report::results::Results;

/// One shard's run directory and what it wrote, with the whole seconds its clock is behind the
/// merged one.
pub(super) struct ShardRun<'a> {
    pub dir: &'a Path,
    pub results: &'a Results,
    pub shift_s: u64,
}

/// Feeds every shard's seconds, oldest first, through an aggregator writing the merged .hlog
/// files into `out`; returns its summary with each phase's and the whole run's errors summed
/// from the shards (the .hlog files do not carry errors per second).
pub(super) fn add_up(
    out: &Path,
    origin_wall_ms: u64,
    phases: Vec<PhaseSpan>,
    shards: &[ShardRun<'_>],
) -> Result<Summary> {
    let aggregator = Aggregator::new(out, origin_wall_ms, phases)?;
    let mut intervals = Vec::new();
    for shard in shards {
        intervals.extend(intervals_of(shard)?);
    }
    // Seconds in order, as recorders would send them: a second reported after the aggregator
    // finalized it would count as late data.
    intervals.sort_by_key(|iv| iv.second);
    let (tx, rx) = std::sync::mpsc::channel();
    for iv in intervals {
        // The receiver lives until `run` below: sending cannot fail.
        let _ = tx.send(iv);
    }
    drop(tx);
    let mut summary = aggregator.run(rx, Arc::new(Mutex::new(Live::default())))?;
    add_errors(&mut summary, shards);
    Ok(summary)
}

/// One interval per second the shard reported: its histograms of every kind and its counts.
fn intervals_of(shard: &ShardRun<'_>) -> Result<Vec<Interval>> {
    let source = format!("shard {}", shard.dir.display());
    let mut by_second: BTreeMap<u64, Interval> = BTreeMap::new();
    fn slot<'m>(m: &'m mut BTreeMap<u64, Interval>, source: &str, second: u64) -> &'m mut Interval {
        m.entry(second)
            .or_insert_with(|| Interval::empty(source.to_string(), second))
    }
    for (name, file) in &shard.results.hlog_files {
        let Some(kind) = Kind::ALL.into_iter().find(|k| k.name() == name) else {
            anyhow::bail!(
                "{}: latency kind {name} is unknown to this kbench",
                shard.dir.display()
            );
        };
        let path = shard.dir.join(file);
        let logged = read_hlog_seconds(&path)
            .with_context(|| format!("reading the shard's {name} histograms"))?;
        for (second, h) in logged {
            let iv = slot(&mut by_second, &source, second + shard.shift_s);
            match &mut iv.hists[kind.index()] {
                Some(sum) => {
                    sum.add(&h).context("adding two intervals of one second")?;
                }
                empty => *empty = Some(h),
            }
        }
    }
    for row in &shard.results.series {
        let iv = slot(&mut by_second, &source, row.t + shard.shift_s);
        let counts = [row.sent, row.acked, row.failed, row.consumed];
        for (c, n) in Counter::ALL.iter().zip(counts) {
            iv.counters[c.index()] += n;
        }
    }
    let mut intervals: Vec<Interval> = by_second.into_values().collect();
    if let Some(first) = intervals.first_mut() {
        carry_overflow(first, shard.results);
    }
    Ok(intervals)
}

/// Values above the histograms' ceiling are in the histograms already; the count of them is a
/// whole-run figure, carried once per shard.
fn carry_overflow(iv: &mut Interval, results: &Results) {
    for kind in Kind::ALL {
        let n = results.overflow.get(kind.name()).copied().unwrap_or(0);
        iv.overflow[kind.index()] += n;
    }
}

fn add_errors(summary: &mut Summary, shards: &[ShardRun<'_>]) {
    let add = |into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>| {
        for (name, n) in from {
            *into.entry(name.clone()).or_default() += n;
        }
    };
    summary.errors.clear();
    for phase in &mut summary.phases {
        phase.errors.clear();
    }
    for shard in shards {
        add(&mut summary.errors, &shard.results.errors);
        for phase in &mut summary.phases {
            let theirs = shard.results.phases.iter().find(|p| p.name == phase.name);
            if let Some(theirs) = theirs {
                add(&mut phase.errors, &theirs.errors);
            }
        }
    }
}
