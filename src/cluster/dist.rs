//! The Kafka and Apicurio Registry distributions and the Java runtimes that run them. Versions are
//! pinned in `compose/jvm/pom.xml` (embedded here); `mvn` copies the jars from Maven Central into
//! `$KBENCH_HOME/dist` once, and later runs use the cache without touching the network.

use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::java::{find_java, java_major, which, Java};

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
}
