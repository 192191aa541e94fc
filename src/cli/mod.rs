//! Argument definitions (clap) and the dispatch of each subcommand to the library.

mod client_cmd;
mod cluster_cmd;
mod distribute_cmd;
pub mod exit;
mod images_cmd;
mod run_cmd;
mod sweep_cmd;
mod tools_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use kbench::names::BackendKind;

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
    /// Run a scenario: start the cluster, push Avro load, measure, audit, write results, stop.
    ///
    /// Results go to <reports>/<scenario>-<UTC time>/ (results.json and one HdrHistogram
    /// interval log per latency kind). Exit code 3 means the run finished but missed an `[slo]`
    /// objective or the audit found lost, duplicated or reordered records.
    ///
    /// Ctrl-C or SIGTERM during the load, or an error once it began (e.g. a broker dying outside
    /// the fault plan), stops the load, drains for at most `run.abort_drain` (default 5s) and
    /// still writes results.json and index.html, marked as cut short (SLOs not evaluated, audit
    /// incomplete); exit code 130 for a signal, 1 for an error. A second Ctrl-C skips the drain;
    /// a third exits at once (then `kbench cluster down` cleans up).
    Run {
        /// Scenario file, e.g. scenarios/quickstart.toml.
        scenario: PathBuf,
        /// Directory the run's report directory is created in.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// Leave the cluster, the topic and the registry running after the run, so you can
        /// look at the data with your own tools; `kbench cluster down` stops it. Without the
        /// flag the cluster kbench started is stopped and its data removed. An external
        /// cluster is never stopped either way.
        #[arg(long)]
        keep_cluster: bool,
        /// Run on this backend instead of the scenario's [cluster] backend: `process` (local
        /// JVMs) or `docker` (containers; see --images).
        #[arg(long, value_enum)]
        backend: Option<BackendKind>,
        /// With --backend docker (or a docker scenario): auto, upstream or local images.
        #[arg(long, value_enum)]
        images: Option<kbench::images::Choice>,
        /// Run as shard INDEX/COUNT of a load spread over COUNT runs, e.g. 0/3 (counted from
        /// 0): this run offers 1/COUNT of every producer's rate under producer ids no other
        /// shard uses, reads nothing and fires no fault (that is the coordinator's part), and
        /// writes its ledger beside its results for `kbench merge`. Needs a cluster that
        /// already runs (--bootstrap and --registry-url, or an external [cluster]) and
        /// --start-at.
        #[arg(long, requires = "start_at")]
        shard: Option<kbench::report::shard::Shard>,
        /// With --shard: when the load starts, in ms since the Unix epoch (every shard of a load
        /// gets the same value). A shard that is not ready by then starts on the next whole
        /// second and its results say how late it was.
        #[arg(long, value_name = "EPOCH_MS", requires = "shard")]
        start_at: Option<u64>,
        /// With --shard: the coordinator's clock origin (ms since the Unix epoch, whole seconds
        /// before --start-at). Records carry their intended send time from the origin, so the
        /// coordinator's end-to-end latency needs every shard on its origin; `kbench distribute`
        /// passes it.
        #[arg(long, value_name = "EPOCH_MS", requires = "shard")]
        origin_at: Option<u64>,
        /// Run against the cluster already running at these brokers (HOST:PORT,...) instead of
        /// the scenario's [cluster], plaintext unless the scenario's external cluster says
        /// otherwise; needs --registry-url. This is how a distributed load's shards join the
        /// coordinator's cluster.
        #[arg(long, value_name = "HOST:PORT,...", requires = "registry_url")]
        bootstrap: Option<String>,
        /// With --bootstrap: the running cluster's schema registry, e.g. http://127.0.0.1:8081.
        #[arg(long, value_name = "URL", requires = "bootstrap")]
        registry_url: Option<String>,
    },
    /// Spread one scenario's load over shards that an engine runs, and merge them into one run.
    ///
    /// This process is the coordinator: it starts (or reaches) the cluster, creates the topic,
    /// reads everything back, fires the fault plan and audits; the shards only produce, each
    /// `kbench run --shard I/N` offering 1/N of every producer's rate from producer ids of its
    /// own, all starting at one agreed instant. Afterwards the shards' histograms are added to
    /// the coordinator's (never percentiles averaged) and one results.json and report are
    /// written, with a row per shard. A shard that fails makes the result incomplete and is
    /// named. Exit code 0 when the merged run passed, 3 when not, 1 on error.
    Distribute {
        /// Scenario file, e.g. scenarios/failover.toml.
        scenario: PathBuf,
        /// How many shards share the load.
        #[arg(long, default_value_t = 2)]
        workers: u32,
        /// What runs the shards: `local` (processes on this machine), `swarm` (Docker Swarm
        /// jobs from kbench's image; `kbench images build` first, and the engine must be a
        /// swarm manager: `docker swarm init --advertise-addr 127.0.0.1` on one machine) or
        /// `k8s` (an Indexed Job through kubectl; the scenario's cluster must be external).
        #[arg(long, value_enum, default_value_t = kbench::distribute::engine::EngineKind::Local)]
        engine: kbench::distribute::engine::EngineKind,
        /// Directory the coordinator's, the shards' and the merged run directories go to.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// With --engine k8s: kbench's image as the cluster's nodes pull it (push
        /// kbench/kbench:VERSION from `kbench images build` to a registry they reach).
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        /// With --engine k8s: print the manifests (Indexed Job, ConfigMap, claim, collector
        /// pod) for a load starting a minute from now, and stop.
        #[arg(long)]
        dry_run: bool,
    },
    /// Join the run directories of a distributed load's shards into one: histograms added per
    /// latency kind and phase on the shards' common clock (never percentiles averaged), counts
    /// and audit ledgers summed, one results.json and report with a row per shard. A shard that
    /// is missing or unreadable makes the result incomplete and is named; exit code 3 then, or
    /// when the merged run misses its checks.
    Merge {
        /// The shards' run directories (each written by `kbench run --shard`).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Directory the merged run directory is created in.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Many runs under one driver, one report. With [search]: find the highest rate the
    /// cluster sustains within the scenario's [slo] objectives on one cluster — a warm-up step,
    /// coarse steps up (× search.factor), bisection down to search.precision, the answer run
    /// again to confirm it and the next rate up run again to check it fails; a step whose own
    /// generator fell behind is inconclusive, never a pass, unless it still sent the rate and
    /// every objective held. With [sweep]: run
    /// every combination of the listed setting values (producer, topic, schema or broker
    /// settings), each as one run at the scenario's rate, one run with its faults, or a
    /// capacity search when [search] is there too; a combination that changes a broker
    /// setting gets a fresh cluster. Writes sweep.json (every step's full results),
    /// index.html (curves and tables) and every step's own report. Exit code 0 when a
    /// capacity was found (or the generator's limit or search.max reached) or every
    /// combination ran, 3 when not, 130 on Ctrl-C.
    Sweep {
        /// Scenario file with [search] and/or [sweep], e.g. scenarios/capacity.toml.
        scenario: PathBuf,
        /// Directory the sweep's directory is created in.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// Run every step on this backend instead of the scenario's: `process` or `docker`.
        #[arg(long, value_enum)]
        backend: Option<BackendKind>,
        /// With --backend docker (or a docker scenario): auto, upstream or local images.
        #[arg(long, value_enum)]
        images: Option<kbench::images::Choice>,
    },
    /// Rebuild the charts and index.html of a run directory from its results.json and .hlog
    /// files (no cluster needed).
    Report {
        /// A run directory, e.g. reports/failover-20261125T051754Z.
        dir: PathBuf,
    },
    /// Compare two runs: key figures side by side with deltas (latency percentiles from the
    /// merged .hlog histograms), an HTML page with both distributions overlaid, and exit code 3
    /// when NEW regresses beyond --threshold.
    Compare {
        /// The run directory to compare against (the baseline).
        base: PathBuf,
        /// The run directory that may have regressed.
        new: PathBuf,
        /// Allowed worsening in percent (latency up, rate down); lost / duplicated / reordered
        /// records may not increase at all.
        #[arg(long, default_value_t = 10.0)]
        threshold: f64,
        /// Where to write the HTML comparison (default: NEW/compare.html).
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Check scenario files without running them; errors name file:line:col and the field.
    Validate {
        /// One or more scenario files, e.g. scenarios/*.toml.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Write Avro records to a topic (the seed's producer): registered schema, Confluent wire
    /// format, acks=all. Creates the topic (RF 3, min ISR 2) if it does not exist.
    Produce {
        #[command(flatten)]
        options: kbench::client::ProduceOptions,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        endpoints: EndpointArgs,
    },
    /// Print every record of a topic, decoded through the registry, as one JSON object per line
    /// (the seed's consumer). Reads from the beginning; stops after --count records or when
    /// nothing arrived for --idle.
    Consume {
        /// Topic to read, from the beginning.
        #[arg(long, default_value = "test")]
        topic: String,
        /// Stop after this many records (default: when nothing arrived for --idle).
        #[arg(long)]
        count: Option<u64>,
        /// Stop when no record arrived for this long.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        idle: std::time::Duration,
        /// Consumer group (default: a fresh one, so every call reads from the beginning).
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        endpoints: EndpointArgs,
    },
    /// Start, inspect and stop the local cluster kbench runs for you.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Print the docker-compose file of kbench's cluster (generated from the same topology the
    /// backends use): `kbench compose > compose/docker-compose.yml` (apache/kafka and
    /// Confluent's Schema Registry, as in the seed), or with `--images local` the variant on
    /// the images `kbench images build` makes (compose/docker-compose.local.yml).
    Compose {
        /// `upstream` (the default) or `local`.
        #[arg(long, value_enum, default_value_t = kbench::images::Choice::Upstream)]
        images: kbench::images::Choice,
    },
    /// Build or list the container images the docker backend runs.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Measure kbench against Kafka's kafka-producer-perf-test on one cluster kbench starts.
    ///
    /// Same record size, acks=all, batching, compression and record count; each tool runs as its
    /// own process, alternately, --repeats times: first unthrottled (records/s, CPU-seconds per
    /// million records from the process's rusage), then at half the saturation rate found
    /// (p50 / p99 / p99.9 ack latency, kbench's achieved-rate error). All of it once per
    /// --partitions count, each on a topic of its own. Prints median and spread with
    /// kbench / perf-test ratios and writes them as JSON under --reports. With the defaults it
    /// takes 10 to 15 minutes on a 2-core machine.
    CompareTools {
        #[command(flatten)]
        options: kbench::compare_tools::Options,
        /// Where the comparison's JSON is written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
}

/// Where the cluster is (defaults: the cluster `kbench cluster up` starts).
#[derive(Debug, clap::Args)]
pub struct EndpointArgs {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "KBENCH_BOOTSTRAP",
        default_value = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    )]
    pub bootstrap: String,
    /// Base URL of the Confluent-compatible registry API.
    #[arg(
        long,
        env = "KBENCH_REGISTRY",
        default_value = "http://127.0.0.1:8081/apis/ccompat/v7"
    )]
    pub registry: String,
    /// TOML file with a [security] table, keys as in a scenario's [cluster.security] (protocol,
    /// sasl_mechanism, username, password = "${VAR}", ca_file, cert_file, key_file,
    /// verify_hostname, [security.registry]); secrets are read from the environment.
    #[arg(long, env = "KBENCH_SECURITY")]
    pub security: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build kbench's own images offline: a Debian 12 base from debootstrap (the Debian mirror
    /// apt uses; needs root and the debootstrap package, once), then Kafka on Debian's OpenJDK
    /// 17, Apicurio Registry on the pinned Java 21 runtime, and kbench itself — from the same
    /// pinned Maven Central artifacts the process backend runs. No image registry is needed.
    /// An image is rebuilt only when one of its inputs changed. Prints each image's size.
    Build {
        /// Build only these roles (repeatable); default: all.
        #[arg(long, value_enum)]
        role: Vec<kbench::images::Role>,
    },
    /// Show, for each role, the images that could run it (upstream and built here), which are
    /// on this machine with their size, id and origin, and which one a docker run would use.
    List {
        /// The `[cluster] images` setting to explain: auto, upstream or local.
        #[arg(long, value_enum, default_value_t = kbench::images::Choice::Auto)]
        images: kbench::images::Choice,
    },
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
        /// Which kind of cluster: local JVM processes, or containers on the Docker engine.
        #[arg(long, value_enum, default_value_t = BackendKind::Process)]
        backend: BackendKind,
        /// Docker backend: run upstream images when here or pullable else kbench's own
        /// (`auto`), upstream only, or only those `kbench images build` made (`local`).
        #[arg(long, value_enum, default_value_t = kbench::images::Choice::Auto)]
        images: kbench::images::Choice,
        /// Secure the client listeners (process backend): `sasl_ssl` (SCRAM-SHA-512, also
        /// SCRAM-SHA-256 and PLAIN, user kbench, random password) or `ssl` (mutual TLS). A CA and
        /// certificates are generated for the cluster with openssl; `kbench cluster status`
        /// names the files a client needs and `kbench cluster env` exports them.
        #[arg(long, value_enum)]
        security: Option<SecurityArg>,
    },
    /// Print shell `export` lines for the running cluster (use: eval "$(kbench cluster env)").
    ///
    /// KBENCH_BOOTSTRAP, KBENCH_REGISTRY and, for a secured cluster, KBENCH_CA_FILE, KBENCH_CERT_FILE, KBENCH_KEY_FILE,
    /// KBENCH_SASL_USERNAME and KBENCH_SASL_PASSWORD (as `$(cat <password file>)`, so the
    /// password itself is never printed). Use: eval "$(kbench cluster env)".
    Env,
    /// Stop, kill, pause, resume or start one node of the running local cluster.
    ///
    /// As an operator's tool would: the command templates of an external scenario can call it
    /// (`{kbench} cluster node kill {node}`, where `{node}` is a broker id or `registry`).
    Node {
        /// What to do: stop (SIGTERM, controlled shutdown), kill (SIGKILL), pause (SIGSTOP),
        /// resume (SIGCONT), start (on its data; stops it first if it runs).
        #[arg(value_enum)]
        action: kbench::cluster::NodeAction,
        /// The node id (1-3), or `registry` for the schema registry.
        node: NodeArg,
    },
    /// Show each broker (address, up / down / paused, quorum leader) and the registry.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
        /// Which kind of cluster: local JVM processes, or containers on the Docker engine.
        #[arg(long, value_enum, default_value_t = BackendKind::Process)]
        backend: BackendKind,
    },
    /// Stop every cluster kbench started (also after kbench itself crashed) and delete its data.
    ///
    /// With --backend docker: remove every container and network labelled dev.kbench.managed.
    Down {
        /// Which kind of cluster: local JVM processes, or containers on the Docker engine.
        #[arg(long, value_enum, default_value_t = BackendKind::Process)]
        backend: BackendKind,
    },
}

