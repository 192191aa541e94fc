//! `kbench distribute` with the local engine on the real cluster: three `kbench run --shard`
//! processes produce while the coordinator reads, audits and merges. The merged audit is exact,
//! its acked total is the sum of the shards' own and what an independent reader recounts in
//! the topic; a shard SIGKILLed mid-load (once the topic holds 4,000 records) makes the merged result incomplete, names that shard,
//! and counts nothing as lost that it never got acknowledged.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::recount::{records_in, recount, BOOTSTRAP, REGISTRY};
use common::TestHome;
use kbench::report::results::Results;

const TOPIC: &str = "kbench-distribute";

/// An external-cluster scenario: the detached test cluster, 2 producers, 3 partitions.
fn scenario(home: &TestHome) -> PathBuf {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schemas/reading.avsc");
    let path = home.home.join("distribute.toml");
    std::fs::write(
        &path,
        format!(
            "[run]\nname = \"distribute\"\nduration = \"20s\"\nwarmup = \"2s\"\nseed = 9\n\n\
             [cluster]\nbackend = \"external\"\nbootstrap = \"{BOOTSTRAP}\"\nregistry_url = \"{REGISTRY}\"\n\n\
             [topic]\nname = \"{TOPIC}\"\npartitions = 3\n\n\
             [schema]\nfile = \"{}\"\n\n[producer]\ncount = 2\nrate = 900\n\n[consumer]\ncount = 1\n",
            schema.display()
        ),
    )
    .unwrap();
    path
}

/// The merged run directory under `reports` (the one whose name says so).
fn merged(reports: &Path) -> (PathBuf, Results) {
    let dir = (std::fs::read_dir(reports).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("-merged-")
        })
        .expect("a merged run directory");
    let r = kbench::report::results::read(&dir).unwrap();
    (dir, r)
}

/// The pid of the `kbench run --shard INDEX/...` process, found in /proc.
fn shard_pid(index: u32) -> Option<i32> {
    let want = format!("{index}/3");
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        let shard = args
            .windows(2)
            .any(|w| w[0] == b"--shard" && w[1] == want.as_bytes());
        (shard && args.iter().any(|a| a.ends_with(b"distribute.toml"))).then_some(pid)
    })
}

#[test]
fn three_local_shards_merge_into_one_exact_audit_and_a_killed_one_is_named() {
    let _lock = common::cluster_lock();
    let home = TestHome::detached("distribute");
    let file = scenario(&home);
    let reports = home.home.join("reports");
    let args = |reports: &Path| {
        let (f, r) = (file.display().to_string(), reports.display().to_string());
        [
            "distribute",
            &f,
            "--workers",
            "3",
            "--engine",
            "local",
            "--reports",
            &r,
        ]
        .map(String::from)
    };
    let all = args(&reports);
    let out = home.run(&all.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("3 of 3 reported"), "{text}");
    let (_, r) = merged(&reports);
    assert!(r.audit.ok && r.audit.complete, "{}", r.audit);
    assert_eq!(r.audit.acked, r.counts.acked);
    let d = r.distribution.as_ref().expect("a distribution");
    let shards_acked: u64 = d.shards.iter().map(|s| s.acked).sum();
    assert_eq!(shards_acked, r.counts.acked, "the shards' own acked add up");
    let ids: std::collections::BTreeSet<u32> = r.producers.iter().map(|p| p.id).collect();
    assert_eq!(
        ids.len(),
        6,
        "3 shards x 2 producers, ids never shared: {ids:?}"
    );
    let (pairs, _) = recount(TOPIC);
    let distinct = pairs.len() as u64;
    assert!(
        distinct >= r.counts.acked && distinct <= r.counts.acked + r.counts.failed,
        "recount {distinct} vs acked {} (+{} failed)",
        r.counts.acked,
        r.counts.failed
    );

    // Again, SIGKILLing shard 1 once the load is under way.
    let reports = home.home.join("reports-killed");
    let all = args(&reports);
    let (out, killed) = std::thread::scope(|s| {
        let run = s.spawn(|| home.run(&all.iter().map(String::as_str).collect::<Vec<_>>()));
        // Shards are launched once the coordinator recreated the topic (empty); kill shard 1
        // into the load, when it has acks to lose.
        common::wait_for("shard 1 to run", Duration::from_secs(300), || {
            shard_pid(1).is_some() || run.is_finished()
        });
        common::wait_for("the load to run", Duration::from_secs(300), || {
            records_in(TOPIC) >= 4_000 || run.is_finished()
        });
        let pid = shard_pid(1).expect("shard 1 still runs");
        // SAFETY: kill(2) on a process found by its command line; nothing is shared.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        (run.join().unwrap(), pid)
    });
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("shard 1/3  MISSING"),
        "shard {killed} not named: {text}"
    );
    let (dir, r) = merged(&reports);
    assert!(!r.audit.complete && !r.audit.ok, "{}", r.audit);
    assert_eq!(
        r.audit.lost, 0,
        "what the dead shard never got acknowledged is not lost"
    );
    assert!(
        r.audit.unexpected > 0,
        "its records read back count as unacknowledged"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("Shard 1/3 MISSING:"));

    on_swarm(&home, &args(&home.home.join("reports-swarm")));
}

