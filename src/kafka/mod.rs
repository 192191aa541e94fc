//! Talking to Kafka as a client: topic administration and partition metadata (leaders, ISR)
//! through librdkafka.

pub mod admin;
pub mod metadata;
