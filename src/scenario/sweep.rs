//! `[sweep]`: settings to run the scenario with, each with a list of values; `kbench sweep`
//! runs one step per combination (a grid). A parameter names its section and setting:
//! `producer = "linger.ms"` (a producer property, or `count`, `rate`, `acks`, `keys`),
//! `topic = "partitions"` (or a topic config), `schema = "record_size"` (or `repeat`),
//! `consumer = "count"`, `broker = "broker.session.timeout.ms"` (a `[cluster.broker]`
//! setting). Every combination is written into the scenario and validated like a file of its
//! own, so a bad value is refused before anything starts.

use std::time::Duration;

use super::raw::RawSweep;
use super::source::{ScenarioError, Source};
use super::Scenario;

type R<T> = Result<T, ScenarioError>;

/// Most combinations one sweep may have.
const MAX_POINTS: usize = 64;

/// A validated `[sweep]`.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The parameters, in file order.
    pub parameters: Vec<Parameter>,
    /// Every combination of their values, the first parameter varying slowest.
    pub points: Vec<Point>,
    /// The sweep stops before a step that would end after this (default 60 min).
    pub budget: Duration,
}

/// One swept setting.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Parameter {
    /// Section and setting, e.g. `producer.linger.ms`, `broker.broker.session.timeout.ms`.
    pub key: String,
    /// The setting alone, e.g. `linger.ms`.
    pub name: String,
    /// Its values as labels (`5`, `lz4`).
    pub values: Vec<String>,
}

/// One combination of values and the scenario it makes.
#[derive(Debug, Clone)]
pub struct Point {
    /// One value label per parameter, in parameter order.
    pub values: Vec<String>,
    /// The scenario with those values, validated.
    pub scenario: Scenario,
}

impl Point {
    /// `linger.ms=5, compression.type=lz4`, for progress lines and tables.
    pub fn label(&self, parameters: &[Parameter]) -> String {
        (parameters.iter().zip(&self.values))
            .map(|(p, v)| format!("{}={v}", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a combination's scenario text is validated: as a whole scenario file.
pub(super) type Validate = fn(Source) -> R<Scenario>;

/// `[sweep]` of the scenario in `src`, each combination checked with `validate`.
pub(super) fn section(
    src: &Source,
    sweep: Option<&RawSweep>,
    validate: Validate,
) -> R<Option<SweepSpec>> {
    let Some(sweep) = sweep else { return Ok(None) };
    if sweep.parameters.is_empty() {
        return Err(src.error(
            "sweep",
            "needs at least one [[sweep.parameter]] with `key` and `values`",
        ));
    }
    let mut parameters = Vec::new();
    for (i, p) in sweep.parameters.iter().enumerate() {
        let field = format!("sweep.parameter.{i}");
        let key = key_of(p).map_err(|m| src.error(&field, m))?;
        path_of(&key).map_err(|m| src.error(&field, m))?;
        if parameters.iter().any(|q: &Parameter| q.key == key) {
            return Err(src.error(&field, "is swept twice"));
        }
        if p.values.is_empty() || p.values.len() > 32 {
            return Err(src.error(&format!("{field}.values"), "must list 1 to 32 values"));
        }
        parameters.push(Parameter {
            name: p.named()[0].1.to_string(),
            key,
            values: p.values.iter().map(label).collect(),
        });
    }
    let count: usize = sweep.parameters.iter().map(|p| p.values.len()).product();
    if count > MAX_POINTS {
        return Err(src.error(
            "sweep",
            format!("makes {count} combinations; at most {MAX_POINTS}"),
        ));
    }
    let points = combinations(&sweep.parameters)
        .into_iter()
        .enumerate()
        .map(|(n, picks)| point((src, validate), (sweep, &parameters), &picks, n))
        .collect::<R<Vec<_>>>()?;
    let budget = crate::duration::parse(sweep.budget.as_deref().unwrap_or("60m"))
        .map_err(|m| src.error("sweep.budget", m))?;
    Ok(Some(SweepSpec {
        parameters,
        points,
        budget,
    }))
}

/// Every combination as one value index per parameter, the first parameter slowest.
fn combinations(params: &[super::raw::RawParameter]) -> Vec<Vec<usize>> {
    params.iter().fold(vec![Vec::new()], |acc, p| {
        acc.iter()
            .flat_map(|prefix| {
                (0..p.values.len()).map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v);
                    next
                })
            })
            .collect()
    })
}

/// The scenario of combination `picks` (number `n`), validated as a file of its own.
fn point(
    (src, validate): (&Source, Validate),
    (sweep, params): (&RawSweep, &[Parameter]),
    picks: &[usize],
    n: usize,
) -> R<Point> {
    let mut doc: toml::Table =
        toml::from_str(&src.text).map_err(|e| src.error("", e.to_string()))?;
    doc.remove("sweep");
    if let Some(toml::Value::Table(run)) = doc.get_mut("run") {
        let name = run
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or("sweep");
        let name = format!("{name}-{:02}", n + 1);
        run.insert("name".into(), toml::Value::String(name));
    }
    for ((p, key), &v) in sweep.parameters.iter().zip(params).zip(picks) {
        let path = path_of(&key.key).expect("checked in section");
        set(&mut doc, &path, p.values[v].clone());
    }
    let text = toml::to_string(&doc).map_err(|e| src.error("sweep", e.to_string()))?;
    let scenario = validate(Source::new(&src.path, text)).map_err(|e| {
        let i = (params.iter())
            .position(|p| e.field.starts_with(&field_of(&p.key)))
            .unwrap_or(0);
        src.error(
            &format!("sweep.parameter.{i}.values"),
            format!(
                "with {} = {}: {}: {}",
                params[i].name, params[i].values[picks[i]], e.field, e.message
            ),
        )
    })?;
    Ok(Point {
        values: (sweep.parameters.iter().zip(picks))
            .map(|(p, &v)| label(&p.values[v]))
            .collect(),
        scenario,
    })
}

/// `section.setting` of a parameter that names exactly one section.
fn key_of(p: &super::raw::RawParameter) -> Result<String, String> {
    match p.named().as_slice() {
        [(section, name)] => Ok(format!("{section}.{name}")),
        [] => Err("names no setting: give one of producer, consumer, topic, schema or broker                    (e.g. producer = \"linger.ms\")"
            .into()),
        _ => Err("names more than one setting; give one per [[sweep.parameter]]".into()),
    }
}

/// Fields of `[producer]`, `[topic]`, `[schema]` and `[consumer]` a parameter may set directly;
/// any other key of those sections is a client property or topic config.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "producer",
        &["count", "rate", "acks", "idempotence", "keys"],
    ),
    (
        "topic",
        &["partitions", "replication_factor", "min_insync_replicas"],
    ),
    (
        "schema",
        &[
            "record_size",
            "repeat",
            "string_length",
            "bytes_length",
            "collection_length",
        ],
    ),
    ("consumer", &["count"]),
];

