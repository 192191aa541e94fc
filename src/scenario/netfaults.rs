//! The settings of a network or gray `[[fault]]` (`scope`, `direction`, `percent`, `rate`,
//! `delay`, `jitter`, `cpu`) -> a `NetFault`, each refused with its field when it does not fit
//! the action; and the check that this run can inject them at all (backend, privileges).

use super::raw::RawFault;
use super::source::{ScenarioError, Source};
use super::ClusterSpec;
use crate::faults::plan::{Action, FaultSpec};
use crate::netfault::privilege::Privileges;
use crate::netfault::spec::{parse_rate, Direction, NetFault, NetKind, Scope};

type R<T> = Result<T, ScenarioError>;

/// The fields only network and gray faults take, with whether this entry sets each.
fn net_fields(f: &RawFault) -> [(&'static str, bool); 7] {
    [
        ("scope", f.scope.is_some()),
        ("direction", f.direction.is_some()),
        ("percent", f.percent.is_some()),
        ("rate", f.rate.is_some()),
        ("delay", f.delay.is_some()),
        ("jitter", f.jitter.is_some()),
        ("cpu", f.cpu.is_some()),
    ]
}

/// Which of the network fields `action` takes.
fn takes(action: Action, field: &str) -> bool {
    let traffic = matches!(field, "scope" | "direction");
    match action {
        Action::Partition => traffic,
        Action::Loss => traffic || field == "percent",
        Action::Bandwidth => field == "direction" || field == "rate",
        Action::Delay => traffic || field == "delay" || field == "jitter",
        Action::Starve => field == "cpu",
        _ => false,
    }
}

/// Fault entry `i`'s network settings; `None` for a process fault.
pub fn net_fault(src: &Source, i: usize, f: &RawFault, action: Action) -> R<Option<NetFault>> {
    let field = |k: &str| format!("fault.{i}.{k}");
    if let Some((k, _)) = net_fields(f)
        .into_iter()
        .find(|(k, set)| *set && !takes(action, k))
    {
        let what = if action.is_network() {
            format!("a {} fault does not take `{k}`", action.verb())
        } else {
            format!(
                "`{k}` belongs to network and gray faults (partition, loss, bandwidth, delay, \
                 starve), not to {}",
                action.verb()
            )
        };
        return Err(src.error(&field(k), what));
    }
    if !action.is_network() {
        return Ok(None);
    }
    let scope = match &f.scope {
        None => Scope::All,
        Some(s) => src.named(&field("scope"), "scope", s)?,
    };
    let default_dir = if action == Action::Delay {
        // As netem on the node's interface: what the node sends is held.
        Direction::Out
    } else {
        Direction::Both
    };
    let direction = match &f.direction {
        None => default_dir,
        Some(s) => src.named(&field("direction"), "direction", s)?,
    };
    let kind = kind(src, i, f, action)?;
    Ok(Some(NetFault {
        kind,
        scope,
        direction,
    }))
}

fn required<'a, T>(src: &Source, i: usize, v: &'a Option<T>, k: &str, action: Action) -> R<&'a T> {
    v.as_ref().ok_or_else(|| {
        src.error(
            &format!("fault.{i}.action"),
            format!("a {} fault needs `{k}`", action.verb()),
        )
    })
}

fn kind(src: &Source, i: usize, f: &RawFault, action: Action) -> R<NetKind> {
    let field = |k: &str| format!("fault.{i}.{k}");
    let duration =
        |k: &str, v: &str| crate::duration::parse(v).map_err(|e| src.error(&field(k), e));
    Ok(match action {
        Action::Partition => NetKind::Partition,
        Action::Loss => {
            let percent = *required(
                src,
                i,
                &f.percent,
                "percent (of packets dropped, e.g. 5)",
                action,
            )?;
            if !(percent > 0.0 && percent < 100.0) {
                return Err(src.error(
                    &field("percent"),
                    "must be above 0 and below 100 (100 is a partition)",
                ));
            }
            NetKind::Loss { percent }
        }
        Action::Bandwidth => {
            let rate = required(src, i, &f.rate, "rate (e.g. \"10mbit\")", action)?;
            let bits_per_s = parse_rate(rate).map_err(|e| src.error(&field("rate"), e))?;
            NetKind::Bandwidth { bits_per_s }
        }
        Action::Delay => {
            let d = duration(
                "delay",
                required(src, i, &f.delay, "delay (e.g. \"100ms\")", action)?,
            )?;
            let jitter = match &f.jitter {
                Some(j) => duration("jitter", j)?,
                None => std::time::Duration::ZERO,
            };
            if d.is_zero() || jitter > d {
                return Err(src.error(
                    &field("jitter"),
                    "delay must be above 0 and jitter at most the delay",
                ));
            }
            NetKind::Delay { delay: d, jitter }
        }
        _ => {
            let cpu = *required(
                src,
                i,
                &f.cpu,
                "cpu (fraction of one CPU, e.g. 0.2)",
                action,
            )?;
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            if !(cpu >= 0.01 && cpu < cpus) {
                return Err(src.error(
                    &field("cpu"),
                    format!("must be at least 0.01 and below this machine's {cpus} CPUs"),
                ));
            }
            NetKind::Starve { cpu }
        }
    })
}

/// Network and gray faults need nodes kbench runs itself (processes or containers) and the right
/// to make namespaces, filters and cgroups: refused here, before anything starts.
pub fn check_injectable(src: &Source, cluster: &ClusterSpec, faults: &[FaultSpec]) -> R<()> {
    let Some(first) = faults.iter().find(|f| f.action.on_lab()) else {
        return Ok(());
    };
    let field = format!("fault.{}.action", first.index);
    if matches!(cluster, ClusterSpec::External { .. }) {
        return Err(src.error(
            &field,
            "network and gray faults need a cluster kbench runs (backend = \"process\" or \
             \"docker\"): they are made inside each node's network namespace and cgroup",
        ));
    }
    let network = faults
        .iter()
        .any(|f| f.action.is_network() && f.action != Action::Starve);
    let cpu = faults.iter().any(|f| f.action == Action::Starve);
    match Privileges::current().refusal(network, cpu) {
        Some(why) => Err(src.error(&field, why)),
        None => Ok(()),
    }
}
