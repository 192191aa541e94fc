//! `kbench sweep` on the real cluster: a short capacity search (one cluster, a fresh topic per
//! step) ends with at least four steps and a capacity, every step has its own run directory
//! with results that agree with the sweep's, no step the generator could not offer is counted
//! as a pass, and the sweep's page renders in the headless browser with its curve.

mod common;

use std::path::Path;

use common::browser::run_chromium;
use common::TestHome;
use kbench::sweep::search::{Purpose, Stop, Verdict};
use kbench::sweep::SweepResults;

#[test]
fn a_short_capacity_search_finds_a_capacity_on_one_cluster() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("sweep");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/capacity-short.toml");
    let reports = home.home.join("reports");
    let out = home.run_within(
        &[
            "sweep",
            scenario.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(900),
    );
    assert!(out.status.success(), "kbench sweep failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("sweep.json").is_file())
        .expect("a sweep directory");
    let r: SweepResults =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert!(
        stdout.contains(&format!("capacity  {}", r.conclusion)),
        "{stdout}"
    );

    assert!(r.steps.len() >= 4, "{:?}", r.steps);
    let a = &r.answer;
    assert!(
        matches!(a.stop, Some(Stop::Found) | Some(Stop::GeneratorLimit)),
        "{a:?}"
    );
    let cap = a.capacity.expect("a capacity");
    // The capacity is a step that passed and was confirmed; nothing inconclusive passed.
    let at_cap: Vec<_> = r.steps.iter().filter(|s| s.rate == cap).collect();
    assert!(
        at_cap.iter().all(|s| s.verdict == Verdict::Pass),
        "{at_cap:?}"
    );
    assert!(
        at_cap.iter().any(|s| s.purpose == Purpose::Confirm),
        "{at_cap:?}"
    );
    let up = a.next_up.expect("the next step up");
    assert!(up > cap);
    assert!(r
        .steps
        .iter()
        .any(|s| s.rate == up && s.verdict != Verdict::Pass));
    for s in &r.steps {
        if s.generator_saturated && s.verdict == Verdict::Pass {
            panic!("a saturated step passed: {s:?}");
        }
        // Each step is an ordinary run: its own results.json, whose figures are the sweep's.
        let run = kbench::report::results::read(&dir.join(&s.dir)).unwrap();
        assert_eq!(run.rate.target_rate, s.rate, "{}", s.dir);
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
    let work = home.home.join("chromium");
    std::fs::create_dir_all(&work).unwrap();
    let (dom, _) = run_chromium(
        &work,
        "sweep",
        &dir.join("index.html"),
        &["--dump-dom".into()],
    );
    assert!(dom.contains("Capacity search: capacity-short"), "{dom}");
    assert!(
        dom.contains("aria-label=\"Capacity curve\""),
        "the curve is inlined"
    );
    assert_eq!(dom.matches("<tr class=").count(), r.steps.len());
    home.assert_nothing_left();
}
