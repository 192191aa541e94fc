//! The audit of every acknowledged record: per-producer compact sets of acked, failed and
//! consumed sequences, and the verdict (lost / duplicated / reordered).

pub mod ledger;
pub mod ranges;
pub mod verdict;
