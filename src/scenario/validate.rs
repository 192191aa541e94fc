//! Raw scenario -> validated [`Scenario`]: defaults applied, every value range-checked, relative
//! files resolved, and each failure pointed at the field that caused it. Each section validates
//! itself in a function of its own; `validate` only puts them in order and checks what spans
//! sections (faults against the topic and the backend).

use std::collections::BTreeMap;
use std::time::Duration;

use super::raw::{property_string, RawCluster, RawConsumer, RawProducer, RawScenario, RawSchema};
use super::raw::{RawRun, RawTopic};
use super::source::{ScenarioError, Source};
use super::SubjectStrategy;
use super::{
    ClusterSpec, ConsumerSpec, Containers, ExternalFaults, ProducerSpec, Scenario, SchemaSpec,
};
use crate::avro::generate::Sizes;
use crate::faults::plan::{FaultSpec, Target};
use crate::kafka::admin::TopicSpec;
use crate::load::producer::Acks;
use crate::load::schedule::{RateProfile, Step};
use crate::names::BackendKind;
use crate::security::spec::SecuritySpec;

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

/// Letters, digits, `-`, `_` and `.` only.
fn plain_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn properties(
    src: &Source,
    table: &str,
    props: &BTreeMap<String, toml::Value>,
) -> R<Vec<(String, String)>> {
    if let Some(k) = props.keys().find(|k| {
        ["security.", "sasl.", "ssl."]
            .iter()
            .any(|p| k.starts_with(p))
    }) {
        return Err(src.error(
            &format!("{table}.{k}"),
            "connection security is set once, in [cluster.security], for every client kbench makes \
             (admin, metadata, producers, consumers); it cannot differ per client",
        ));
    }
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

/// `[run]`, validated: name, times and seed.
struct RunSection {
    name: String,
    description: String,
    duration: Duration,
    warmup: Duration,
    seed: u64,
    drain_timeout: Duration,
    abort_drain: Duration,
}

impl RunSection {
    fn total(&self) -> Duration {
        self.warmup + self.duration
    }
}

fn run_section(src: &Source, raw: &RawRun) -> R<RunSection> {
    let name = raw.name.trim().to_string();
    if name.is_empty() || !plain_name(&name) {
        return Err(src.error("run.name", "must be non-empty and use only letters, digits, '-', '_' and '.' (it names the report directory)"));
    }
    let run_duration = duration(src, "run.duration", &raw.duration)?;
    if run_duration.is_zero() {
        return Err(src.error("run.duration", "must be longer than 0s"));
    }
    Ok(RunSection {
        name,
        description: raw.description.clone().unwrap_or_default(),
        duration: run_duration,
        warmup: duration(src, "run.warmup", raw.warmup.as_deref().unwrap_or("0s"))?,
        seed: raw.seed.unwrap_or(1),
        drain_timeout: duration(
            src,
            "run.drain_timeout",
            raw.drain_timeout.as_deref().unwrap_or("60s"),
        )?,
        abort_drain: duration(
            src,
            "run.abort_drain",
            raw.abort_drain.as_deref().unwrap_or("5s"),
        )?,
    })
}

fn cluster_section(src: &Source, raw: &RawCluster) -> R<ClusterSpec> {
    let ready_timeout = duration(
        src,
        "cluster.ready_timeout",
        raw.ready_timeout.as_deref().unwrap_or("240s"),
    )?;
    let name = raw
        .backend
        .as_deref()
        .unwrap_or(BackendKind::Process.name());
    let kind: BackendKind = src.named("cluster.backend", "backend", name)?;
    if kind == BackendKind::External {
        return external_cluster(src, raw);
    }
    for (f, set) in [
        ("bootstrap", raw.bootstrap.is_some()),
        ("registry_url", raw.registry_url.is_some()),
        ("security", raw.security.is_some()),
        ("commands", raw.commands.is_some()),
        ("nodes", !raw.nodes.is_empty()),
    ] {
        if set {
            let hint = match f {
                "security" => "; for a secured local cluster run `kbench cluster up --security sasl_ssl --detach` and point an external scenario at it (scenarios/external-secure.toml)",
                _ => "",
            };
            return Err(src.error(
                &format!("cluster.{f}"),
                format!("only applies to backend = \"external\"{hint}"),
            ));
        }
    }
    let images = image_choice(src, raw)?;
    match kind {
        BackendKind::Docker => Ok(ClusterSpec::Docker {
            ready_timeout,
            images: images.unwrap_or_default(),
        }),
        _ if images.is_some() => Err(src.error(
            "cluster.images",
            "only applies to backend = \"docker\" (the images its containers run)",
        )),
        _ => Ok(ClusterSpec::Process { ready_timeout }),
    }
}

/// `cluster.images`, when set.
fn image_choice(src: &Source, raw: &RawCluster) -> R<Option<crate::images::Choice>> {
    use clap::ValueEnum;
    let Some(v) = raw.images.as_deref() else {
        return Ok(None);
    };
    crate::images::Choice::from_str(v, false)
        .map(Some)
        .map_err(|_| {
            src.error(
                "cluster.images",
                format!("unknown images \"{v}\"; allowed: auto, upstream, local"),
            )
        })
}

fn external_cluster(src: &Source, raw: &RawCluster) -> R<ClusterSpec> {
    let bootstrap = raw.bootstrap.clone().ok_or_else(|| {
        src.error(
            "cluster",
            "backend = \"external\" needs `bootstrap = \"host:port,...\"`",
        )
    })?;
    let registry_url = raw.registry_url.clone().ok_or_else(|| {
        src.error(
            "cluster",
            "backend = \"external\" needs `registry_url = \"http://host:port\"`",
        )
    })?;
    if registry_url.contains('@') {
        return Err(src.error(
            "cluster.registry_url",
            "carries credentials; put them in [cluster.security.registry] (username, password = \"${VAR}\") so they stay out of reports",
        ));
    }
    let security = match &raw.security {
        Some(s) => super::security::security_section(src, "cluster.security", s)?,
        None => SecuritySpec {
            origin: src.path.display().to_string(),
            ..SecuritySpec::default()
        },
    };
    let faults = match (
        super::commands::containers(src, raw.containers.as_ref())?,
        &raw.commands,
    ) {
        (Some(_), Some(_)) => {
            return Err(src.error(
                "cluster.commands",
                "give either containers or commands for faults, not both",
            ))
        }
        (Some(c), None) => ExternalFaults::Containers(c),
        (None, Some(c)) => {
            ExternalFaults::Commands(super::commands::commands_section(src, c, &raw.nodes)?)
        }
        (None, None) => ExternalFaults::None,
    };
    Ok(ClusterSpec::External {
        bootstrap,
        registry_url,
        security: Box::new(security),
        faults,
    })
}

fn topic_section(src: &Source, raw: &RawTopic) -> R<TopicSpec> {
    let partitions = positive_int(src, "topic.partitions", raw.partitions, 3, 10_000)?;
    let rf = positive_int(
        src,
        "topic.replication_factor",
        raw.replication_factor,
        3,
        crate::names::BROKER_IDS.len() as i64,
    )?;
    let min_isr = positive_int(
        src,
        "topic.min_insync_replicas",
        raw.min_insync_replicas,
        2.min(rf),
        rf,
    )?;
    let mut configs = properties(src, "topic.configs", &raw.configs)?;
    if configs.iter().any(|(k, _)| k == "min.insync.replicas") {
        return Err(src.error(
            "topic.configs.min.insync.replicas",
            "set it with `min_insync_replicas` in [topic]",
        ));
    }
    configs.push(("min.insync.replicas".into(), min_isr.to_string()));
    if raw.name.is_empty() || raw.name.len() > 249 || !plain_name(&raw.name) {
        return Err(src.error(
            "topic.name",
            "Kafka topic names use 1-249 letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(TopicSpec {
        name: raw.name.clone(),
        partitions: partitions as i32,
        replication_factor: rf as i32,
        configs,
    })
}

/// The schema file, read and checked to be an Avro record kbench can add its header to.
fn schema_section(src: &Source, raw: &RawSchema, total: Duration) -> R<SchemaSpec> {
    let (file, avsc) = super::evolve::read_avsc(src, "schema.file", &raw.file)?;
    let subject_strategy = match raw.subject_strategy.as_deref().unwrap_or("topic") {
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
    let (record_size, _) = super::payload::record_size(src, raw.record_size.as_ref())?;
    if record_size.is_some() && (raw.string_length.is_some() || raw.bytes_length.is_some()) {
        return Err(src.error(
            "schema.record_size",
            "give either record_size or string_length/bytes_length, not both",
        ));
    }
    let d = Sizes::default();
    Ok(SchemaSpec {
        file,
        avsc,
        subject_strategy,
        sizes: Sizes {
            string_len: raw.string_length.unwrap_or(d.string_len),
            bytes_len: raw.bytes_length.unwrap_or(d.bytes_len),
            collection_len: raw.collection_length.unwrap_or(d.collection_len),
        },
        record_size,
        compatibility: super::evolve::compatibility(src, raw.compatibility.as_deref())?,
        evolve: super::evolve::entries(src, &raw.evolve, total)?,
    })
}

fn rate_profile(src: &Source, raw: &RawProducer, total: Duration) -> R<RateProfile> {
    let given = [raw.rate.is_some(), raw.steps.is_some(), raw.ramp.is_some()];
    match given.iter().filter(|g| **g).count() {
        0 => return Err(src.error("producer", "needs a rate: `rate = 1000` (records/s over all producers), `[[producer.steps]]` or `[producer.ramp]`")),
        1 => {}
        _ => return Err(src.error("producer", "give only one of `rate`, `steps` and `ramp`")),
    }
    let (profile, field) = if let Some(rate) = raw.rate {
        (RateProfile::Constant { rate }, "producer.rate")
    } else if let Some(steps) = &raw.steps {
        (
            RateProfile::Steps(rate_steps(src, steps, total)?),
            "producer.steps",
        )
    } else {
        let r = raw.ramp.as_ref().expect("counted above");
        let over = duration(src, "producer.ramp.over", &r.over)?;
        let ramp = RateProfile::Ramp {
            from: r.from,
            to: r.to,
            over,
        };
        (ramp, "producer.ramp")
    };
    profile.validate().map_err(|e| src.error(field, e))?;
    Ok(profile)
}

fn rate_steps(src: &Source, steps: &[super::raw::RawStep], total: Duration) -> R<Vec<Step>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let field = format!("producer.steps.{i}.at");
            let at = duration(src, &field, &s.at)?;
            if at > total {
                return Err(src.error(&field, "is after the end of the run (warmup + duration)"));
            }
            Ok(Step { at, rate: s.rate })
        })
        .collect()
}

