//! Running each tool once as its own process: perf-test's and kbench's command lines, the
//! settings both get, and reading back records/s, latency percentiles and the process's CPU time
//! (from the kernel's rusage for that child, not wall time).

use std::io::Read;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cluster::dist::Dist;
use crate::cluster::Endpoints;
use crate::kafka::Brokers;
use crate::security::java_config::SecuredConfig;

/// Name of kbench's side in samples, tables and JSON.
pub(super) const KBENCH: &str = "kbench";
/// Name of Kafka's tool in samples, tables and JSON.
pub(super) const PERF_TEST: &str = "kafka-producer-perf-test";

/// What both tools are asked to do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Workload {
    /// Topic both tools write to.
    pub topic: String,
    /// Records each tool sends.
    pub records: u64,
    /// Size of every record in bytes (kbench calibrates its Avro records to it).
    pub record_size: usize,
    /// Records/s; `None` = as fast as possible.
    pub rate: Option<f64>,
    /// Producer settings given to both tools.
    pub properties: Vec<(String, String)>,
}

/// One run of one tool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    /// Which tool ran: `kbench` or `kafka-producer-perf-test`.
    pub tool: String,
    /// Throughput the tool reported, records/s (acked records/s for kbench).
    pub records_per_s: f64,
    /// User plus system CPU seconds of the tool's process.
    pub cpu_s: f64,
    /// `cpu_s` per million records of the workload.
    pub cpu_s_per_million: f64,
    /// Median latency from send to ack, ms.
    pub p50_ms: f64,
    /// 99th percentile latency from send to ack, ms.
    pub p99_ms: f64,
    /// 99.9th percentile latency from send to ack, ms.
    pub p999_ms: f64,
    /// kbench only: p99 measured from the intended send time (coordinated-omission corrected);
    /// the p50/p99/p99.9 above are from the actual send, as perf-test measures.
    pub p99_corrected_ms: Option<f64>,
    /// kbench only: acked rate / target rate − 1.
    pub rate_error: Option<f64>,
    /// Records per ProduceRequest (perf-test: its producer's `records-per-request-avg` over
    /// the metrics' last window; kbench: records / ProduceRequests from librdkafka's
    /// statistics); NaN when the tool did not say.
    pub records_per_request: f64,
}

/// Settings both producers use, so the comparison is of the clients, not their defaults.
pub fn shared_properties(linger_ms: u32) -> Vec<(String, String)> {
    owned(&[
        ("linger.ms", &linger_ms.to_string()),
        ("batch.size", "65536"),
        ("compression.type", "none"),
        ("max.in.flight.requests.per.connection", "5"),
    ])
}

/// perf-test's Java defaults, in librdkafka's terms, where kbench's own defaults differ: the
/// client buffer (`buffer.memory`, 32 MiB; Java blocks `send` when it is full, librdkafka would
/// queue 100 000 records / 1 GiB) and how long a record may wait for its ack
/// (`delivery.timeout.ms`, 120 s; kbench runs use 30 s). With kbench's run defaults a cold
/// cluster made records time out in kbench's queue while perf-test's waited: a different
/// workload, not a different client.
pub fn kbench_properties() -> Vec<(String, String)> {
    owned(&[
        ("queue.buffering.max.kbytes", "32768"),
        ("message.timeout.ms", "120000"),
    ])
}

fn owned(props: &[(&str, &str)]) -> Vec<(String, String)> {
    props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Run `cmd` to completion; returns (success, stdout, user+system CPU seconds of the process
/// and the children it waited for).
fn run_measured(mut cmd: Command) -> Result<(bool, String, f64)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the tool")?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; std's Child is not waited on afterwards.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("waiting for the tool failed");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    let out = reader.join().unwrap_or_default();
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    std::mem::forget(child);
    Ok((ok, out, cpu))
}

/// Parse ProducerPerformance's final line: "N records sent, R records/sec (… MB/sec), … ms avg
/// latency, … ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
pub fn parse_perf_test(out: &str) -> Option<(f64, f64, f64, f64)> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains("records sent") && l.contains("99.9th"))?;
    let num_before = |marker: &str| -> Option<f64> {
        let i = line.find(marker)?;
        line[..i]
            .trim_end()
            .rsplit([' ', ','])
            .next()?
            .trim()
            .parse()
            .ok()
    };
    Some((
        num_before("records/sec")?,
        num_before("ms 50th")?,
        num_before("ms 99th")?,
        num_before("ms 99.9th")?,
    ))
}

/// One value of perf-test's `--print-metrics` listing, whose lines read
/// `group:name:{tags}   : value`.
pub fn perf_test_metric(out: &str, name: &str) -> Option<f64> {
    let line = out
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(':'))?;
    line.rsplit(" : ").next()?.trim().parse().ok()
}

