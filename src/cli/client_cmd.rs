//! `kbench produce` and `kbench consume`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use kbench::client::{self, ConsumeOptions, Endpoints, ProduceOptions};

use super::EndpointArgs;

/// The brokers and registry of the command line, with the `--security` file's settings read
/// from the environment now.
fn endpoints(e: EndpointArgs) -> Result<Endpoints> {
    let security = match &e.security {
        Some(path) => kbench::scenario::security::load_file(path)?.resolve()?,
        None => Default::default(),
    };
    Ok(Endpoints::new(e.bootstrap, e.registry, security))
}

pub fn produce(e: EndpointArgs, o: ProduceOptions, json: bool) -> Result<ExitCode> {
    let (topic, count) = (o.topic.clone(), o.count);
    let s = client::produce(&endpoints(e)?, &o)?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        let ms = |f: fn(&kbench::metrics::Percentiles) -> u64| {
            s.ack.as_ref().map_or(0.0, |q| f(q) as f64 / 1000.0)
        };
        println!(
            "produced to {topic}: {} acked, {} failed (schema {} id {}) in {:.2}s ({:.0} acked/s); ack latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
            s.acked,
            s.failed,
            s.subject,
            s.schema_id,
            s.elapsed_s,
            s.acked_rate,
            ms(|q| q.p50_us),
            ms(|q| q.p99_us),
            ms(|q| q.p99_9_us)
        );
        // The summary says when its clock started, so nobody mistakes start-up for steady state.
        match (s.ready_after_s, &s.waiting_for) {
            (Some(r), _) => println!(
                "clock started when the producer was ready ({r:.3}s after it was created: \
                 producer id, partition leaders known and connected); start-up is not measured"
            ),
            (None, Some(w)) => println!(
                "the producer was not ready within 10s ({w}); the clock started anyway, so the \
                 first records carry its start-up"
            ),
            (None, None) => {}
        }
        if let (Some(t), Some(r)) = (s.requests, s.records_per_request) {
            println!(
                "{} ProduceRequests for {} records: {r:.1} records per request",
                t.produce_requests, t.records
            );
        }
    }
    Ok(if s.failed == 0 && s.acked == count {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::FAILURE)
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
        &endpoints(e)?,
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
        ExitCode::from(super::exit::FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}
