//! Fires the fault plan on the backend at the scheduled times (from the run's origin), resolving
//! each target when it fires, bringing nodes (and the registry) back after `recover_after`, and
//! logging every action with its exact time and the member it hit; `act` carries actions out. Runs on its own thread during the load phase.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::SeedableRng;

use super::act::{act, act_on_network, down_evidence, rolling_restart, Rejoin};
use super::commands::NodeCommands;
use super::evidence::Evidence;
use super::plan::{Action, FaultSpec, Target};
use super::report::FaultReport;
use super::resolve::{resolve, LiveView};
use crate::cancel::Cancel;
use crate::cluster::watch::Watch;
use crate::cluster::{ClusterBackend, Member};
use crate::kafka::metadata::MetadataClient;
use crate::names::BrokerId;

/// What the executor needs from the run: its clock, where the cluster is, and how to talk.
pub struct ExecContext<'a> {
    /// The run's monotonic origin.
    pub origin: Instant,
    /// Offset of load start from the origin; fault times count from it.
    pub load_start: Duration,
    /// The brokers, for target resolution and rejoin checks.
    pub brokers: &'a crate::kafka::Brokers,
    /// The operator's commands, when node faults go through them (external clusters) rather
    /// than through the backend.
    pub commands: Option<&'a NodeCommands>,
    /// The run's topic (leaders, followers and ISRs are of its partitions).
    pub topic: &'a str,
    /// Seeds the choice of `random` targets.
    pub seed: u64,
    /// Cancelled when the load is over or stopped; unfired faults are then reported as such.
    pub cancel: &'a Cancel,
    /// The run's progress notes.
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

    /// Whether the run is stopping (load over, or a signal).
    fn stopping(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// Fault `i`'s target as the cluster shows it now, asked again for up to [`RESOLVE_RETRY_FOR`]
/// when the cluster does not answer (one metadata request timing out on a loaded machine must
/// not cost the fault): it then fires late, and the report says when.
fn resolve_persistently(
    target: Target,
    i: usize,
    view: &LiveView<'_>,
    rng: &mut impl rand::Rng,
    cx: &ExecContext<'_>,
) -> Result<Member> {
    let give_up = Instant::now() + RESOLVE_RETRY_FOR;
    let mut said = false;
    loop {
        match resolve(target, view, rng) {
            Ok(m) => return Ok(m),
            Err(e) if Instant::now() < give_up && !cx.stopping() => {
                // Once: asking again every 200 ms would fill the progress lines.
                if !std::mem::replace(&mut said, true) {
                    (cx.log)(&format!(
                        "fault {}: cannot resolve {target} yet ({e:#}); asking again for up \
                         to {}s",
                        i + 1,
                        RESOLVE_RETRY_FOR.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long a fault keeps asking for its target when the cluster does not answer.
const RESOLVE_RETRY_FOR: Duration = Duration::from_secs(10);
/// How long before its time a fault's target is resolved.
const RESOLVE_LEAD: Duration = Duration::from_millis(300);
/// The same for the controller of a cluster kbench does not run: asking the quorum takes
/// Kafka's own tool, a JVM start (about 1.5 s).
const QUORUM_LEAD: Duration = Duration::from_secs(3);

/// How often the cluster's processes are looked at for deaths outside the plan.
const WATCH_PERIOD: Duration = Duration::from_millis(500);

/// What the executor leaves: one report per fault, and what it knows of the cluster.
pub struct Executed {
    /// One report per fault, in plan order.
    pub reports: Vec<FaultReport>,
    /// The nodes the plan left down, to keep watching the cluster after the load.
    pub watch: Watch,
    /// A process died outside the plan: the run cannot go on.
    pub broken: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Fire(usize),
    Recover(usize),
}

/// Run the whole plan, then keep watching the cluster's processes until the load is over; a
/// process dying outside the plan ends it early (`broken`).
pub fn execute(
    plan: &[FaultSpec],
    backend: &mut dyn ClusterBackend,
    cx: &ExecContext<'_>,
) -> Executed {
    let mut run = Executor {
        plan,
        backend,
        cx,
        md: MetadataClient::new(cx.brokers).ok(),
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(cx.seed ^ 0xfa_u64),
        down: BTreeMap::new(),
        hit: vec![None; plan.len()],
        reports: plan.iter().map(|f| planned_report(f, cx)).collect(),
        broken: None,
        controllers: Vec::new(),
    };
    for (t, ev) in timeline(plan) {
        // Targets are resolved just before the scheduled time, so a slow metadata request does
        // not make the action itself late.
        let lead = match ev {
            Event::Fire(i) if asks_the_quorum(&plan[i], &*run.backend) => QUORUM_LEAD,
            Event::Fire(_) => RESOLVE_LEAD,
            Event::Recover(_) => Duration::ZERO,
        };
        if !run.wait_until(Some(t.saturating_sub(lead))) {
            break;
        }
        match ev {
            Event::Fire(i) => run.fire(i, t),
            Event::Recover(i) => run.recover(i),
        }
    }
    if run.broken.is_none() {
        run.wait_until(None);
    }
    run.mark_unfired();
    controller_changes(&mut run.reports, &run.controllers);
    Executed {
        watch: Watch::new(run.down.keys().copied()),
        reports: run.reports,
        broken: run.broken,
    }
}

/// Whether resolving `f`'s target means asking an external cluster's quorum.
fn asks_the_quorum(f: &FaultSpec, backend: &dyn ClusterBackend) -> bool {
    f.target == super::plan::Target::Controller
        && backend.kind() == crate::names::BackendKind::External
}

/// A fault's report before it fires: what was planned, and when.
fn planned_report(f: &FaultSpec, cx: &ExecContext<'_>) -> FaultReport {
    FaultReport {
        index: f.index,
        target: f.target.to_string(),
        label: f.label(None),
        scheduled_s: (cx.load_start + f.at).as_secs_f64(),
        ..FaultReport::of(f.action)
    }
}

/// Every firing and automatic recovery of the plan, in time order.
fn timeline(plan: &[FaultSpec]) -> Vec<(Duration, Event)> {
    let mut events: Vec<(Duration, Event)> = Vec::new();
    for (i, f) in plan.iter().enumerate() {
        events.push((f.at, Event::Fire(i)));
        if let Some(r) = f.recovers_at() {
            events.push((r, Event::Recover(i)));
        }
    }
    events.sort_by_key(|(t, _)| *t);
    events
}

/// The plan under way: what it acts on and what it has done so far.
struct Executor<'p, 'b, 'c> {
    plan: &'p [FaultSpec],
    backend: &'b mut dyn ClusterBackend,
    cx: &'c ExecContext<'c>,
    md: Option<MetadataClient>,
    rng: rand_chacha::ChaCha8Rng,
    /// Member -> fault that took it down, so a later start / resume closes that fault's window.
    down: BTreeMap<Member, usize>,
    /// The member each fault hit, once resolved.
    hit: Vec<Option<Member>>,
    reports: Vec<FaultReport>,
    /// Set when a process died outside the plan.
    broken: Option<String>,
    /// The active controller whenever it changed (s since the origin), where it is cheap to
    /// read (the process backend reads the quorum state files).
    controllers: Vec<(f64, Option<BrokerId>)>,
}

/// Give each fired fault the controller changes from its firing until the next fault fired.
fn controller_changes(reports: &mut [FaultReport], seen: &[(f64, Option<BrokerId>)]) {
    let mut fired: Vec<f64> = reports
        .iter()
        .map(|r| r.fired_s)
        .filter(|t| *t > 0.0)
        .collect();
    fired.sort_by(f64::total_cmp);
    for r in reports.iter_mut().filter(|r| r.fired_s > 0.0) {
        let until = fired
            .iter()
            .copied()
            .find(|t| *t > r.fired_s)
            .unwrap_or(f64::MAX);
        r.controller_changes = seen
            .windows(2)
            .filter(|w| w[1].0 >= r.fired_s && w[1].0 < until)
            .map(|w| super::report::ControllerChange {
                after_s: w[1].0 - r.fired_s,
                from: w[0].1,
                to: w[1].1,
            })
            .collect();
    }
}

impl Executor<'_, '_, '_> {
    /// Sleep until `t` after load start (or until the run stops, for `None`), looking at the
    /// cluster's processes on the way; false if the run is stopping or broke first.
    fn wait_until(&mut self, t: Option<Duration>) -> bool {
        let deadline = t.and_then(|t| (self.cx.origin + self.cx.load_start).checked_add(t));
        let mut next_look = Instant::now();
        loop {
            if self.cx.stopping() || self.broken.is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= next_look {
                self.note_controller();
                let watch = Watch::new(self.down.keys().copied());
                if let Some(v) = watch.outside_plan(&*self.backend) {
                    let at = self.cx.now_s();
                    (self.cx.log)(&format!("at {at:.3}s: {}; stopping", v.headline()));
                    let tail = v.log_tail();
                    if !tail.is_empty() {
                        (self.cx.log)(&tail);
                    }
                    self.broken = Some(v.to_string());
                    return false;
                }
                next_look = now + WATCH_PERIOD;
            }
            if deadline.is_some_and(|d| now >= d) {
                return true;
            }
            let until = deadline.map_or(next_look, |d| d.min(next_look));
            std::thread::sleep(
                until
                    .saturating_duration_since(now)
                    .min(Duration::from_millis(20)),
            );
        }
    }

    /// Record the active controller if it changed since the last look.
    fn note_controller(&mut self) {
        if self.backend.kind() != crate::names::BackendKind::Process {
            return;
        }
        let now = self.backend.controller();
        if self.controllers.last().is_none_or(|(_, c)| *c != now) {
            self.controllers.push((self.cx.now_s(), now));
        }
    }

    /// The run is stopping: every fault not yet fired says so.
    fn mark_unfired(&mut self) {
        for r in self
            .reports
            .iter_mut()
            .filter(|r| r.fired_s == 0.0 && r.error.is_none())
        {
            r.error = Some("not fired: the run stopped first".into());
        }
    }

    /// Fire fault `i`, due at `t`; a failure is logged and kept in its report.
    fn fire(&mut self, i: usize, t: Duration) {
        let mut evidence = Vec::new();
        let result = if self.plan[i].action == Action::RollingRestart {
            self.fire_rolling_restart(i, t, &mut evidence)
        } else {
            self.fire_on_node(i, t, &mut evidence)
        };
        self.reports[i].evidence = evidence;
        if let Err(e) = result {
            (self.cx.log)(&format!("fault {} failed: {e:#}", i + 1));
            self.reports[i].error = Some(format!("{e:#}"));
        }
    }

    fn fire_rolling_restart(
        &mut self,
        i: usize,
        t: Duration,
        evidence: &mut Vec<Evidence>,
    ) -> Result<()> {
        if !self.wait_until(Some(t)) {
            bail!("not fired: the run stopped first");
        }
        self.cx.fired(&mut self.reports[i], i + 1);
        let md = self.md.as_ref().context("no metadata client")?;
        let rejoin = Rejoin {
            commands: self.cx.commands,
            topic: self.cx.topic,
            cancel: self.cx.cancel,
        };
        rolling_restart(self.backend, md, &rejoin, evidence)?;
        self.reports[i].recovered_s = Some(self.cx.now_s());
        Ok(())
    }

    /// Resolve the fault's target, then act on that member at `t`.
    fn fire_on_node(&mut self, i: usize, t: Duration, evidence: &mut Vec<Evidence>) -> Result<()> {
        let f = &self.plan[i];
        let md = self.md.as_ref().context("no metadata client")?;
        let view = LiveView {
            backend: &*self.backend,
            metadata: md,
            topic: self.cx.topic,
        };
        let member = resolve_persistently(f.target, i, &view, &mut self.rng, self.cx)?;
        let node = match member {
            Member::Broker(n) => Some(n),
            Member::Registry => None,
        };
        self.hit[i] = Some(member);
        self.reports[i].node = node;
        self.reports[i].label = f.label(node);
        if !self.wait_until(Some(t)) {
            bail!("not fired: the run stopped first");
        }
        self.cx.fired(&mut self.reports[i], i + 1);
        if f.action.on_lab() {
            evidence.extend(act_on_network(self.backend, i, f, false, member)?);
        } else {
            act(self.backend, self.cx.commands, f.action, member, evidence)?;
        }
        self.after_action(i, member, evidence);
        Ok(())
    }

    /// What an action on `member` means for the fault windows: down, or back up.
    fn after_action(&mut self, i: usize, member: Member, evidence: &mut Vec<Evidence>) {
        let now = self.cx.now_s();
        match self.plan[i].action {
            Action::Stop | Action::Kill => {
                evidence.push(down_evidence(self.backend, member));
                self.down.insert(member, i);
            }
            Action::Pause => {
                self.down.insert(member, i);
            }
            Action::Start | Action::Resume => {
                if let Some(j) = self.down.remove(&member) {
                    self.reports[j].recovered_s = Some(now);
                }
                self.reports[i].recovered_s = Some(now);
            }
            Action::Restart | Action::Heal => self.reports[i].recovered_s = Some(now),
            _ => {}
        }
    }

    /// Fault `i`'s automatic recovery (`recover_after`), unless the fault itself failed.
    fn recover(&mut self, i: usize) {
        let (Some(member), Some(action)) = (self.hit[i], self.plan[i].action.recovery()) else {
            return;
        };
        if self.reports[i].error.is_some() {
            return;
        }
        let t = self.cx.now_s();
        (self.cx.log)(&format!(
            "fault {} recovery at {t:.3}s: {} {member}",
            i + 1,
            action.verb()
        ));
        let mut evidence = Vec::new();
        let result = if action == Action::Heal {
            act_on_network(self.backend, i, &self.plan[i], true, member).map(|e| evidence = e)
        } else {
            act(
                self.backend,
                self.cx.commands,
                action,
                member,
                &mut evidence,
            )
        };
        self.reports[i].evidence.extend(evidence);
        match result {
            Ok(()) => {
                self.down.remove(&member);
                self.reports[i].recovered_s = Some(t);
            }
            Err(e) => self.reports[i].error = Some(format!("recovery failed: {e:#}")),
        }
    }
}