fn producer_section(src: &Source, raw: &RawProducer, total: Duration) -> R<ProducerSpec> {
    let count = positive_int(src, "producer.count", raw.count, 1, 256)? as u32;
    let rate = rate_profile(src, raw, total)?;
    let acks = match raw.acks.as_ref().map(property_string) {
        None => Acks::All,
        Some(text) => text
            .as_deref()
            .and_then(Acks::parse)
            .ok_or_else(|| src.error("producer.acks", "allowed: \"all\" (default), 1, 0"))?,
    };
    let idempotence = raw.idempotence.unwrap_or(true);
    if idempotence && acks != Acks::All {
        return Err(src.error(
            "producer.acks",
            "idempotence needs acks = \"all\"; set `idempotence = false` to use weaker acks",
        ));
    }
    let properties = properties(src, "producer.properties", &raw.properties)?;
    for reserved in ["bootstrap.servers", "acks", "enable.idempotence"] {
        if properties.iter().any(|(k, _)| k == reserved) {
            return Err(src.error(
                &format!("producer.properties.{reserved}"),
                "is set by kbench; use the [producer] / [cluster] fields",
            ));
        }
    }
    Ok(ProducerSpec {
        count,
        rate,
        acks,
        idempotence,
        properties,
    })
}

fn consumer_section(src: &Source, raw: &RawConsumer, run: &RunSection) -> R<ConsumerSpec> {
    let group = (raw.group.clone()).unwrap_or_else(|| format!("kbench-{}", run.name));
    Ok(ConsumerSpec {
        count: positive_int(src, "consumer.count", raw.count, 1, 256)? as u32,
        cold: super::cold::groups(src, &raw.cold, &group, run.total())?,
        group,
        properties: properties(src, "consumer.properties", &raw.properties)?,
    })
}

