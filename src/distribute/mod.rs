//! Load beyond one machine: the shards of a distributed load, each an ordinary run that offers
//! its part of the load (see [`crate::report::shard`]), joined afterwards into one run by
//! [`merge`]. A run never imports this module: it knows its shard only.

pub mod engine;
pub mod merge;
mod replay;
