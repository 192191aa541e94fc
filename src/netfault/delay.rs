//! Delay without `netem`: the fault's packets are queued to user space (NFQUEUE) inside the
//! node's namespace, and a kbench thread holds each one for the delay (± jitter) before it lets
//! it go on. Chosen because it needs nothing but the kernel's netfilter queue, which every
//! distribution kernel has; the queue is set to fail open and the rule to `bypass`, so if kbench
//! dies the packets flow undelayed instead of being cut.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use rand::{Rng, SeedableRng};

use crate::cancel::Cancel;

/// Packets the kernel may hold for the queue before it lets them through undelayed.
const QUEUE_MAX: u32 = 65_536;

/// A thread holding one fault's packets. Its stop is a root of its own: the hold belongs to the
/// lab until the fault heals or the lab is torn down, not to a run's worker tree.
pub struct DelayHolder {
    stop: Cancel,
    handle: Option<JoinHandle<Result<u64>>>,
}

impl DelayHolder {
    /// Serve queue `queue` inside namespace `netns`, holding each packet `delay` ± `jitter`.
    /// Returns once the queue is bound, so the rule that feeds it can be added next.
    pub fn start(netns: &str, queue: u16, delay: Duration, jitter: Duration) -> Result<Self> {
        let stop = Cancel::root();
        let (ready_tx, ready_rx) = mpsc::channel();
        let ns = netns.to_string();
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name(format!("delay-q{queue}"))
            .spawn(move || {
                let q = match bind(&ns, queue) {
                    Ok(q) => {
                        ready_tx.send(Ok(())).ok();
                        q
                    }
                    Err(e) => {
                        ready_tx.send(Err(format!("{e:#}"))).ok();
                        return Err(e);
                    }
                };
                hold(q, queue, delay, jitter, &flag)
            })?;
        let bound = ready_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| anyhow!("the delay queue did not start within 5 s"))?;
        bound.map_err(|e| anyhow!(e))?;
        Ok(DelayHolder {
            stop,
            handle: Some(handle),
        })
    }

    /// Let every held packet go and stop; returns how many packets were delayed.
    pub fn finish(mut self) -> Result<u64> {
        self.stop.cancel();
        let h = self.handle.take().expect("finish runs once");
        h.join().map_err(|_| anyhow!("the delay thread panicked"))?
    }
}

impl Drop for DelayHolder {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(h) = self.handle.take() {
            h.join().ok();
        }
    }
}

fn bind(netns: &str, queue: u16) -> Result<nfq::Queue> {
    super::lab::enter(netns)?;
    let mut q = nfq::Queue::open().context("cannot open a netfilter queue socket")?;
    q.bind(queue)
        .with_context(|| format!("cannot bind netfilter queue {queue} (kernel NFQUEUE support)"))?;
    q.set_copy_range(queue, 0)?;
    q.set_fail_open(queue, true)?;
    q.set_queue_max_len(queue, QUEUE_MAX)?;
    q.set_nonblocking(true);
    Ok(q)
}

/// Hold packets until their time, until told to stop; then let the rest go at once.
fn hold(
    mut q: nfq::Queue,
    queue: u16,
    delay: Duration,
    jitter: Duration,
    stop: &Cancel,
) -> Result<u64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from(queue));
    let mut held: BTreeMap<(Instant, u64), nfq::Message> = BTreeMap::new();
    let mut seq = 0u64;
    while !stop.is_cancelled() {
        loop {
            match q.recv() {
                Ok(msg) => {
                    seq += 1;
                    let due = Instant::now() + hold_time(&mut rng, delay, jitter);
                    held.insert((due, seq), msg);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).context("reading the netfilter queue"),
            }
        }
        let now = Instant::now();
        while let Some(entry) = held.first_entry() {
            if entry.key().0 > now {
                break;
            }
            release(&mut q, entry.remove())?;
        }
        let next = held.keys().next().map(|(t, _)| *t);
        let nap = next.map_or(Duration::from_micros(500), |t| {
            t.saturating_duration_since(now)
                .min(Duration::from_micros(500))
        });
        std::thread::sleep(nap);
    }
    for (_, msg) in std::mem::take(&mut held) {
        release(&mut q, msg)?;
    }
    q.unbind(queue).ok();
    Ok(seq)
}

fn release(q: &mut nfq::Queue, mut msg: nfq::Message) -> Result<()> {
    msg.set_verdict(nfq::Verdict::Accept);
    q.verdict(msg).context("releasing a delayed packet")
}

/// `delay` ± a uniform spread of `jitter`.
fn hold_time(rng: &mut impl Rng, delay: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return delay;
    }
    let j = jitter.as_secs_f64();
    let d = delay.as_secs_f64() + rng.random_range(-j..=j);
    Duration::from_secs_f64(d.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_spreads_uniformly_around_the_delay() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (d, j) = (Duration::from_millis(100), Duration::from_millis(20));
        let v: Vec<f64> = (0..10_000)
            .map(|_| hold_time(&mut rng, d, j).as_secs_f64() * 1e3)
            .collect();
        assert!(v.iter().all(|&x| (80.0..=120.0).contains(&x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 100.0).abs() < 1.0, "{mean}");
        assert!(v.iter().any(|&x| x < 85.0) && v.iter().any(|&x| x > 115.0));
        assert_eq!(hold_time(&mut rng, d, Duration::ZERO), d);
    }
}