/// Where in the scenario file `key` lives.
pub fn path_of(key: &str) -> Result<Vec<String>, String> {
    let (section, rest) = key
        .split_once('.')
        .filter(|(_, r)| !r.is_empty())
        .ok_or_else(|| {
            format!("\"{key}\" is not a parameter; write section.setting, e.g. producer.linger.ms")
        })?;
    let own = |s: &str| vec![section.to_string(), s.to_string()];
    match (section, FIELDS.iter().find(|(s, _)| *s == section)) {
        ("broker", _) => Ok(vec!["cluster".into(), "broker".into(), rest.into()]),
        ("schema", Some((_, fields))) => match fields.contains(&rest) {
            true => Ok(own(rest)),
            false => Err(format!(
                "schema.{rest} cannot be swept; allowed: {}",
                fields.join(", ")
            )),
        },
        (_, Some((_, fields))) if fields.contains(&rest) => Ok(own(rest)),
        ("topic", _) => Ok(vec!["topic".into(), "configs".into(), rest.into()]),
        (s @ ("producer" | "consumer"), _) => Ok(vec![s.into(), "properties".into(), rest.into()]),
        _ => Err(format!(
            "unknown section \"{section}\"; parameters start with producer., consumer., topic., \
             schema. or broker."
        )),
    }
}

/// The validation field a parameter's errors carry, e.g. `cluster.broker`.
fn field_of(key: &str) -> String {
    path_of(key).map_or_else(|_| key.to_string(), |p| p[..p.len().min(2)].join("."))
}

fn set(doc: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("paths have two parts or more");
    let mut t = doc;
    for p in parents {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = entry.as_table_mut().expect("made a table above");
    }
    t.insert(last.clone(), value);
}

/// A value as a label: strings bare, everything else as TOML writes it.
fn label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_their_place_in_the_file() {
        let p = |k: &str| path_of(k).map(|p| p.join("/"));
        assert_eq!(
            p("producer.linger.ms").unwrap(),
            "producer/properties/linger.ms"
        );
        assert_eq!(p("producer.count").unwrap(), "producer/count");
        assert_eq!(p("topic.partitions").unwrap(), "topic/partitions");
        assert_eq!(
            p("topic.retention.ms").unwrap(),
            "topic/configs/retention.ms"
        );
        assert_eq!(
            p("broker.broker.session.timeout.ms").unwrap(),
            "cluster/broker/broker.session.timeout.ms"
        );
        assert_eq!(p("schema.repeat").unwrap(), "schema/repeat");
        assert!(p("schema.file").unwrap_err().contains("cannot be swept"));
        assert!(p("linger").unwrap_err().contains("section.setting"));
        assert!(p("run.seed").unwrap_err().contains("unknown section"));
    }

    #[test]
    fn combinations_vary_the_first_parameter_slowest() {
        let raw = |n: usize| super::super::raw::RawParameter {
            producer: Some("k".into()),
            values: (0..n as i64).map(toml::Value::Integer).collect(),
            ..Default::default()
        };
        let c = combinations(&[raw(2), raw(3)]);
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], [0, 0]);
        assert_eq!(c[1], [0, 1]);
        assert_eq!(c[3], [1, 0]);
    }
}
