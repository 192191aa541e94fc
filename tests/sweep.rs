//! `kbench sweep` on the real cluster: a short capacity search (one cluster, a fresh topic per
//! step) ends with at least four steps and a capacity, every step has its own run directory
//! with results that agree with the sweep's, no step whose generator sent less than its rate
//! is counted as a pass, and the sweep's page renders in the headless browser with its curve. A short
//! parameter sweep (compressibility × a broker setting) restarts the cluster only when the
//! broker setting changes, the brokers report the setting, and the compression achieved
//! follows the compressibility asked for.

mod common;

use std::path::{Path, PathBuf};

use common::browser::run_chromium;
use common::TestHome;
use kbench::sweep::search::{Purpose, Stop, Verdict};
use kbench::sweep::{Found, SweepResults};

/// `kbench sweep tests/scenarios/<file>` in `home`: its stdout, directory and `sweep.json`.
fn sweep(home: &TestHome, file: &str, limit_s: u64) -> (String, PathBuf, SweepResults) {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(file);
    let reports = home.home.join("reports");
    let out = home.run_within(
        &[
            "sweep",
            scenario.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(limit_s),
    );
    assert!(out.status.success(), "kbench sweep failed");
    let dir = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("sweep.json").is_file())
        .expect("a sweep directory");
    let text = std::fs::read_to_string(dir.join("sweep.json")).unwrap();
    let r: SweepResults = serde_json::from_str(&text).unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), dir, r)
}

/// The sweep's page as the headless browser renders it.
fn rendered(home: &TestHome, name: &str, dir: &Path) -> String {
    let work = home.home.join("chromium");
    std::fs::create_dir_all(&work).unwrap();
    run_chromium(&work, name, &dir.join("index.html"), &["--dump-dom".into()]).0
}

#[test]
fn a_short_capacity_search_finds_a_capacity_on_one_cluster() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sweep");
    let (stdout, dir, r) = sweep(&home, "capacity-short.toml", 900);
    let Found::Capacity(found) = &r.found else {
        panic!("a capacity search: {:?}", r.found)
    };
    assert!(
        stdout.contains(&format!("capacity  {}", r.conclusion)),
        "{stdout}"
    );

    assert!(found.steps.len() >= 5, "{:?}", found.steps);
    assert_eq!(
        found.steps[0].purpose,
        Purpose::WarmUp,
        "a warm-up step comes first"
    );
    let a = &found.answer;
    assert!(
        matches!(a.stop, Some(Stop::Found) | Some(Stop::GeneratorLimit)),
        "{a:?}"
    );
    let cap = a.capacity.expect("a capacity");
    // The capacity passed at its latest step and when confirmed (near the edge a rate may
    // fail once and pass its recheck: the latest verdict counts).
    let at_cap: Vec<_> = found.steps.iter().filter(|s| s.rate == cap).collect();
    assert_eq!(
        at_cap.last().map(|s| &s.verdict),
        Some(&Verdict::Pass),
        "{at_cap:?}"
    );
    assert!(
        (at_cap.iter()).any(|s| s.purpose == Purpose::Confirm && s.verdict == Verdict::Pass),
        "{at_cap:?}"
    );
    let up = a.next_up.expect("the next step up");
    assert!(up > cap);
    assert!(found
        .steps
        .iter()
        .any(|s| s.rate == up && s.verdict != Verdict::Pass));
    if a.stop == Some(Stop::Found) {
        // Only failed steps count: an inconclusive one (the generator's limit) is no verdict.
        let failed = (found.steps.iter())
            .filter(|s| s.rate == up && matches!(s.verdict, Verdict::Fail { .. }))
            .count() as u32;
        assert!(
            failed >= 2,
            "the next rate up failed twice: {:?}",
            found.steps
        );
        assert_eq!(a.next_up_failures, failed);
    }
    for s in &found.steps {
        // Each step is an ordinary run: its own results.json, whose figures are the sweep's.
        let run = kbench::report::results::read(&dir.join(&s.dir)).unwrap();
        if s.generator_saturated && s.verdict == Verdict::Pass {
            // A generator that fell behind passes a step only if it still sent the rate.
            assert!(
                run.rate.sent_rate >= 0.99 * s.rate,
                "a short step passed: {s:?}"
            );
        }
        assert_eq!(run.rate.target_rate, s.rate, "{}", s.dir);
        let inline = s
            .results
            .as_ref()
            .expect("sweep.json holds every step's results");
        assert_eq!(inline.counts.acked, run.counts.acked);
        assert_eq!(run.rate.achieved_rate, s.achieved_rate);
        assert_eq!(
            run.audit.ok,
            !matches!(&s.verdict, Verdict::Fail { failed } if failed.iter().any(|f| f.starts_with("audit")))
        );
        assert!(dir.join(&s.dir).join("index.html").is_file());
    }
    // One cluster for the whole search: one state directory was created under runs/.
    let runs = std::fs::read_dir(home.runs()).map_or(0, |d| d.count());
    assert_eq!(runs, 1, "the cluster was started once");

    // The page renders offline with its curve and one row per step.
    let dom = rendered(&home, "sweep", &dir);
    assert!(dom.contains("Capacity search: capacity-short"), "{dom}");
    assert!(
        dom.contains("aria-label=\"Capacity curve\""),
        "the curve is inlined"
    );
    assert_eq!(dom.matches("<tr class=").count(), found.steps.len());
    home.assert_nothing_left();
}

