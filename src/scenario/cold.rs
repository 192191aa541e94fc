//! `[[consumer.cold]]`: consumer groups that join mid-run with nothing cached — when each
//! starts and its group id, which must differ from the run's own group and from each other
//! (a shared group would split partitions with it instead of reading everything).

use std::collections::HashSet;
use std::time::Duration;

use super::raw::RawColdGroup;
use super::source::{ScenarioError, Source};
use super::ColdGroup;

/// The cold groups, in time order; every start inside the run.
pub(super) fn groups(
    src: &Source,
    raw: &[RawColdGroup],
    run_group: &str,
    total: Duration,
) -> Result<Vec<ColdGroup>, ScenarioError> {
    let mut seen = HashSet::from([run_group.to_string()]);
    let mut out = Vec::with_capacity(raw.len());
    for (i, g) in raw.iter().enumerate() {
        let field = |k: &str| format!("consumer.cold.{i}.{k}");
        let at = src.time_in_run(&field("at"), &g.at, total)?;
        let group = (g.group.clone()).unwrap_or_else(|| format!("{run_group}-cold-{i}"));
        if group.trim().is_empty() {
            return Err(src.error(&field("group"), "must not be empty"));
        }
        if !seen.insert(group.clone()) {
            return Err(src.error(
                &field("group"),
                format!(
                    "group \"{group}\" is already used by the run's consumers or another cold \
                     group; a cold group needs its own group id to read the whole topic"
                ),
            ));
        }
        out.push(ColdGroup { at, group });
    }
    out.sort_by_key(|g| g.at);
    Ok(out)
}
