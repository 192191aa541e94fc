//! What a run leaves behind: results.json (with the .hlog files the metrics write beside it) and
//! the summary printed at the end.

mod aborted;
pub mod charts;
pub mod compare;
pub(crate) mod draw;
pub mod font;
pub mod html;
mod judge;
pub mod payload;
pub mod phases;
pub mod rebuild;
pub mod requests;
pub mod results;
pub mod shard;
pub mod summary;
mod summary_registry;

/// A latency in µs as the terminal summary writes it: ms with two decimals.
pub(crate) fn summary_ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}
