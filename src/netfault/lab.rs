//! The lab network a cluster with network faults runs on: one network namespace per node, each
//! with one link (`eth0`) into a bridge that lives in its own hub namespace, and one link from
//! the host into the same bridge for the clients. Every node gets its own address on a private
//! /24, so a rule inside a node's namespace can tell peers, clients and the quorum apart — and
//! nothing is routed through the host's own interfaces or its firewall.
//!
//! The record is written into the cluster's state file before anything is created; removing the
//! namespaces removes everything inside them (links, addresses, nftables tables, qdiscs).

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::names::BrokerId;

/// The lab's /24: node N is `10.231.0.N`, the host's end `10.231.0.254`.
const SUBNET: [u8; 3] = [10, 231, 0];
/// Last octet of the host's address on the lab network.
const HOST_OCTET: u8 = 254;

/// One node's place on the lab network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabNode {
    /// The node id.
    pub id: BrokerId,
    /// Its network namespace (`kbench-n<id>`).
    pub netns: String,
    /// Its address on the lab network.
    pub address: Ipv4Addr,
    /// The hub's end of its link (`n<id>`): where traffic *to* the node is shaped.
    pub hub_link: String,
}

/// A fault in force, as the state file keeps it until it is healed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedRecord {
    /// The fault's index in the scenario.
    pub fault: usize,
    /// The node it hits.
    pub node: BrokerId,
    /// Human description (`cut from peers (both ways)`).
    pub what: String,
    /// nftables tables: (namespace, table name).
    #[serde(default)]
    pub tables: Vec<(String, String)>,
    /// iptables rules: (namespace, chain, rule arguments).
    #[serde(default)]
    pub iptables: Vec<(String, String, Vec<String>)>,
    /// Root qdiscs: (namespace, link).
    #[serde(default)]
    pub qdiscs: Vec<(String, String)>,
    /// A CPU cgroup the node's JVM was moved into, and the cgroup it came from.
    #[serde(default)]
    pub cgroup: Option<super::starve::Quota>,
}

/// Everything the lab network consists of, recorded in the cluster's state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabRecord {
    /// The hub namespace holding the bridge (`kbench-hub`).
    pub hub: String,
    /// The host's end of its link into the hub (`kbench0`).
    pub host_link: String,
    /// The host's address on the lab network: every client connects from it.
    pub host_address: Ipv4Addr,
    /// The nodes.
    pub nodes: Vec<LabNode>,
    /// Faults in force now.
    #[serde(default)]
    pub applied: Vec<AppliedRecord>,
}

impl LabRecord {
    /// The lab for nodes `ids`: names and addresses only, nothing created yet.
    pub fn plan(ids: &[BrokerId]) -> LabRecord {
        let [a, b, c] = SUBNET;
        LabRecord {
            hub: "kbench-hub".into(),
            host_link: "kbench0".into(),
            host_address: Ipv4Addr::new(a, b, c, HOST_OCTET),
            nodes: ids
                .iter()
                .map(|&id| LabNode {
                    id,
                    netns: format!("kbench-n{id}"),
                    address: Ipv4Addr::new(a, b, c, id as u8),
                    hub_link: format!("n{id}"),
                })
                .collect(),
            applied: Vec::new(),
        }
    }

    /// Node `id`'s place, if it has one.
    pub fn node(&self, id: BrokerId) -> Option<&LabNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every namespace of the lab, nodes first.
    fn namespaces(&self) -> Vec<&str> {
        let nodes = self.nodes.iter().map(|n| n.netns.as_str());
        nodes.chain([self.hub.as_str()]).collect()
    }
}

