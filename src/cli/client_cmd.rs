//! `kbench produce` and `kbench consume`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use kbench::client::{self, ConsumeOptions, Endpoints, ProduceOptions};

use super::EndpointArgs;

fn endpoints(e: EndpointArgs) -> Endpoints {
    Endpoints {
        bootstrap: e.bootstrap,
        registry_url: e.registry,
    }
}

pub fn produce(
    e: EndpointArgs,
    topic: String,
    count: u64,
    rate: f64,
    schema: Option<PathBuf>,
    seed: u64,
) -> Result<ExitCode> {
    let s = client::produce(
        &endpoints(e),
        &ProduceOptions {
            topic: topic.clone(),
            count,
            rate,
            schema,
            seed,
        },
    )?;
    println!(
        "produced to {topic}: {} acked, {} failed (schema {} id {}); ack latency p50 {:.2} ms, p99 {:.2} ms",
        s.acked,
        s.failed,
        s.subject,
        s.schema_id,
        s.ack_p50_us as f64 / 1000.0,
        s.ack_p99_us as f64 / 1000.0
    );
    Ok(if s.failed == 0 && s.acked == count {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn consume(
    e: EndpointArgs,
    topic: String,
    count: Option<u64>,
    idle: Duration,
    group: Option<String>,
) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let n = client::consume(
        &endpoints(e),
        &ConsumeOptions {
            topic,
            group,
            count,
            idle_timeout: idle,
        },
        &mut out,
    )?;
    eprintln!("kbench: {n} record(s)");
    Ok(if count.is_some_and(|c| n < c) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
