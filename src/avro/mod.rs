//! Avro: the scenario's schema (with kbench's header fields added), registration in the
//! registry, seeded record generation, and the Confluent wire format.

pub mod generate;
pub mod header;
pub mod registry;
pub mod wire;
