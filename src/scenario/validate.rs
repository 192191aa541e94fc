//! Raw scenario -> validated [`Scenario`]: defaults applied, every value range-checked, relative
//! files resolved, and each failure pointed at the field that caused it.

use std::path::Path;
use std::time::Duration;

use super::raw::{property_string, RawScenario};
use super::source::{ScenarioError, Source};
use super::{ClusterSpec, ConsumerSpec, ProducerSpec, Scenario, SchemaSpec, SubjectStrategy};
use crate::avro::generate::Sizes;
use crate::kafka::admin::TopicSpec;
use crate::load::schedule::{RateProfile, Step};

type R<T> = Result<T, ScenarioError>;

fn duration(src: &Source, field: &str, text: &str) -> R<Duration> {
    crate::duration::parse(text).map_err(|e| src.error(field, e))
}

fn positive_int(src: &Source, field: &str, v: Option<i64>, default: i64, max: i64) -> R<i64> {
    let v = v.unwrap_or(default);
    if v < 1 || v > max {
        return Err(src.error(field, format!("must be between 1 and {max} (got {v})")));
    }
    Ok(v)
}

fn properties(
    src: &Source,
    table: &str,
    props: &std::collections::BTreeMap<String, toml::Value>,
) -> R<Vec<(String, String)>> {
    props
        .iter()
        .map(|(k, v)| {
            property_string(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                src.error(
                    &format!("{table}.{k}"),
                    "must be a string, number or boolean",
                )
            })
        })
        .collect()
}

fn rate_profile(src: &Source, raw: &super::raw::RawProducer, total: Duration) -> R<RateProfile> {
    let given = [raw.rate.is_some(), raw.steps.is_some(), raw.ramp.is_some()];
    match given.iter().filter(|g| **g).count() {
        0 => return Err(src.error("producer", "needs a rate: `rate = 1000` (records/s over all producers), `[[producer.steps]]` or `[producer.ramp]`")),
        1 => {}
        _ => return Err(src.error("producer", "give only one of `rate`, `steps` and `ramp`")),
    }
    let profile = if let Some(rate) = raw.rate {
        RateProfile::Constant { rate }
    } else if let Some(steps) = &raw.steps {
        let mut out = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let at = duration(src, &format!("producer.steps.{i}.at"), &s.at)?;
            if at > total {
                return Err(src.error(
                    &format!("producer.steps.{i}.at"),
                    "is after the end of the run (warmup + duration)",
                ));
            }
            out.push(Step { at, rate: s.rate });
        }
        RateProfile::Steps(out)
    } else {
        let r = raw.ramp.as_ref().expect("counted above");
        RateProfile::Ramp {
            from: r.from,
            to: r.to,
            over: duration(src, "producer.ramp.over", &r.over)?,
        }
    };
    let field = match &profile {
        RateProfile::Constant { .. } => "producer.rate",
        RateProfile::Steps(_) => "producer.steps",
        RateProfile::Ramp { .. } => "producer.ramp",
    };
    profile.validate().map_err(|e| src.error(field, e))?;
    Ok(profile)
}

