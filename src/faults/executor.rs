//! Fires the fault plan on the backend at the scheduled times (from the run's origin), resolving
//! each target when it fires, bringing nodes back after `recover_after`, and logging every action
//! with its exact time and the node it hit. Runs on its own thread during the load phase.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rand::SeedableRng;

use super::plan::{Action, FaultSpec};
use super::report::FaultReport;
use super::resolve::{resolve, LiveView};
use crate::cluster::{ClusterBackend, NodeId, StopMode};
use crate::kafka::metadata::MetadataClient;

pub struct ExecContext<'a> {
    pub origin: Instant,
    /// Offset of load start from the origin; fault times count from it.
    pub load_start: Duration,
    pub bootstrap: &'a str,
    pub topic: &'a str,
    pub seed: u64,
    pub stop: &'a AtomicBool,
    pub log: &'a (dyn Fn(&str) + Sync),
}

impl ExecContext<'_> {
    fn now_s(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Stamp fault `n`'s firing time and log it, right before the action.
    fn fired(&self, r: &mut FaultReport, n: usize) {
        r.fired_s = self.now_s();
        (self.log)(&format!("fault {n} at {:.3}s: {}", r.fired_s, r.label));
    }

    /// Sleep until `t` after load start; false if the run is stopping first.
    fn wait_until(&self, t: Duration) -> bool {
        let deadline = self.origin + self.load_start + t;
        loop {
            if self.stop.load(Ordering::Relaxed) || crate::signals::requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
        }
    }
}

/// How long before its time a fault's target is resolved.
const RESOLVE_LEAD: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy)]
enum Event {
    Fire(usize),
    Recover(usize),
}

