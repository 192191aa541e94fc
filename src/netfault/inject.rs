//! Carrying a network or gray fault out on the lab network, and undoing it. A fault is first
//! planned into an `AppliedRecord` (every table, qdisc and cgroup it will make, by name) that
//! the caller saves in the state file; only then is anything made, so `cluster down` can undo a
//! fault even when the kbench that made it was killed half-way.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use super::delay::DelayHolder;
use super::evidence::NetEvidence;
use super::lab::{tool, AppliedRecord, LabRecord};
use super::rules::{self, Addressing, NODE_LINK};
use super::spec::{NetFault, NetKind};
use super::starve;
use crate::names::BrokerId;

/// Queue numbers of delay faults: fault i uses `QUEUE_BASE + i`.
const QUEUE_BASE: u16 = 100;

/// The delay threads of the faults in force, by fault index.
#[derive(Default)]
pub struct Delays(BTreeMap<usize, DelayHolder>);

fn queue_of(fault: usize) -> u16 {
    QUEUE_BASE + fault as u16
}

fn table_name(fault: usize) -> String {
    format!("kbench_f{fault}")
}

/// Everything fault `fault` will make on `node`, by name. `pid` is the node's JVM (starve).
pub fn plan(
    lab: &LabRecord,
    fault: usize,
    node: BrokerId,
    f: &NetFault,
    a: &Addressing,
    pid: Option<i32>,
) -> Result<AppliedRecord> {
    let n = lab
        .node(node)
        .with_context(|| format!("node {node} is not on the lab network"))?;
    let mut rec = AppliedRecord {
        fault,
        node,
        what: f.describe(),
        tables: Vec::new(),
        iptables: Vec::new(),
        qdiscs: Vec::new(),
        cgroup: None,
    };
    match f.kind {
        NetKind::Bandwidth { .. } => {
            let (out, inbound) = rules::capped_links(f.direction);
            if out {
                rec.qdiscs.push((n.netns.clone(), NODE_LINK.into()));
            }
            if inbound {
                rec.qdiscs.push((lab.hub.clone(), n.hub_link.clone()));
            }
        }
        NetKind::Starve { .. } => {
            let pid = pid.with_context(|| format!("node {node} is not running"))?;
            rec.cgroup = Some(starve::plan(pid, &format!("{}-f{fault}", n.netns))?);
        }
        NetKind::Delay { .. } => {
            let queue = queue_of(fault);
            rec.iptables = rules::delay_rules(f, a, queue)
                .into_iter()
                .map(|(chain, args)| (n.netns.clone(), chain, args))
                .collect();
        }
        _ => rec.tables.push((n.netns.clone(), table_name(fault))),
    }
    Ok(rec)
}

/// Make what `rec` names: the fault takes effect when this returns.
pub fn carry_out(
    rec: &AppliedRecord,
    f: &NetFault,
    a: &Addressing,
    delays: &mut Delays,
) -> Result<Vec<NetEvidence>> {
    let mut evidence = Vec::new();
    match f.kind {
        NetKind::Bandwidth { bits_per_s } => {
            for (ns, link) in &rec.qdiscs {
                let args = rules::tbf_args(link, bits_per_s);
                let mut argv = vec!["-n", ns.as_str()];
                argv.extend(args.iter().map(String::as_str));
                tool("tc", &argv, None)?;
                evidence.push(NetEvidence::RateCapped {
                    bits_per_s,
                    link: link.clone(),
                    namespace: ns.clone(),
                });
            }
        }
        NetKind::Starve { cpu } => {
            let q = rec.cgroup.as_ref().context("planned with a cgroup")?;
            starve::apply(q, cpu)?;
            evidence.push(NetEvidence::Starved {
                pid: q.pid,
                cgroup: q.path.display().to_string(),
                cpu,
            });
        }
        NetKind::Delay { delay, jitter } => {
            let (ns, _, _) = rec.iptables.first().context("planned with rules")?;
            let queue = queue_of(rec.fault);
            delays
                .0
                .insert(rec.fault, DelayHolder::start(ns, queue, delay, jitter)?);
            for (ns, chain, args) in &rec.iptables {
                iptables(ns, "-I", chain, args)?;
            }
            evidence.push(NetEvidence::Queued {
                rules: rec.iptables.len(),
                queue,
                namespace: ns.clone(),
            });
        }
        _ => {
            let (ns, table) = rec.tables.first().context("planned with a table")?;
            let text = rules::nft_table(table, f, a).context("a filter fault")?;
            tool("ip", &["netns", "exec", ns, "nft", "-f", "-"], Some(&text))?;
            evidence.push(NetEvidence::Filtered {
                table: table.clone(),
                namespace: ns.clone(),
            });
        }
    }
    Ok(evidence)
}

