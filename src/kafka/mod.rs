//! Talking to Kafka as a client: topic administration and partition metadata (leaders, ISR)
//! through librdkafka, and the lock that keeps two runs off one topic.

pub mod admin;
pub mod broker_config;
pub mod brokers;
pub mod metadata;
pub mod topic_lock;
pub mod wire_metadata;

pub use brokers::Brokers;
