//! Where kbench keeps things on disk: the per-user home (`KBENCH_HOME`, default
//! `$XDG_CACHE_HOME/kbench` or `~/.cache/kbench`) with the downloaded distributions under `dist/`
//! (or `KBENCH_DIST`, to share one download between several homes) and one work directory per
//! cluster under `runs/`.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// kbench's per-user home directory.
pub fn kbench_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("KBENCH_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("kbench"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither KBENCH_HOME nor HOME is set; set KBENCH_HOME to a writable directory")?;
    Ok(PathBuf::from(home).join(".cache").join("kbench"))
}

/// Cache of the Kafka and registry distributions fetched by Maven.
pub fn dist_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("KBENCH_DIST").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    Ok(kbench_home()?.join("dist"))
}

/// Parent of the clusters' work directories (data, logs, state file).
pub fn runs_dir() -> Result<PathBuf> {
    Ok(kbench_home()?.join("runs"))
}

/// A fresh, unique work directory name for a cluster started now.
pub fn new_run_name(prefix: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}",
        crate::timefmt::utc_compact(now.as_secs()),
        std::process::id()
    )
}
