//! Which part of a distributed load a run directory holds: a shard's place among its siblings
//! and when its load started against the agreed start (written by the shard into its
//! results.json), and what `kbench merge` says of every shard in the merged results.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shard `index` of `of` (counted from 0): it offers 1/`of` of every producer's rate under
/// producer ids of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard's number, 0 ..= of − 1.
    pub index: u32,
    /// How many shards share the load.
    pub of: u32,
}

impl Shard {
    /// The id of the shard's local producer `local`: shards of one run never share an id, so
    /// their records never collide in the audit.
    pub fn producer_id(self, local: u32, producers_per_shard: u32) -> u32 {
        self.index * producers_per_shard + local
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, e.g. `0/3` for the first of three shards.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard \"{s}\" is not INDEX/COUNT with INDEX < COUNT, e.g. 0/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let of: u32 = n.trim().parse().map_err(|_| bad())?;
        if of == 0 || index >= of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }
}

/// What a shard's results.json says of its place in the distributed load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Which shard.
    pub shard: Shard,
    /// The agreed start of the load, wall clock ms since the Unix epoch.
    pub barrier_wall_ms: u64,
    /// How far this shard's load start was from the barrier (ms; positive = late), by its
    /// own wall clock.
    pub start_offset_ms: f64,
}

impl ShardInfo {
    /// The barrier's second on the shard's own clock: its load start (`load_start_s`, from its
    /// origin) less how late that was.
    pub fn barrier_second(&self, load_start_s: f64) -> u64 {
        (load_start_s - self.start_offset_ms / 1000.0)
            .round()
            .max(0.0) as u64
    }
}

/// One shard as the merged results show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    /// Which shard.
    pub shard: Shard,
    /// Its run directory, as given to `kbench merge`.
    pub dir: String,
    /// What became of it: `None` when it reported, else why it counts as missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// Records it got acknowledged.
    pub acked: u64,
    /// Acked records per second over its measured phase.
    pub achieved_rate: f64,
    /// Its generator could not keep to its schedule.
    pub saturated: bool,
    /// Highest send lag of its producers (µs).
    pub send_lag_max_us: u64,
    /// Its own ack p99 (corrected) over the measured phase (µs), read from its histogram.
    pub ack_p99_us: Option<u64>,
    /// Its load start against the barrier (ms).
    pub start_offset_ms: f64,
}

impl ShardRow {
    /// A shard with no figures of its own (yet, or ever), in `dir` (empty when none), and why
    /// it counts as missing (`None`: it did not fail).
    pub fn bare(shard: Shard, dir: String, missing: Option<String>) -> ShardRow {
        ShardRow {
            shard,
            dir,
            missing,
            acked: 0,
            achieved_rate: 0.0,
            saturated: false,
            send_lag_max_us: 0,
            ack_p99_us: None,
            start_offset_ms: 0.0,
        }
    }
}

/// What the merged results say of the distribution as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// How many shards the load was split into.
    pub shards_expected: u32,
    /// Every shard, in index order; those that never reported are listed with why.
    pub shards: Vec<ShardRow>,
    /// Largest difference between two shards' load starts (ms).
    pub start_skew_ms: f64,
    /// The agreed start of the load, wall clock ms since the Unix epoch.
    #[serde(default)]
    pub barrier_wall_ms: u64,
}

impl Distribution {
    /// The shards that never reported, by index.
    pub fn missing(&self) -> impl Iterator<Item = &ShardRow> {
        self.shards.iter().filter(|r| r.missing.is_some())
    }

    /// Every shard reported: the totals are the whole load's.
    pub fn complete(&self) -> bool {
        self.missing().next().is_none() && self.shards.len() == self.shards_expected as usize
    }

    /// The lines `kbench merge` prints: one per shard, then the start skew.
    pub fn render(&self) -> String {
        let mut lines: Vec<String> = (self.shards.iter())
            .map(|r| match &r.missing {
                Some(why) => format!("shard {}  MISSING: {why}", r.shard),
                None => format!(
                    "shard {}  {} acked, {:.0}/s, ack p99 {}, send lag max {:.2} ms{}, start {:+.2} ms  ({})",
                    r.shard,
                    r.acked,
                    r.achieved_rate,
                    r.ack_p99_us.map_or("-".into(), |us| format!("{:.2} ms", us as f64 / 1e3)),
                    r.send_lag_max_us as f64 / 1e3,
                    if r.saturated { " SATURATED" } else { "" },
                    r.start_offset_ms,
                    r.dir
                ),
            })
            .collect();
        lines.push(format!(
            "shards    {} of {} reported; start skew {:.2} ms",
            self.shards.iter().filter(|r| r.missing.is_none()).count(),
            self.shards_expected,
            self.start_skew_ms
        ));
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_reads_as_index_of_count() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, of: 3 }));
        assert_eq!(Shard { index: 2, of: 3 }.to_string(), "2/3");
        for bad in ["3/3", "1", "a/3", "0/0", "-1/3"] {
            let err = bad.parse::<Shard>().err().unwrap_or_default();
            assert!(err.contains("INDEX/COUNT"), "{bad}: {err}");
        }
    }

    #[test]
    fn producer_ids_of_different_shards_never_meet() {
        let ids = |index| (0..4).map(move |p| Shard { index, of: 3 }.producer_id(p, 4));
        let all: std::collections::BTreeSet<u32> = (0..3).flat_map(ids).collect();
        assert_eq!(all.len(), 12);
    }
}
