//! Ctrl-C, SIGTERM and SIGHUP as a count that long waits poll, so kbench can wrap up what it
//! started instead of dying mid-way. The first signal asks for a stop: a run stops its load,
//! drains for a short bound, writes what it measured and tears down. The second skips the
//! drain (the results and teardown still happen). The third exits at once; whatever is left
//! then is found by `kbench cluster down` through the state file.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The exit code of a kbench stopped by a signal (128 + SIGINT, as shells report it); a third
/// signal exits with it at once.
pub const EXIT_INTERRUPTED: u8 = 130;

static INSTALLED: OnceLock<()> = OnceLock::new();
static COUNT: AtomicUsize = AtomicUsize::new(0);
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Wall clock of the first signal, µs since the epoch (0: none yet).
static FIRST_AT_US: AtomicU64 = AtomicU64::new(0);

/// The error a wait returns when the user asked kbench to stop.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by a signal; tearing down")]
pub struct Interrupted;

/// Runs inside the signal handler: only atomics and `clock_gettime` (async-signal-safe).
fn on_signal(sig: i32) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        FIRST.store(sig, Ordering::SeqCst);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        FIRST_AT_US.store(now.as_micros() as u64, Ordering::SeqCst);
    } else if n >= 3 {
        signal_hook::low_level::exit(EXIT_INTERRUPTED.into());
    }
}

/// Route SIGINT / SIGTERM / SIGHUP to the count. Safe to call more than once.
pub fn install() -> std::io::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the handler only touches atomics and reads the clock.
        unsafe { signal_hook::low_level::register(sig, move || on_signal(sig)) }?;
    }
    let _ = INSTALLED.set(());
    Ok(())
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    COUNT.load(Ordering::SeqCst) >= 1
}

/// Whether a second signal asked to skip the drain.
pub fn hurry() -> bool {
    COUNT.load(Ordering::SeqCst) >= 2
}

/// Name of the first signal received, e.g. `SIGINT`.
pub fn first_name() -> Option<&'static str> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        SIGINT => Some("SIGINT"),
        SIGTERM => Some("SIGTERM"),
        SIGHUP => Some("SIGHUP"),
        _ => Some("a signal"),
    }
}

/// When the first signal arrived (wall clock, µs since the epoch).
pub fn first_at_us() -> Option<u64> {
    Some(FIRST_AT_US.load(Ordering::SeqCst)).filter(|&us| us > 0)
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
