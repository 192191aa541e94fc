//! Service-level objectives: the `[slo]` section of a scenario, checked against a run's results.
//! A run that misses one exits non-zero, so a release can be gated on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::results::Results;

/// One objective: a measured quantity and the bound it must respect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The key as written in `[slo]`, e.g. `ack_p99_ms`.
    pub key: String,
    pub limit: f64,
}

/// An objective checked against a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    pub key: String,
    pub description: String,
    /// `<=` or `>=`.
    pub op: String,
    pub limit: f64,
    /// `None` when the run has nothing to measure it on (counts as a failure).
    pub measured: Option<f64>,
    pub unit: String,
    pub pass: bool,
}

const KINDS: [(&str, &str); 4] = [
    ("ack", "ack_corrected"),
    ("ack_raw", "ack_raw"),
    ("e2e", "e2e"),
    ("send_lag", "send_lag"),
];
const PCTS: [&str; 7] = ["p50", "p90", "p99", "p999", "p9999", "p99999", "max"];

/// Every key `[slo]` accepts, for error messages.
pub fn allowed_keys() -> String {
    "<kind>_<pct>_ms with kind ack, ack_raw, e2e, send_lag and pct p50, p90, p99, p999, p9999, p99999, max \
     (e.g. ack_p99_ms = 50); max_unavailability_s; lost; duplicated; reordered; failed; min_achieved_pct"
        .into()
}

fn latency_key(key: &str) -> Option<(&'static str, &'static str)> {
    let rest = key.strip_suffix("_ms")?;
    let (kind, pct) = rest.rsplit_once('_')?;
    let kind = KINDS.iter().find(|(k, _)| *k == kind)?.1;
    let pct = PCTS.iter().find(|p| **p == pct)?;
    Some((kind, pct))
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
    let known = latency_key(key).is_some()
        || [
            "max_unavailability_s",
            "lost",
            "duplicated",
            "reordered",
            "failed",
            "min_achieved_pct",
        ]
        .contains(&key);
    if !known {
        return Err(format!("unknown objective; allowed: {}", allowed_keys()));
    }
    if key == "min_achieved_pct" && limit > 100.0 {
        return Err("is a percentage of the target rate, at most 100".into());
    }
    Ok(Slo {
        key: key.to_string(),
        limit,
    })
}

fn percentile(p: &crate::metrics::Percentiles, pct: &str) -> u64 {
    match pct {
        "p50" => p.p50_us,
        "p90" => p.p90_us,
        "p99" => p.p99_us,
        "p999" => p.p99_9_us,
        "p9999" => p.p99_99_us,
        "p99999" => p.p99_999_us,
        _ => p.max_us,
    }
}

/// Check every objective against `r` (latency from the measured phase).
pub fn evaluate(slos: &[Slo], r: &Results) -> Vec<SloResult> {
    let measured = r.phases.iter().find(|p| p.name == "measured");
    slos.iter()
        .map(|s| {
            let (description, op, value, unit) = if let Some((kind, pct)) = latency_key(&s.key) {
                let v = measured
                    .and_then(|m| m.latency.get(kind))
                    .map(|p| percentile(p, pct) as f64 / 1000.0);
                (
                    format!("{kind} latency {pct}, measured phase"),
                    "<=",
                    v,
                    "ms",
                )
            } else {
                match s.key.as_str() {
                    "max_unavailability_s" => {
                        let worst = r.max_unavailability_s();
                        (
                            "longest time a partition got no ack, any fault".into(),
                            "<=",
                            Some(worst),
                            "s",
                        )
                    }
                    "lost" => (
                        "acknowledged records never consumed".into(),
                        "<=",
                        Some(r.audit.lost as f64),
                        "records",
                    ),
                    "duplicated" => (
                        "records consumed more than once".into(),
                        "<=",
                        Some(r.audit.duplicated as f64),
                        "records",
                    ),
                    "reordered" => (
                        "sequence went backwards in a partition".into(),
                        "<=",
                        Some(r.audit.reordered as f64),
                        "records",
                    ),
                    "failed" => (
                        "failed deliveries".into(),
                        "<=",
                        Some(r.counts.failed as f64),
                        "records",
                    ),
                    _ => (
                        "achieved rate, percent of target".into(),
                        ">=",
                        Some(r.rate.achieved_ratio * 100.0),
                        "%",
                    ),
                }
            };
            let pass = value.is_some_and(|v| {
                if op == "<=" {
                    v <= s.limit
                } else {
                    v >= s.limit
                }
            });
            SloResult {
                key: s.key.clone(),
                description,
                op: op.into(),
                limit: s.limit,
                measured: value,
                unit: unit.into(),
                pass,
            }
        })
        .collect()
}

/// Parse a whole `[slo]` table; the error names the offending key.
pub fn parse_table(table: &BTreeMap<String, toml::Value>) -> Result<Vec<Slo>, (String, String)> {
    table
        .iter()
        .map(|(k, v)| parse(k, v).map_err(|e| (k.clone(), e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(parse("ack_p99_ms", &toml::Value::Integer(50)).is_ok());
        assert!(parse("e2e_p999_ms", &toml::Value::Float(80.5)).is_ok());
        assert!(parse("lost", &toml::Value::Integer(0)).is_ok());
        assert!(parse("ack_p98_ms", &toml::Value::Integer(5))
            .unwrap_err()
            .contains("unknown objective"));
        assert!(parse("lost", &toml::Value::String("0".into()))
            .unwrap_err()
            .contains("number"));
        assert!(parse("min_achieved_pct", &toml::Value::Integer(120)).is_err());
        assert!(parse("failed", &toml::Value::Integer(-1)).is_err());
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;

    #[test]
    fn evaluates_against_a_real_run() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart-run");
        let r = crate::report::results::read(&dir).unwrap();
        let slo = |k: &str, v: f64| Slo {
            key: k.into(),
            limit: v,
        };
        let out = evaluate(
            &[
                slo("ack_p99_ms", 1e9),
                slo("ack_p50_ms", 0.0),
                slo("lost", 0.0),
                slo("min_achieved_pct", 100.0),
                slo("max_unavailability_s", 1.0),
            ],
            &r,
        );
        let pass: Vec<bool> = out.iter().map(|o| o.pass).collect();
        assert_eq!(
            pass,
            [true, false, true, r.rate.achieved_ratio >= 1.0, true]
        );
        assert_eq!(
            out[1].measured,
            Some(
                r.phases
                    .iter()
                    .find(|p| p.name == "measured")
                    .unwrap()
                    .latency["ack_corrected"]
                    .p50_us as f64
                    / 1000.0
            )
        );
        assert_eq!(out[3].op, ">=");
    }
}
