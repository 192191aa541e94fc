//! `[[fault]]` entries -> a validated fault plan: actions and targets known, times inside the
//! run, recoveries only where they make sense, and no node faulted again while it is down.

use std::time::Duration;

use super::raw::RawFault;
use super::source::{ScenarioError, Source};
use crate::faults::plan::{Action, FaultSpec, Target};
use crate::names::BROKER_IDS;

/// `[[fault]]` entries -> the fault plan, in firing order.
pub fn validate(
    src: &Source,
    raw: &[RawFault],
    total: Duration,
    partitions: i32,
) -> Result<Vec<FaultSpec>, ScenarioError> {
    let plan = raw
        .iter()
        .enumerate()
        .map(|(i, f)| fault_entry(src, i, f, total, partitions))
        .collect::<Result<Vec<_>, _>>()?;
    check_overlaps(src, &plan)?;
    let mut sorted = plan;
    sorted.sort_by_key(|f| f.at);
    Ok(sorted)
}

/// One `[[fault]]` entry, field by field.
fn fault_entry(
    src: &Source,
    i: usize,
    f: &RawFault,
    total: Duration,
    partitions: i32,
) -> Result<FaultSpec, ScenarioError> {
    let field = |k: &str| format!("fault.{i}.{k}");
    let at = src.time_in_run(&field("at"), &f.at, total)?;
    let action: Action = src.named(&field("action"), "action", &f.action)?;
    let target = Target::parse(&f.target).ok_or_else(|| {
        src.error(
            &field("target"),
            format!(
                "unknown target \"{}\"; allowed: {}",
                f.target,
                Target::FORMS
            ),
        )
    })?;
    check_target(src, &field("target"), action, target, partitions)?;
    let recover_after = recovery(src, &field("recover_after"), f, action, at, total)?;
    let net = super::netfaults::net_fault(src, i, f, action)?;
    Ok(FaultSpec {
        index: i,
        at,
        action,
        target,
        recover_after,
        net,
    })
}

/// The target exists (a static broker, a partition of the topic) and fits the action.
fn check_target(
    src: &Source,
    field: &str,
    action: Action,
    target: Target,
    partitions: i32,
) -> Result<(), ScenarioError> {
    match target {
        Target::Broker(n) if !BROKER_IDS.contains(&n) => {
            return Err(src.error(
                field,
                format!(
                    "there is no broker {n}; brokers are {} to {}",
                    BROKER_IDS[0],
                    BROKER_IDS[BROKER_IDS.len() - 1]
                ),
            ))
        }
        Target::Leader(p) | Target::Follower(p) if p < 0 || p >= partitions => {
            return Err(src.error(
                field,
                format!(
                    "the topic has partitions 0 to {}; there is no partition {p}",
                    partitions - 1
                ),
            ))
        }
        Target::Registry if action.on_lab() => {
            return Err(src.error(
                field,
                format!(
                    "{} is a network fault; the registry takes stop, kill, pause, resume, start \
                     and restart (network faults reach brokers only)",
                    action.verb()
                ),
            ))
        }
        Target::All if action != Action::RollingRestart => {
            return Err(src.error(field, "\"all\" only goes with action = \"rolling-restart\""))
        }
        t if action == Action::RollingRestart && t != Target::All => {
            return Err(src.error(field, "a rolling restart takes target = \"all\""))
        }
        _ => {}
    }
    Ok(())
}

/// `recover_after`: only for stop, kill and pause, and ending inside the run.
fn recovery(
    src: &Source,
    field: &str,
    f: &RawFault,
    action: Action,
    at: Duration,
    total: Duration,
) -> Result<Option<Duration>, ScenarioError> {
    Ok(match &f.recover_after {
        None => None,
        Some(text) => {
            let d = crate::duration::parse(text).map_err(|e| src.error(field, e))?;
            if action.recovery().is_none() {
                return Err(src.error(
                    field,
                    format!(
                        "only stop, kill and pause can recover automatically, not {}",
                        action.verb()
                    ),
                ));
            }
            if d.is_zero() || at + d >= total {
                return Err(src.error(
                    field,
                    "recovery must come after the fault and before the end of the run",
                ));
            }
            Some(d)
        }
    })
}

/// A node that is down (stopped, killed or paused until its recovery) must not be the target
/// of another fault in the meantime. Checked for `broker:N` and `registry` targets; dynamic
/// targets are resolved against the live cluster when they fire.
fn check_overlaps(src: &Source, plan: &[FaultSpec]) -> Result<(), ScenarioError> {
    let on = |f: &FaultSpec, m: Target| {
        f.target == m || (f.target == Target::All && matches!(m, Target::Broker(_)))
    };
    for a in plan.iter().filter(|f| f.action.takes_down()) {
        let m = a.target;
        let who = match m {
            Target::Broker(n) => format!("broker {n}"),
            Target::Registry => "the registry".to_string(),
            _ => continue,
        };
        let later = || {
            plan.iter()
                .filter(move |b| b.index != a.index && b.at >= a.at && on(b, m))
        };
        // Down until the automatic recovery, or else until a later start / resume / restart.
        let until = a.recovers_at().or_else(|| {
            later()
                .filter(|b| matches!(b.action, Action::Start | Action::Resume | Action::Restart))
                .map(|b| b.at)
                .min()
        });
        let clash = later().find(|b| match until {
            Some(u) if a.recover_after.is_none() => b.at < u,
            Some(u) => {
                b.at < u || (b.at == u && matches!(b.action, Action::Start | Action::Resume))
            }
            None => true,
        });
        if let Some(b) = clash {
            return Err(src.error(
                &format!("fault.{}.at", b.index),
                format!(
                    "{who} is still down from fault {} ({} at {}) at this time",
                    a.index + 1,
                    a.action.verb(),
                    crate::duration::display(a.at)
                ),
            ));
        }
    }
    Ok(())
}
