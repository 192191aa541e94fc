//! kbench: load, failover and durability benchmarks for a three-broker KRaft Kafka cluster with a
//! schema registry. The binary (`src/main.rs`, `src/cli/`) is a thin CLI over this library.
//!
//! # Map of the crate, in the order data flows through a run
//!
//! | step | module | owns |
//! |---|---|---|
//! | input | [`scenario`], [`slo`] | TOML to a validated `Scenario`; objectives, typed |
//! | order | [`run`] | the one place that knows a run's steps; `run::wiring` is shared with `produce` |
//! | connect | [`security`] | `ClientSecurity`: TLS, SASL, registry auth for every client; secrets; connection errors explained |
//! | 1 cluster up | [`cluster`], [`images`] | `ClusterBackend`: process, docker, external; readiness; state file; the images a docker cluster runs |
//! | 2 topic, schema | [`kafka`], [`avro`] | admin and metadata clients, topic lock; schema, registry, generator, wire format |
//! | 3-4 load | [`load`] | rate schedule, pacer, producers, consumers |
//! | 4 faults | [`faults`], [`netfault`] | fault plan to timed actions, late target resolution, what each fault did; network and gray faults on the lab network |
//! | measuring | [`metrics`] | HDR recorders, `.hlog` interval logs, per-second series, phases |
//! | 5 audit | [`audit`] | acked / failed / consumed ledgers: lost, duplicated, reordered |
//! | output | [`report`] | `results.json`, charts, HTML, `compare` — rebuilt from files alone |
//! | many runs | [`sweep`] | capacity search and parameter sweeps: many runs under one driver, one page |
//! | beside | [`client`], [`compare_tools`] | `produce` / `consume`; kbench next to `kafka-producer-perf-test` |
//! | shared | [`names`], [`duration`], [`timefmt`], [`paths`], [`signals`], [`cancel`], [`progress`] | ids, phases and names every layer uses; stopping; small pieces |
//!
//! # Conventions
//!
//! - **Layout.** A module with children is a directory with a `mod.rs`; a module without is
//!   one file. No `foo.rs` beside a `foo/`.
//! - **Out-of-line tests** are named `<subject>_tests.rs` and sit beside what they test: the
//!   tests of `results.rs` are `results_tests.rs` (declared in `results.rs` with
//!   `#[path = "results_tests.rs"] mod tests;`, so they see its private items), the tests of a
//!   directory module are `<dir>_tests.rs` in it (`metrics/metrics_tests.rs`), and a second
//!   file of one module's tests names its own subject (`scenario/sweep_tests.rs`).
//! - **Stopping** is one [`cancel::Cancel`] tree: the signal handler cancels the root, a run
//!   hands children to its workers, and a worker stopped early cancels only its own branch.
//! - **Exit codes** are defined once, in the binary's `cli::exit`.
//! - **Names** that a user types or reads (actions, backends, protocols) derive their
//!   spellings (`strum`, clap's `ValueEnum`); no hand-written name tables.
//! - **Dependencies** point down the table above: `kafka` uses `security`, never the reverse.
#![warn(missing_docs)]

pub mod audit;
pub mod avro;
pub mod cancel;
pub mod client;
pub mod cluster;
pub mod compare_tools;
pub mod distribute;
pub mod duration;
pub mod faults;
pub mod images;
pub mod json_file;
pub mod kafka;
pub mod load;
pub mod metrics;
pub mod names;
pub mod netfault;
pub mod paths;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod security;
pub mod signals;
pub mod slo;
pub mod sweep;
pub mod timefmt;
