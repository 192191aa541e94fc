//! The base every image kbench builds starts from: a minimal Debian 12 root file system made by
//! `debootstrap --variant=minbase` from the Debian mirror this machine's apt already uses, without
//! apt's lists and caches, imported into the engine as `kbench/debian:bookworm`. No image
//! registry is involved, which is the point: it works where Docker Hub cannot be reached.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{megabytes, ImageEngine, Present, BASE_TAG};

/// The Debian release the images are built on.
const SUITE: &str = "bookworm";

/// The base image, made and imported first when the engine lacks it.
pub fn ensure(engine: &dyn ImageEngine, progress: &dyn Fn(&str)) -> Result<Present> {
    if let Some(p) = engine.image(BASE_TAG)? {
        return Ok(p);
    }
    let mirror = debian_mirror()?;
    check_debootstrap()?;
    let started = Instant::now();
    let dir = RootFs::new(crate::paths::kbench_home()?.join("images"))?;
    progress(&format!(
        "making the base image {BASE_TAG}: debootstrap --variant=minbase {SUITE} from {mirror} \
         (about a minute, once)"
    ));
    debootstrap(&dir.path, &mirror)?;
    strip_apt_caches(&dir.path);
    let tar = tar_of(&dir.path)?;
    drop(dir);
    engine.import_rootfs(tar, BASE_TAG)?;
    let p = engine
        .image(BASE_TAG)?
        .context("the base image was imported but the engine does not list it")?;
    progress(&format!(
        "base image {BASE_TAG}: {} MB, made in {:.0}s",
        megabytes(p.size),
        started.elapsed().as_secs_f64()
    ));
    Ok(p)
}

/// The Debian mirror to bootstrap from: `KBENCH_DEBIAN_MIRROR`, else the one apt uses for the
/// main archive (deb822 `.sources` files first, then `sources.list`).
pub fn debian_mirror() -> Result<String> {
    if let Some(m) = std::env::var("KBENCH_DEBIAN_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
    {
        return Ok(m);
    }
    let sources = std::fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sources"));
    for p in sources {
        if let Some(m) = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| mirror_in_deb822(&t))
        {
            return Ok(m);
        }
    }
    if let Some(m) = std::fs::read_to_string("/etc/apt/sources.list")
        .ok()
        .and_then(|t| mirror_in_list(&t))
    {
        return Ok(m);
    }
    bail!(
        "cannot tell which Debian mirror to build the images from: apt's sources name none for \
         {SUITE}; set KBENCH_DEBIAN_MIRROR to a Debian mirror's URL"
    )
}

/// The first URI of a deb822 stanza whose suites include the release itself.
fn mirror_in_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        let suites = field("Suites:")?;
        let types = field("Types:").unwrap_or_else(|| "deb".into());
        let ours = suites.split_whitespace().any(|s| s == SUITE)
            && types.split_whitespace().any(|t| t == "deb");
        ours.then(|| field("URIs:"))?
            .and_then(|u| u.split_whitespace().next().map(str::to_string))
    })
}

/// The URI of the first `deb URI bookworm ...` line of a one-line-style list.
fn mirror_in_list(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace().filter(|w| !w.starts_with('['));
        if words.next()? != "deb" {
            return None;
        }
        let uri = words.next()?;
        (words.next()? == SUITE).then(|| uri.to_string())
    })
}

fn check_debootstrap() -> Result<()> {
    let found = Command::new("debootstrap")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        bail!(
            "building the images needs debootstrap to make a Debian 12 root file system: \
             apt-get install debootstrap"
        );
    }
    // SAFETY: geteuid has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "building the base image runs debootstrap, which needs root: run `kbench images \
             build` as root (once; later builds reuse {BASE_TAG})"
        );
    }
    Ok(())
}

fn debootstrap(dir: &Path, mirror: &str) -> Result<()> {
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", SUITE])
        .arg(dir)
        .arg(mirror)
        .stdin(Stdio::null())
        .output()
        .context("cannot run debootstrap")?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        bail!(
            "debootstrap {SUITE} from {mirror} failed ({}):\n{tail}",
            out.status
        );
    }
    Ok(())
}

/// apt's package lists and downloaded packages are not needed in an image (and are 90 MB).
fn strip_apt_caches(root: &Path) {
    for dir in ["var/lib/apt/lists", "var/cache/apt/archives"] {
        let d = root.join(dir);
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_file() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    for bin in ["pkgcache.bin", "srcpkgcache.bin"] {
        let _ = std::fs::remove_file(root.join("var/cache/apt").join(bin));
    }
}

/// The root file system as a tar. GNU tar keeps device nodes, owners and modes as they are.
fn tar_of(root: &Path) -> Result<Vec<u8>> {
    let out = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["--numeric-owner", "-c", "."])
        .stderr(Stdio::piped())
        .output()
        .context("cannot run tar")?;
    if !out.status.success() {
        bail!(
            "tar of the root file system failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

/// A scratch root file system, removed when dropped — after unmounting whatever debootstrap
/// left mounted inside it if it was interrupted, so the removal never reaches the host's /proc.
struct RootFs {
    path: PathBuf,
}

impl RootFs {
    fn new(parent: PathBuf) -> Result<RootFs> {
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let path = parent.join(format!("rootfs-{}", std::process::id()));
        Ok(RootFs { path })
    }
}

impl Drop for RootFs {
    fn drop(&mut self) {
        let prefix = format!("{}/", self.path.display());
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let mut inside: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        inside.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in &inside {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        if inside.is_empty()
            || !std::fs::read_to_string("/proc/mounts")
                .unwrap_or_default()
                .contains(&prefix)
        {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_read_from_either_apt_format() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            mirror_in_deb822(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let security_only =
            "Types: deb\nURIs: http://security.example/x\nSuites: bookworm-security\n";
        assert_eq!(mirror_in_deb822(security_only), None);
        let list = "# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64] http://list.example/debian bookworm main\n";
        assert_eq!(
            mirror_in_list(list).as_deref(),
            Some("http://list.example/debian")
        );
        assert_eq!(mirror_in_list("deb http://x/debian bullseye main"), None);
    }
}