fn client_port_open(backend: &dyn ClusterBackend, node: NodeId) -> Option<bool> {
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

/// Evidence that a node really went down, for the report.
fn down_evidence(backend: &dyn ClusterBackend, node: NodeId) -> String {
    let process = backend
        .status()
        .ok()
        .and_then(|s| s.nodes.into_iter().find(|n| n.id == node))
        .and_then(|n| n.process)
        .map_or("unknown", |p| p.label());
    let port = match client_port_open(backend, node) {
        Some(true) => "client port still open",
        Some(false) => "client port closed",
        None => "client port unknown",
    };
    format!("broker {node}: process {process}, {port}")
}

/// Restart every node in turn, the controller last, each after the previous one is back in the
/// cluster metadata and every ISR of the topic.
fn rolling_restart(
    backend: &mut dyn ClusterBackend,
    md: &MetadataClient,
    cx: &ExecContext<'_>,
    evidence: &mut Vec<String>,
) -> Result<()> {
    let controller = backend.controller();
    let mut order = backend.node_ids();
    order.sort_by_key(|n| Some(*n) == controller);
    for node in order {
        let t0 = Instant::now();
        backend.restart(node)?;
        let back = crate::kafka::admin::wait_until(Duration::from_secs(180), || {
            cx.stop.load(Ordering::Relaxed)
                || md
                    .snapshot(cx.topic, Duration::from_secs(1))
                    .is_ok_and(|(brokers, parts)| {
                        brokers.contains(&node) && parts.iter().all(|p| p.isr.contains(&node))
                    })
        });
        if !back {
            bail!("broker {node} did not rejoin every ISR within 180s of its restart");
        }
        evidence.push(format!(
            "broker {node} restarted and back in every ISR after {:.1}s",
            t0.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

fn act(backend: &mut dyn ClusterBackend, action: Action, node: NodeId) -> Result<()> {
    match action {
        Action::Stop => backend.stop(node, StopMode::Graceful),
        Action::Kill => backend.stop(node, StopMode::Kill),
        Action::Pause => backend.stop(node, StopMode::Pause),
        Action::Resume => backend.resume(node),
        Action::Start | Action::Restart => backend.restart(node),
        Action::RollingRestart => unreachable!("handled by rolling_restart"),
    }
}

/// Run the whole plan; returns one report per fault (fault order).
pub fn execute(
    plan: &[FaultSpec],
    backend: &mut dyn ClusterBackend,
    cx: &ExecContext<'_>,
) -> Vec<FaultReport> {
    let mut reports: Vec<FaultReport> = plan
        .iter()
        .map(|f| FaultReport {
            index: f.index,
            action: f.action.verb().into(),
            target: f.target.to_string(),
            label: f.label(None),
            scheduled_s: (cx.load_start + f.at).as_secs_f64(),
            ..Default::default()
        })
        .collect();
    let mut events: Vec<(Duration, Event)> = Vec::new();
    for (i, f) in plan.iter().enumerate() {
        events.push((f.at, Event::Fire(i)));
        if let Some(r) = f.recovers_at() {
            events.push((r, Event::Recover(i)));
        }
    }
    events.sort_by_key(|(t, _)| *t);
    let md = MetadataClient::new(cx.bootstrap).ok();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cx.seed ^ 0xfa_u64);
    // Node -> fault that took it down, so a later start / resume closes that fault's window.
    let mut down: BTreeMap<NodeId, usize> = BTreeMap::new();
    for (t, ev) in events {
        // Targets are resolved just before the scheduled time, so a slow metadata request does
        // not make the action itself late.
        let lead = match ev {
            Event::Fire(_) => RESOLVE_LEAD,
            Event::Recover(_) => Duration::ZERO,
        };
        if !cx.wait_until(t.saturating_sub(lead)) {
            for r in reports
                .iter_mut()
                .filter(|r| r.fired_s == 0.0 && r.error.is_none())
            {
                r.error = Some("not fired: the run stopped first".into());
            }
            break;
        }
        match ev {
            Event::Fire(i) => {
                let f = &plan[i];
                let mut evidence = Vec::new();
                let result = if f.action == Action::RollingRestart {
                    cx.wait_until(t);
                    cx.fired(&mut reports[i], i + 1);
                    match &md {
                        Some(md) => rolling_restart(backend, md, cx, &mut evidence),
                        None => Err(anyhow::anyhow!("no metadata client")),
                    }
                    .map(|_| reports[i].recovered_s = Some(cx.now_s()))
                } else {
                    let node = match &md {
                        Some(md) => resolve(
                            f.target,
                            &LiveView {
                                backend,
                                metadata: md,
                                topic: cx.topic,
                            },
                            &mut rng,
                        ),
                        None => Err(anyhow::anyhow!("no metadata client")),
                    };
                    node.and_then(|node| {
                        reports[i].node = Some(node);
                        reports[i].label = f.label(Some(node));
                        if !cx.wait_until(t) {
                            anyhow::bail!("not fired: the run stopped first");
                        }
                        cx.fired(&mut reports[i], i + 1);
                        act(backend, f.action, node)?;
                        match f.action {
                            Action::Stop | Action::Kill => {
                                evidence.push(down_evidence(backend, node));
                                down.insert(node, i);
                            }
                            Action::Pause => {
                                down.insert(node, i);
                            }
                            Action::Start | Action::Resume => {
                                if let Some(j) = down.remove(&node) {
                                    reports[j].recovered_s = Some(cx.now_s());
                                }
                                reports[i].recovered_s = Some(cx.now_s());
                            }
                            Action::Restart => reports[i].recovered_s = Some(cx.now_s()),
                            Action::RollingRestart => {}
                        }
                        Ok(())
                    })
                };
                reports[i].evidence = evidence;
                if let Err(e) = result {
                    (cx.log)(&format!("fault {} failed: {e:#}", i + 1));
                    reports[i].error = Some(format!("{e:#}"));
                }
            }
            Event::Recover(i) => {
                let (Some(node), Some(action)) = (reports[i].node, plan[i].action.recovery())
                else {
                    continue;
                };
                if reports[i].error.is_some() {
                    continue;
                }
                let t = cx.now_s();
                (cx.log)(&format!(
                    "fault {} recovery at {t:.3}s: {} broker {node}",
                    i + 1,
                    action.verb()
                ));
                match act(backend, action, node) {
                    Ok(()) => {
                        down.remove(&node);
                        reports[i].recovered_s = Some(t);
                    }
                    Err(e) => reports[i].error = Some(format!("recovery failed: {e:#}")),
                }
            }
        }
    }
    reports
}
