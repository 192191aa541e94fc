//! What network faults on containers hold between faults: the namespace names kbench gave
//! (`ip netns attach`), the faults in force and their delay threads; and, after a crash, the
//! removal of what a killed kbench left. The faults themselves are made in `network`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::names::BrokerId;
use crate::netfault::inject::Delays;
use crate::netfault::lab::{tool, AppliedRecord};
use crate::netfault::rules::NODE_LINK;
use crate::netfault::starve;

/// The faults in force on a cluster's containers, and the namespace names kbench gave.
#[derive(Default)]
pub(super) struct ContainerLab {
    /// Named namespaces: name → the process it was named after.
    pub named: BTreeMap<String, i32>,
    /// Faults in force, until healed (or undone at teardown).
    pub applied: Vec<AppliedRecord>,
    /// The delay faults' packet-holding threads.
    pub delays: Delays,
}

/// The name kbench gives node `id`'s namespace.
pub(super) fn node_netns(cluster: &str, id: BrokerId) -> String {
    format!("{cluster}-net{id}")
}

/// The name kbench gives its own namespace, where the bridge's ends of the containers are.
pub(super) fn host_netns(cluster: &str) -> String {
    format!("{cluster}-host")
}

/// Name process `pid`'s network namespace `name`, unless it already is.
pub(super) fn name_netns(named: &mut BTreeMap<String, i32>, name: &str, pid: i32) -> Result<()> {
    if named.get(name) == Some(&pid) {
        return Ok(());
    }
    // A name left from an earlier life of the container points at its old namespace.
    if named.remove(name).is_some() || netns_named(name) {
        tool("ip", &["netns", "delete", name], None)?;
    }
    tool("ip", &["netns", "attach", name, &pid.to_string()], None)?;
    named.insert(name.to_string(), pid);
    Ok(())
}

fn netns_named(name: &str) -> bool {
    crate::netfault::lab::netns_path(name).exists()
}

/// The host's name for the bridge end of `netns`'s `eth0`: `eth0@if<N>` names its peer's
/// interface index.
pub(super) fn bridge_end(netns: &str, host: &str) -> Result<String> {
    let inside = tool("ip", &["-n", netns, "-o", "link", "show", NODE_LINK], None)?;
    let index = inside
        .split_once("@if")
        .and_then(|(_, rest)| rest.split(':').next())
        .with_context(|| format!("cannot tell the peer of {NODE_LINK} in {netns}: {inside}"))?;
    let links = tool("ip", &["-n", host, "-o", "link", "show"], None)?;
    let line = (links.lines())
        .find(|l| l.split(':').next() == Some(index))
        .with_context(|| format!("no interface {index} on the host for {netns}"))?;
    let name = line.split(':').nth(1).unwrap_or_default().trim();
    Ok(name.split('@').next().unwrap_or(name).to_string())
}

/// What a killed kbench left of cluster `cluster`'s faults, once its containers are gone: the
/// namespace names and the (now empty) CPU cgroups. Returns what it removed.
pub(super) fn remove_leftovers(cluster: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let prefix = format!("{cluster}-net");
    let names = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten();
    for entry in names {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) || name == host_netns(cluster) {
            tool("ip", &["netns", "delete", &name], None)?;
            removed.push(format!("namespace name {name}"));
        }
    }
    for cgroup in starve::named(&prefix) {
        std::fs::remove_dir(&cgroup)
            .with_context(|| format!("cannot remove cgroup {}", cgroup.display()))?;
        removed.push(format!("cgroup {}", cgroup.display()));
    }
    Ok(removed)
}
