//! `kbench run` and `kbench validate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use kbench::report::results::AbortKind;
use kbench::report::summary;
use kbench::run::{self, RunOptions};
use kbench::scenario::Scenario;

use super::exit::{UsageError, CHECKS_FAILED, INTERRUPTED, USAGE};

pub(super) fn load(path: &Path) -> Result<Scenario> {
    Scenario::load(path).map_err(|e| UsageError(e.to_string()).into())
}

pub fn validate(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = 0;
    for f in files {
        match Scenario::load(f) {
            Ok(sc) => describe(f, &sc),
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(USAGE)
    })
}

/// What `kbench validate` says of a valid scenario.
fn describe(f: &Path, sc: &Scenario) {
    println!(
        "ok: {} — {} producer(s), {} consumer(s), {} measured after {} warm-up, topic {} ({} partitions, RF {})",
        f.display(),
        sc.producer.count,
        sc.consumer.count,
        kbench::duration::display(sc.duration),
        kbench::duration::display(sc.warmup),
        sc.topic.name,
        sc.topic.partitions,
        sc.topic.replication_factor
    );
    if let Some(sweep) = &sc.sweep {
        let names: Vec<String> = (sweep.parameters.iter())
            .map(|p| format!("{} ({} values)", p.key, p.values.len()))
            .collect();
        println!(
            "    a parameter sweep: {} combinations of {}; run it with `kbench sweep`",
            sweep.points.len(),
            names.join(" × ")
        );
    }
}

pub fn report(dir: &Path) -> Result<ExitCode> {
    let index = match dir.join("sweep.json").is_file() {
        true => kbench::sweep::rebuild_page(dir)?,
        false => kbench::report::rebuild::build_report(dir)?,
    };
    println!("report    {}", index.display());
    Ok(ExitCode::SUCCESS)
}

pub fn compare(base: &Path, new: &Path, threshold: f64, html: Option<PathBuf>) -> Result<ExitCode> {
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(UsageError("--threshold must be a percentage >= 0".into()).into());
    }
    let html = html.unwrap_or_else(|| kbench::report::compare::default_html(new));
    let c = kbench::report::compare::compare(base, new, threshold, &html)?;
    println!("{}", kbench::report::compare::render(&c));
    println!("html      {}", html.display());
    Ok(if c.regressed {
        ExitCode::from(CHECKS_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `sc` on the backend `--backend` / `--images` ask for (a docker scenario's own images
/// choice overridden by `--images` alone).
pub(super) fn on_backend(
    file: &Path,
    sc: Scenario,
    (backend, images): (
        Option<kbench::names::BackendKind>,
        Option<kbench::images::Choice>,
    ),
) -> Result<Scenario> {
    let docker_scenario = sc.cluster.kind() == kbench::names::BackendKind::Docker;
    let kind = backend.or(docker_scenario.then_some(sc.cluster.kind()));
    if let Some(kind) = kind.filter(|_| backend.is_some() || images.is_some()) {
        return sc
            .on_backend(kind, images)
            .map_err(|e| UsageError(format!("{}: {e}", file.display())).into());
    }
    if images.is_some() {
        return Err(UsageError("--images applies to --backend docker".into()).into());
    }
    Ok(sc)
}

/// Which part of a load `kbench run` runs, and on which cluster.
pub struct Part {
    /// One shard of a distributed load (`--shard`, `--start-at`).
    pub shard: Option<kbench::run::ShardPlan>,
    /// A cluster that already runs (`--bootstrap`, `--registry-url`), for the scenario's own.
    pub running: Option<(String, String)>,
}

pub fn run_scenario(
    file: &Path,
    reports: PathBuf,
    keep_cluster: bool,
    (backend, images): (
        Option<kbench::names::BackendKind>,
        Option<kbench::images::Choice>,
    ),
    part: Part,
) -> Result<ExitCode> {
    let mut sc = load(file)?;
    if let Some((bootstrap, registry_url)) = &part.running {
        sc = sc.on_running_cluster(bootstrap, registry_url);
    }
    let shard = part.shard;
    needs_running_cluster(file, &sc, shard.as_ref())?;
    let sc = on_backend(file, sc, (backend, images))?;
    let many = match (&sc.search, &sc.sweep) {
        (_, Some(_)) => Some("a parameter sweep ([sweep])"),
        (Some(_), None) => Some("a capacity search ([search])"),
        (None, None) => None,
    };
    if let Some(what) = many {
        return Err(UsageError(format!(
            "{} is {what}: run it with `kbench sweep {}`",
            file.display(),
            file.display()
        ))
        .into());
    }
    let outcome = run::run(
        &sc,
        &RunOptions {
            reports_dir: reports,
            keep_cluster,
            shard,
        },
    )?;
    println!("{}", summary::render(&outcome.results));
    println!("results   {}", outcome.dir.join("results.json").display());
    println!("report    {}", outcome.dir.join("index.html").display());
    if let Some(kept) = &outcome.kept {
        println!("{kept}");
    }
    if let Some(a) = &outcome.results.aborted {
        let sc = &outcome.results.scenario;
        eprintln!(
            "kbench: {}; partial results and report in {}",
            a.describe(sc.duration_s + sc.warmup_s),
            outcome.dir.display()
        );
        return Ok(ExitCode::from(match a.kind {
            AbortKind::Interrupted => INTERRUPTED,
            AbortKind::Error => 1,
        }));
    }
    // A shard is judged with the whole load, by the merge: it ran to its end.
    if outcome.results.passed() || outcome.results.shard.is_some() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(CHECKS_FAILED))
    }
}

pub fn merge(dirs: &[PathBuf], reports: &Path) -> Result<ExitCode> {
    let merged = kbench::distribute::merge::merge(dirs, reports)?;
    let r = &merged.results;
    println!("{}", summary::render(r));
    if let Some(d) = &r.distribution {
        println!("{}", d.render());
    }
    println!("results   {}", merged.dir.join("results.json").display());
    println!("report    {}", merged.dir.join("index.html").display());
    let incomplete = r.distribution.as_ref().is_some_and(|d| !d.complete());
    if incomplete {
        eprintln!("kbench: the merged result is incomplete: a shard never reported (see above)");
    }
    Ok(if r.passed() && !incomplete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECKS_FAILED)
    })
}

/// A shard joins a load on a cluster that already runs: it must not start one of its own.
fn needs_running_cluster(
    file: &Path,
    sc: &Scenario,
    shard: Option<&kbench::run::ShardPlan>,
) -> Result<()> {
    if shard.is_some() && sc.cluster.kind() != kbench::names::BackendKind::External {
        return Err(UsageError(format!(
            "{}: --shard runs one part of a load against a cluster that already runs: give its \
             --bootstrap and --registry-url, or a scenario whose [cluster] backend is \
             \"external\" (not {}, which would start a cluster of its own)",
            file.display(),
            sc.cluster.kind()
        ))
        .into());
    }
    Ok(())
}
