//! What a run leaves behind: results.json (with the .hlog files the metrics write beside it) and
//! the summary printed at the end.

pub mod results;
pub mod summary;
