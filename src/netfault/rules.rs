//! The packet filters a fault becomes, as text and argument lists (pure, so the exact rules are
//! unit-tested): an nftables table inside the node's namespace that drops, randomly drops or
//! queues (for delay) the scope's packets on the node's link, and the `tbf` qdiscs that cap a
//! link's rate. Traffic a node sends to itself stays on its own loopback and is never touched.

use std::net::Ipv4Addr;

use super::spec::{Direction, NetFault, NetKind, Scope};

/// Name of the node's link inside its namespace.
pub const NODE_LINK: &str = "eth0";

/// Who is who on the lab network, seen from one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressing {
    /// The other nodes' addresses.
    pub peers: Vec<Ipv4Addr>,
    /// The addresses clients (kbench, the registry) come from: the lab's host end, or on
    /// Docker the bridge's gateway (published ports) and the registry's container.
    pub clients: Vec<Ipv4Addr>,
    /// Every node's controller-listener port (quorum traffic goes to or from one of them).
    pub controller_ports: Vec<u16>,
}

/// What the matched packets get.
fn verdict(kind: NetKind) -> String {
    match kind {
        NetKind::Loss { percent } => {
            // 1/10,000 resolution: 0.01 % is the finest loss a scenario can ask for.
            let n = (percent * 100.0).round() as u32;
            format!("numgen random mod 10000 < {n} drop")
        }
        _ => "drop".into(),
    }
}

fn set<T: ToString>(items: &[T]) -> String {
    let v: Vec<String> = items.iter().map(T::to_string).collect();
    format!("{{ {} }}", v.join(", "))
}

/// The matches of one direction: `remote` is `saddr` for inbound packets, `daddr` for
/// outbound; the port matches follow the same convention.
fn matches(scope: Scope, a: &Addressing, inbound: bool) -> Vec<String> {
    let remote = if inbound { "ip saddr" } else { "ip daddr" };
    let peers = set(&a.peers);
    let ports = set(&a.controller_ports);
    match scope {
        Scope::Peers => vec![format!("{remote} {peers}")],
        Scope::Clients => vec![format!("{remote} {}", set(&a.clients))],
        // Quorum traffic: to a peer's controller port, or answers from our own.
        Scope::Quorum => vec![
            format!("{remote} {peers} tcp dport {ports}"),
            format!("{remote} {peers} tcp sport {ports}"),
        ],
        Scope::All => vec![String::new()],
    }
}

/// The nftables table (`nft -f` input) of fault `table` on a node: partitions and loss only
/// (`None` for the other kinds).
pub fn nft_table(table: &str, f: &NetFault, a: &Addressing) -> Option<String> {
    if !matches!(f.kind, NetKind::Partition | NetKind::Loss { .. }) {
        return None;
    }
    let v = verdict(f.kind);
    let mut text = format!("table inet {table} {{\n");
    for (name, hook, iface, on) in [
        ("in", "input", "iifname", f.direction.inbound()),
        ("out", "output", "oifname", f.direction.outbound()),
    ] {
        if !on {
            continue;
        }
        text.push_str(&format!(
            "  chain {name} {{\n    type filter hook {hook} priority -10; policy accept;\n"
        ));
        for m in matches(f.scope, a, hook == "input") {
            let m = if m.is_empty() { m } else { format!("{m} ") };
            text.push_str(&format!("    {iface} \"{NODE_LINK}\" {m}{v}\n"));
        }
        text.push_str("  }\n");
    }
    text.push_str("}\n");
    Some(text)
}

/// `a,b,c`, as iptables takes a list of addresses or ports.
fn comma_list<T: ToString>(items: &[T]) -> String {
    let v: Vec<String> = items.iter().map(T::to_string).collect();
    v.join(",")
}

