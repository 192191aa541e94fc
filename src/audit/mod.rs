//! The audit of every acknowledged record: per-producer compact sets of acked, failed and
//! consumed sequences, the verdict (lost / duplicated / reordered), and the counts per schema
//! version.

pub mod cold;
pub mod ledger;
pub mod ledger_file;
pub mod ranges;
pub mod verdict;
pub mod versions;
