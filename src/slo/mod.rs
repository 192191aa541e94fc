//! Service-level objectives: the `[slo]` section of a scenario, typed, and judged against a run's
//! numbers ([`Numbers`]). A run that misses one exits non-zero, so a release can be gated on it.
//! This module knows objectives, not results files: the report hands it the figures it needs.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metrics::{Kind, Percentiles};

/// Which way an objective's bound points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// The measured value must not exceed the limit.
    #[serde(rename = "<=")]
    AtMost,
    /// The measured value must reach the limit.
    #[serde(rename = ">=")]
    AtLeast,
}

impl Op {
    /// The operator as written in results and summaries (`<=`, `>=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
        }
    }

    /// Whether `measured` respects `limit` in this direction.
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::AtMost => measured <= limit,
            Op::AtLeast => measured >= limit,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point of a latency distribution an objective can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// 99.99th percentile.
    P9999,
    /// 99.999th percentile.
    P99999,
    /// The largest value.
    Max,
}

impl Percentile {
    /// Every percentile, as `[slo]` keys spell them.
    pub const ALL: [(Percentile, &'static str); 7] = [
        (Percentile::P50, "p50"),
        (Percentile::P90, "p90"),
        (Percentile::P99, "p99"),
        (Percentile::P999, "p999"),
        (Percentile::P9999, "p9999"),
        (Percentile::P99999, "p99999"),
        (Percentile::Max, "max"),
    ];

    /// The name in `[slo]` keys, e.g. `p999`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("max", |(_, n)| n)
    }

    /// This point of `p`, in µs.
    pub fn of(self, p: &Percentiles) -> u64 {
        match self {
            Percentile::P50 => p.p50_us,
            Percentile::P90 => p.p90_us,
            Percentile::P99 => p.p99_us,
            Percentile::P999 => p.p99_9_us,
            Percentile::P9999 => p.p99_99_us,
            Percentile::P99999 => p.p99_999_us,
            Percentile::Max => p.max_us,
        }
    }
}

/// Latency kinds an objective can bound, with their `[slo]` key prefix.
const LATENCY_KINDS: [(Kind, &str); 4] = [
    (Kind::AckCorrected, "ack"),
    (Kind::AckRaw, "ack_raw"),
    (Kind::EndToEnd, "e2e"),
    (Kind::SendLag, "send_lag"),
];

/// What an objective bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// A latency percentile of the measured phase (`<kind>_<pct>_ms`), in ms.
    Latency {
        /// Which latency.
        kind: Kind,
        /// Which point of its distribution.
        pct: Percentile,
    },
    /// Longest time any partition got no ack, over all faults (s).
    MaxUnavailability,
    /// Acknowledged records never consumed.
    Lost,
    /// Records consumed more than once.
    Duplicated,
    /// Records whose producer's sequence went backwards within a partition.
    Reordered,
    /// Failed deliveries.
    Failed,
    /// Acked rate as a percentage of the scheduled rate.
    MinAchievedPct,
    /// `[[schema.evolve]]` versions the registry rejected.
    SchemaRejections,
}

/// The objectives with a fixed name: the one list `[slo]` keys are checked against.
const NAMED: [(Objective, &str); 7] = [
    (Objective::MaxUnavailability, "max_unavailability_s"),
    (Objective::Lost, "lost"),
    (Objective::Duplicated, "duplicated"),
    (Objective::Reordered, "reordered"),
    (Objective::Failed, "failed"),
    (Objective::MinAchievedPct, "min_achieved_pct"),
    (Objective::SchemaRejections, "schema_rejections"),
];

impl Objective {
    /// The objective a `[slo]` key names, if any.
    pub fn parse(key: &str) -> Option<Objective> {
        if let Some((o, _)) = NAMED.iter().find(|(_, n)| *n == key) {
            return Some(*o);
        }
        let (kind, pct) = key.strip_suffix("_ms")?.rsplit_once('_')?;
        let kind = LATENCY_KINDS.iter().find(|(_, k)| *k == kind)?.0;
        let pct = Percentile::ALL.iter().find(|(_, p)| *p == pct)?.0;
        Some(Objective::Latency { kind, pct })
    }

