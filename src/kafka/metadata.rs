//! Partition metadata as the cluster reports it: leader, replicas and in-sync replicas of each
//! partition. Failover metrics poll this to time leader elections and ISR recovery.

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use serde::Serialize;

use super::brokers::Brokers;
use crate::names::BrokerId;
use crate::security::diagnose::{self, ErrorLog};

/// One partition of a topic as the cluster metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    /// Partition index (0-based).
    pub partition: i32,
    /// Broker id of the leader; `None` while there is none.
    pub leader: Option<BrokerId>,
    /// Broker ids of the assigned replicas, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// Broker ids of the in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The leader's epoch, where the metadata came over Kafka's own protocol
    /// (`wire_metadata`); librdkafka does not hand it out.
    pub leader_epoch: Option<i32>,
}

impl PartitionInfo {
    /// Fewer replicas are in sync than are assigned.
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
}

/// Keeps the connection errors librdkafka reports, which say why a request timed out.
#[derive(Default)]
pub struct Listening {
    errors: ErrorLog,
}

impl ClientContext for Listening {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.record(&format!("{error}: {reason}"));
    }

    // librdkafka logs why a connection failed (FAIL lines) from its own threads as it happens;
    // errors proper only arrive when a consumer is polled, and without their text.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        if fac == "FAIL" || (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            self.errors.record(message);
        }
    }
}

impl ConsumerContext for Listening {}

/// A reusable metadata client, so pollers do not create a librdkafka instance per poll.
pub struct MetadataClient {
    consumer: BaseConsumer<Listening>,
    brokers: Brokers,
}

impl MetadataClient {
    /// A metadata client for `brokers`.
    pub fn new(brokers: &Brokers) -> Result<Self> {
        let consumer = brokers
            .client_config()
            .set("socket.timeout.ms", "2000")
            // Every request is explicit; no background refresh traffic between polls.
            .set("topic.metadata.refresh.interval.ms", "-1")
            // rdkafka passes on only what the `log` crate would show, which is nothing here;
            // a connection's FAIL lines, which say why it broke, are logged at Info.
            .set_log_level(RDKafkaLogLevel::Info)
            .create_with_context(Listening::default())
            .with_context(|| {
                format!(
                    "cannot create a Kafka client for {brokers} ({})",
                    brokers.security.describe()
                )
            })?;
        Ok(MetadataClient {
            consumer,
            brokers: brokers.clone(),
        })
    }

    /// Why requests fail, in a user's words, when librdkafka said something telling.
    pub fn connection_problem(&self) -> Option<String> {
        // rdkafka queues logs and errors as events: they reach the context only when polled.
        let mut served = 0;
        while self.consumer.poll(Duration::ZERO).is_some() && served < 1000 {
            served += 1;
        }
        let raw = self.consumer.context().errors.last()?;
        diagnose::explain(&raw, &self.brokers.bootstrap, &self.brokers.security)
    }

    /// One metadata request for `topic` (or every topic), retried in short steps until
    /// `timeout`, giving up early when the connection failed for a reason time will not fix
    /// (credentials, certificates, protocol).
    fn fetch(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self
                .consumer
                .fetch_metadata(topic, left.min(Duration::from_secs(1)))
            {
                Ok(md) => {
                    self.consumer.context().errors.clear();
                    return Ok(md);
                }
                Err(e) if left <= Duration::from_secs(1) => return Err(self.failed(e)),
                Err(e) => {
                    if self
                        .connection_problem()
                        .is_some_and(|p| !p.contains("connection refused"))
                    {
                        return Err(self.failed(e));
                    }
                }
            }
        }
    }

    fn failed(&self, e: KafkaError) -> anyhow::Error {
        match self.connection_problem() {
            Some(cause) => anyhow::anyhow!("{cause}"),
            None => anyhow::Error::new(e).context("metadata request failed"),
        }
    }

    /// Live broker ids and the partitions of `topic`, from one metadata request.
    pub fn snapshot(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<(Vec<BrokerId>, Vec<PartitionInfo>)> {
        let md = self.fetch(Some(topic), timeout)?;
        Ok((brokers_of(&md), partitions_of(&md, topic)))
    }

    /// Broker ids the cluster lists now (registered, not fenced), sorted. Errors when no
    /// broker answers within `timeout`.
    pub fn brokers(&self, timeout: Duration) -> Result<Vec<BrokerId>> {
        let md = self.fetch(None, timeout)?;
        Ok(brokers_of(&md))
    }

    /// `host:port` of every broker the cluster lists now, by id.
    pub fn broker_addresses(&self, timeout: Duration) -> Result<Vec<(BrokerId, String)>> {
        let md = self.fetch(None, timeout)?;
        Ok(md
            .brokers()
            .iter()
            .filter_map(|b| Some((broker_id(b.id())?, format!("{}:{}", b.host(), b.port()))))
            .collect())
    }

    /// Partitions of `topic`, sorted by partition; empty when the topic does not exist.
    pub fn partitions(&self, topic: &str, timeout: Duration) -> Result<Vec<PartitionInfo>> {
        let md = self.fetch(Some(topic), timeout)?;
        Ok(partitions_of(&md, topic))
    }
}

/// librdkafka's broker id (-1 for none) as kbench's.
fn broker_id(id: i32) -> Option<BrokerId> {
    BrokerId::try_from(id).ok()
}

fn brokers_of(md: &rdkafka::metadata::Metadata) -> Vec<BrokerId> {
    let mut brokers: Vec<BrokerId> = md
        .brokers()
        .iter()
        .filter_map(|b| broker_id(b.id()))
        .collect();
    brokers.sort_unstable();
    brokers
}

fn partitions_of(md: &rdkafka::metadata::Metadata, topic: &str) -> Vec<PartitionInfo> {
    let mut out: Vec<PartitionInfo> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions())
        .map(|p| PartitionInfo {
            partition: p.id(),
            leader: broker_id(p.leader()),
            replicas: p.replicas().iter().filter_map(|&b| broker_id(b)).collect(),
            isr: p.isr().iter().filter_map(|&b| broker_id(b)).collect(),
            leader_epoch: None,
        })
        .collect();
    out.sort_by_key(|p| p.partition);
    out
}

/// One-shot form of [`MetadataClient::partitions`].
pub fn partitions(brokers: &Brokers, topic: &str, timeout: Duration) -> Result<Vec<PartitionInfo>> {
    MetadataClient::new(brokers)?.partitions(topic, timeout)
}