/// Run a system tool; fail with the command and what it printed.
pub fn tool(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let path = super::privilege::find_tool(program).with_context(|| {
        format!("`{program}` is not installed (it is in Debian's iproute2 / nftables packages)")
    })?;
    let mut cmd = Command::new(&path);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> Result<String> {
    tool("ip", args, None)
}

/// Fail, saying what is in the way, when the lab cannot be made here: a namespace or link of
/// that name exists (a cluster that was not taken down), or the host already routes the subnet.
pub fn check_free(lab: &LabRecord) -> Result<()> {
    let existing = ip(&["netns", "list"])?;
    for ns in lab.namespaces() {
        if existing.split_whitespace().any(|w| w == ns) {
            bail!(
                "network namespace {ns} already exists: another kbench cluster with network faults \
                 is up or was not cleaned up (`kbench cluster down`, or `ip netns del {ns}`)"
            );
        }
    }
    if ip(&["link", "show", "dev", &lab.host_link]).is_ok() {
        bail!(
            "a network interface named {} already exists on this host",
            lab.host_link
        );
    }
    let [a, b, c] = SUBNET;
    let subnet = format!("{a}.{b}.{c}.0/24");
    let routes = ip(&["-4", "route", "show", "match", &subnet])?;
    if let Some(r) = routes.lines().find(|l| !l.starts_with("default")) {
        bail!(
            "this host already routes {subnet} (`{r}`); kbench's lab network needs that subnet \
             for itself and will not touch the host's routes"
        );
    }
    Ok(())
}

/// Create the lab: the hub and its bridge, each node's namespace and link, the host's link.
pub fn create(lab: &LabRecord) -> Result<()> {
    let hub = lab.hub.as_str();
    ip(&["netns", "add", hub])?;
    ip(&["-n", hub, "link", "set", "lo", "up"])?;
    ip(&["-n", hub, "link", "add", "br0", "type", "bridge"])?;
    ip(&["-n", hub, "link", "set", "br0", "up"])?;
    for n in &lab.nodes {
        let ns = n.netns.as_str();
        ip(&["netns", "add", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&[
            "link",
            "add",
            &n.hub_link,
            "netns",
            hub,
            "type",
            "veth",
            "peer",
            "name",
        ]
        .into_iter()
        .chain([super::rules::NODE_LINK, "netns", ns])
        .collect::<Vec<_>>())?;
        ip(&["-n", hub, "link", "set", &n.hub_link, "master", "br0", "up"])?;
        let addr = format!("{}/24", n.address);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &addr,
            "dev",
            super::rules::NODE_LINK,
        ])?;
        ip(&["-n", ns, "link", "set", super::rules::NODE_LINK, "up"])?;
    }
    let host = lab.host_link.as_str();
    ip(&[
        "link", "add", host, "type", "veth", "peer", "name", "host", "netns", hub,
    ])?;
    ip(&[
        "addr",
        "add",
        &format!("{}/24", lab.host_address),
        "dev",
        host,
    ])?;
    ip(&["link", "set", host, "up"])?;
    ip(&["-n", hub, "link", "set", "host", "master", "br0", "up"])?;
    Ok(())
}

/// Remove the lab: every namespace (and with it every link, table and qdisc inside), then the
/// host's link if it outlived the hub. Returns what could not be removed.
pub fn remove(lab: &LabRecord) -> Vec<String> {
    let mut left = Vec::new();
    let existing = ip(&["netns", "list"]).unwrap_or_default();
    for ns in lab.namespaces() {
        if existing.split_whitespace().any(|w| w == ns) {
            if let Err(e) = ip(&["netns", "del", ns]) {
                left.push(format!("{e:#}"));
            }
        }
    }
    if ip(&["link", "show", "dev", &lab.host_link]).is_ok() {
        if let Err(e) = ip(&["link", "del", &lab.host_link]) {
            left.push(format!("{e:#}"));
        }
    }
    left
}

/// Path of a named namespace's handle.
pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

/// Have `cmd` start inside namespace `netns` (its pid stays the JVM's own: no wrapper).
pub fn spawn_inside(cmd: &mut Command, netns: &str) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let handle = std::fs::File::open(netns_path(netns))
        .with_context(|| format!("network namespace {netns} is missing"))?;
    // SAFETY: setns is async-signal-safe; the closure only makes that one system call on a
    // descriptor opened before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

/// Move the calling thread into namespace `netns` (for a thread that serves a packet queue
/// there).
pub fn enter(netns: &str) -> Result<()> {
    let handle = std::fs::File::open(netns_path(netns))
        .with_context(|| format!("network namespace {netns} is missing"))?;
    // SAFETY: plain system call on an open descriptor; it affects only the calling thread.
    if unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!(
            "cannot enter network namespace {netns}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_gets_its_own_namespace_and_address() {
        let lab = LabRecord::plan(&[1, 2, 3]);
        assert_eq!(lab.node(2).unwrap().address, Ipv4Addr::new(10, 231, 0, 2));
        assert_eq!(lab.node(3).unwrap().netns, "kbench-n3");
        assert_eq!(lab.host_address, Ipv4Addr::new(10, 231, 0, 254));
        assert_eq!(
            lab.namespaces(),
            ["kbench-n1", "kbench-n2", "kbench-n3", "kbench-hub"]
        );
    }
}
