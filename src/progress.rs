//! The one way a run talks to its user while it is live: notes (one line each, above the bar)
//! and, once the load runs, the live line — elapsed, target vs achieved rate, p99 of the last
//! second, failures. An indicatif bar on a terminal, a plain line every five seconds otherwise
//! (CI logs, pipes). Shared by reference between the run and its worker threads.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::Live;

/// What the live line knows about the load, once it is planned.
#[derive(Debug, Clone, Copy)]
struct LoadShape {
    total: Duration,
    target_total: u64,
}

/// The run's voice: notes now, and the live line once [`Progress::begin_load`] was called.
pub struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    load: Mutex<Option<LoadShape>>,
    last_plain: Mutex<Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Notes only, until the load begins.
    pub fn new() -> Progress {
        Progress {
            bar: Mutex::new(None),
            load: Mutex::new(None),
            last_plain: Mutex::new(Instant::now()),
        }
    }

    /// The load is about to run for `total` with `target_total` records: show the live line
    /// from now on (a bar when stderr is a terminal).
    pub fn begin_load(&self, total: Duration, target_total: u64) {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total.as_secs().max(1));
            b.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        *lock(&self.bar) = bar;
        *lock(&self.load) = Some(LoadShape {
            total,
            target_total,
        });
    }

    fn line(shape: LoadShape, elapsed: Duration, live: &Live) -> String {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let target_rate = shape.target_total as f64 / shape.total.as_secs_f64().max(1e-3);
        let (p99, rate) = match &live.last_second {
            Some(r) => (
                r.ack_p99_us
                    .map_or("-".to_string(), |v| format!("{:.1}ms", v as f64 / 1000.0)),
                r.acked as f64,
            ),
            None => ("-".into(), live.acked_total as f64 / secs),
        };
        format!(
            "t={:.0}s target {:.0}/s acked {:.0}/s (last s) sent {} acked {} consumed {} failed {} ack p99 {}",
            elapsed.as_secs_f64(),
            target_rate,
            rate,
            live.sent_total,
            live.acked_total,
            live.consumed_total,
            live.failed_total,
            p99
        )
    }

    /// Refresh the live line at `elapsed` since the load started.
    pub fn update(&self, elapsed: Duration, live: &Arc<Mutex<Live>>) {
        let Some(shape) = *lock(&self.load) else {
            return;
        };
        let snapshot = lock(live).clone();
        let line = Self::line(shape, elapsed, &snapshot);
        match lock(&self.bar).as_ref() {
            Some(b) => {
                b.set_position(elapsed.as_secs().min(shape.total.as_secs()));
                b.set_message(line);
            }
            None => {
                let mut last = lock(&self.last_plain);
                if last.elapsed() >= Duration::from_secs(5) {
                    *last = Instant::now();
                    eprintln!("kbench: {line}");
                }
            }
        }
    }

    /// One line for the user, above the live line.
    pub fn note(&self, msg: &str) {
        match lock(&self.bar).as_ref() {
            Some(b) => b.println(format!("kbench: {msg}")),
            None => eprintln!("kbench: {msg}"),
        }
    }

    /// The load is over: the bar goes away, notes stay.
    pub fn finish(&self) {
        if let Some(b) = lock(&self.bar).take() {
            b.finish_and_clear();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
