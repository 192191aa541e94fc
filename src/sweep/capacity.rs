//! One capacity search on a running cluster: a warm-up step at the first rate (run and kept,
//! never judged: right after a start the brokers' JIT has not settled, which made the first
//! judged step inconclusive), then the search's steps, each an ordinary measured run in
//! `<prefix>steps/NN-<rate>/`, judged and fed back to the search.

use std::path::Path;
use std::time::Instant;

use super::search::{Answer, Purpose, Search, Stop};
use super::step::{self, StepRecord};
use crate::progress::Progress;
use crate::run::StartedCluster;
use crate::scenario::search::CapacitySearch;
use crate::scenario::Scenario;

/// What a search found, and how it ended.
pub(super) struct Searched {
    /// Every step, the warm-up first.
    pub steps: Vec<StepRecord>,
    /// What the judged steps say.
    pub answer: Answer,
    /// An error that cut it short.
    pub error: Option<anyhow::Error>,
}

/// Where a search writes and by when it must end.
pub(super) struct Place<'a> {
    /// The sweep's directory.
    pub dir: &'a Path,
    /// Its steps go to `<prefix>steps/...` under `dir`.
    pub prefix: String,
    /// No step starts that would end after this.
    pub deadline: Instant,
}

/// Run the capacity search of `sc` on `cluster`.
pub(super) fn search(
    sc: &Scenario,
    spec: &CapacitySearch,
    cluster: &mut StartedCluster,
    place: &Place<'_>,
    progress: &Progress,
) -> Searched {
    let mut search = Search::new(spec.spec.clone());
    let mut steps = Vec::new();
    let step_time = step::duration(sc);
    let mut next = Some((spec.spec.start, Purpose::WarmUp));
    let error = loop {
        let Some((rate, purpose)) = next.take().or_else(|| search.next_step()) else {
            break None;
        };
        if Instant::now() + step_time > place.deadline {
            search.stop(Stop::Budget);
            break None;
        }
        let rel = format!("{}steps/{:02}-{rate:.0}", place.prefix, steps.len() + 1);
        let at = step::At {
            index: steps.len(),
            dir: place.dir,
            rel,
        };
        let (record, aborted) = match step::run(
            &step::at_rate(sc, at.index, rate),
            cluster,
            at,
            purpose,
            progress,
        ) {
            Ok(r) => r,
            Err(e) => break Some(e),
        };
        if purpose != Purpose::WarmUp {
            search.record(rate, purpose, record.verdict.clone());
        }
        steps.push(record);
        if aborted {
            search.stop(Stop::Interrupted);
            break None;
        }
    };
    if error.is_some() {
        search.stop(Stop::Interrupted);
    }
    Searched {
        steps,
        answer: search.answer(),
        error,
    }
}
