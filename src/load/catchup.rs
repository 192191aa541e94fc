//! When a consumer that started behind has caught up: the first moment at which every
//! partition it holds has handed it a record written less than [`CAUGHT_UP`] before it was
//! read. A consumer group that starts cold (no offsets, no cached schemas) is judged by this.

use std::time::Duration;

/// A record read this soon after its intended send time is "live", not backlog.
pub const CAUGHT_UP: Duration = Duration::from_secs(1);

/// Per partition, whether the last record read from it was live; and when all were.
#[derive(Debug, Default)]
pub struct CatchUp {
    live: Vec<bool>,
    at_us: Option<u64>,
}

impl CatchUp {
    /// A record of `partition`, intended at `intended_us`, read at `now_us`, while the consumer
    /// holds `held` partitions (µs since the run's origin).
    pub fn on_record(&mut self, partition: i32, intended_us: u64, now_us: u64, held: usize) {
        if self.at_us.is_some() || partition < 0 {
            return;
        }
        let p = partition as usize;
        if self.live.len() <= p {
            self.live.resize(p + 1, false);
        }
        self.live[p] = now_us.saturating_sub(intended_us) < CAUGHT_UP.as_micros() as u64;
        let live = self.live.iter().filter(|l| **l).count();
        if held > 0 && live >= held {
            self.at_us = Some(now_us);
        }
    }

    /// When every held partition was live at once (µs since the origin); `None` if never.
    pub fn at_us(&self) -> Option<u64> {
        self.at_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn caught_up_only_when_every_held_partition_is_live() {
        let mut c = CatchUp::default();
        c.on_record(0, 10 * S, 40 * S, 2); // 30 s behind
        c.on_record(1, 39 * S + 500_000, 40 * S, 2); // live
        assert_eq!(c.at_us(), None);
        c.on_record(0, 41 * S, 41 * S + 500_000, 2);
        assert_eq!(c.at_us(), Some(41 * S + 500_000));
    }

    #[test]
    fn a_partition_falling_behind_again_counts_until_caught_up_once() {
        let mut c = CatchUp::default();
        c.on_record(0, 10 * S, 12 * S, 1); // 2 s behind: backlog
        assert_eq!(c.at_us(), None);
        c.on_record(0, 12 * S, 12 * S + 10, 1);
        c.on_record(0, 1, 50 * S, 1); // later lag does not undo the moment
        assert_eq!(c.at_us(), Some(12 * S + 10));
    }

    #[test]
    fn nothing_held_is_never_caught_up() {
        let mut c = CatchUp::default();
        c.on_record(0, 0, 1, 0);
        assert_eq!(c.at_us(), None);
    }
}
