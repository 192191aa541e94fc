//! `ledger.json`: a run's audit ledger written beside its results, so that the runs of one
//! distributed load (its shards, which acknowledge, and its coordinator, which consumes) can be
//! joined into one audit afterwards by `kbench merge`: sets merge exactly, nothing is re-counted.

use std::path::Path;

use anyhow::Result;

use super::ledger::Ledger;

/// The file's name in a run directory.
pub const FILE_NAME: &str = "ledger.json";

/// Writes `ledger` to `dir/ledger.json`.
pub fn write(dir: &Path, ledger: &Ledger) -> Result<()> {
    crate::json_file::write(dir, FILE_NAME, ledger)
}

/// Reads `dir/ledger.json`.
pub fn read(dir: &Path) -> Result<Ledger> {
    crate::json_file::read(dir, FILE_NAME, "a kbench audit ledger")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_reads_back_to_the_same_verdict() {
        let mut l = Ledger::default();
        for seq in 0..100 {
            l.on_ack(3, seq);
        }
        l.on_failed(3, 100);
        for seq in (0..100).filter(|s| s % 10 != 0) {
            l.on_consumed(3, 1, seq);
        }
        l.on_consumed(3, 1, 5);
        let dir = tempfile::tempdir().expect("a temporary directory");
        write(dir.path(), &l).expect("written");
        let back = read(dir.path()).expect("read back");
        assert_eq!(back.verdict(), l.verdict());
        assert_eq!(back.verdict().lost, 10);
        assert_eq!(back.verdict().duplicated, 1);
    }
}