    /// The key as `[slo]` spells it, e.g. `ack_p99_ms`.
    pub fn key(self) -> String {
        match self {
            Objective::Latency { kind, pct } => {
                let prefix = LATENCY_KINDS
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or(kind.name(), |(_, p)| p);
                format!("{prefix}_{}_ms", pct.name())
            }
            named => NAMED
                .iter()
                .find(|(o, _)| *o == named)
                .map_or(String::new(), |(_, n)| n.to_string()),
        }
    }

    /// The point of the (corrected) ack latency it bounds, if it bounds one.
    pub fn ack_percentile(self) -> Option<Percentile> {
        match self {
            Objective::Latency {
                kind: Kind::AckCorrected,
                pct,
            } => Some(pct),
            _ => None,
        }
    }

    /// Which way the bound points.
    pub fn op(self) -> Op {
        match self {
            Objective::MinAchievedPct => Op::AtLeast,
            _ => Op::AtMost,
        }
    }

    /// What is measured, in words for reports.
    pub fn description(self) -> String {
        match self {
            Objective::Latency { kind, pct } => {
                format!("{} latency {}, measured phase", kind.name(), pct.name())
            }
            Objective::MaxUnavailability => "longest time a partition got no ack, any fault".into(),
            Objective::Lost => "acknowledged records never consumed".into(),
            Objective::Duplicated => "records consumed more than once".into(),
            Objective::Reordered => "sequence went backwards in a partition".into(),
            Objective::Failed => "failed deliveries".into(),
            Objective::MinAchievedPct => "achieved rate, percent of target".into(),
            Objective::SchemaRejections => "schema versions the registry rejected".into(),
        }
    }

    /// Unit of the limit and the measured value.
    pub fn unit(self) -> &'static str {
        match self {
            Objective::Latency { .. } => "ms",
            Objective::MaxUnavailability => "s",
            Objective::MinAchievedPct => "%",
            Objective::SchemaRejections => "versions",
            _ => "records",
        }
    }

    /// This objective's value in `n`; `None` when the run has nothing to measure it on.
    pub fn measure(self, n: &Numbers<'_>) -> Option<f64> {
        match self {
            Objective::Latency { kind, pct } => n
                .measured_latency
                .and_then(|l| l.get(kind.name()))
                .map(|p| pct.of(p) as f64 / 1000.0),
            Objective::MaxUnavailability => Some(n.max_unavailability_s),
            Objective::Lost => Some(n.lost as f64),
            Objective::Duplicated => Some(n.duplicated as f64),
            Objective::Reordered => Some(n.reordered as f64),
            Objective::Failed => Some(n.failed as f64),
            Objective::MinAchievedPct => Some(n.achieved_pct),
            Objective::SchemaRejections => Some(n.schema_rejections as f64),
        }
    }
}

/// The figures of a run that objectives are judged on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Numbers<'a> {
    /// Latency percentiles of the measured phase by kind name; `None` without a measured phase.
    pub measured_latency: Option<&'a BTreeMap<String, Percentiles>>,
    /// Longest time any partition got no ack, over all faults (s).
    pub max_unavailability_s: f64,
    /// Acked and never consumed.
    pub lost: u64,
    /// Consumed more than once.
    pub duplicated: u64,
    /// Sequence went backwards within a partition.
    pub reordered: u64,
    /// Failed deliveries over the whole run.
    pub failed: u64,
    /// Acked rate of the measured phase, percent of the scheduled rate.
    pub achieved_pct: f64,
    /// Schema versions the registry rejected.
    pub schema_rejections: u64,
}

impl fmt::Display for Objective {
    /// The key as `[slo]` spells it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.key())
    }
}

impl Serialize for Objective {
    /// As its `[slo]` key, so files read as the scenario was written.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Objective {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Objective, D::Error> {
        let key = String::deserialize(d)?;
        Objective::parse(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown objective \"{key}\"")))
    }
}

/// One objective: a measured quantity and the bound it must respect. Files hold it as
/// `{"key": "ack_p99_ms", "op": "<=", "limit": 50}`; `Display` writes `ack_p99_ms <= 50`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "SloRecord", try_from = "SloRecord")]
pub struct Slo {
    /// What is bounded.
    pub objective: Objective,
    /// The bound, in the objective's unit.
    pub limit: f64,
}