fn iptables(ns: &str, op: &str, chain: &str, args: &[String]) -> Result<String> {
    let mut argv = vec!["netns", "exec", ns, "iptables", "-w", op, chain];
    argv.extend(args.iter().map(String::as_str));
    tool("ip", &argv, None)
}

/// Undo what `rec` names, as far as it exists. Returns evidence; fails with what could not be
/// undone (everything else is still undone).
pub fn undo(rec: &AppliedRecord, delays: &mut Delays) -> Result<Vec<NetEvidence>> {
    let mut evidence = Vec::new();
    let mut errors = Vec::new();
    for (ns, table) in &rec.tables {
        // A table is gone with its namespace; only a live one needs deleting.
        if table_present(ns, table) {
            let delete = ["netns", "exec", ns, "nft", "delete", "table", "inet", table];
            if let Err(e) = tool("ip", &delete, None) {
                errors.push(format!("{e:#}"));
            }
        }
    }
    for (ns, chain, args) in &rec.iptables {
        // A rule is gone with its namespace; only a live one needs deleting.
        if iptables(ns, "-C", chain, args).is_ok() {
            if let Err(e) = iptables(ns, "-D", chain, args) {
                errors.push(format!("{e:#}"));
            }
        }
    }
    if let Some(holder) = delays.0.remove(&rec.fault) {
        match holder.finish() {
            Ok(packets) => evidence.push(NetEvidence::Delayed { packets }),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for (ns, link) in &rec.qdiscs {
        // A qdisc is gone with its namespace; only a live one needs deleting.
        if tool("tc", &["-n", ns, "qdisc", "show", "dev", link], None)
            .is_ok_and(|s| s.contains("tbf"))
        {
            if let Err(e) = tool("tc", &["-n", ns, "qdisc", "del", "dev", link, "root"], None) {
                errors.push(format!("{e:#}"));
            }
        }
    }
    if let Some(q) = &rec.cgroup {
        if let Some(periods) = starve::throttled_periods(q) {
            evidence.push(NetEvidence::Throttled { periods });
        }
        if let Err(e) = starve::release(q) {
            errors.push(format!("{e:#}"));
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(evidence)
}

/// Undo every fault of `recs`: the evidence each left (as healed), and the records that could
/// not be undone, with why, for the caller to keep.
pub fn undo_each(
    recs: Vec<AppliedRecord>,
    delays: &mut Delays,
) -> (Vec<NetEvidence>, Vec<(AppliedRecord, String)>) {
    let mut evidence = Vec::new();
    let mut failed = Vec::new();
    for rec in recs {
        match undo(&rec, delays) {
            Ok(found) => evidence.extend(found.into_iter().map(|e| NetEvidence::Healed {
                what: rec.what.clone(),
                found: Box::new(e),
            })),
            Err(e) => failed.push((rec, format!("{e:#}"))),
        }
    }
    (evidence, failed)
}

/// Whether namespace `ns` (still) holds the inet table `table`.
fn table_present(ns: &str, table: &str) -> bool {
    let listed = tool(
        "ip",
        &["netns", "exec", ns, "nft", "list", "tables", "inet"],
        None,
    );
    let wanted = format!("table inet {table}");
    listed.is_ok_and(|out| out.lines().any(|l| l.trim() == wanted))
}
