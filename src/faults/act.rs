//! Carrying out one action on one member of the cluster — a broker or the registry — through
//! whichever seam owns it: the operator's commands (external clusters), the lab network
//! (network and gray faults), or the backend (signals and restarts); and the evidence that the
//! member really went down.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::commands::NodeCommands;
use super::evidence::Evidence;
use super::plan::{Action, FaultSpec};
use crate::cancel::Cancel;
use crate::cluster::{ClusterBackend, Member};
use crate::kafka::metadata::MetadataClient;
use crate::names::BrokerId;

fn client_port_open(backend: &dyn ClusterBackend, node: BrokerId) -> Option<bool> {
    let st = backend.status().ok()?;
    let addr = st
        .nodes
        .iter()
        .find(|n| n.id == node)?
        .address
        .parse()
        .ok()?;
    Some(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok())
}

/// Evidence that a member really went down, for the report.
pub(super) fn down_evidence(backend: &dyn ClusterBackend, member: Member) -> Evidence {
    match member {
        Member::Broker(node) => broker_down_evidence(backend, node),
        Member::Registry => registry_down_evidence(backend),
    }
}

fn broker_down_evidence(backend: &dyn ClusterBackend, node: BrokerId) -> Evidence {
    // Processes of a cluster kbench does not run are invisible to it: only the port speaks.
    let process = (backend.status().ok())
        .and_then(|s| s.nodes.into_iter().find(|n| n.id == node))
        .and_then(|n| n.process);
    Evidence::Down {
        node: Some(node),
        process,
        answers: client_port_open(backend, node),
    }
}

fn registry_down_evidence(backend: &dyn ClusterBackend) -> Evidence {
    let process = (backend.processes().unwrap_or_default().into_iter())
        .find(|(m, _)| *m == Member::Registry)
        .map(|(_, s)| s);
    Evidence::Down {
        node: None,
        process,
        answers: Some(
            backend
                .endpoints()
                .registry
                .answers(Duration::from_millis(500)),
        ),
    }
}

/// Where a rolling restart checks that a node is back, and when to give up waiting.
pub(super) struct Rejoin<'a> {
    /// The operator's commands, when node faults go through them.
    pub commands: Option<&'a NodeCommands>,
    /// The topic whose ISRs a restarted node must be back in.
    pub topic: &'a str,
    /// Cancelled when the load is over or stopped.
    pub cancel: &'a Cancel,
}

/// How long a rolling restart waits for a node to be whole, before and after restarting it.
const REJOIN_WITHIN: Duration = Duration::from_secs(180);

/// Restart every node in turn, the controller last. A node is restarted only once it is in the
/// cluster metadata and every ISR of the topic (as an operator's rolling restart checks), and
/// the next one only once it is back: a node still starting from an earlier fault is never
/// stopped again mid-start (Kafka 4.1.1 can hang in a shutdown begun during its start-up). No
/// node is restarted after the load ended, but one restarted is waited for even then (only a
/// signal cuts that wait), so the cluster is left whole and its rejoin is measured.
pub(super) fn rolling_restart(
    backend: &mut dyn ClusterBackend,
    md: &MetadataClient,
    cx: &Rejoin<'_>,
    evidence: &mut Vec<Evidence>,
) -> Result<()> {
    let controller = backend.controller();
    let mut order = backend.node_ids();
    order.sort_by_key(|n| Some(*n) == controller);
    for node in order {
        let before = whole_again(md, cx.topic, node, || cx.cancel.is_cancelled());
        before.map_err(|why| anyhow!("broker {node} {why} before its turn; not restarted"))?;
        let t0 = Instant::now();
        act(
            backend,
            cx.commands,
            Action::Restart,
            Member::Broker(node),
            evidence,
        )?;
        let after = whole_again(md, cx.topic, node, crate::signals::requested);
        after.map_err(|why| anyhow!("broker {node} {why} after its restart"))?;
        evidence.push(Evidence::Rejoined {
            node,
            after_s: t0.elapsed().as_secs_f64(),
        });
    }
    Ok(())
}

/// Wait up to [`REJOIN_WITHIN`] for `node` to be in the cluster metadata and every ISR of
/// `topic`, unless `stopped` first (restarting a node that is not back could take two down
/// at once); says which when it was not.
fn whole_again(
    md: &MetadataClient,
    topic: &str,
    node: BrokerId,
    stopped: impl Fn() -> bool,
) -> Result<(), &'static str> {
    let whole = || {
        md.snapshot(topic, Duration::from_secs(1))
            .is_ok_and(|(brokers, parts)| {
                brokers.contains(&node) && parts.iter().all(|p| p.isr.contains(&node))
            })
    };
    let back = crate::kafka::admin::wait_until(REJOIN_WITHIN, || stopped() || whole());
    match (stopped(), back) {
        (true, _) => Err("was not seen in every ISR: the run stopped"),
        (false, false) => Err("was not in every ISR within 180s"),
        (false, true) => Ok(()),
    }
}

/// Carry out network or gray fault `i` (or its healing) on `member` through the backend's lab
/// network.
pub(super) fn act_on_network(
    backend: &mut dyn ClusterBackend,
    i: usize,
    f: &FaultSpec,
    heal: bool,
    member: Member,
) -> Result<Vec<Evidence>> {
    let Member::Broker(node) = member else {
        bail!("network faults reach brokers only, not {member}");
    };
    let net = backend.network_faults().context(
        "this cluster's nodes are out of kbench's reach: network faults need backend = \"process\" or \"docker\"",
    )?;
    let done = match (heal, f.action, &f.net) {
        (true, _, _) => net.heal(i),
        (false, Action::Heal, _) => net.heal_node(node),
        (false, _, Some(spec)) => net.inject(i, node, spec),
        (false, a, None) => bail!("{} fault without its settings", a.verb()),
    };
    Ok(done?.into_iter().map(Evidence::from).collect())
}

/// Carry out `action` on `member` (a broker or the registry), step by step: through the
/// operator's commands when there are some (each command's outcome goes into `evidence`),
/// otherwise through the backend.
pub(super) fn act(
    backend: &mut dyn ClusterBackend,
    commands: Option<&NodeCommands>,
    action: Action,
    member: Member,
    evidence: &mut Vec<Evidence>,
) -> Result<()> {
    for step in action.node_steps() {
        match commands {
            Some(cmds) => {
                let outcome = cmds.run(*step, member)?;
                evidence.push(Evidence::Command {
                    step: step.key().to_string(),
                    node: match member {
                        Member::Broker(n) => Some(n),
                        Member::Registry => None,
                    },
                    outcome: outcome.to_string(),
                });
            }
            None => step.carry_out(backend, member)?,
        }
    }
    Ok(())
}
