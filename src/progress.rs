//! The live line while a run is under way: elapsed, target vs achieved rate, p99 of the last
//! second, failures. An indicatif bar on a terminal, a plain line every five seconds otherwise
//! (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::Live;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: Duration,
    target_total: u64,
    last_plain: Instant,
}

impl Progress {
    pub fn new(total: Duration, target_total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total.as_secs().max(1));
            b.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            bar,
            total,
            target_total,
            last_plain: Instant::now(),
        }
    }

    fn line(&self, elapsed: Duration, live: &Live) -> String {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let target_rate = self.target_total as f64 / self.total.as_secs_f64().max(1e-3);
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

    pub fn update(&mut self, elapsed: Duration, live: &Arc<Mutex<Live>>) {
        let snapshot = live.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let line = self.line(elapsed, &snapshot);
        match &self.bar {
            Some(b) => {
                b.set_position(elapsed.as_secs().min(self.total.as_secs()));
                b.set_message(line);
            }
            None => {
                if self.last_plain.elapsed() >= Duration::from_secs(5) {
                    self.last_plain = Instant::now();
                    eprintln!("kbench: {line}");
                }
            }
        }
    }

    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("kbench: {msg}")),
            None => eprintln!("kbench: {msg}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
