//! Stopping, as one tree of tokens from the signal handler down to every worker thread.
//!
//! A run holds a root [`Cancel`] and hands each worker a child: the producers, the fault
//! executor and the schema evolver share a branch that the first signal cancels; the consumers,
//! the metadata poller and the registry probe hang on branches only the run cancels, because
//! they must outlive the load (the drain, the settle). Cancelling a token cancels everything
//! below it and nothing above, so a worker stopped early never stops its siblings' branch.
//!
//! The signal handler may only touch atomics ([`crate::signals`]); a branch that stops on a
//! signal therefore reads the signal count when asked, instead of being told.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One node of the tree; clones are the same node.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    node: Arc<Node>,
}

#[derive(Debug, Default)]
struct Node {
    cancelled: AtomicBool,
    /// The first Ctrl-C / SIGTERM / SIGHUP cancels this node (and so its children).
    on_signal: bool,
    parent: Option<Arc<Node>>,
}

impl Node {
    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || (self.on_signal && crate::signals::requested())
    }
}

impl Cancel {
    /// A root that only [`Cancel::cancel`] ends (a run, a command).
    pub fn root() -> Self {
        Self::default()
    }

    /// A branch below this one, cancelled with it or on its own.
    pub fn child(&self) -> Self {
        self.branch(false)
    }

    /// A branch below this one that the first signal cancels too: the load, and whatever must
    /// stop with it.
    pub fn child_on_signal(&self) -> Self {
        self.branch(true)
    }

    fn branch(&self, on_signal: bool) -> Self {
        Self {
            node: Arc::new(Node {
                cancelled: AtomicBool::new(false),
                on_signal,
                parent: Some(Arc::clone(&self.node)),
            }),
        }
    }

    /// Cancel this node and every branch below it.
    pub fn cancel(&self) {
        self.node.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether this node, or any above it, was cancelled.
    pub fn is_cancelled(&self) -> bool {
        let mut node = Some(&self.node);
        while let Some(n) = node {
            if n.cancelled() {
                return true;
            }
            node = n.parent.as_ref();
        }
        false
    }

    /// A guard that cancels this node when dropped: whatever way its owner leaves (an error
    /// returned with `?`, a panic), the workers below stop.
    #[must_use = "the node is cancelled when the guard is dropped"]
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    /// Sleep for `d`, or less if cancelled meanwhile (looking every 50 ms at most); whether
    /// the whole time passed uncancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.is_cancelled() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// Cancels its node when dropped; see [`Cancel::on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_a_node_cancels_its_branch_and_nothing_above_or_beside() {
        let run = Cancel::root();
        let load = run.child();
        let producer = load.child();
        let consumers = run.child();
        load.cancel();
        assert!(load.is_cancelled() && producer.is_cancelled());
        assert!(!run.is_cancelled(), "a branch does not cancel its parent");
        assert!(!consumers.is_cancelled(), "nor its sibling");
        run.cancel();
        assert!(consumers.is_cancelled(), "the root cancels everything");
    }

    #[test]
    fn leaving_a_scope_by_error_cancels_what_it_started() {
        let run = Cancel::root();
        let worker = run.child();
        let failing = || -> Result<(), &'static str> {
            let _guard = run.on_drop();
            Err("a step failed")?;
            Ok(())
        };
        assert!(failing().is_err());
        assert!(worker.is_cancelled());
    }

    #[test]
    fn a_clone_is_the_same_node() {
        let a = Cancel::root().child();
        let b = a.clone();
        b.cancel();
        assert!(a.is_cancelled());
    }

    #[test]
    fn a_sleep_ends_early_when_cancelled_and_says_so() {
        let c = Cancel::root();
        assert!(c.sleep(Duration::from_millis(5)));
        let stopper = c.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            stopper.cancel();
        });
        let started = Instant::now();
        // Waits on the event: the bound is only how long the test gives up after.
        assert!(!c.sleep(Duration::from_secs(600)));
        assert!(started.elapsed() < Duration::from_secs(300));
        t.join().unwrap();
    }
}