/// How `cluster up --security` secures the client listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityArg {
    /// SASL over TLS with SCRAM-SHA-512 (and SCRAM-SHA-256, PLAIN).
    #[value(name = "sasl_ssl", alias = "sasl-ssl")]
    SaslSsl,
    /// Mutual TLS: clients present a certificate signed by the cluster's CA.
    Ssl,
}

fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    kbench::duration::parse(s)
}

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run {
            scenario,
            reports,
            keep_cluster,
            backend,
            images,
            shard,
            start_at,
            origin_at,
            bootstrap,
            registry_url,
        } => {
            let shard = shard
                .zip(start_at)
                .map(|(shard, at)| kbench::run::ShardPlan {
                    shard,
                    barrier_wall_ms: at,
                    origin_wall_ms: origin_at,
                });
            let part = run_cmd::Part {
                shard,
                running: bootstrap.zip(registry_url),
            };
            run_cmd::run_scenario(&scenario, reports, keep_cluster, (backend, images), part)
        }
        Command::Merge { dirs, reports } => run_cmd::merge(&dirs, &reports),
        Command::Distribute {
            scenario,
            workers,
            engine,
            reports,
            image,
            dry_run,
        } => {
            let d = distribute_cmd::Distribute {
                reports,
                engine,
                workers,
                image,
                dry_run,
            };
            distribute_cmd::distribute(&scenario, d)
        }
        Command::Sweep {
            scenario,
            reports,
            backend,
            images,
        } => sweep_cmd::sweep(&scenario, reports, (backend, images)),
        Command::Validate { scenarios } => run_cmd::validate(&scenarios),
        Command::Report { dir } => run_cmd::report(&dir),
        Command::Compare {
            base,
            new,
            threshold,
            html,
        } => run_cmd::compare(&base, &new, threshold, html),
        Command::Produce {
            options,
            json,
            endpoints,
        } => client_cmd::produce(endpoints, options, json),
        Command::Consume {
            topic,
            count,
            idle,
            group,
            endpoints,
        } => client_cmd::consume(endpoints, topic, count, idle, group),
        Command::Cluster(c) => cluster_cmd::run(c),
        Command::Compose { images } => images_cmd::compose(images),
        Command::Images(c) => images_cmd::run(c),
        Command::CompareTools { options, reports } => tools_cmd::run(options, reports),
    }
}

/// A member of the local cluster on the command line: a broker id or `registry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeArg {
    /// A Kafka node.
    Broker(kbench::names::BrokerId),
    /// The schema registry.
    Registry,
}

impl std::str::FromStr for NodeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "registry" {
            return Ok(NodeArg::Registry);
        }
        s.parse()
            .map(NodeArg::Broker)
            .map_err(|_| format!("\"{s}\" is neither a node id (1-3) nor `registry`"))
    }
}
