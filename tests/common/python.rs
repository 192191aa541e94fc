//! Python clients nobody here wrote, in virtual environments made once under target/tmp.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The python of venv `name`, made (and `packages` installed with pip) unless `check` already
/// runs in it.
pub fn venv(name: &str, check: &str, packages: &[&str]) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let py = venv.join("bin/python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", check])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&py) {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed (apt-get install python3-venv)"
        );
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q"])
            .args(packages)
            .status();
        assert!(
            pip.is_ok_and(|s| s.success()),
            "pip install {packages:?} failed"
        );
    }
    py
}
