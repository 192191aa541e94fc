//! Audit ledger (being written).
