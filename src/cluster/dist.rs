//! The Kafka and Apicurio Registry distributions and the Java runtimes that run them. Versions are
//! pinned in `compose/jvm/pom.xml` (embedded here); `mvn` copies the jars from Maven Central into
//! `$KBENCH_HOME/dist` once, and later runs use the cache without touching the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::proc_ctl::tail;

/// The pom that pins every JVM artifact kbench runs.
pub const POM: &str = include_str!("../../compose/jvm/pom.xml");

/// Java major version the Kafka broker needs.
pub const KAFKA_MIN_JAVA: u32 = 17;
/// Java major version Apicurio Registry 3.3 is compiled for (class file 65).
pub const REGISTRY_MIN_JAVA: u32 = 21;

/// Cached, ready-to-run distributions.
#[derive(Debug, Clone)]
pub struct Dist {
    /// Kafka version the embedded pom pins (`kafka.version`).
    pub kafka_version: String,
    /// Apicurio Registry version the embedded pom pins (`apicurio.version`).
    pub registry_version: String,
    /// Directory of Kafka's jars (broker, tools, logging): the JVM class path is `<dir>/*`.
    pub kafka_libs: PathBuf,
    /// Unpacked Apicurio Registry (Quarkus fast-jar layout with `quarkus-run.jar`).
    pub registry_dir: PathBuf,
    /// Java that runs the Kafka nodes (at least `KAFKA_MIN_JAVA`, 17).
    pub kafka_java: Java,
    /// Java that runs Apicurio Registry (at least `REGISTRY_MIN_JAVA`, 21).
    pub registry_java: Java,
    /// Class-data-sharing archives for both, kept next to the distributions.
    pub archives: super::cds::Archives,
}

/// A Java executable and its major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    /// Path of the `java` executable.
    pub path: PathBuf,
    /// Its major version (e.g. 17 or 21), from `java -version`.
    pub major: u32,
}

/// A `<name>value</name>` property of the embedded pom.
pub fn pom_property(name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = POM.find(&open)? + open.len();
    let end = POM[start..].find('<')? + start;
    Some(POM[start..end].trim().to_string())
}

/// Kafka version the embedded pom pins (`kafka.version`); empty if it has none.
pub fn kafka_version() -> String {
    pom_property("kafka.version").unwrap_or_default()
}

/// Apicurio Registry version the embedded pom pins (`apicurio.version`); empty if none.
pub fn registry_version() -> String {
    pom_property("apicurio.version").unwrap_or_default()
}

/// The distributions, fetched first if they are not cached. `progress` receives one-line notes.
pub fn ensure(progress: &dyn Fn(&str)) -> Result<Dist> {
    let kafka_version = kafka_version();
    let registry_version = registry_version();
    let root = crate::paths::dist_dir()?;
    let kafka_dir = root.join(format!("kafka-{kafka_version}"));
    let registry_dir = root.join(format!("apicurio-registry-{registry_version}"));
    if !is_complete(&kafka_dir) || !is_complete(&registry_dir) {
        progress(&format!(
            "fetching Kafka {kafka_version} and Apicurio Registry {registry_version} from Maven Central into {} (once)",
            root.display()
        ));
        fetch(&root, &[&kafka_dir, &registry_dir])?;
    }
    let kafka_java = find_java(KAFKA_MIN_JAVA, "KBENCH_JAVA", "Kafka")?;
    let registry_java = registry_java(&root, progress)?;
    let archives = super::cds::Archives::prepare(
        &root.join("cds"),
        (&kafka_java, &kafka_dir.join("libs")),
        (&registry_java, &registry_dir),
    );
    Ok(Dist {
        archives,
        kafka_version,
        registry_version,
        kafka_libs: kafka_dir.join("libs"),
        registry_dir,
        kafka_java,
        registry_java,
    })
}

/// An installed Java 21+ for the registry, or else the one kbench fetches into the cache
/// (`jre`); an explicit `KBENCH_REGISTRY_JAVA` that does not qualify stays an error.
fn registry_java(root: &Path, progress: &dyn Fn(&str)) -> Result<Java> {
    const VAR: &str = "KBENCH_REGISTRY_JAVA";
    match find_java(REGISTRY_MIN_JAVA, VAR, "Apicurio Registry") {
        Ok(java) => Ok(java),
        Err(e) if std::env::var_os(VAR).is_some_and(|v| !v.is_empty()) => Err(e),
        Err(e) => super::jre::ensure(root, progress).with_context(|| format!("{e:#}")),
    }
}

fn stamp(dir: &Path) -> PathBuf {
    dir.join(".kbench-complete")
}

fn is_complete(dir: &Path) -> bool {
    stamp(dir).exists()
}

/// Run Maven into a private staging directory, then move each finished distribution into place,
/// so an interrupted download never looks complete.
fn fetch(root: &Path, wanted: &[&Path]) -> Result<()> {
    let mvn = which("mvn").context(
        "Maven (`mvn`) is not on PATH; kbench uses it to fetch Kafka and the registry from Maven Central. \
         Install it (Debian: `apt-get install maven`) and try again",
    )?;
    let staging = root.join(format!(".staging-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let pom = staging.join("pom.xml");
    std::fs::write(&pom, POM)?;
    let log = staging.join("mvn.log");
    let status = Command::new(mvn)
        .args(["-B", "-f"])
        .arg(&pom)
        .arg(format!("-Dkbench.dist={}", staging.join("dist").display()))
        .arg("package")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::options().append(true).open(&log)?)
        .status()
        .context("cannot run mvn")?;
    if !status.success() {
        bail!(
            "Maven could not fetch the distributions (exit {status}); is Maven Central reachable? \
             Full log: {}\n--- last lines ---\n{}",
            log.display(),
            tail(&log, 25)
        );
    }
    for dir in wanted {
        let name = dir.file_name().expect("dist dirs have names");
        let built = staging.join("dist").join(name);
        if !built.is_dir() {
            bail!(
                "Maven finished but {} is missing; see {}",
                built.display(),
                log.display()
            );
        }
        std::fs::write(stamp(&built), "")?;
        if dir.exists() && !is_complete(dir) {
            std::fs::remove_dir_all(dir).ok();
        }
        // Another kbench may have finished the same download first; then theirs is as good.
        if !dir.exists() {
            std::fs::rename(&built, dir)
                .with_context(|| format!("cannot move {} into place", built.display()))?;
        }
    }
    std::fs::remove_dir_all(&staging).ok();
    Ok(())
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
    fn pom_pins_kafka_4_and_apicurio_3() {
        assert!(kafka_version().starts_with("4."), "{}", kafka_version());
        assert!(
            registry_version().starts_with("3."),
            "{}",
            registry_version()
        );
    }

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