/// The `iptables` rules that send a delay fault's packets to NFQUEUE `queue`, as (chain,
/// match-and-target arguments). Delay goes through iptables rather than nftables because this
/// kernel (like others built without `nft_queue`) only queues through the `NFQUEUE` target.
pub fn delay_rules(f: &NetFault, a: &Addressing, queue: u16) -> Vec<(String, Vec<String>)> {
    let peers = comma_list(&a.peers);
    let clients = comma_list(&a.clients);
    let ports = comma_list(&a.controller_ports);
    let mut out = Vec::new();
    for (chain, iface, remote, on) in [
        ("INPUT", "-i", "-s", f.direction.inbound()),
        ("OUTPUT", "-o", "-d", f.direction.outbound()),
    ] {
        if !on {
            continue;
        }
        let selections: Vec<Vec<String>> = match f.scope {
            Scope::Peers => vec![vec![remote.into(), peers.clone()]],
            Scope::Clients => vec![vec![remote.into(), clients.clone()]],
            Scope::Quorum => ["--dports", "--sports"]
                .iter()
                .map(|p| {
                    let m = ["-p", "tcp", "-m", "multiport", p, &ports];
                    let mut v = vec![remote.to_string(), peers.clone()];
                    v.extend(m.iter().map(|s| s.to_string()));
                    v
                })
                .collect(),
            Scope::All => vec![Vec::new()],
        };
        for sel in selections {
            let mut args = vec![iface.to_string(), NODE_LINK.to_string()];
            args.extend(sel);
            args.extend(
                [
                    "-j",
                    "NFQUEUE",
                    "--queue-num",
                    &queue.to_string(),
                    "--queue-bypass",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            out.push((chain.to_string(), args));
        }
    }
    out
}

/// `tc` arguments that cap `link` at `bits_per_s` with a token bucket. The bucket holds 10 ms
/// of traffic (at least 16 KiB, so one full-size segment always fits) and a packet waits at most
/// 200 ms for tokens before it is dropped, as a congested router's queue would.
pub fn tbf_args(link: &str, bits_per_s: u64) -> Vec<String> {
    let burst = (bits_per_s / 8 / 100).max(16 * 1024);
    [
        "qdisc",
        "replace",
        "dev",
        link,
        "root",
        "tbf",
        "rate",
        &format!("{bits_per_s}bit"),
        "burst",
        &burst.to_string(),
        "latency",
        "200ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Which links a bandwidth fault caps: the node's own end for outbound traffic, the hub's end
/// for inbound (a qdisc shapes what leaves an interface).
pub fn capped_links(direction: Direction) -> (bool, bool) {
    (direction.outbound(), direction.inbound())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lab() -> Addressing {
        Addressing {
            peers: vec![Ipv4Addr::new(10, 231, 0, 2), Ipv4Addr::new(10, 231, 0, 3)],
            clients: vec![Ipv4Addr::new(10, 231, 0, 254)],
            controller_ports: vec![29092, 29093, 29094],
        }
    }

    fn fault(kind: NetKind, scope: Scope, direction: Direction) -> NetFault {
        NetFault {
            kind,
            scope,
            direction,
        }
    }

    #[test]
    fn a_peer_partition_drops_peer_traffic_both_ways_and_spares_clients() {
        let f = fault(NetKind::Partition, Scope::Peers, Direction::Both);
        let t = nft_table("kbench_f0", &f, &lab()).unwrap();
        assert!(t.contains(
            "hook input priority -10; policy accept;\n    iifname \"eth0\" ip saddr { 10.231.0.2, 10.231.0.3 } drop"
        ), "{t}");
        assert!(t.contains("oifname \"eth0\" ip daddr { 10.231.0.2, 10.231.0.3 } drop"));
        assert!(!t.contains("10.231.0.254"));
    }

    #[test]
    fn one_way_cuts_only_one_hook() {
        let f = fault(NetKind::Partition, Scope::Clients, Direction::In);
        let t = nft_table("x", &f, &lab()).unwrap();
        assert!(t.contains("iifname \"eth0\" ip saddr { 10.231.0.254 } drop"));
        assert!(!t.contains("hook output"));
        let f = fault(NetKind::Partition, Scope::Clients, Direction::Out);
        let t = nft_table("x", &f, &lab()).unwrap();
        assert!(!t.contains("hook input"));
        assert!(t.contains("oifname \"eth0\" ip daddr { 10.231.0.254 } drop"));
    }

    #[test]
    fn a_quorum_cut_matches_controller_ports_only() {
        let f = fault(NetKind::Partition, Scope::Quorum, Direction::Both);
        let t = nft_table("x", &f, &lab()).unwrap();
        assert!(t.contains(
            "iifname \"eth0\" ip saddr { 10.231.0.2, 10.231.0.3 } tcp dport { 29092, 29093, 29094 } drop"
        ));
        assert!(t.contains(
            "oifname \"eth0\" ip daddr { 10.231.0.2, 10.231.0.3 } tcp sport { 29092, 29093, 29094 } drop"
        ));
        assert_eq!(t.matches(" drop").count(), 4);
    }

    #[test]
    fn loss_and_delay_use_random_drops_and_the_queue() {
        let f = fault(NetKind::Loss { percent: 5.0 }, Scope::All, Direction::Both);
        let t = nft_table("x", &f, &lab()).unwrap();
        assert!(t.contains("iifname \"eth0\" numgen random mod 10000 < 500 drop"));
        let d = NetKind::Delay {
            delay: Duration::from_millis(50),
            jitter: Duration::ZERO,
        };
        let r = delay_rules(&fault(d, Scope::All, Direction::Out), &lab(), 7);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, "OUTPUT");
        assert_eq!(
            r[0].1.join(" "),
            "-o eth0 -j NFQUEUE --queue-num 7 --queue-bypass"
        );
        let q = delay_rules(&fault(d, Scope::Quorum, Direction::Both), &lab(), 7);
        assert_eq!(q.len(), 4);
        assert_eq!(
            q[0].1.join(" "),
            "-i eth0 -s 10.231.0.2,10.231.0.3 -p tcp -m multiport --dports 29092,29093,29094 -j NFQUEUE --queue-num 7 --queue-bypass"
        );
        assert_eq!(
            nft_table("x", &fault(d, Scope::All, Direction::Out), &lab()),
            None
        );
    }

    #[test]
    fn a_token_bucket_holds_ten_ms_of_traffic() {
        let a = tbf_args("eth0", 80_000_000);
        assert_eq!(a[7], "80000000bit");
        assert_eq!(a[9], "100000");
        assert_eq!(tbf_args("eth0", 1_000_000)[9], "16384");
        assert_eq!(capped_links(Direction::In), (false, true));
    }
}
