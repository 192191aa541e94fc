//! Avro: the scenario's schema (with kbench's header fields added), registration in the
//! registry, seeded record generation, and the Confluent wire format.

mod encode;
pub mod generate;
pub mod header;
mod plan;
mod pool;
pub mod registry;
pub mod schema_cache;
pub mod wire;
mod wyrand;
