//! What results.json says about each fault: when it fired and on which node, when the node came
//! back, and the failover metrics measured around it. Times are seconds since the run's origin
//! (the same clock as `series[].t`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::plan::Action;
use crate::metrics::Percentiles;
use crate::names::BrokerId;

/// What happened for one fault of the plan. Every field but the action may be missing from an
/// older results.json; a fault without its action is not one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultReport {
    /// Position of the fault in the scenario's fault list, from 0.
    #[serde(default)]
    pub index: usize,
    /// What the fault did, as the scenario names it (`kill`, `rolling-restart`, `delay`).
    pub action: Action,
    /// The target as written: `broker:2`, `leader:0`, `controller`, `random`.
    #[serde(default)]
    pub target: String,
    /// The broker the target resolved to when the fault fired.
    pub node: Option<BrokerId>,
    /// Human label for tables and charts, e.g. "kill broker 2 (leader p0)".
    #[serde(default)]
    pub label: String,
    /// Scheduled and actual firing time.
    #[serde(default)]
    pub scheduled_s: f64,
    /// When the action was actually taken; 0 if the fault never fired.
    #[serde(default)]
    pub fired_s: f64,
    /// When the node was brought back (automatic recovery or a later fault), if it was.
    pub recovered_s: Option<f64>,
    /// When the node was registered in the cluster metadata again after recovering.
    pub rejoined_s: Option<f64>,
    /// What kbench checked after the action (process state, port, ISR).
    #[serde(default, deserialize_with = "super::evidence::read_list")]
    pub evidence: Vec<super::evidence::Evidence>,
    /// Set when the action itself failed.
    pub error: Option<String>,
    /// A registry fault that took the registry down: when it stopped answering and when it
    /// answered again, from the registry probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_outage: Option<crate::faults::registry_probe::Outage>,
    /// Failover metrics around the fault; `None` if it never fired.
    pub metrics: Option<FailoverMetrics>,
    /// Active-controller changes seen while the fault was in force or soon after.
    #[serde(default)]
    pub controller_changes: Vec<ControllerChange>,
}

impl FaultReport {
    /// A report of `action` with nothing known yet: not fired, no node, no metrics.
    pub fn of(action: Action) -> FaultReport {
        FaultReport {
            index: 0,
            action,
            target: String::new(),
            node: None,
            label: String::new(),
            scheduled_s: 0.0,
            fired_s: 0.0,
            recovered_s: None,
            rejoined_s: None,
            evidence: Vec::new(),
            error: None,
            registry_outage: None,
            metrics: None,
            controller_changes: Vec::new(),
        }
    }
}

/// How the load and the cluster fared around one fault.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FailoverMetrics {
    /// First delivery error or ack stall seen by producers after the action (s since firing).
    pub first_error_after_s: Option<f64>,
    /// Longest time without any ack on any partition, in the fault's window (s).
    pub longest_ack_gap_s: f64,
    /// Longest time without an ack, per partition (unavailability window).
    pub partition_ack_gaps_s: BTreeMap<i32, f64>,
    /// Per partition the node led at firing time: time until another node led it (s).
    pub leader_reelection_s: BTreeMap<i32, f64>,
    /// Time until acked throughput was back to >= 90% of the pre-fault mean (s).
    pub throughput_recovery_s: Option<f64>,
    /// Mean acked records/s over the 10 s before the fault; 0 if none were measured.
    pub pre_fault_ack_rate: f64,
    /// Most under-replicated partitions seen, and when the count was back to zero (s since firing).
    pub max_under_replicated: usize,
    /// Seconds from firing until that count was zero again; `None` if it never rose
    /// above zero or never cleared.
    pub under_replicated_cleared_after_s: Option<f64>,
    /// Per partition: seconds from firing until its ISR first lost a replica.
    pub isr_shrunk_s: BTreeMap<i32, f64>,
    /// Per partition whose ISR shrank: seconds from firing until it was whole again.
    pub isr_expanded_s: BTreeMap<i32, f64>,
    /// Per partition: leader changes seen in the fault's window (each a new leader epoch).
    pub leader_changes: BTreeMap<i32, u32>,
    /// Failed deliveries by error kind in the fault's window.
    pub errors: BTreeMap<String, u64>,
    /// Latency percentiles by kind before / during / after the fault.
    pub latency: BTreeMap<String, BTreeMap<String, Percentiles>>,
}

/// The active KRaft controller moved (seen by kbench polling the quorum state).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ControllerChange {
    /// Seconds from the fault's firing.
    pub after_s: f64,
    /// Controller before; `None` when there was none.
    pub from: Option<BrokerId>,
    /// Controller after; `None` while there is none.
    pub to: Option<BrokerId>,
}
