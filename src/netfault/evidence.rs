//! What a network or gray fault did on the lab network, as values: the filter, queue, qdisc or
//! cgroup it put in place, and what undoing it found. `Display` says it as the report does.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One thing a network or gray fault did, or found when it was undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetEvidence {
    /// An nftables table filtering the node's packets.
    Filtered {
        /// The table.
        table: String,
        /// The namespace it is in.
        namespace: String,
    },
    /// iptables rules sending the node's packets to the NFQUEUE a delay holder reads.
    Queued {
        /// How many rules.
        rules: usize,
        /// The queue number.
        queue: u16,
        /// The namespace they are in.
        namespace: String,
    },
    /// A tbf qdisc capping a link.
    RateCapped {
        /// The cap, bits per second.
        bits_per_s: u64,
        /// The link.
        link: String,
        /// The namespace it is in.
        namespace: String,
    },
    /// The node's JVM moved to a cgroup with a CPU quota.
    Starved {
        /// The JVM.
        pid: i32,
        /// The cgroup.
        cgroup: String,
        /// Its quota, in CPUs.
        cpu: f64,
    },
    /// Undoing a delay: packets the holder delayed.
    Delayed {
        /// How many.
        packets: u64,
    },
    /// Undoing a starvation: CFS periods the cgroup was throttled in.
    Throttled {
        /// How many.
        periods: u64,
    },
    /// A fault undone (`what` describes it), and what undoing it found.
    Healed {
        /// The fault, in words.
        what: String,
        /// What was found.
        found: Box<NetEvidence>,
    },
}

impl fmt::Display for NetEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetEvidence::Filtered { table, namespace } => {
                write!(f, "nftables table {table} in {namespace}")
            }
            NetEvidence::Queued {
                rules,
                queue,
                namespace,
            } => write!(
                f,
                "{rules} iptables rules to NFQUEUE {queue} in {namespace}"
            ),
            NetEvidence::RateCapped {
                bits_per_s,
                link,
                namespace,
            } => write!(
                f,
                "tbf {} on {link} in {namespace}",
                super::spec::rate_text(*bits_per_s)
            ),
            NetEvidence::Starved { pid, cgroup, cpu } => {
                write!(f, "pid {pid} moved to {cgroup} with {cpu} CPU")
            }
            NetEvidence::Delayed { packets } => write!(f, "{packets} packets delayed"),
            NetEvidence::Throttled { periods } => write!(f, "throttled in {periods} CFS periods"),
            NetEvidence::Healed { what, found } => write!(f, "healed {what}: {found}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_as_before_and_round_trips() {
        let healed = NetEvidence::Healed {
            what: "delay of broker 2".into(),
            found: Box::new(NetEvidence::Delayed { packets: 812 }),
        };
        assert_eq!(
            healed.to_string(),
            "healed delay of broker 2: 812 packets delayed"
        );
        let json = serde_json::to_string(&healed).unwrap();
        assert_eq!(serde_json::from_str::<NetEvidence>(&json).unwrap(), healed);
    }
}
