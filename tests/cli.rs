//! README promises of the commands that need no cluster: `validate`, `report`, `compose`, exit
//! code 2 for bad input (with the file, line and field named), and `--help` for every command.

mod common;

use std::path::{Path, PathBuf};

use common::TestHome;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn validate_accepts_the_shipped_scenarios_and_names_the_field_of_a_bad_one() {
    let home = TestHome::new("cli-validate");
    let shipped: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(shipped.len() >= 4, "{shipped:?}");
    let args: Vec<&str> = std::iter::once("validate")
        .chain(shipped.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let ok = home.run(&args);
    assert!(ok.status.success(), "{}", text(&ok));

    let bad = home.home.join("bad.toml");
    std::fs::write(
        &bad,
        "[run]\nname = \"bad\"\nduration = \"10s\"\n\n[topic]\nname = \"t\"\npartitions = 0\n\n\
         [schema]\nfile = \"x.avsc\"\n\n[producer]\nrate = 10\n",
    )
    .unwrap();
    for cmd in ["validate", "run"] {
        let out = home.run(&[cmd, bad.to_str().unwrap()]);
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {msg}");
        assert!(
            msg.contains(&format!("{}:7:", bad.display())) && msg.contains("topic.partitions"),
            "{cmd} names file, line and field: {msg}"
        );
    }
    let missing = home.run(&["run", "no-such-scenario.toml"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("no-such-scenario.toml"));
}

#[test]
fn report_rebuilds_a_run_directory_from_its_files() {
    let home = TestHome::new("cli-report");
    let dir = home.home.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(root().join("tests/fixtures/quickstart-run")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let out = home.run(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("quickstart"),
        "a full report"
    );
    assert!(dir.join("charts").read_dir().unwrap().count() > 0);
    let empty = home.home.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = home.run(&["report", empty.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("results.json"), "{}", text(&out));
}

#[test]
fn compose_prints_the_committed_compose_file() {
    let home = TestHome::new("cli-compose");
    let out = home.run(&["compose"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join("compose/docker-compose.yml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
}

/// The entries of one section (`Commands:`, `Arguments:`, `Options:`) of a `--help` text: each
/// entry's name (the first word) and its description, joined with its continuation lines.
fn section(help: &str, title: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut lines = help.lines().skip_while(|l| l.trim_end() != title).skip(1);
    for line in lines.by_ref() {
        if line.trim().is_empty() || !line.starts_with(' ') {
            break;
        }
        let body = line.trim_start();
        let indent = line.len() - body.len();
        // An entry starts at the section's indent (2, or 6 for a long flag without a short
        // one); anything indented deeper is its description's next line.
        let entry = indent <= 6 && (body.starts_with('-') || body.starts_with('<') || indent == 2);
        match (entry, out.last_mut()) {
            (true, _) | (false, None) => {
                let (name, about) = body.split_once("  ").unwrap_or((body, ""));
                out.push((name.trim().to_string(), about.trim().to_string()));
            }
            (false, Some(last)) => {
                last.1 = format!("{} {body}", last.1).trim().to_string();
            }
        }
    }
    out
}

/// Every command and subcommand's `--help`, by its path (`["cluster", "up"]`).
fn every_help(home: &TestHome, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let run = home.run(&args);
    assert!(run.status.success(), "{args:?}: {}", text(&run));
    let help = String::from_utf8_lossy(&run.stdout).to_string();
    for (name, _) in section(&help, "Commands:") {
        if name != "help" {
            let mut sub = path.clone();
            sub.push(name);
            every_help(home, sub, out);
        }
    }
    out.push((path, help));
}

#[test]
fn every_command_explains_itself() {
    let home = TestHome::new("cli-help");
    let top = String::from_utf8_lossy(&home.run(&["--help"]).stdout).to_string();
    let commands: Vec<String> = section(&top, "Commands:")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        commands,
        [
            "run",
            "distribute",
            "merge",
            "sweep",
            "report",
            "compare",
            "validate",
            "produce",
            "consume",
            "cluster",
            "compose",
            "images",
            "compare-tools",
            "help"
        ],
        "{top}"
    );
    let mut helps = Vec::new();
    every_help(&home, Vec::new(), &mut helps);
    assert!(helps.len() > commands.len(), "subcommands are walked too");
    for (path, help) in &helps {
        let usage = format!("Usage: kbench {}", path.join(" "));
        assert!(help.contains(usage.trim_end()), "{path:?}: {help}");
        for title in ["Commands:", "Arguments:", "Options:"] {
            for (name, about) in section(help, title) {
                // Without a doc comment clap shows only "[default: ...]" or nothing.
                let explained = about.chars().next().is_some_and(|c| c != '[');
                assert!(explained, "{path:?} {name} has no explanation: {about:?}");
            }
        }
    }
    let sweep = &helps.iter().find(|(p, _)| p == &["sweep"]).unwrap().1;
    for promise in ["[search]", "[sweep]", "inconclusive", "3 when not"] {
        assert!(
            sweep.contains(promise),
            "sweep --help says {promise}: {sweep}"
        );
    }
    let bad = home.run(&["compare-tools", "--partitions", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--partitions"), "{}", text(&bad));
}
