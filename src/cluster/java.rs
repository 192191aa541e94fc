//! Which Java runs what: a `java` executable and its major version, found among an explicit
//! variable, `JAVA_HOME`, `PATH` and `/usr/lib/jvm`. The distributions, the fetched runtime and
//! the class-data-sharing archives all build on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

/// A Java executable and its major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    /// Path of the `java` executable.
    pub path: PathBuf,
    /// Its major version (e.g. 17 or 21), from `java -version`.
    pub major: u32,
}

/// An executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Major version of a Java executable, from `java -version`.
pub fn java_major(java: &Path) -> Option<u32> {
    let out = Command::new(java).arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    parse_java_major(&text)
}

fn parse_java_major(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Candidate Java executables, most explicit first.
fn java_candidates(env_var: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os(env_var).filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(home).join("bin/java"));
    }
    if let Some(p) = which("java") {
        out.push(p);
    }
    // Installed JDKs that are not the default (Debian and vendor packages put them here).
    if let Ok(entries) = std::fs::read_dir("/usr/lib/jvm") {
        let mut jvms: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin/java"))
            .filter(|p| p.is_file())
            .collect();
        jvms.sort();
        out.extend(jvms);
    }
    out
}

/// The first Java of at least `min` found among `$env_var`, `$JAVA_HOME`, PATH and /usr/lib/jvm.
/// An explicit `$env_var` that is too old is an error rather than silently passed over.
pub fn find_java(min: u32, env_var: &str, what: &str) -> Result<Java> {
    let explicit = std::env::var_os(env_var).filter(|v| !v.is_empty());
    let mut seen = Vec::new();
    for path in java_candidates(env_var) {
        let Some(major) = java_major(&path) else {
            if explicit.as_deref() == Some(path.as_os_str()) {
                bail!(
                    "{env_var}={} is not a working java executable",
                    path.display()
                );
            }
            continue;
        };
        if major >= min {
            return Ok(Java { path, major });
        }
        if explicit.as_deref() == Some(path.as_os_str()) {
            bail!(
                "{env_var}={} is Java {major}, but {what} needs Java {min} or newer",
                path.display()
            );
        }
        seen.push(format!("{} (Java {major})", path.display()));
    }
    let found = if seen.is_empty() {
        "no Java at all".to_string()
    } else {
        seen.join(", ")
    };
    bail!(
        "{what} needs Java {min} or newer; found {found}. Install a JDK {min}+ and point {env_var} \
         (or JAVA_HOME) at its bin/java"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_version_lines() {
        assert_eq!(
            parse_java_major("openjdk version \"17.0.15\" 2025-04-15\n"),
            Some(17)
        );
        assert_eq!(parse_java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(
            parse_java_major("openjdk version \"25\" 2025-09-16"),
            Some(25)
        );
        assert_eq!(parse_java_major("garbage"), None);
    }
}
