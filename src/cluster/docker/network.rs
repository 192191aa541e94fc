//! Network and gray faults on containers. Every Kafka container already has a network
//! namespace of its own on the cluster's bridge, so the lab the process backend builds
//! (`netfault::lab`) is found here instead of made: kbench gives the target container's
//! namespace a name (`ip netns attach`), and its own namespace too (where the container's
//! bridge end is, on which traffic *to* it is shaped), and hands them to the same tables,
//! qdiscs, packet queue and cgroups as on processes (`netfault::inject`). The names are looked
//! up again at every fault, because a container started again gets a new namespace.
//!
//! Teardown heals what is in force and drops the names; removing a container removes whatever
//! was made inside it. After a crash, `cluster down` drops the names and empty cgroups left
//! (`lab::remove_leftovers`).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use super::backend::DockerBackend;
use super::engine::{Engine, Placement};
use super::lab::{bridge_end, host_netns, name_netns, node_netns};
use crate::names::BrokerId;
use crate::netfault::inject;
use crate::netfault::lab::{tool, AppliedRecord, LabNode, LabRecord};
use crate::netfault::rules::Addressing;
use crate::netfault::{NetEvidence, NetFault, NetworkFaults};

impl DockerBackend {
    /// Where every container is now.
    fn placements(&self) -> Result<BTreeMap<BrokerId, Placement>> {
        let engine: &Engine = &self.faults.engine;
        let names = self.faults.names();
        (names.iter())
            .map(|(id, name)| Ok((*id, engine.placement(name, self.cluster())?)))
            .collect()
    }

    /// The lab as it stands, seen from `node`: its namespace named, who its peers and clients
    /// are, and its JVM.
    fn survey(&mut self, node: BrokerId) -> Result<(LabRecord, Addressing, i32)> {
        let all = self.placements()?;
        let me = *all
            .get(&node)
            .with_context(|| format!("no container for node {node}"))?;
        let (netns, host) = (node_netns(self.cluster(), node), host_netns(self.cluster()));
        name_netns(&mut self.lab.named, &host, std::process::id() as i32)?;
        name_netns(&mut self.lab.named, &netns, me.pid)?;
        let registry = self.faults.registry.as_deref().map(|r| {
            let engine = &self.faults.engine;
            engine.placement(r, self.cluster()).map(|p| p.address)
        });
        let mut clients = vec![me.gateway];
        clients.extend(registry.transpose()?);
        let addressing = Addressing {
            peers: (all.iter().filter(|(id, _)| **id != node))
                .map(|(_, p)| p.address)
                .collect(),
            clients,
            controller_ports: self.topo.nodes.iter().map(|n| n.controller_port).collect(),
        };
        let lab = LabRecord {
            hub: host.clone(),
            host_link: String::new(),
            host_address: me.gateway,
            nodes: vec![LabNode {
                id: node,
                hub_link: bridge_end(&netns, &host)?,
                netns,
                address: me.address,
            }],
            applied: Vec::new(),
        };
        Ok((lab, addressing, me.pid))
    }

    /// Undo the faults matching `which`; those that cannot be undone stay, for teardown.
    fn undo_where(&mut self, which: impl Fn(&AppliedRecord) -> bool) -> Result<Vec<NetEvidence>> {
        let (undo, keep) = std::mem::take(&mut self.lab.applied)
            .into_iter()
            .partition(|r| which(r));
        self.lab.applied = keep;
        let (evidence, failed) = inject::undo_each(undo, &mut self.lab.delays);
        let why: Vec<String> = failed.iter().map(|(_, e)| e.clone()).collect();
        self.lab
            .applied
            .extend(failed.into_iter().map(|(rec, _)| rec));
        if !why.is_empty() {
            bail!("could not heal: {}", why.join("; "));
        }
        Ok(evidence)
    }

    /// Heal every fault in force and drop the namespace names; what could not be undone.
    pub(super) fn remove_lab(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        if let Err(e) = self.undo_where(|_| true) {
            left.push(format!("{e:#}"));
        }
        for name in std::mem::take(&mut self.lab.named).into_keys() {
            if let Err(e) = tool("ip", &["netns", "delete", &name], None) {
                left.push(format!("{e:#}"));
            }
        }
        left
    }
}

impl NetworkFaults for DockerBackend {
    fn inject(&mut self, fault: usize, node: BrokerId, f: &NetFault) -> Result<Vec<NetEvidence>> {
        let (lab, a, pid) = self.survey(node)?;
        let rec = inject::plan(&lab, fault, node, f, &a, Some(pid))?;
        self.lab.applied.push(rec.clone());
        match inject::carry_out(&rec, f, &a, &mut self.lab.delays) {
            Ok(evidence) => Ok(evidence),
            Err(e) => {
                // Never half-applied: whatever part was made is undone before the error goes up.
                self.undo_where(|r| r.fault == fault).ok();
                Err(e)
            }
        }
    }

    fn heal(&mut self, fault: usize) -> Result<Vec<NetEvidence>> {
        self.undo_where(|r| r.fault == fault)
    }

    fn heal_node(&mut self, node: BrokerId) -> Result<Vec<NetEvidence>> {
        self.undo_where(|r| r.node == node)
    }
}
