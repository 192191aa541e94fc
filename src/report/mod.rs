//! What a run leaves behind: results.json (with the .hlog files the metrics write beside it) and
//! the summary printed at the end.

mod aborted;
pub mod charts;
pub mod compare;
pub mod font;
pub mod html;
mod judge;
pub mod payload;
pub mod phases;
pub mod rebuild;
pub mod requests;
pub mod results;
pub mod summary;
mod summary_registry;
