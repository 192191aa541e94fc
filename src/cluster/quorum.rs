//! The active KRaft controller of a cluster kbench reaches only as a client. Kafka clients are
//! not told who it is (in KRaft the Metadata API names a random broker as controller) and
//! librdkafka has no DescribeQuorum, so kbench asks Kafka's own `kafka-metadata-quorum` tool,
//! from the distribution it downloads anyway, with the run's security as its command config.

use std::process::Command;

use anyhow::{bail, Context, Result};

use super::dist::Dist;
use crate::kafka::Brokers;
use crate::names::BrokerId;
use crate::security::java_config::SecuredConfig;

/// `LeaderId` from the tool's `describe --status` output.
fn parse_leader(out: &str) -> Option<BrokerId> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("LeaderId:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The node that leads the metadata quorum now, as the quorum itself says (DescribeQuorum).
pub fn leader(dist: &Dist, brokers: &Brokers) -> Result<BrokerId> {
    let secured = SecuredConfig::write(&brokers.security)?;
    let mut cmd = Command::new(&dist.kafka_java.path);
    cmd.args([
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1",
        "-Dlog4j2.level=WARN",
        "-cp",
    ])
    .arg(format!("{}/*", dist.kafka_libs.display()))
    .arg("org.apache.kafka.tools.MetadataQuorumCommand")
    .args(["--bootstrap-server", &brokers.bootstrap]);
    if let Some(s) = &secured {
        cmd.arg("--command-config").arg(&s.config);
    }
    let out = cmd
        .args(["describe", "--status"])
        .output()
        .context("cannot run kafka-metadata-quorum")?;
    let text = String::from_utf8_lossy(&out.stdout);
    match parse_leader(&text) {
        Some(id) if out.status.success() => Ok(id),
        _ => bail!(
            "kafka-metadata-quorum describe --status gave no leader: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_leader_line() {
        let out =
            "ClusterId:              abc\nLeaderId:               2\nLeaderEpoch:            7\n";
        assert_eq!(parse_leader(out), Some(2));
        assert_eq!(parse_leader("nothing"), None);
    }
}
