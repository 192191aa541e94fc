//! The files and command lines of the local JVMs: `server.properties` and log configuration of
//! each Kafka node, the storage format step, and the Apicurio Registry launch with KafkaSQL
//! storage. Every command carries `-Dkbench.workdir=<dir>` so a stray JVM can be traced back to
//! the cluster that started it.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::dist::Dist;
use super::proc_ctl::tail;
use super::topology::Topology;
use crate::names::BrokerId;

/// Log4j 2 configuration shared by the nodes: INFO to stdout (which kbench sends to the node's
/// log file); the state-change logger is verbose and adds nothing a benchmark needs.
const LOG4J2: &str = "\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
";

/// Write the nodes' Log4j 2 configuration to `<workdir>/log4j2.properties`.
pub fn write_log_config(workdir: &Path) -> Result<()> {
    std::fs::write(workdir.join("log4j2.properties"), LOG4J2)
        .with_context(|| format!("cannot write into {}", workdir.display()))
}

/// Write node `id`'s `server.properties` to `path`, with its data kept in `data_dir`; `extra`
/// settings replace the topology's of the same key (a secured client listener) or are added.
/// The file is readable by its owner only: a secured cluster's may hold a password.
pub fn write_server_properties(
    topo: &Topology,
    id: u32,
    data_dir: &Path,
    path: &Path,
    extra: &[(String, String)],
) -> Result<()> {
    let mut props = topo.broker_properties(id, &data_dir.display().to_string());
    super::topology::apply(&mut props, extra);
    let mut text = String::from("# Written by kbench; regenerated at every `cluster up`.\n");
    for (k, v) in props {
        text.push_str(&format!("{k}={v}\n"));
    }
    super::secure::private_write(path, &text)
}

fn kafka_java(dist: &Dist, workdir: &Path) -> Command {
    let mut cmd = Command::new(&dist.kafka_java.path);
    cmd.arg(format!("-Dkbench.workdir={}", workdir.display()))
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            workdir.join("log4j2.properties").display()
        ))
        .arg("-Djava.awt.headless=true")
        .arg("-cp")
        .arg(format!("{}/*", dist.kafka_libs.display()));
    cmd
}

/// Format one node's storage with Kafka's own tool (`kafka-storage format`).
pub fn format_storage(
    dist: &Dist,
    workdir: &Path,
    cluster_id: &str,
    config: &Path,
    extra_args: &[String],
) -> Command {
    let mut cmd = Command::new(&dist.kafka_java.path);
    // The format tool loads a subset of the nodes' classes: the nodes' archive serves it too.
    cmd.args(dist.archives.kafka_flags(None));
    cmd.args(kafka_java(dist, workdir).get_args());
    cmd.args([
        "kafka.tools.StorageTool",
        "format",
        "--ignore-formatted",
        "-t",
        cluster_id,
        "-c",
    ])
    .arg(config)
    .args(extra_args);
    cmd
}

/// Run the format commands of all nodes at once (each is a short JVM; in parallel they take the
/// time of one) and report the first failure with its output.
pub fn run_formats(cmds: Vec<(Command, std::path::PathBuf)>) -> Result<()> {
    let mut running = Vec::new();
    for (mut cmd, log) in cmds {
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("cannot run Kafka's storage format tool")?;
        running.push((child, log));
    }
    let mut failure = None;
    for (mut child, log) in running {
        let status = child.wait()?;
        if !status.success() && failure.is_none() {
            failure = Some(format!(
                "formatting storage failed (exit {status}); {}:\n{}",
                log.display(),
                tail(&log, 20)
            ));
        }
    }
    match failure {
        Some(f) => bail!(f),
        None => Ok(()),
    }
}

/// The broker + controller JVM of one node.
pub fn kafka_node(dist: &Dist, workdir: &Path, id: BrokerId, config: &Path) -> Command {
    let mut cmd = Command::new(&dist.kafka_java.path);
    // Heap sized for a 2-core test machine running three nodes and a registry side by side.
    cmd.args([
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
    ]);
    cmd.args(dist.archives.kafka_flags(Some(id)));
    cmd.arg(format!("-Dkbench.node={id}"));
    let base = kafka_java(dist, workdir);
    cmd.args(base.get_args());
    cmd.arg("kafka.Kafka").arg(config);
    cmd
}

/// Apicurio Registry with KafkaSQL storage: schemas live in the Kafka cluster itself (topic
/// `kafkasql-journal`), as the seed's Confluent registry kept them in `_schemas`.
pub fn registry(dist: &Dist, workdir: &Path, topo: &Topology) -> Command {
    let mut cmd = Command::new(&dist.registry_java.path);
    // Quarkus may write next to where it runs; keep that inside the cluster's directory.
    cmd.current_dir(workdir.join("registry"));
    cmd.args(["-Xms128m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError"])
        .args(dist.archives.registry_flags())
        .arg(format!("-Dkbench.workdir={}", workdir.display()))
        .arg("-Dkbench.node=registry")
        .arg("-Dapicurio.storage.kind=kafkasql")
        // Start-up polls the journal and the snapshots topic once each with this timeout and
        // waits it out when they are empty, as they always are on a fresh cluster: the default
        // 5 s cost three polls, 15 s of every start. Later polls return as soon as records come.
        .arg("-Dapicurio.kafkasql.consumer.poll.timeout=500")
        .arg(format!(
            "-Dapicurio.kafkasql.bootstrap.servers={}",
            topo.bootstrap_servers()
        ))
        .arg("-Dquarkus.http.host=127.0.0.1")
        .arg(format!("-Dquarkus.http.port={}", topo.registry_port))
        .arg("-Dquarkus.management.host=127.0.0.1")
        .arg(format!(
            "-Dquarkus.management.port={}",
            topo.registry_management_port
        ))
        .arg("-jar")
        .arg(dist.registry_dir.join("quarkus-run.jar"));
    cmd
}

/// A random Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 characters),
/// the format `kafka-storage random-uuid` prints. Like Kafka's own `Uuid.randomUuid`, never one
/// starting with '-': `kafka-storage format -t -abc…` reads it as an option and fails (it did,
/// about one start in 64).
pub fn new_cluster_id() -> String {
    loop {
        let id = encode_uuid(*uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

fn encode_uuid(bytes: [u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = String::with_capacity(22);
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 6 {
            nbits -= 6;
            out.push(ALPHABET[((bits >> nbits) & 63) as usize] as char);
        }
    }
    if nbits > 0 {
        out.push(ALPHABET[((bits << (6 - nbits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_look_like_kafka_uuids() {
        let a = new_cluster_id();
        assert_eq!(a.len(), 22);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, new_cluster_id());
        assert!((0..2000).all(|_| !new_cluster_id().starts_with('-')));
        assert!(encode_uuid([0xf8; 16]).starts_with('-'), "the case exists");
    }
}
