//! Ctrl-C, SIGTERM and SIGHUP as a flag that long waits poll, so kbench can tear down what it
//! started instead of dying mid-way. A second signal while tearing down exits at once; whatever is
//! left then is found by `kbench cluster down` through the state file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The error a wait returns when the user asked kbench to stop.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by a signal; tearing down")]
pub struct Interrupted;

/// Route SIGINT / SIGTERM / SIGHUP to the flag. Safe to call more than once.
pub fn install() -> std::io::Result<()> {
    if FLAG.get().is_some() {
        return Ok(());
    }
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // Registered first, so a repeated signal (flag already set) exits with 130 right away.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag))?;
        signal_hook::flag::register(sig, Arc::clone(flag))?;
    }
    Ok(())
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

/// `Err(Interrupted)` once a stop was requested.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// Sleep up to `d`, waking early (with `Err`) when a stop is requested.
pub fn sleep(d: Duration) -> Result<(), Interrupted> {
    let end = Instant::now() + d;
    loop {
        check()?;
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}