/// `Slo` as files hold it: the operator is written out for readers, and checked when read.
#[derive(Serialize, Deserialize)]
struct SloRecord {
    key: Objective,
    op: Op,
    limit: f64,
}

impl From<Slo> for SloRecord {
    fn from(s: Slo) -> SloRecord {
        SloRecord {
            key: s.objective,
            op: s.objective.op(),
            limit: s.limit,
        }
    }
}

impl TryFrom<SloRecord> for Slo {
    type Error = String;

    fn try_from(r: SloRecord) -> Result<Slo, String> {
        if r.op != r.key.op() {
            return Err(format!(
                "{} is bounded with {}, not {}",
                r.key,
                r.key.op(),
                r.op
            ));
        }
        Ok(Slo {
            objective: r.key,
            limit: r.limit,
        })
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.objective,
            self.objective.op(),
            self.limit
        )
    }
}

/// An objective checked against a run, as results.json stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    /// The key as written in `[slo]`, e.g. `ack_p99_ms`.
    pub key: String,
    /// What is measured, in words.
    pub description: String,
    /// Which way the bound points.
    pub op: Op,
    /// The bound.
    pub limit: f64,
    /// `None` when the run has nothing to measure it on (counts as a failure).
    pub measured: Option<f64>,
    /// Unit of `limit` and `measured`.
    pub unit: String,
    /// Whether the objective held (false when not evaluated).
    pub pass: bool,
    /// False when the run was cut short: `measured` covers only part of the run, so the
    /// objective is neither met nor missed.
    #[serde(default = "evaluated_by_default")]
    pub evaluated: bool,
}

fn evaluated_by_default() -> bool {
    true
}

impl SloResult {
    /// This objective on a run cut short: shown with what was measured, not judged.
    pub fn not_evaluated(self) -> SloResult {
        SloResult {
            pass: false,
            evaluated: false,
            ..self
        }
    }
}

/// Every key `[slo]` accepts, for error messages.
pub fn allowed_keys() -> String {
    let kinds: Vec<&str> = LATENCY_KINDS.iter().map(|(_, k)| *k).collect();
    let pcts: Vec<&str> = Percentile::ALL.iter().map(|(_, p)| *p).collect();
    let named: Vec<&str> = NAMED.iter().map(|(_, n)| *n).collect();
    format!(
        "<kind>_<pct>_ms with kind {} and pct {} (e.g. ack_p99_ms = 50); {}",
        kinds.join(", "),
        pcts.join(", "),
        named.join("; ")
    )
}

/// Check a key and its value; the error says what is allowed.
pub fn parse(key: &str, value: &toml::Value) -> Result<Slo, String> {
    let limit = match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        _ => return Err("must be a number".into()),
    };
    if !limit.is_finite() || limit < 0.0 {
        return Err(format!("must be a number >= 0 (got {limit})"));
    }
    let objective = Objective::parse(key)
        .ok_or_else(|| format!("unknown objective; allowed: {}", allowed_keys()))?;
    if objective == Objective::MinAchievedPct && limit > 100.0 {
        return Err("is a percentage of the target rate, at most 100".into());
    }
    Ok(Slo { objective, limit })
}

/// Parse a whole `[slo]` table; the error names the offending key.
pub fn parse_table(table: &BTreeMap<String, toml::Value>) -> Result<Vec<Slo>, (String, String)> {
    table
        .iter()
        .map(|(k, v)| parse(k, v).map_err(|e| (k.clone(), e)))
        .collect()
}

/// Check every objective against the run's numbers.
pub fn evaluate(slos: &[Slo], numbers: &Numbers<'_>) -> Vec<SloResult> {
    slos.iter()
        .map(|s| {
            let o = s.objective;
            let measured = o.measure(numbers);
            SloResult {
                key: o.key(),
                description: o.description(),
                op: o.op(),
                limit: s.limit,
                measured,
                unit: o.unit().into(),
                pass: measured.is_some_and(|v| o.op().holds(v, s.limit)),
                evaluated: true,
            }
        })
        .collect()
}

#[cfg(test)]
mod slo_tests;
