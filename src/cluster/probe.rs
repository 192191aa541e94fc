//! Asking a running cluster how it is: which brokers are registered (cluster metadata through
//! librdkafka) and which node leads the KRaft quorum (from the nodes' own `quorum-state` files,
//! which the process backend can read directly). Whether the registry answers is
//! `Registry::answers`, which carries the registry's auth.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::kafka::metadata::MetadataClient;
use crate::kafka::Brokers;
use crate::names::BrokerId;

/// Node ids of the brokers the cluster currently lists in its metadata (registered and not
/// fenced). Errors when no broker in `bootstrap` answers within `timeout`.
pub fn registered_brokers(brokers: &Brokers, timeout: Duration) -> Result<Vec<BrokerId>> {
    MetadataClient::new(brokers)?
        .brokers(timeout)
        .with_context(|| format!("no broker of {brokers} answered a metadata request"))
}

/// The registered brokers, or none and why the metadata request failed: what a status shows.
pub fn registration(brokers: &Brokers, timeout: Duration) -> (Vec<BrokerId>, Option<String>) {
    match registered_brokers(brokers, timeout) {
        Ok(ids) => (ids, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuorumStateFile {
    leader_id: i64,
    leader_epoch: i64,
}

/// `(leader id, epoch)` as one node last recorded it in `<log dir>/__cluster_metadata-0/quorum-state`.
pub fn recorded_leader(log_dir: &Path) -> Option<(i64, i64)> {
    let text = std::fs::read_to_string(log_dir.join("__cluster_metadata-0/quorum-state")).ok()?;
    let q: QuorumStateFile = serde_json::from_str(&text).ok()?;
    Some((q.leader_id, q.leader_epoch))
}

/// The quorum leader: the leader recorded at the highest epoch by any of the given nodes
/// (a stale leader's own file keeps an older epoch, so the newest election wins).
pub fn quorum_leader<'a>(log_dirs: impl IntoIterator<Item = &'a Path>) -> Option<BrokerId> {
    log_dirs
        .into_iter()
        .filter_map(recorded_leader)
        .filter(|(id, _)| *id >= 0)
        .max_by_key(|(_, epoch)| *epoch)
        .and_then(|(id, _)| BrokerId::try_from(id).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_epoch_decides_the_leader() {
        let base = std::env::temp_dir().join(format!("kbench-quorum-{}", std::process::id()));
        let write = |name: &str, body: &str| {
            let d = base.join(name).join("__cluster_metadata-0");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("quorum-state"), body).unwrap();
            base.join(name)
        };
        let a = write(
            "a",
            r#"{"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":1,"appliedOffset":0,"currentVoters":[],"data_version":0}"#,
        );
        let b = write(
            "b",
            r#"{"clusterId":"","leaderId":2,"leaderEpoch":4,"votedId":-1,"appliedOffset":0,"currentVoters":[],"data_version":0}"#,
        );
        let c = write(
            "c",
            r#"{"clusterId":"","leaderId":-1,"leaderEpoch":5,"votedId":3,"appliedOffset":0,"currentVoters":[],"data_version":0}"#,
        );
        assert_eq!(
            quorum_leader([a.as_path(), b.as_path(), c.as_path()]),
            Some(2)
        );
        assert_eq!(quorum_leader([c.as_path()]), None);
        std::fs::remove_dir_all(&base).ok();
    }
}
