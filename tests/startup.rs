//! README promise: cluster start-up uses class-data-sharing archives kept per installed
//! version — node 1 records Kafka's when it exits, the next start checks it and every node maps
//! it (without a JVM warning about it), the registry's JVM keeps its own — and the registry runs
//! on the C1 JIT only, as the results' environment states.

mod common;

use common::TestHome;

fn cmdlines(home: &TestHome, needle: &str) -> Vec<String> {
    let mut found: Vec<String> = common::processes_naming(&home.home)
        .into_iter()
        .map(|(_, cmd)| cmd)
        .filter(|cmd| cmd.contains(needle))
        .collect();
    found.sort();
    found
}

fn up(home: &TestHome) {
    let out = home.run(&["cluster", "up", "--detach"]);
    assert!(out.status.success(), "cluster up failed");
}

fn down(home: &TestHome) {
    assert!(home.run(&["cluster", "down"]).status.success());
    home.assert_nothing_left();
}

#[test]
fn node_one_records_the_kafka_archive_and_the_next_start_maps_it() {
    let _lock = common::cluster_lock();
    let home = TestHome::new("cds");
    let cds = home.dist.join("cds");
    for e in std::fs::read_dir(&cds).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("kafka-") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    up(&home);
    let nodes = cmdlines(&home, "kafka.Kafka");
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    let (one, others): (Vec<&String>, Vec<&String>) =
        nodes.iter().partition(|n| n.contains("-Dkbench.node=1 "));
    assert!(
        one.len() == 1 && one[0].contains("-XX:ArchiveClassesAtExit="),
        "{one:?}"
    );
    assert!(others
        .iter()
        .all(|n| !n.contains("-XX:Shared") && !n.contains("Archive")));
    let registry = cmdlines(&home, "quarkus-run.jar");
    assert_eq!(registry.len(), 1);
    for flag in [
        "-XX:+AutoCreateSharedArchive",
        "-XX:SharedArchiveFile=",
        "-XX:TieredStopAtLevel=1",
    ] {
        assert!(
            registry[0].contains(flag),
            "registry lacks {flag}: {}",
            registry[0]
        );
    }
    down(&home);
    let files = |suffix: &str| -> Vec<String> {
        std::fs::read_dir(&cds)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("kafka-") && n.ends_with(suffix))
            .collect()
    };
    assert_eq!(
        files(".jsa.pending").len(),
        1,
        "node 1 wrote an archive at exit"
    );

    up(&home);
    let archive = files(".jsa");
    assert_eq!(archive.len(), 1, "the archive was adopted: {archive:?}");
    assert!(files(".jsa.pending").is_empty());
    let flag = format!("-XX:SharedArchiveFile={}", cds.join(&archive[0]).display());
    let nodes = cmdlines(&home, "kafka.Kafka");
    assert!(nodes.iter().all(|n| n.contains(&flag)), "{nodes:?}");
    let state = home.state().expect("state file");
    for n in &state.nodes {
        let log = std::fs::read_to_string(&n.log).unwrap_or_default();
        assert!(
            !log.contains("[cds]") && !log.contains("shared archive"),
            "node {} warns about its archive",
            n.id
        );
    }
    down(&home);
}
