//! Network and gray faults on the process backend: its nodes run in namespaces of the lab
//! network (`netfault::lab`), so a fault is a table, qdisc or cgroup kbench makes there. Each is
//! in the state file before it exists and leaves it when healed; teardown heals whatever is
//! still in force and removes the namespaces.

use anyhow::{Context, Result};

use super::ProcessBackend;
use crate::names::BrokerId;
use crate::netfault::inject;
use crate::netfault::lab::{self, AppliedRecord};
use crate::netfault::rules::Addressing;
use crate::netfault::{NetEvidence, NetFault, NetworkFaults};

impl ProcessBackend {
    /// Run every node in a network namespace of its own, on its own address, so network
    /// faults can be injected (see `netfault::lab`).
    pub fn in_namespaces(mut self) -> Self {
        let lab = lab::LabRecord::plan(&self.topo.node_ids());
        let addresses: Vec<_> = lab.nodes.iter().map(|n| (n.id, n.address)).collect();
        self.topo = std::mem::take(&mut self.topo).on_addresses(&addresses);
        for rec in &mut self.state.nodes {
            rec.host = self.topo.node(rec.id).expect("same ids").host;
        }
        self.state.bootstrap_servers = self.topo.bootstrap_servers();
        self.state.lab = Some(lab);
        self
    }

    /// Make the lab network, recorded in the state file first (no-op on loopback).
    pub(super) fn make_lab(&mut self) -> Result<()> {
        let Some(lab) = &self.state.lab else {
            return Ok(());
        };
        lab::check_free(lab)?;
        self.state.save()?;
        lab::create(lab)
    }

    /// Who is who on the lab network, seen from `node`.
    fn addressing(&self, node: BrokerId) -> Result<Addressing> {
        let lab = self.state.lab.as_ref().context("no lab network")?;
        Ok(Addressing {
            peers: lab
                .nodes
                .iter()
                .filter(|n| n.id != node)
                .map(|n| n.address)
                .collect(),
            clients: vec![lab.host_address],
            controller_ports: self.topo.nodes.iter().map(|n| n.controller_port).collect(),
        })
    }

    /// Undo the applied faults matching `which`, dropping each from the state file once undone.
    fn undo_where(&mut self, which: impl Fn(&AppliedRecord) -> bool) -> Result<Vec<NetEvidence>> {
        let Some(lab) = self.state.lab.as_mut() else {
            return Ok(Vec::new());
        };
        let (undo, keep): (Vec<_>, Vec<_>) = lab.applied.drain(..).partition(|r| which(r));
        lab.applied = keep;
        let (evidence, failed) = inject::undo_each(undo, &mut self.delays);
        let why: Vec<String> = failed.iter().map(|(_, e)| e.clone()).collect();
        // What could not be undone stays in the state file, for `cluster down` to try again.
        lab.applied.extend(failed.into_iter().map(|(rec, _)| rec));
        self.state.save()?;
        if !why.is_empty() {
            anyhow::bail!("could not heal: {}", why.join("; "));
        }
        Ok(evidence)
    }

    /// Heal every fault in force and remove the lab network; returns what was left behind.
    pub(super) fn remove_lab(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        if let Err(e) = self.undo_where(|_| true) {
            left.push(format!("{e:#}"));
        }
        if let Some(lab) = &self.state.lab {
            left.extend(lab::remove(lab));
        }
        left
    }
}

impl NetworkFaults for ProcessBackend {
    fn inject(&mut self, fault: usize, node: BrokerId, f: &NetFault) -> Result<Vec<NetEvidence>> {
        let a = self.addressing(node)?;
        let pid = self.record(node)?.process.map(|p| p.pid);
        let lab = self.state.lab.as_mut().context("no lab network")?;
        let rec = inject::plan(lab, fault, node, f, &a, pid)?;
        lab.applied.push(rec.clone());
        self.state.save()?;
        match inject::carry_out(&rec, f, &a, &mut self.delays) {
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
