//! The figures a run's objectives are judged on, taken from its results or from what the run
//! hands over, and the judging itself (the objectives' logic lives in `slo`).

use super::results::{max_unavailability_s, Inputs, RateInfo};
use crate::audit::ledger::Verdict;
use crate::metrics::PhaseSummary;

/// The figures objectives are judged on.
pub(super) fn numbers<'a>(
    phases: &'a [PhaseSummary],
    faults: &[crate::faults::report::FaultReport],
    audit: &Verdict,
    failed: u64,
    rate: &RateInfo,
) -> crate::slo::Numbers<'a> {
    crate::slo::Numbers {
        measured_latency: phases
            .iter()
            .find(|p| p.name == "measured")
            .map(|p| &p.latency),
        max_unavailability_s: max_unavailability_s(faults),
        lost: audit.lost,
        duplicated: audit.duplicated,
        reordered: audit.reordered,
        failed,
        achieved_pct: rate.achieved_ratio * 100.0,
        schema_rejections: 0,
    }
}

/// Schema versions the registry rejected during the run.
pub(super) fn rejections(s: Option<&crate::audit::versions::SchemaAudit>) -> u64 {
    s.map_or(0, |s| {
        s.events.iter().filter(|e| e.outcome == "rejected").count() as u64
    })
}

/// The scenario's objectives judged on this run's numbers.
pub(super) fn judge(i: &Inputs<'_>, rate: &RateInfo) -> Vec<crate::slo::SloResult> {
    let n = numbers(
        &i.summary.phases,
        &i.faults,
        &i.verdict,
        i.summary.totals.failed,
        rate,
    );
    let n = crate::slo::Numbers {
        schema_rejections: rejections(i.schemas.as_ref()),
        ..n
    };
    crate::slo::evaluate(&i.scenario.slos, &n)
}
