//! What a network or gray fault does, as the scenario states it: the kind (partition, loss,
//! bandwidth cap, delay, CPU starvation), which of the node's traffic it hits (`Scope`) and in
//! which direction. Pure values; `rules` turns them into packet filters.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Which of a node's traffic a network fault hits; its name as a scenario writes it comes
/// from the variant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Scope {
    /// Traffic with the other nodes (replication and controller): clients still reach the node.
    Peers,
    /// Traffic with clients (kbench's producers and consumers, the registry).
    Clients,
    /// Controller-quorum traffic with the other nodes only; replication still flows.
    Quorum,
    /// Everything on the node's link.
    All,
}

/// Which packets of the scope: those reaching the node, those leaving it, or both. Its name as
/// a scenario writes it (`in`) comes from the variant; `Display` says it in words for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString, strum::VariantNames)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Direction {
    /// Both ways.
    Both,
    /// Packets arriving at the node.
    In,
    /// Packets the node sends.
    Out,
}

impl Direction {
    /// Whether packets arriving at the node are hit.
    pub fn inbound(self) -> bool {
        self != Direction::Out
    }

    /// Whether packets the node sends are hit.
    pub fn outbound(self) -> bool {
        self != Direction::In
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Both => "both ways",
            Direction::In => "inbound",
            Direction::Out => "outbound",
        })
    }
}

/// The kind of a network or gray fault, with its setting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum NetKind {
    /// Every packet of the scope dropped.
    Partition,
    /// This percentage of the scope's packets dropped, each at random.
    Loss {
        /// 0 < percent < 100.
        percent: f64,
    },
    /// The node's link capped at this rate (each direction the fault covers).
    Bandwidth {
        /// Bits per second.
        bits_per_s: u64,
    },
    /// Every packet of the scope held this long (± jitter, uniform) before it goes on.
    Delay {
        /// Mean hold time.
        delay: Duration,
        /// Half-width of the uniform spread around `delay`.
        jitter: Duration,
    },
    /// The node's JVM limited to this fraction of one CPU (CFS quota).
    Starve {
        /// 0 < cpu < number of CPUs.
        cpu: f64,
    },
}

/// One network or gray fault: what, on which traffic, in which direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetFault {
    /// What happens to the packets (or the CPU).
    pub kind: NetKind,
    /// Which traffic; `All` for bandwidth and starvation.
    pub scope: Scope,
    /// Which way; `Both` for starvation.
    pub direction: Direction,
}

impl NetFault {
    /// Human description, e.g. `cut from peers (both ways)`, `delay 100 ms ± 20 ms (all,
    /// outbound)`.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            NetKind::Partition => "cut".to_string(),
            NetKind::Loss { percent } => format!("{percent}% loss"),
            NetKind::Bandwidth { bits_per_s } => format!("bandwidth {}", rate_text(bits_per_s)),
            NetKind::Delay { delay, jitter } if jitter.is_zero() => {
                format!("delay {} ms", delay.as_millis())
            }
            NetKind::Delay { delay, jitter } => {
                format!("delay {} ms ± {} ms", delay.as_millis(), jitter.as_millis())
            }
            NetKind::Starve { cpu } => return format!("starved to {cpu} CPU"),
        };
        match (self.kind, self.scope) {
            (NetKind::Partition, Scope::All) => format!("cut from everything ({})", self.direction),
            (NetKind::Partition, s) => format!("cut from {s} ({})", self.direction),
            (_, s) => format!("{what} ({s}, {})", self.direction),
        }
    }
}

/// Parse a link rate as `tc` writes it: `500kbit`, `10mbit`, `1gbit` (bits per second).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .iter()
        .find_map(|(u, m)| t.strip_suffix(u).map(|n| (n.trim().to_string(), *m)))
        .ok_or_else(|| format!("\"{s}\" is not a rate; write it like 500kbit, 10mbit or 1gbit"))?;
    let v: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a rate; write it like 500kbit, 10mbit or 1gbit"))?;
    let bits = v * mult;
    if !(8_000.0..=100e9).contains(&bits) {
        return Err(format!("{s} is outside 8kbit..100gbit"));
    }
    Ok(bits as u64)
}

/// A rate in the unit that reads best (`10mbit`).
pub fn rate_text(bits_per_s: u64) -> String {
    let b = bits_per_s as f64;
    if b >= 1e9 {
        format!("{}gbit", b / 1e9)
    } else if b >= 1e6 {
        format!("{}mbit", b / 1e6)
    } else {
        format!("{}kbit", b / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_tc() {
        assert_eq!(parse_rate("10mbit"), Ok(10_000_000));
        assert_eq!(parse_rate("500kbit"), Ok(500_000));
        assert_eq!(parse_rate("1.5gbit"), Ok(1_500_000_000));
        assert!(parse_rate("10 MB/s").unwrap_err().contains("10mbit"));
        assert!(parse_rate("1kbit").is_err());
        assert_eq!(rate_text(10_000_000), "10mbit");
    }

    #[test]
    fn descriptions_name_scope_and_direction() {
        let f = NetFault {
            kind: NetKind::Partition,
            scope: Scope::Peers,
            direction: Direction::Both,
        };
        assert_eq!(f.describe(), "cut from peers (both ways)");
        let d = NetFault {
            kind: NetKind::Delay {
                delay: Duration::from_millis(100),
                jitter: Duration::from_millis(20),
            },
            scope: Scope::All,
            direction: Direction::Out,
        };
        assert_eq!(d.describe(), "delay 100 ms ± 20 ms (all, outbound)");
        assert!(Direction::Out.outbound() && !Direction::Out.inbound());
    }
}
