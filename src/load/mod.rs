//! Load: the rate schedule (intended send times), the producers that follow it and the consumers
//! that read everything back.

pub mod catchup;
pub mod consumer;
mod delivery;
mod draw;
pub mod pace;
pub mod payload;
pub mod producer;
pub mod ready;
pub mod schedule;
pub mod tally;
pub mod versions;
pub mod wire_stats;
