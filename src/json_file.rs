//! The small JSON files a run leaves beside its results for other runs to read (the audit's
//! ledger, a shard's ack timeline): written whole, read back with an error naming the file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Writes `value` to `dir/name`.
pub fn write<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads `dir/name`, which should hold `what` (for the error).
pub fn read<T: DeserializeOwned>(dir: &Path, name: &str, what: &str) -> Result<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}
