//! Class-data-sharing archives for the cluster's JVMs, one per installed Kafka / registry
//! version and Java, kept in the distribution cache. A JVM started with an archive maps the
//! classes it needs, already parsed and verified, instead of reading them from the jars: most of
//! a short-lived JVM's start. The archive changes start-up only: the same classes run, and the
//! JIT compiles them as without it. The registry also runs with the C1 JIT only, which starts
//! faster and peaks lower; it is off the measured path (clients cache the schemas they use).
//!
//! Kafka may run on Java 17, which cannot create an archive by itself: on the first start of a
//! version, node 1 writes one when it exits (`-XX:ArchiveClassesAtExit`) into a pending file,
//! and the next start checks it with `-Xshare:on` and puts it in place. The registry's Java is
//! 21+, where `-XX:+AutoCreateSharedArchive` creates and refreshes its archive unaided.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::java::Java;
use crate::names::{BrokerId, BROKER_IDS};

/// The archives of one cached distribution.
#[derive(Debug, Clone)]
pub struct Archives {
    kafka: PathBuf,
    kafka_ready: bool,
    registry: PathBuf,
    /// `KBENCH_JVM_TUNING=off`: every JVM with its defaults, for comparing against.
    off: bool,
}

/// Whether `KBENCH_JVM_TUNING=off` asks for the JVMs' defaults.
fn turned_off() -> bool {
    std::env::var("KBENCH_JVM_TUNING").is_ok_and(|v| v.eq_ignore_ascii_case("off"))
}

/// The JIT setting the registry runs with, and why (for the results' environment).
const REGISTRY_JIT: &str = "-XX:TieredStopAtLevel=1";

impl Archives {
    /// The archives under `dir` for these Javas and class paths; a Kafka archive written at the
    /// last exit is checked and adopted first.
    pub fn prepare(dir: &Path, kafka: (&Java, &Path), registry: (&Java, &Path)) -> Archives {
        let kafka_archive = dir.join(name("kafka", kafka.0, kafka.1));
        let _ = std::fs::create_dir_all(dir);
        adopt_pending(&kafka.0.path, kafka.1, &kafka_archive);
        Archives {
            kafka_ready: kafka_archive.is_file(),
            kafka: kafka_archive,
            registry: dir.join(name("registry", registry.0, registry.1)),
            off: turned_off(),
        }
    }

    /// The file Kafka node `node` writes its archive into when it exits: node 1's, and only
    /// while there is no archive yet. Teardown gives that node the time to finish writing it.
    pub fn written_at_exit_by(&self, node: BrokerId) -> Option<PathBuf> {
        let records = !self.off && !self.kafka_ready && node == BROKER_IDS[0];
        records.then(|| pending(&self.kafka))
    }

    /// Flags of a Kafka JVM: node `node`'s, or `None` for a tool that only reads the archive.
    pub fn kafka_flags(&self, node: Option<BrokerId>) -> Vec<String> {
        if self.off {
            Vec::new()
        } else if self.kafka_ready {
            vec![format!("-XX:SharedArchiveFile={}", self.kafka.display())]
        } else if let Some(p) = node.and_then(|n| self.written_at_exit_by(n)) {
            vec![format!("-XX:ArchiveClassesAtExit={}", p.display())]
        } else {
            Vec::new()
        }
    }

    /// Flags of the registry JVM (Java 21+).
    pub fn registry_flags(&self) -> Vec<String> {
        if self.off {
            return Vec::new();
        }
        vec![
            "-XX:+AutoCreateSharedArchive".into(),
            format!("-XX:SharedArchiveFile={}", self.registry.display()),
            REGISTRY_JIT.into(),
        ]
    }

    /// What the JVMs are started with beyond their defaults, in words, for the results.
    pub fn describe(&self) -> Vec<String> {
        if self.off {
            return vec!["JVM defaults (KBENCH_JVM_TUNING=off)".into()];
        }
        let kafka = if self.kafka_ready {
            format!(
                "Kafka nodes: class-data sharing archive {} (start-up only; classes and JIT as without it)",
                self.kafka.display()
            )
        } else {
            "Kafka nodes: no class-data sharing archive yet; node 1 records one when it exits"
                .into()
        };
        let registry = format!(
            "registry: class-data sharing archive {} (created automatically), {REGISTRY_JIT} \
             (C1 JIT only: faster start, lower peak speed; off the measured path)",
            self.registry.display()
        );
        vec![kafka, registry]
    }
}

/// `<what>-<key>.jsa`, the key changing with the Java build and the class path, so an upgraded
/// JDK or a moved cache gets a new archive instead of a mismatched one.
fn name(what: &str, java: &Java, classpath: &Path) -> String {
    let libjvm = java
        .path
        .parent()
        .and_then(Path::parent)
        .map(|home| home.join("lib/server/libjvm.so"));
    let stamp = libjvm
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
        .unwrap_or_default();
    let key = format!("{}|{stamp}|{}", java.path.display(), classpath.display());
    format!(
        "{what}-java{}-{:016x}.jsa",
        java.major,
        fnv1a(key.as_bytes())
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn pending(archive: &Path) -> PathBuf {
    archive.with_extension("jsa.pending")
}

/// Put an archive written at a JVM's exit in place if the JVM accepts it with the nodes' class
/// path (`-Xshare:on` refuses a truncated or mismatched one); otherwise drop it, and a later exit
/// writes another.
fn adopt_pending(java: &Path, libs: &Path, archive: &Path) {
    let p = pending(archive);
    if archive.is_file() || !p.is_file() {
        return;
    }
    let accepted = Command::new(java)
        .arg(format!("-XX:SharedArchiveFile={}", p.display()))
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .args(["-Xshare:on", "-version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !(accepted && std::fs::rename(&p, archive).is_ok()) {
        let _ = std::fs::remove_file(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(path: &str, major: u32) -> Java {
        Java {
            path: path.into(),
            major,
        }
    }

    #[test]
    fn archive_names_follow_the_java_and_the_class_path() {
        let cp = Path::new("/cache/kafka-4.1.1/libs");
        let a = name("kafka", &java("/usr/bin/java", 17), cp);
        assert!(a.starts_with("kafka-java17-") && a.ends_with(".jsa"), "{a}");
        assert_eq!(a, name("kafka", &java("/usr/bin/java", 17), cp));
        assert_ne!(a, name("kafka", &java("/opt/jdk/bin/java", 17), cp));
        assert_ne!(
            a,
            name("kafka", &java("/usr/bin/java", 17), Path::new("/elsewhere"))
        );
    }

    #[test]
    fn only_the_recording_node_writes_a_missing_archive() {
        let dir = std::env::temp_dir().join(format!("kbench-cds-{}", std::process::id()));
        let j = java("/nonexistent/bin/java", 17);
        let a = Archives::prepare(&dir, (&j, Path::new("/k")), (&j, Path::new("/r")));
        assert!(a.kafka_flags(None).is_empty());
        assert!(a.kafka_flags(Some(2)).is_empty());
        assert!(a.kafka_flags(Some(1))[0].starts_with("-XX:ArchiveClassesAtExit="));
        assert!(a.kafka_flags(Some(1))[0].ends_with(".jsa.pending"));
        assert_eq!(a.written_at_exit_by(2), None);
        assert!(a
            .written_at_exit_by(1)
            .is_some_and(|p| p.ends_with(pending(&a.kafka).file_name().unwrap())));
        assert!(a
            .registry_flags()
            .contains(&"-XX:+AutoCreateSharedArchive".to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
