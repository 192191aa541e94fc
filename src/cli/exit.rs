//! Every exit code `kbench` gives, in one place (the README's table says the same).

use std::process::ExitCode;

/// Something failed: the cluster, the engine, a file.
pub const FAILURE: u8 = 1;
/// Bad usage or input: a scenario, a flag.
pub const USAGE: u8 = 2;
/// A run or sweep finished but failed its checks (audit or an objective), or found no answer.
pub const CHECKS_FAILED: u8 = 3;
/// Stopped by a signal (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = kbench::signals::EXIT_INTERRUPTED;

/// A user error (bad input); exits with [`USAGE`] rather than [`FAILURE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code of an error that ended a command.
pub fn code_for(e: &anyhow::Error) -> ExitCode {
    if e.downcast_ref::<kbench::signals::Interrupted>().is_some() {
        ExitCode::from(INTERRUPTED)
    } else if e.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FAILURE)
    }
}
