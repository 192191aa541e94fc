//! Network and gray faults on the nodes of a cluster kbench runs itself: partitions by scope,
//! packet loss, bandwidth caps, delay and CPU starvation, all with the real kernel — network
//! namespaces and a bridge (`lab`), nftables tables (`rules`), `tbf` qdiscs, a user-space
//! packet queue for delay (`delay`) and cgroup CPU quotas (`starve`). `inject` carries a fault
//! out and undoes it; everything it makes is in the cluster's state file first.

pub mod delay;
pub mod evidence;
pub mod inject;
pub mod lab;
pub mod privilege;
pub mod rules;
pub mod spec;
pub mod starve;

use anyhow::Result;

use crate::names::BrokerId;
pub use evidence::NetEvidence;
pub use spec::{Direction, NetFault, NetKind, Scope};

/// The seam the fault executor injects network and gray faults through.
pub trait NetworkFaults {
    /// Put fault `fault` on `node`; returns evidence of what was done.
    fn inject(&mut self, fault: usize, node: BrokerId, f: &NetFault) -> Result<Vec<NetEvidence>>;
    /// Undo fault `fault`; returns evidence (e.g. packets delayed, periods throttled).
    fn heal(&mut self, fault: usize) -> Result<Vec<NetEvidence>>;
    /// Undo every fault in force on `node`.
    fn heal_node(&mut self, node: BrokerId) -> Result<Vec<NetEvidence>>;
}
