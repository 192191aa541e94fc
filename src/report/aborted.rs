//! A run cut short after its load began: why, when, and how the drain ended — for
//! results.json, the terminal and the report's banner.

use serde::{Deserialize, Serialize};

/// Why and when a run was cut short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aborted {
    /// A signal, or an error.
    pub kind: AbortKind,
    /// The signal's name, or the error's message.
    pub reason: String,
    /// When kbench noticed and stopped the load (RFC 3339, UTC).
    pub at: String,
    /// Seconds into the load (from its first intended send) at the stop.
    pub load_s: f64,
    /// A second signal skipped the drain (otherwise it ran for at most `run.abort_drain`).
    pub drain_skipped: bool,
}

/// What cut a run short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AbortKind {
    /// SIGINT, SIGTERM or SIGHUP (exit code 130).
    Interrupted,
    /// An error once the load had begun (exit code 1).
    Error,
}

impl Aborted {
    /// One line for the terminal and the report's banner.
    pub fn describe(&self, total_s: f64) -> String {
        let what = match self.kind {
            AbortKind::Interrupted => format!("interrupted by {}", self.reason),
            AbortKind::Error => format!("stopped by an error: {}", self.reason),
        };
        let drain = if self.drain_skipped {
            "drain skipped by a second signal"
        } else {
            "drain bounded by run.abort_drain"
        };
        format!(
            "run cut short {:.1} s into its {total_s:.0} s load, {what} ({drain})",
            self.load_s
        )
    }
}
