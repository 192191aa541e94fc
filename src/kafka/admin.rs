//! Creating and deleting the topics a run uses, with the replication settings the scenario
//! asks for (RF 3 and `min.insync.replicas=2` unless it says otherwise).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::brokers::Brokers;

/// A topic to create.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// Topic-level configs, e.g. `min.insync.replicas`.
    pub configs: Vec<(String, String)>,
}

pub(super) fn admin(brokers: &Brokers) -> Result<AdminClient<DefaultClientContext>> {
    brokers
        .client_config()
        .create()
        .context("cannot create a Kafka admin client")
}

pub(super) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

/// Create `spec`; with `recreate`, delete an existing topic of that name first so a run starts
/// from an empty log. Waits until every partition has a leader.
pub fn create_topic(brokers: &Brokers, spec: &TopicSpec, recreate: bool) -> Result<()> {
    let client = admin(brokers)?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    if recreate {
        let res = block_on(client.delete_topics(&[&spec.name], &opts))?
            .context("delete topic request failed")?;
        for r in res {
            if let Err((t, code)) = r {
                if code != RDKafkaErrorCode::UnknownTopicOrPartition {
                    bail!("cannot delete topic {t}: {code}");
                }
            }
        }
        // Deletion is asynchronous on the brokers; creation fails until it has finished.
        wait_until(Duration::from_secs(30), || {
            super::metadata::partitions(brokers, &spec.name, Duration::from_secs(2))
                .map(|p| p.is_empty())
                .unwrap_or(false)
        });
    }
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication_factor),
    );
    for (k, v) in &spec.configs {
        topic = topic.set(k, v);
    }
    let mut last_err = None;
    // An existing topic kept as it is may have another partition count than `spec` asks for.
    let mut existed = false;
    for _ in 0..20 {
        let res = block_on(client.create_topics([&topic], &opts))?
            .context("create topic request failed")?;
        match res.into_iter().next() {
            Some(Ok(_)) => {
                last_err = None;
                break;
            }
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) if !recreate => {
                last_err = None;
                existed = true;
                break;
            }
            Some(Err((t, code))) => {
                last_err = Some(format!("cannot create topic {t}: {code}"));
                std::thread::sleep(Duration::from_millis(500));
            }
            None => break,
        }
    }
    if let Some(e) = last_err {
        bail!(e);
    }
    let ready = wait_until(Duration::from_secs(30), || {
        super::metadata::partitions(brokers, &spec.name, Duration::from_secs(2))
            .map(|p| {
                (existed || p.len() == spec.partitions as usize)
                    && !p.is_empty()
                    && p.iter().all(|p| p.leader.is_some())
            })
            .unwrap_or(false)
    });
    if !ready {
        bail!(
            "topic {} was created but its partitions got no leader within 30s",
            spec.name
        );
    }
    Ok(())
}

/// Poll `cond` every 100 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