fn slo_section(
    src: &Source,
    raw: Option<&BTreeMap<String, toml::Value>>,
) -> R<Vec<crate::slo::Slo>> {
    match raw {
        Some(table) => {
            crate::slo::parse_table(table).map_err(|(k, e)| src.error(&format!("slo.{k}"), e))
        }
        None => Ok(Vec::new()),
    }
}

/// Faults on an external cluster need a way to reach its brokers.
fn check_faults_reachable(src: &Source, cluster: &ClusterSpec, faults: &[FaultSpec]) -> R<()> {
    let on_registry = faults.iter().find(|f| f.target == Target::Registry);
    let unnamed = matches!(
        cluster,
        ClusterSpec::External {
            faults: ExternalFaults::Containers(Containers::Named { registry: None, .. }),
            ..
        }
    );
    if let (Some(f), true) = (on_registry, unnamed) {
        return Err(src.error(
            &format!("fault.{}.target", f.index),
            "a registry fault on named containers needs the registry's container too: \
             containers = { 1 = \"kafka1\", ..., registry = \"schema-registry\" }",
        ));
    }
    match cluster {
        ClusterSpec::External {
            faults: ExternalFaults::None,
            ..
        } if !faults.is_empty() => Err(src.error(
            "fault",
            "kbench cannot reach the brokers of an external cluster: give [cluster.commands] \
             (e.g. kill = \"ssh {host} sudo systemctl kill -s KILL kafka\") or, for containers, \
             `containers = \"compose\"` in [cluster]; or use backend = \"process\"",
        )),
        ClusterSpec::External {
            faults: ExternalFaults::Commands(c),
            ..
        } => super::commands::check_faults(src, c, faults),
        _ => Ok(()),
    }
}

