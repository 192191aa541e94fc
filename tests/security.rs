//! Secured clusters, for real: `kbench cluster up --security sasl_ssl` (SCRAM-SHA-512 over TLS)
//! and `--security ssl` (mutual TLS) start the local cluster with secured client listeners, and
//! kbench reaches them as an external cluster: a leader kill and its restart carried out by
//! command templates, the audit clean, failover metrics from the cluster's metadata; wrong
//! password, untrusted CA and plaintext-against-TLS each end in a clear error within seconds;
//! and the password appears in no output and no file of the report.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{cluster_lock, output_within, TestHome};
use kbench::faults::evidence::Evidence;

/// A fault's evidence as the report shows it, one item a line (an operator's command outcome is
/// its command line, exit and output: text to search).
fn joined(evidence: &[Evidence]) -> String {
    let lines: Vec<String> = evidence.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `kbench ARGS` with `env` set, bounded in time; returns the output and how long it took.
fn run_with(home: &TestHome, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut cmd = home.cmd();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let out = output_within(cmd, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("$ kbench {}\n{}", args.join(" "), text(&out));
    (out, t0.elapsed())
}

/// `kbench run SCENARIO --reports REPORTS` with `env`.
fn run_into(home: &TestHome, sc: &Path, reports: &Path, env: &[(&str, &str)]) -> Output {
    let args = [
        "run",
        sc.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ];
    run_with(home, &args, env).0
}

/// The secured cluster's connection facts from `cluster status --json`.
fn connection(home: &TestHome) -> serde_json::Value {
    let out = home.run(&["cluster", "status", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["security"].clone()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                hits.push(p);
            }
        }
    }
    hits
}

/// A CA that signed nothing of the cluster's.
fn foreign_ca(home: &TestHome) -> PathBuf {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=not the cluster's CA",
        ])
        .arg("-keyout")
        .arg(home.home.join("other-ca.key"))
        .arg("-out")
        .arg(home.home.join("other-ca.pem"))
        .output()
        .unwrap();
    assert!(out.status.success());
    home.home.join("other-ca.pem")
}