/// `containers = "compose"` or `containers = { 1 = "kafka1", ... }`.
fn containers(
    src: &Source,
    v: Option<&toml::Value>,
) -> R<Option<std::collections::BTreeMap<u32, String>>> {
    let bad = || {
        src.error(
            "cluster.containers",
            "use \"compose\" (kafka1..kafka3) or a table of broker id = container name",
        )
    };
    match v {
        None => Ok(None),
        Some(toml::Value::String(s)) if s == "compose" => Ok(Some(
            crate::cluster::docker::ContainerFaults::compose_names(
                &crate::cluster::Topology::default(),
            ),
        )),
        Some(toml::Value::Table(t)) => t
            .iter()
            .map(|(k, v)| match (k.parse::<u32>(), v.as_str()) {
                (Ok(id), Some(name)) if id > 0 && !name.is_empty() => Ok((id, name.to_string())),
                _ => Err(bad()),
            })
            .collect::<R<_>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}

pub fn validate(src: Source) -> R<Scenario> {
    let raw: RawScenario = toml::from_str(&src.text).map_err(|e| {
        let msg = e.message().trim().to_string();
        src.error_at(e.span(), "", msg)
    })?;

    let name = raw.run.name.trim().to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(src.error("run.name", "must be non-empty and use only letters, digits, '-', '_' and '.' (it names the report directory)"));
    }
    let run_duration = duration(&src, "run.duration", &raw.run.duration)?;
    if run_duration.is_zero() {
        return Err(src.error("run.duration", "must be longer than 0s"));
    }
    let warmup = duration(
        &src,
        "run.warmup",
        raw.run.warmup.as_deref().unwrap_or("0s"),
    )?;
    let drain_timeout = duration(
        &src,
        "run.drain_timeout",
        raw.run.drain_timeout.as_deref().unwrap_or("60s"),
    )?;
    let total = warmup + run_duration;

    let ready_timeout = duration(
        &src,
        "cluster.ready_timeout",
        raw.cluster.ready_timeout.as_deref().unwrap_or("240s"),
    )?;
    let cluster = match raw.cluster.backend.as_deref().unwrap_or("process") {
        kind @ ("process" | "docker") => {
            for (f, v) in [
                ("bootstrap", &raw.cluster.bootstrap),
                ("registry_url", &raw.cluster.registry_url),
            ] {
                if v.is_some() {
                    return Err(src.error(
                        &format!("cluster.{f}"),
                        "only applies to backend = \"external\"",
                    ));
                }
            }
            if kind == "process" {
                ClusterSpec::Process { ready_timeout }
            } else {
                ClusterSpec::Docker { ready_timeout }
            }
        }
        "external" => {
            let bootstrap = raw.cluster.bootstrap.clone().ok_or_else(|| {
                src.error(
                    "cluster",
                    "backend = \"external\" needs `bootstrap = \"host:port,...\"`",
                )
            })?;
            let registry_url = raw.cluster.registry_url.clone().ok_or_else(|| {
                src.error(
                    "cluster",
                    "backend = \"external\" needs `registry_url = \"http://host:port\"`",
                )
            })?;
            ClusterSpec::External {
                bootstrap,
                registry_url,
                containers: containers(&src, raw.cluster.containers.as_ref())?,
            }
        }
        other => {
            return Err(src.error(
                "cluster.backend",
                format!(
                    "unknown backend \"{other}\"; allowed: \"process\", \"docker\", \"external\""
                ),
            ))
        }
    };

    let partitions = positive_int(&src, "topic.partitions", raw.topic.partitions, 3, 10_000)?;
    let rf = positive_int(
        &src,
        "topic.replication_factor",
        raw.topic.replication_factor,
        3,
        3,
    )?;
    let min_isr = positive_int(
        &src,
        "topic.min_insync_replicas",
        raw.topic.min_insync_replicas,
        2.min(rf),
        rf,
    )?;
    let mut configs = properties(&src, "topic.configs", &raw.topic.configs)?;
    if configs.iter().any(|(k, _)| k == "min.insync.replicas") {
        return Err(src.error(
            "topic.configs.min.insync.replicas",
            "set it with `min_insync_replicas` in [topic]",
        ));
    }
    configs.push(("min.insync.replicas".into(), min_isr.to_string()));
    let topic = TopicSpec {
        name: raw.topic.name.clone(),
        partitions: partitions as i32,
        replication_factor: rf as i32,
        configs,
    };
    if topic.name.is_empty()
        || topic.name.len() > 249
        || !topic
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(src.error(
            "topic.name",
            "Kafka topic names use 1-249 letters, digits, '-', '_' and '.'",
        ));
    }

    let schema_file = src
        .path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&raw.schema.file);
    let avsc = std::fs::read_to_string(&schema_file).map_err(|e| {
        src.error(
            "schema.file",
            format!("cannot read {}: {e}", schema_file.display()),
        )
    })?;
    let augmented = crate::avro::header::augment_schema(&avsc)
        .map_err(|e| src.error("schema.file", format!("{}: {e}", schema_file.display())))?;
    apache_avro::Schema::parse_str(&augmented).map_err(|e| {
        src.error(
            "schema.file",
            format!("{} is not a valid Avro schema: {e}", schema_file.display()),
        )
    })?;
    let subject_strategy = match raw.schema.subject_strategy.as_deref().unwrap_or("topic") {
        "topic" => SubjectStrategy::Topic,
        "record" => SubjectStrategy::Record,
        "topic_record" => SubjectStrategy::TopicRecord,
        other => {
            return Err(src.error(
                "schema.subject_strategy",
                format!(
                "unknown strategy \"{other}\"; allowed: \"topic\", \"record\", \"topic_record\""
            ),
            ))
        }
    };
    let d = Sizes::default();
    let sizes = Sizes {
        string_len: raw.schema.string_length.unwrap_or(d.string_len),
        bytes_len: raw.schema.bytes_length.unwrap_or(d.bytes_len),
        collection_len: raw.schema.collection_length.unwrap_or(d.collection_len),
    };
    if raw.schema.record_size.is_some()
        && (raw.schema.string_length.is_some() || raw.schema.bytes_length.is_some())
    {
        return Err(src.error(
            "schema.record_size",
            "give either record_size or string_length/bytes_length, not both",
        ));
    }
    if raw.schema.record_size == Some(0) || raw.schema.record_size.is_some_and(|s| s > 16 << 20) {
        return Err(src.error("schema.record_size", "must be between 1 and 16777216 bytes"));
    }
    let schema = SchemaSpec {
        file: schema_file,
        avsc,
        subject_strategy,
        sizes,
        record_size: raw.schema.record_size,
    };

    let count = positive_int(&src, "producer.count", raw.producer.count, 1, 256)? as u32;
    let rate = rate_profile(&src, &raw.producer, total)?;
    let acks = match raw.producer.acks.as_ref().map(property_string) {
        None => "all".to_string(),
        Some(Some(a)) if ["all", "-1", "0", "1"].contains(&a.as_str()) => {
            if a == "-1" {
                "all".into()
            } else {
                a
            }
        }
        Some(_) => return Err(src.error("producer.acks", "allowed: \"all\" (default), 1, 0")),
    };
    let idempotence = raw.producer.idempotence.unwrap_or(true);
    if idempotence && acks != "all" {
        return Err(src.error(
            "producer.acks",
            "idempotence needs acks = \"all\"; set `idempotence = false` to use weaker acks",
        ));
    }
    let producer_props = properties(&src, "producer.properties", &raw.producer.properties)?;
    for reserved in ["bootstrap.servers", "acks", "enable.idempotence"] {
        if producer_props.iter().any(|(k, _)| k == reserved) {
            return Err(src.error(
                &format!("producer.properties.{reserved}"),
                "is set by kbench; use the [producer] / [cluster] fields",
            ));
        }
    }
    let producer = ProducerSpec {
        count,
        rate,
        acks,
        idempotence,
        properties: producer_props,
    };

    let consumer = ConsumerSpec {
        count: positive_int(&src, "consumer.count", raw.consumer.count, 1, 256)? as u32,
        group: raw
            .consumer
            .group
            .clone()
            .unwrap_or_else(|| format!("kbench-{name}")),
        properties: properties(&src, "consumer.properties", &raw.consumer.properties)?,
    };
    let faults = super::faults::validate(&src, &raw.faults, total, topic.partitions)?;
    if !faults.is_empty()
        && matches!(
            cluster,
            ClusterSpec::External {
                containers: None,
                ..
            }
        )
    {
        return Err(src.error(
            "fault",
            "the external backend can only stop brokers that run in containers: set `containers = \"compose\"` \
             (or `containers = { 1 = \"kafka1\", ... }`) in [cluster], or use backend = \"process\"",
        ));
    }
    let slos = match &raw.slo {
        Some(table) => {
            crate::slo::parse_table(table).map_err(|(k, e)| src.error(&format!("slo.{k}"), e))?
        }
        None => Vec::new(),
    };

    Ok(Scenario {
        file: src.path.clone(),
        name,
        description: raw.run.description.clone().unwrap_or_default(),
        duration: run_duration,
        warmup,
        seed: raw.run.seed.unwrap_or(1),
        drain_timeout,
        cluster,
        topic,
        recreate_topic: raw.topic.recreate.unwrap_or(true),
        schema,
        producer,
        consumer,
        faults,
        slos,
        text: src.text.clone(),
    })
}
