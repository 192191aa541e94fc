//! One run per topic and cluster: an advisory lock held for the whole of `kbench run`, so a
//! second run on the same topic of the same cluster is refused instead of deleting the topic
//! under the first and reading its records (which fails both audits). The kernel drops the lock
//! when the holder exits, however it exits, so a crashed run never blocks the next one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// Held while it lives.
#[derive(Debug)]
pub struct TopicLock {
    _file: File,
}

/// The lock file of `topic` on the cluster reached through `bootstrap`, under `dir`.
fn lock_path(dir: &std::path::Path, bootstrap: &str, topic: &str) -> PathBuf {
    let safe: String = format!("{bootstrap}__{topic}")
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    dir.join(format!("{safe}.lock"))
}

/// Take the lock of `topic` on `bootstrap` (locks live under `dir`), or fail naming the run that
/// holds it.
pub fn acquire(dir: &std::path::Path, bootstrap: &str, topic: &str) -> Result<TopicLock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create lock directory {}", dir.display()))?;
    let path = lock_path(dir, bootstrap, topic);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        bail!(
            "another kbench run (pid {}) is using topic {topic} on {bootstrap}; two runs on one \
             topic would delete it under each other and read each other's records. Wait for it \
             to finish, or give this scenario another [topic] name (lock: {})",
            if holder.is_empty() { "unknown" } else { holder },
            path.display()
        );
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(TopicLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_is_gone() {
        let dir = std::env::temp_dir().join(format!("kbench-lock-test-{}", std::process::id()));
        let bs = "127.0.0.1:9092,127.0.0.1:9093";
        let first = acquire(&dir, bs, "orders").unwrap();
        let err = acquire(&dir, bs, "orders").unwrap_err().to_string();
        assert!(err.contains("topic orders on 127.0.0.1:9092"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        // Another topic, or the same topic on another cluster, is not blocked.
        let _other = acquire(&dir, bs, "payments").unwrap();
        let _elsewhere = acquire(&dir, "10.0.0.1:9092", "orders").unwrap();
        drop(first);
        acquire(&dir, bs, "orders").expect("free once the holder is gone");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lock_names_are_plain_file_names() {
        let p = lock_path(std::path::Path::new("/l"), "h:1,h:2", "a/b c");
        assert_eq!(p, PathBuf::from("/l/h_1_h_2__a_b_c.lock"));
    }
}