/// Kafka's `kafka-producer-perf-test` (acks=all, idempotent) on `w`, as a child process.
pub fn perf_test(dist: &Dist, brokers: &Brokers, w: &Workload) -> Result<Sample> {
    let secured = SecuredConfig::write(&brokers.security)?;
    let mut cmd = Command::new(&dist.kafka_java.path);
    cmd.arg("-Xmx512m")
        .arg("-cp")
        .arg(format!("{}/*", dist.kafka_libs.display()))
        .arg("-Dlog4j2.level=WARN")
        .arg("org.apache.kafka.tools.ProducerPerformance")
        .args([
            "--topic",
            &w.topic,
            "--num-records",
            &w.records.to_string(),
            "--record-size",
            &w.record_size.to_string(),
        ])
        .args([
            "--throughput",
            &w.rate.map_or("-1".to_string(), |r| format!("{r:.0}")),
        ])
        .arg("--print-metrics")
        .arg("--producer-props")
        .arg(format!("bootstrap.servers={}", brokers.bootstrap))
        .args(["acks=all", "enable.idempotence=true"])
        .args(w.properties.iter().map(|(k, v)| format!("{k}={v}")));
    if let Some(s) = &secured {
        cmd.arg("--producer.config").arg(&s.config);
    }
    let (ok, out, cpu) = run_measured(cmd)?;
    let (rps, p50, p99, p999) = parse_perf_test(&out)
        .with_context(|| format!("unexpected kafka-producer-perf-test output:\n{out}"))?;
    if !ok {
        bail!("kafka-producer-perf-test failed:\n{out}");
    }
    Ok(Sample {
        tool: PERF_TEST.into(),
        records_per_s: rps,
        cpu_s: cpu,
        cpu_s_per_million: cpu / w.records as f64 * 1e6,
        p50_ms: p50,
        p99_ms: p99,
        p999_ms: p999,
        p99_corrected_ms: None,
        rate_error: None,
        records_per_request: perf_test_metric(&out, "producer-metrics:records-per-request-avg")
            .unwrap_or(f64::NAN),
    })
}

/// kbench's own producer path (`kbench produce`: Avro, registry framing, CO-corrected
/// histograms, audit ledger) as a child process.
pub fn kbench(ep: &Endpoints, w: &Workload) -> Result<Sample> {
    if *ep.brokers.security != Default::default() || *ep.registry.auth != Default::default() {
        bail!("kbench's side of compare-tools runs on the plaintext cluster compare-tools starts itself");
    }
    let exe = std::env::current_exe().context("cannot find the kbench executable")?;
    let mut cmd = Command::new(exe);
    // "Unthrottled" for an open-loop generator: a schedule far above what the cluster takes,
    // so it always sends back to back.
    let rate = w.rate.unwrap_or(10_000_000.0);
    cmd.args([
        "produce",
        "--json",
        "--topic",
        &w.topic,
        "--count",
        &w.records.to_string(),
        "--rate",
        &rate.to_string(),
    ])
    .args([
        "--record-size",
        &w.record_size.to_string(),
        "--bootstrap",
        &ep.brokers.bootstrap,
        "--registry",
        &ep.registry.url,
    ])
    .args(
        w.properties
            .iter()
            .chain(&kbench_properties())
            .flat_map(|(k, v)| ["-X".to_string(), format!("{k}={v}")]),
    );
    let (ok, out, cpu) = run_measured(cmd)?;
    if !ok {
        bail!("kbench produce failed:\n{out}");
    }
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .with_context(|| format!("unexpected kbench produce output:\n{out}"))?;
    let pct = |k: &str| v["ack_raw"][k].as_f64().unwrap_or(f64::NAN) / 1000.0;
    let acked_rate = v["acked_rate"].as_f64().unwrap_or(0.0);
    Ok(Sample {
        tool: KBENCH.into(),
        records_per_s: acked_rate,
        cpu_s: cpu,
        cpu_s_per_million: cpu / w.records as f64 * 1e6,
        p50_ms: pct("p50_us"),
        p99_ms: pct("p99_us"),
        p999_ms: pct("p99_9_us"),
        p99_corrected_ms: v["ack"]["p99_us"].as_f64().map(|u| u / 1000.0),
        rate_error: w.rate.map(|r| acked_rate / r - 1.0),
        records_per_request: v["records_per_request"].as_f64().unwrap_or(f64::NAN),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_test_summary() {
        let out = "5000 records sent, 998.6 records/sec (0.97 MB/sec), 12.3 ms avg latency, 300.0 ms max latency.\n\
                   100000 records sent, 49975.0 records/sec (48.80 MB/sec), 283.81 ms avg latency, 611.00 ms max latency, 274 ms 50th, 501 ms 95th, 593 ms 99th, 609 ms 99.9th.\n";
        assert_eq!(parse_perf_test(out), Some((49975.0, 274.0, 593.0, 609.0)));
        assert_eq!(parse_perf_test("nothing"), None);
    }

    #[test]
    fn reads_one_metric_of_the_listing() {
        let out = "Metric Name                                                   Value\n\
                   producer-metrics:records-per-request-avg-x:{client-id=p}   : 1.000\n\
                   producer-metrics:records-per-request-avg:{client-id=p}     : 24.567\n";
        let name = "producer-metrics:records-per-request-avg";
        assert_eq!(perf_test_metric(out, name), Some(24.567));
        assert_eq!(perf_test_metric(out, "producer-metrics:nope"), None);
    }
}
