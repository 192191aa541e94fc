//! Operating-system control of the JVMs kbench starts: spawning them in their own session with
//! output to a log file, signalling, and telling running / paused / gone apart. A pid is only
//! trusted together with its start time, so a recycled pid is never signalled.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A process kbench started: pid plus its kernel start time (clock ticks since boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcRef {
    /// Process id.
    pub pid: i32,
    /// Start time from `/proc/<pid>/stat` (clock ticks since boot), to spot a recycled pid.
    pub start_ticks: u64,
}

/// What the kernel says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// Running or sleeping: neither stopped nor gone.
    Running,
    /// Stopped by SIGSTOP (state `T`).
    Paused,
    /// Exited (or a zombie, or the pid now belongs to someone else).
    Gone,
}

/// Fields of `/proc/<pid>/stat` after the command name: (state char, start time).
fn read_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; the rest starts after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 of stat is starttime; `rest` starts at field 3.
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

fn live_threads(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

impl ProcRef {
    /// Reference a live pid (reads its start time now).
    pub fn of(pid: i32) -> Option<ProcRef> {
        read_stat(pid).map(|(_, start_ticks)| ProcRef { pid, start_ticks })
    }

    /// What the kernel says about the process now; `Gone` also when its pid was reused.
    pub fn state(&self) -> ProcState {
        match read_stat(self.pid) {
            Some((_, start)) if start != self.start_ticks => ProcState::Gone,
            // A JVM's main thread turns zombie before its other threads have exited and before
            // its sockets are closed; only the last thread leaving means the process is gone.
            Some(('Z' | 'X' | 'x', _)) if live_threads(self.pid) > 1 => ProcState::Running,
            Some(('Z' | 'X' | 'x', _)) | None => ProcState::Gone,
            Some(('T' | 't', _)) => ProcState::Paused,
            Some(_) => ProcState::Running,
        }
    }

    /// The process still exists (running or paused).
    pub fn alive(&self) -> bool {
        self.state() != ProcState::Gone
    }

    /// Send `sig` if this is still the process we started. Returns whether it was sent.
    pub fn signal(&self, sig: i32) -> bool {
        if !self.alive() {
            return false;
        }
        // SAFETY: kill(2) with a pid we verified against its start time; no memory is shared.
        unsafe { libc::kill(self.pid, sig) == 0 }
    }

    /// Poll until the process is gone or `timeout` passes; reaps it when it is our child.
    pub fn wait_gone(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            reap(self.pid);
            if !self.alive() {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL and wait for it to be gone.
    pub fn terminate(&self, grace: Duration) -> bool {
        // A paused process cannot act on SIGTERM until it is continued.
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGTERM);
        if self.wait_gone(grace) {
            return true;
        }
        self.signal(libc::SIGKILL);
        self.wait_gone(Duration::from_secs(10))
    }
}

/// Collect the exit status of `pid` if it is a child of ours that has exited, so it does not
/// linger as a zombie. Harmless for pids that are not our children.
pub fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG on a specific pid only reads its exit status.
    unsafe {
        libc::waitpid(pid, &mut status, libc::WNOHANG);
    }
}

/// Start `cmd` in a session of its own (so a terminal's Ctrl-C reaches kbench, which then tears
/// down in order, and not the JVMs directly), stdout and stderr appended to `log`.
pub fn spawn_logged(mut cmd: Command, log: &Path) -> Result<ProcRef> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open log file {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent's memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let pid = child.id() as i32;
    // The Child handle is dropped on purpose: the process must outlive it (--detach) and is
    // reaped through `reap` by pid.
    drop(child);
    ProcRef::of(pid).with_context(|| {
        format!(
            "{program} (pid {pid}) exited immediately; see {}",
            log.display()
        )
    })
}

/// Peak resident memory (VmHWM) of a process in KiB.
pub fn peak_rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (user + system) this process has used so far.
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: zeroed rusage is valid; getrusage only writes into it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// Last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            all[from..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_a_child_through_pause_and_kill() {
        let dir = std::env::temp_dir().join(format!("kbench-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let p = spawn_logged(cmd, &dir.join("sleep.log")).unwrap();
        assert_eq!(p.state(), ProcState::Running);
        assert!(p.signal(libc::SIGSTOP));
        let end = Instant::now() + Duration::from_secs(5);
        while p.state() != ProcState::Paused && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(p.state(), ProcState::Paused);
        assert!(p.terminate(Duration::from_secs(5)));
        assert_eq!(p.state(), ProcState::Gone);
        assert!(
            !p.signal(libc::SIGKILL),
            "a gone process is never signalled"
        );
        let stale = ProcRef {
            pid: std::process::id() as i32,
            start_ticks: 1,
        };
        assert_eq!(stale.state(), ProcState::Gone, "pid reuse is detected");
        std::fs::remove_dir_all(&dir).ok();
    }
}
