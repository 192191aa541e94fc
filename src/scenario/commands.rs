//! How faults reach an external cluster: `cluster.containers` (by container name) or
//! `[cluster.commands]` and `[cluster.nodes.N]` validated into [`NodeCommands`]: every
//! placeholder a template uses must be `{node}`, `{kbench}` or a key every listed node defines,
//! and every fault of the plan must have the commands it (and its recovery) needs.

use std::collections::BTreeMap;

use strum::VariantArray;

use super::raw::RawCommands;
use super::source::{ScenarioError, Source};
use super::Containers;
use crate::faults::commands::{placeholders, NodeAction, NodeCommands, BUILTIN_PLACEHOLDERS};
use crate::faults::plan::{Action, FaultSpec, Target};
use crate::names::BrokerId;

type R<T> = Result<T, ScenarioError>;

type Values = BTreeMap<String, String>;

/// `[cluster.nodes.N]` by broker id, and `[cluster.nodes.registry]` apart.
fn node_values(
    src: &Source,
    raw: &BTreeMap<String, Values>,
) -> R<(BTreeMap<BrokerId, Values>, Option<Values>)> {
    let registry = raw.get("registry").cloned();
    let brokers = (raw.iter())
        .filter(|(k, _)| k.as_str() != "registry")
        .map(|(k, v)| {
            let id = k.parse::<BrokerId>().map_err(|_| {
                src.error(
                    &format!("cluster.nodes.{k}"),
                    "node tables are named by broker id, e.g. [cluster.nodes.1], or \
                     [cluster.nodes.registry] for the registry",
                )
            })?;
            Ok((id, v.clone()))
        })
        .collect::<R<_>>()?;
    Ok((brokers, registry))
}

/// Validate the command templates and per-node values of an external cluster.
pub fn commands_section(
    src: &Source,
    raw: &RawCommands,
    nodes: &BTreeMap<String, BTreeMap<String, String>>,
) -> R<NodeCommands> {
    let (nodes, registry) = node_values(src, nodes)?;
    let given = [&raw.stop, &raw.kill, &raw.pause, &raw.resume, &raw.start];
    let mut templates = BTreeMap::new();
    for (action, t) in NodeAction::VARIANTS.iter().copied().zip(given) {
        let Some(t) = t else { continue };
        let field = format!("cluster.commands.{}", action.key());
        if t.trim().is_empty() {
            return Err(src.error(&field, "is empty"));
        }
        for name in placeholders(t) {
            if BUILTIN_PLACEHOLDERS.contains(&name.as_str()) {
                continue;
            }
            let tables = nodes.values().chain(registry.as_ref());
            if nodes.is_empty() || tables.into_iter().any(|v| !v.contains_key(&name)) {
                return Err(src.error(
                    &field,
                    format!("uses {{{name}}}, which every [cluster.nodes.N] table must define (e.g. [cluster.nodes.1] {name} = \"...\"); built in: {{node}}, {{kbench}}"),
                ));
            }
        }
        templates.insert(action, t.clone());
    }
    let timeout = crate::duration::parse(raw.timeout.as_deref().unwrap_or("60s"))
        .map_err(|e| src.error("cluster.commands.timeout", e))?;
    Ok(NodeCommands {
        templates,
        nodes,
        registry,
        timeout,
    })
}

/// The commands fault `f` needs: its action's, and its recovery's when it has `recover_after`.
fn needed(f: &FaultSpec) -> Vec<NodeAction> {
    let of = |a: Action| a.node_steps().to_vec();
    let mut out = of(f.action);
    if f.recovers_at().is_some() {
        out.extend(f.action.recovery().map(of).unwrap_or_default());
    }
    out
}

/// Every fault of the plan has the commands it needs, and a registry fault the registry's
/// values for their placeholders.
pub fn check_faults(src: &Source, cmds: &NodeCommands, faults: &[FaultSpec]) -> R<()> {
    for (i, f) in faults.iter().enumerate() {
        if f.target == Target::Registry {
            check_registry_values(src, cmds, i, f)?;
        }
        if let Some(a) = needed(f)
            .into_iter()
            .find(|a| !cmds.templates.contains_key(a))
        {
            return Err(src.error(
                &format!("fault.{i}.action"),
                format!(
                    "`{}` on an external cluster needs a `{}` command in [cluster.commands]",
                    f.action.verb(),
                    a.key()
                ),
            ));
        }
    }
    Ok(())
}

/// The placeholders of the commands registry fault `i` runs, each defined by
/// `[cluster.nodes.registry]` (`{node}` and `{kbench}` are built in).
fn check_registry_values(src: &Source, cmds: &NodeCommands, i: usize, f: &FaultSpec) -> R<()> {
    let used = (needed(f).into_iter())
        .filter_map(|a| cmds.templates.get(&a))
        .flat_map(|t| placeholders(t));
    for name in used {
        let defined = (cmds.registry.as_ref()).is_some_and(|v| v.contains_key(&name));
        if !BUILTIN_PLACEHOLDERS.contains(&name.as_str()) && !defined {
            return Err(src.error(
                &format!("fault.{i}.target"),
                format!(
                    "a registry fault runs the [cluster.commands] templates with {{node}} = \
                     registry; they use {{{name}}}, so [cluster.nodes.registry] must define \
                     {name}"
                ),
            ));
        }
    }
    Ok(())
}

/// `containers = "compose"` or `containers = { 1 = "kafka1", ..., registry = "..." }`.
pub(super) fn containers(src: &Source, v: Option<&toml::Value>) -> R<Option<Containers>> {
    let bad = || {
        src.error(
            "cluster.containers",
            "use \"compose\" (kafka1..kafka3, schema-registry) or a table of broker id = \
             container name, with registry = \"<container>\" for registry faults",
        )
    };
    match v {
        None => Ok(None),
        Some(toml::Value::String(s)) if s == "compose" => Ok(Some(Containers::Compose)),
        Some(toml::Value::Table(t)) => {
            let mut brokers = std::collections::BTreeMap::new();
            let mut registry = None;
            for (k, v) in t {
                match (k.as_str(), k.parse::<BrokerId>(), v.as_str()) {
                    (_, _, Some("")) | (_, _, None) => return Err(bad()),
                    ("registry", _, Some(name)) => registry = Some(name.to_string()),
                    (_, Ok(id), Some(name)) if id > 0 => {
                        brokers.insert(id, name.to_string());
                    }
                    _ => return Err(bad()),
                }
            }
            Ok(Some(Containers::Named { brokers, registry }))
        }
        Some(_) => Err(bad()),
    }
}