/// The same load, its shards Docker Swarm jobs from kbench's image on the real engine (as CI
/// runs it: `kbench images build` done, a single-node swarm): merged, exact, nothing left.
fn on_swarm(home: &TestHome, local_args: &[String]) {
    let swarm = std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.ControlAvailable}}"])
        .output();
    let manager = swarm.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    if !manager && std::env::var_os("CI").is_none() {
        println!("SKIPPED the swarm part: no Docker engine that is a swarm manager here");
        return;
    }
    let mut all = local_args.to_vec();
    let engine = all.iter().position(|a| a == "local").unwrap();
    all[engine] = "swarm".into();
    let reports = PathBuf::from(all.last().unwrap());
    let out = home.run(&all.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 of 3 reported"), "{text}");
    let (_, r) = merged(&reports);
    assert!(r.audit.ok && r.audit.complete, "{}", r.audit);
    let d = r.distribution.as_ref().expect("a distribution");
    assert_eq!(
        d.shards.iter().map(|s| s.acked).sum::<u64>(),
        r.counts.acked
    );
    let left = std::process::Command::new("docker")
        .args(["service", "ls", "-q", "--filter", "label=dev.kbench.shards"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "swarm jobs left behind"
    );
}

/// The Kubernetes manifests `--engine k8s` applies, printed by `--dry-run`, pass
/// kubernetes-validate --strict against Kubernetes 1.30's schemas; the same file with one
/// field the Job kind does not have is refused, so the check can fail.
#[test]
fn the_kubernetes_manifests_validate_strictly() {
    let home = TestHome::new("distribute-k8s");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/distribute-k8s.toml");
    let out = home.run(&[
        "distribute",
        "--engine",
        "k8s",
        "--dry-run",
        "--workers",
        "3",
        scenario.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    for kind in [
        "kind: Job",
        "completionMode: Indexed",
        "kind: ConfigMap",
        "kind: PersistentVolumeClaim",
        "kind: Pod",
    ] {
        assert!(yaml.contains(kind), "{kind} missing:\n{yaml}");
    }
    let py = common::python::venv(
        "py-kubernetes-validate",
        "import kubernetes_validate",
        &["kubernetes-validate"],
    );
    let validate = |text: &str| {
        let file = home.home.join("k8s.yaml");
        std::fs::write(&file, text).unwrap();
        let bin = py.parent().unwrap().join("kubernetes-validate");
        let out = std::process::Command::new(bin)
            .args(["--strict", "-k", "1.30.0"])
            .arg(&file)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = validate(&yaml);
    assert!(ok, "{said}");
    assert_eq!(said.matches("passed").count(), 4, "{said}");
    let (ok, said) = validate(&yaml.replace(
        "completionMode: Indexed",
        "completionMode: Indexed\n  shardsPerPod: 2",
    ));
    assert!(
        !ok,
        "a Job with a field Kubernetes does not know passed: {said}"
    );
}
