//! Prototypes of faster producer hot paths, measured by `benches/avro_encode.rs` against the
//! loop kbench runs today: a positional encoder of `Value`s, and generation straight into the wire
//! buffer. Measurement aids, not used by kbench.

pub mod direct;
pub mod proto;
