//! Worker threads of a run — producers, consumers, the metrics aggregator, the metadata poller,
//! the fault executor — joined so that a panic in any of them becomes an error of the run that
//! says which thread and why, never a silently missing report.

use std::any::Any;
use std::thread::JoinHandle;

use anyhow::{anyhow, Result};

/// A named thread whose work ends in a `Result`.
pub struct Worker<T> {
    name: String,
    handle: JoinHandle<Result<T>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Start `work` on a thread called `name`.
    pub fn spawn(
        name: impl Into<String>,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<Worker<T>> {
        let name = name.into();
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(work)
            .map_err(|e| anyhow!("cannot start thread {name}: {e}"))?;
        Ok(Worker { name, handle })
    }

    /// Whether the thread has ended (joining will not block).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Wait for the thread; its error, or its panic, as this run's error.
    pub fn join(self) -> Result<T> {
        joined(&self.name, self.handle.join())?
    }
}

/// A joined thread's outcome, its panic turned into an error naming `what`.
pub fn joined<T>(what: &str, outcome: std::thread::Result<T>) -> Result<T> {
    outcome.map_err(|payload| anyhow!("{what} panicked: {}", panic_message(payload.as_ref())))
}

/// The text a panic was raised with, where it has one.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_worker_is_an_error_naming_it_and_its_message() {
        let w = Worker::<u32>::spawn("producer-7", || panic!("ring overflow at {}", 42)).unwrap();
        let e = w.join().unwrap_err().to_string();
        assert_eq!(e, "producer-7 panicked: ring overflow at 42");
    }

    #[test]
    fn a_workers_own_error_and_value_pass_through() {
        let ok = Worker::spawn("a", || Ok(5)).unwrap();
        assert_eq!(ok.join().unwrap(), 5);
        let err = Worker::<()>::spawn("b", || Err(anyhow!("broker gone"))).unwrap();
        assert_eq!(err.join().unwrap_err().to_string(), "broker gone");
    }

    #[test]
    fn scoped_panics_are_named_too() {
        let e =
            std::thread::scope(|s| joined("the fault executor", s.spawn(|| panic!("boom")).join()))
                .unwrap_err();
        assert_eq!(e.to_string(), "the fault executor panicked: boom");
    }
}
