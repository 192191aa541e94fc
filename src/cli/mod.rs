//! Argument definitions (clap) and the dispatch of each subcommand to the library.

mod cluster_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// A user error (bad input); exits with 2 rather than 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn exit_code_for(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// Load, failover and durability benchmarks for a three-broker KRaft Kafka cluster with a
/// schema registry.
///
/// kbench starts a real cluster (three Kafka 4 nodes in KRaft mode on 127.0.0.1:9092-9094 and an
/// Apicurio Registry speaking the Confluent API on 127.0.0.1:8081), drives Avro load through it,
/// breaks brokers on a schedule, and reports latency, availability and data loss.
///
/// Files: downloads and cluster work directories live under $KBENCH_HOME (default
/// ~/.cache/kbench).
#[derive(Debug, Parser)]
#[command(name = "kbench", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, inspect and stop the local cluster kbench runs for you.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start three Kafka nodes (broker + controller) and the schema registry, wait until ready.
    ///
    /// Fetches Kafka and Apicurio Registry through Maven on first use (cached afterwards). Stays
    /// in the foreground and stops everything on Ctrl-C, unless --detach is given.
    Up {
        /// Return once the cluster is ready and leave it running; stop it with `kbench cluster down`.
        #[arg(long)]
        detach: bool,
        /// Work directory for data, logs and the state file (default: a new directory under
        /// $KBENCH_HOME/runs).
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// How long the cluster may take to become ready, e.g. 240s or 5m.
        #[arg(long, default_value = "240s", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Show each broker (address, up / down / paused, quorum leader) and the registry.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop every cluster kbench started (also after kbench itself crashed) and delete its data.
    Down,
}

fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    kbench::duration::parse(s)
}

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Cluster(c) => cluster_cmd::run(c),
    }
}