/// Parse `src` and validate it section by section.
pub fn validate(src: Source) -> R<Scenario> {
    let mut raw: RawScenario = toml::from_str(&src.text).map_err(|e| {
        let msg = e.message().trim().to_string();
        src.error_at(e.span(), "", msg)
    })?;
    super::search::default_rate(&mut raw);
    let run = run_section(&src, &raw.run)?;
    let cluster = cluster_section(&src, &raw.cluster)?;
    let topic = topic_section(&src, &raw.topic)?;
    let schema = schema_section(&src, &raw.schema, run.total())?;
    let producer = producer_section(&src, &raw.producer, run.total())?;
    let consumer = consumer_section(&src, &raw.consumer, &run)?;
    let faults = super::faults::validate(&src, &raw.faults, run.total(), topic.partitions)?;
    check_faults_reachable(&src, &cluster, &faults)?;
    super::netfaults::check_injectable(&src, &cluster, &faults)?;
    let slos = slo_section(&src, raw.slo.as_ref())?;
    let timed = super::search::Timed {
        faults: !faults.is_empty(),
        evolve: !schema.evolve.is_empty(),
        cold: !consumer.cold.is_empty(),
        slos: !slos.is_empty(),
        rate_shape: raw.producer.steps.is_some() || raw.producer.ramp.is_some(),
    };
    let search = super::search::section(&src, raw.search.as_ref(), timed)?;
    let broker = super::broker::settings(&src, &raw.cluster.broker, cluster.kind())?;
    let payload = super::payload::spec(
        &src,
        super::payload::record_size(&src, raw.schema.record_size.as_ref())?.1,
        super::payload::repeat(&src, raw.schema.repeat)?,
        super::payload::keys(&src, raw.producer.keys.as_ref())?,
        !schema.evolve.is_empty(),
    )?;
    let sweep = super::sweep::section(&src, raw.sweep.as_ref(), validate)?;
    Ok(Scenario {
        file: src.path.clone(),
        name: run.name,
        description: run.description,
        duration: run.duration,
        warmup: run.warmup,
        seed: run.seed,
        drain_timeout: run.drain_timeout,
        abort_drain: run.abort_drain,
        cluster,
        topic,
        recreate_topic: raw.topic.recreate.unwrap_or(true),
        schema,
        producer,
        consumer,
        faults,
        slos,
        search,
        broker,
        payload,
        sweep,
        text: src.text.clone(),
    })
}
