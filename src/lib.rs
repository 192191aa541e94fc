//! kbench: load, failover and durability benchmarks for a three-broker KRaft Kafka cluster with a
//! schema registry. The binary (`src/main.rs`) is a thin CLI over this library.

pub mod audit;
pub mod avro;
pub mod client;
pub mod cluster;
pub mod compare_tools;
pub mod duration;
pub mod faults;
pub mod kafka;
pub mod load;
pub mod metrics;
pub mod names;
pub mod paths;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod signals;
pub mod slo;
pub mod timefmt;
