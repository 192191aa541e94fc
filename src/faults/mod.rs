//! Faults: the plan a scenario's `[[fault]]` entries describe, fired on the cluster backend at
//! their scheduled times, and what each one did to the cluster and the load (`FaultReport`).

mod ack_join;
mod act;
pub mod analysis;
pub mod commands;
pub mod evidence;
pub mod executor;
pub mod isr;
pub mod observe;
pub mod plan;
pub mod registry_probe;
pub mod report;
pub mod resolve;
