//! `[search]`: a capacity search instead of one run. Each step is the scenario's run (its
//! warm-up as the settle time, its duration as the measured window) at one constant rate,
//! judged by the scenario's `[slo]`; `kbench sweep` runs the steps on one cluster.

use std::time::Duration;

use super::raw::{RawScenario, RawSearch};
use super::source::{ScenarioError, Source};

type R<T> = Result<T, ScenarioError>;

/// What the search is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// First rate tried, records/s.
    pub start: f64,
    /// Highest rate tried.
    pub max: f64,
    /// Coarse steps: each rate is the last passing one × this.
    pub factor: f64,
    /// Stop when (lowest failing − highest passing) / highest passing is at most this.
    pub precision: f64,
    /// At most this many steps.
    pub max_steps: u32,
}

/// A validated `[search]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySearch {
    /// Rates, step factor, precision and step budget.
    pub spec: SearchSpec,
    /// The whole search stops before a step that would end after this (default 15 min).
    pub budget: Duration,
}

/// `[search]`, checked against the rest of the scenario: it needs objectives to judge steps
/// by, and nothing timed within one run (faults, evolutions, cold groups), since every step is
/// a run of its own.
pub(super) fn section(
    src: &Source,
    raw: Option<&RawSearch>,
    has: Timed,
) -> R<Option<CapacitySearch>> {
    let Some(raw) = raw else { return Ok(None) };
    let positive = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(src.error(field, "must be a positive number of records per second"))
        }
    };
    let start = positive("search.start", raw.start)?;
    let max = positive("search.max", raw.max)?;
    if max < start {
        return Err(src.error(
            "search.max",
            format!("must be at least search.start ({start})"),
        ));
    }
    let factor = raw.factor.unwrap_or(2.0);
    if !(factor > 1.05 && factor <= 10.0) {
        return Err(src.error("search.factor", "must be above 1.05 and at most 10"));
    }
    let precision = raw.precision.unwrap_or(0.05);
    if !(0.005..=0.5).contains(&precision) {
        return Err(src.error("search.precision", "must be between 0.005 (±0.5 %) and 0.5"));
    }
    let max_steps = raw.max_steps.unwrap_or(20);
    if !(2..=200).contains(&max_steps) {
        return Err(src.error("search.max_steps", "must be between 2 and 200"));
    }
    let budget = crate::duration::parse(raw.budget.as_deref().unwrap_or("15m"))
        .map_err(|m| src.error("search.budget", m))?;
    has.refuse(src)?;
    Ok(Some(CapacitySearch {
        spec: SearchSpec {
            start,
            max,
            factor,
            precision,
            max_steps: max_steps as u32,
        },
        budget,
    }))
}

/// A search scenario need not give `producer.rate`: the search sets it per step.
pub(super) fn default_rate(raw: &mut RawScenario) {
    let p = &mut raw.producer;
    if let (Some(s), None, None, None) = (&raw.search, p.rate, &p.steps, &p.ramp) {
        p.rate = Some(s.start);
    }
}

/// What else the scenario has that a search cannot take, and whether it has objectives.
pub(super) struct Timed {
    pub faults: bool,
    pub evolve: bool,
    pub cold: bool,
    pub slos: bool,
    pub rate_shape: bool,
}

impl Timed {
    fn refuse(&self, src: &Source) -> R<()> {
        let no = |field: &str, what: &str| {
            Err(src.error(
                field,
                format!(
                    "a capacity search ([search]) runs every step as a run of its own, so it \
                         cannot take {what}; remove it or drop [search]"
                ),
            ))
        };
        if !self.slos {
            return Err(src.error(
                "search",
                "a capacity search judges every step by the scenario's objectives: add [slo] \
                 (e.g. ack_p99_ms = 50, min_achieved_pct = 99.5, lost = 0)",
            ));
        }
        if self.faults {
            return no("fault", "[[fault]] entries");
        }
        if self.evolve {
            return no("schema.evolve", "[[schema.evolve]] entries");
        }
        if self.cold {
            return no("consumer.cold", "[[consumer.cold]] groups");
        }
        if self.rate_shape {
            return no(
                "producer",
                "producer.steps or producer.ramp (the search sets the rate)",
            );
        }
        Ok(())
    }
}