#[test]
fn a_parameter_sweep_restarts_the_cluster_only_for_broker_settings() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sweep-grid");
    let (_, dir, r) = sweep(&home, "sweep-short.toml", 600);
    let Found::Parameters(found) = &r.found else {
        panic!("a parameter sweep: {:?}", r.found)
    };
    assert_eq!(found.points.len(), 4, "{}", r.conclusion);
    let fresh: Vec<bool> = found.points.iter().map(|p| p.new_cluster).collect();
    assert_eq!(
        fresh,
        [true, false, true, false],
        "a cluster per broker setting"
    );
    let runs = std::fs::read_dir(home.runs()).map_or(0, |d| d.count());
    assert_eq!(runs, 2, "two clusters were started");
    let mut ratios = Vec::new();
    for p in &found.points {
        let step = p.main_step().expect("one run per combination");
        let res = step.results.as_ref().expect("full results in sweep.json");
        // The brokers said they run with the swept setting.
        let b = &res.environment.broker_settings;
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(
            (b[0].key.as_str(), b[0].value.as_str()),
            ("num.replica.fetchers", p.values[0].as_str())
        );
        assert_eq!(b[0].reported.len(), 3, "every broker reported it");
        assert!(b[0].reported.values().all(|v| *v == p.values[0]));
        let pay = res.payload.as_ref().expect("payload");
        assert!(res.audit.ok && res.counts.acked > 0);
        assert!(
            pay.value_bytes_min < pay.value_bytes_max,
            "sizes spread: {pay:?}"
        );
        assert!(pay.key_bytes_mean > 0.0 && pay.partitioner.starts_with("murmur2_random"));
        ratios.push((p.values[1].clone(), pay.compression_ratio.expect("ratio")));
    }
    // lz4 finds the repeated runs: 90 % repeated contents compress far better than random.
    for pair in ratios.chunks(2) {
        assert_eq!((pair[0].0.as_str(), pair[1].0.as_str()), ("0.0", "0.9"));
        assert!(pair[1].1 > 1.5 * pair[0].1, "{ratios:?}");
    }
    for name in ["by-num-replica-fetchers", "by-repeat"] {
        assert!(dir.join(format!("charts/{name}.svg")).is_file(), "{name}");
    }
    let dom = rendered(&home, "sweep-grid", &dir);
    assert!(dom.contains("Parameter sweep: sweep-short"), "{dom}");
    assert!(
        dom.contains("aria-label=\"Against repeat\""),
        "the charts are inlined"
    );
    home.assert_nothing_left();
}