/// Write `base` into `home` with `protocol`, without the lines starting with any of `drop` and
/// with `extra` appended; the schema path is made absolute, so the copy lives outside the source
/// tree (a failing test leaves nothing in it).
fn variant(home: &TestHome, base: &str, protocol: &str, drop: &[&str], extra: &str) -> PathBuf {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schemas/");
    let text = std::fs::read_to_string(scenario(base)).unwrap();
    let mut out: String = text
        .lines()
        .filter(|l| !drop.iter().any(|d| l.starts_with(d)))
        .map(|l| match l.starts_with("protocol =") {
            true => format!("protocol = \"{protocol}\"\n"),
            false => format!("{l}\n"),
        })
        .collect::<String>()
        .replace("../../scenarios/schemas/", schemas.to_str().unwrap());
    out.push_str(extra);
    let path = home.home.join(format!("{protocol}-{}-{base}", drop.len()));
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn sasl_ssl_cluster_reached_as_external_with_command_faults() {
    let _lock = cluster_lock();
    let home = TestHome::new("secure-sasl");
    let up = home.run(&["cluster", "up", "--security", "sasl_ssl", "--detach"]);
    assert!(up.status.success(), "cluster up --security sasl_ssl failed");
    let c = connection(&home);
    assert_eq!(c["protocol"], "SASL_SSL", "{c}");
    assert_eq!(c["sasl_mechanism"], "SCRAM-SHA-512");
    assert_eq!(c["username"], "kbench");
    let password = std::fs::read_to_string(c["password_file"].as_str().unwrap()).unwrap();
    let password = password.trim().to_string();
    assert!(password.len() >= 16);
    let ca = c["ca_file"].as_str().unwrap().to_string();
    let mut outputs = vec![text(&up), text(&home.run(&["cluster", "status"]))];

    // The run: leader of p0 killed and started again through `{kbench} cluster node ...`.
    let reports = home.home.join("reports");
    let env = [
        ("KBENCH_SASL_PASSWORD", password.as_str()),
        ("KBENCH_REGISTRY_PASSWORD", password.as_str()),
        ("KBENCH_CA_FILE", ca.as_str()),
    ];
    // A careless comment quoting the password: the echoed scenario must not carry it either.
    let careless = format!("# the password is {password}\n");
    let sc = variant(
        &home,
        "external-secure-short.toml",
        "SASL_SSL",
        &[],
        &careless,
    );
    let out = run_into(&home, &sc, &reports, &env);
    outputs.push(text(&out));
    assert!(out.status.success(), "the secured external run failed");
    let (dir, r) = common::read_run(&reports);
    assert!(
        r.audit.ok && r.audit.lost == 0 && r.audit.acked > 10_000,
        "{:?}",
        r.audit
    );
    assert!(r
        .environment
        .client_security
        .as_deref()
        .unwrap()
        .starts_with("SASL_SSL, SCRAM-SHA-512 as kbench"));
    let f = &r.faults[0];
    assert!(f.error.is_none(), "{:?}", f.error);
    let ev = joined(&f.evidence);
    assert!(
        ev.contains("cluster node kill") && ev.contains("exit 0"),
        "{ev}"
    );
    assert!(ev.contains("cluster node start"), "{ev}");
    assert!(
        (f.evidence.iter()).any(|e| matches!(
            e,
            Evidence::Unregistered { .. } | Evidence::StayedRegistered { .. }
        )),
        "{ev}"
    );
    let m = f.metrics.as_ref().expect("failover metrics");
    assert!(m.leader_reelection_s.contains_key(&0), "{m:?}");
    assert!(f.rejoined_s.is_some(), "the killed broker rejoined");
    let p = &r.faults[1];
    assert!(p.error.is_none() && p.node.is_some(), "{p:?}");
    let ev = joined(&p.evidence);
    assert!(
        ev.contains("cluster node pause") && ev.contains("cluster node resume"),
        "{ev}"
    );

    // The registry killed and started again through the same commands ({node} = registry),
    // a cold consumer group starting inside the outage.
    let reg_reports = home.home.join("reports-registry");
    let rsc = variant(&home, "external-registry-short.toml", "SASL_SSL", &[], "");
    let out = run_into(&home, &rsc, &reg_reports, &env);
    outputs.push(text(&out));
    assert!(
        out.status.success(),
        "the registry fault through commands failed"
    );
    let (_, rr) = common::read_run(&reg_reports);
    let f = &rr.faults[0];
    assert!(f.error.is_none(), "{:?}", f.error);
    let ev = joined(&f.evidence);
    assert!(
        ev.contains("cluster node kill registry") && ev.contains("the registry killed (pid"),
        "{ev}"
    );
    assert!(ev.contains("cluster node start registry"), "{ev}");
    let o = f
        .registry_outage
        .as_ref()
        .expect("the probe saw the outage");
    assert!(o.to_s.is_some(), "the registry answered again: {o:?}");
    // Behind its HTTPS front, a dead registry is a 502, not a refused connection.
    assert!(o.failures.keys().any(|k| k.starts_with("HTTP 5")), "{o:?}");
    let g = &rr.cold_groups[0];
    assert!(g.clean() && g.lookup_retries > 0, "{g:?}");
    assert!(rr.audit.ok && rr.audit.lost == 0, "{:?}", rr.audit);

    // The same through `produce` with a --security file.
    let sec = home.home.join("security.toml");
    std::fs::write(&sec, "[security]\nprotocol = \"SASL_SSL\"\nsasl_mechanism = \"SCRAM-SHA-256\"\nusername = \"kbench\"\npassword = \"${KBENCH_SASL_PASSWORD}\"\nca_file = \"${KBENCH_CA_FILE}\"\n").unwrap();
    let (out, _) = run_with(
        &home,
        &[
            "produce",
            "--topic",
            "kbench-secure-produce",
            "--count",
            "200",
            "--rate",
            "200",
            "--security",
            sec.to_str().unwrap(),
        ],
        &env,
    );
    outputs.push(text(&out));
    assert!(out.status.success(), "produce over SASL_SSL failed");

    // Wrong password, untrusted CA, plaintext against TLS: each a clear error, fast.
    let wrong = [
        ("KBENCH_SASL_PASSWORD", "not-the-password"),
        ("KBENCH_REGISTRY_PASSWORD", password.as_str()),
        ("KBENCH_CA_FILE", ca.as_str()),
    ];
    let (out, took) = run_with(
        &home,
        &[
            "run",
            sc.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ],
        &wrong,
    );
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out);
    assert!(
        e.contains("authentication failed")
            && e.contains("user kbench with SASL mechanism SCRAM-SHA-512"),
        "{e}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let other = foreign_ca(&home);
    let bad_ca = [
        ("KBENCH_SASL_PASSWORD", password.as_str()),
        ("KBENCH_REGISTRY_PASSWORD", password.as_str()),
        ("KBENCH_CA_FILE", other.to_str().unwrap()),
    ];
    let (out, took) = run_with(&home, &["run", sc.to_str().unwrap()], &bad_ca);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out);
    assert!(
        e.contains("not trusted by the CA file") && e.contains("other-ca.pem"),
        "{e}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    outputs.push(e);
    let plain = variant(
        &home,
        "external-secure-short.toml",
        "PLAINTEXT",
        &["sasl_mechanism", "username", "password", "ca_file"],
        "",
    );
    let (out, took) = run_with(&home, &["run", plain.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out);
    assert!(
        e.contains("most likely expect TLS") && e.contains("PLAINTEXT"),
        "{e}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");

    // The registry behind HTTPS + basic auth (nginx) refuses a wrong password, by name.
    let wrong_registry = [
        ("KBENCH_SASL_PASSWORD", password.as_str()),
        ("KBENCH_REGISTRY_PASSWORD", "not-the-password"),
        ("KBENCH_CA_FILE", ca.as_str()),
    ];
    let (out, _) = run_with(&home, &["run", sc.to_str().unwrap()], &wrong_registry);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out);
    assert!(
        e.contains("refused the credentials of user kbench (HTTP 401"),
        "{e}"
    );
    assert!(!e.contains("not-the-password"), "{e}");

    // The secret is nowhere: not in any output, not in any file of the report.
    for o in &outputs {
        assert!(!o.contains(&password), "the password was printed");
    }
    let leaks = files_containing(&dir, &password);
    assert!(leaks.is_empty(), "the password is in {leaks:?}");
    assert!(files_containing(&dir, "not-the-password").is_empty());

    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    home.assert_nothing_left();
    assert!(
        !Path::new(&ca).exists(),
        "the cluster's keys and certificates are removed with it"
    );
}

#[test]
fn mutual_tls_cluster_takes_a_client_certificate_and_refuses_none() {
    let _lock = cluster_lock();
    let home = TestHome::new("secure-mtls");
    let up = home.run(&["cluster", "up", "--security", "ssl", "--detach"]);
    assert!(up.status.success(), "cluster up --security ssl failed");
    let c = connection(&home);
    assert_eq!(c["protocol"], "SSL", "{c}");
    let (ca, cert, key) = (
        c["ca_file"].as_str().unwrap(),
        c["cert_file"].as_str().unwrap(),
        c["key_file"].as_str().unwrap(),
    );
    let password = std::fs::read_to_string(c["password_file"].as_str().unwrap()).unwrap();
    let env = [
        ("KBENCH_CA_FILE", ca),
        ("KBENCH_CERT_FILE", cert),
        ("KBENCH_KEY_FILE", key),
        ("KBENCH_REGISTRY_PASSWORD", password.trim()),
    ];
    let reports = home.home.join("reports");
    let sc = scenario("external-mtls-short.toml");
    let out = run_into(&home, &sc, &reports, &env);
    assert!(out.status.success(), "the mutual TLS run failed");
    let (_, r) = common::read_run(&reports);
    assert!(r.audit.ok && r.audit.acked > 2_000, "{:?}", r.audit);
    let no_cert = variant(
        &home,
        "external-mtls-short.toml",
        "SSL",
        &["cert_file", "key_file"],
        "",
    );
    let (out, took) = run_with(&home, &["run", no_cert.to_str().unwrap()], &env);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out);
    assert!(e.contains("client certificate"), "{e}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let down = home.run(&["cluster", "down"]);
    assert!(down.status.success());
    home.assert_nothing_left();
}
