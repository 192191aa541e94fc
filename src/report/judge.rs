//! The figures a run's objectives are judged on, taken from its results or from what the run
//! hands over (the objectives' logic lives in `slo`).

use crate::audit::ledger::Verdict;
use crate::metrics::PhaseSummary;
use crate::names::Phase;

/// The figures objectives are judged on.
pub(super) fn numbers<'a>(
    phases: &'a [PhaseSummary],
    faults: &[crate::faults::report::FaultReport],
    audit: &Verdict,
    failed: u64,
    achieved_ratio: f64,
) -> crate::slo::Numbers<'a> {
    crate::slo::Numbers {
        measured_latency: PhaseSummary::find(phases, Phase::Measured).map(|p| &p.latency),
        max_unavailability_s: max_unavailability_s(faults),
        lost: audit.lost,
        duplicated: audit.duplicated,
        reordered: audit.reordered,
        failed,
        achieved_pct: achieved_ratio * 100.0,
        schema_rejections: 0,
    }
}

/// Schema versions the registry rejected during the run.
pub(super) fn rejections(s: Option<&crate::audit::versions::SchemaAudit>) -> u64 {
    s.map_or(0, |s| {
        s.events.iter().filter(|e| e.outcome == "rejected").count() as u64
    })
}

/// The longest time any partition got no ack, over all faults (s).
pub fn max_unavailability_s(faults: &[crate::faults::report::FaultReport]) -> f64 {
    faults
        .iter()
        .filter_map(|f| f.metrics.as_ref())
        .flat_map(|m| {
            m.partition_ack_gaps_s
                .values()
                .copied()
                .chain([m.longest_ack_gap_s])
        })
        .fold(0.0, f64::max)
}
