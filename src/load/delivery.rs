//! A producer's delivery bookkeeping, served by librdkafka's delivery callback: the in-flight
//! ring of intended and actual send times, the recorder each outcome is measured into, the audit
//! ledger and the run's ack timeline — and, from librdkafka's statistics, whether the producer
//! is ready to send yet and, at its end, how many requests it sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::ready::Readiness;
use super::tally::Tallier;
use crate::audit::ledger::Ledger;
use crate::faults::observe::AckTimeline;
use crate::metrics::{Counter, Kind, Recorder};

/// Intended and actual send time of in-flight records, indexed by sequence modulo the ring size.
/// librdkafka never holds more than `queue.buffering.max.messages` records, so a ring at least
/// that large never overwrites an unresolved entry.
pub(super) struct Inflight {
    ring: Vec<(u64, u64)>,
    mask: u64,
    /// Taken out when the producer is done, to hand the last interval to the aggregator.
    recorder: Option<Recorder>,
    pending: u64,
}

impl Inflight {
    /// Record `seq` handed to librdkafka at `actual`, intended for `intended` (µs).
    pub(super) fn on_send(&mut self, seq: u64, intended: u64, actual: u64) {
        let idx = (seq & self.mask) as usize;
        self.ring[idx] = (intended, actual);
        self.pending += 1;
        if let Some(r) = self.recorder.as_mut() {
            // `SendClock` never releases a slot early; should a clock ever step back, an early
            // send is no lag, never a wrapped u64 in the histogram.
            r.record(Kind::SendLag, actual, actual.saturating_sub(intended));
            r.count(Counter::Sent, actual, 1);
            r.tick(actual);
        }
    }

    /// Resolve record `seq` at `now`: acked, or failed with `error`. Returns nothing to do for
    /// the recorder once it was handed back (librdkafka may still purge records at shutdown).
    fn resolve(&mut self, seq: u64, now: u64, error: Option<&KafkaError>) {
        let (intended, sent) = self.ring[(seq & self.mask) as usize];
        self.pending = self.pending.saturating_sub(1);
        let Some(r) = self.recorder.as_mut() else {
            return;
        };
        match error {
            None => {
                r.record(Kind::AckCorrected, now, now.saturating_sub(intended));
                r.record(Kind::AckRaw, now, now.saturating_sub(sent));
                r.count(Counter::Acked, now, 1);
            }
            Some(e) => {
                r.error(&error_kind(e), now, now.saturating_sub(intended));
                r.count(Counter::Failed, now, 1);
            }
        }
    }

    /// Records handed over and not yet resolved.
    pub(super) fn pending(&self) -> u64 {
        self.pending
    }

    /// Hand the last interval to the aggregator; later outcomes are no longer measured.
    pub(super) fn finish(&mut self) {
        if let Some(r) = self.recorder.take() {
            r.finish();
        }
    }

    /// Let the recorder close the seconds before `now`.
    pub(super) fn tick(&mut self, now: u64) {
        if let Some(r) = self.recorder.as_mut() {
            r.tick(now);
        }
    }
}

pub(super) struct Ctx {
    producer_id: u32,
    origin: Instant,
    state: Mutex<Inflight>,
    ledger: Arc<Mutex<Ledger>>,
    timeline: Arc<Mutex<AckTimeline>>,
    readiness: Readiness,
    tallier: Tallier,
    /// Batches sent, summed from every statistics document.
    wire: super::wire_stats::WireTally,
}

impl Ctx {
    /// A producer's context: nothing in flight yet.
    pub(super) fn new(
        producer_id: u32,
        origin: Instant,
        ring_len: u64,
        recorder: Recorder,
        ledger: Arc<Mutex<Ledger>>,
        timeline: Arc<Mutex<AckTimeline>>,
        readiness: Readiness,
    ) -> Ctx {
        Ctx {
            producer_id,
            origin,
            state: Mutex::new(Inflight {
                ring: vec![(0, 0); ring_len as usize],
                mask: ring_len - 1,
                recorder: Some(recorder),
                pending: 0,
            }),
            ledger,
            timeline,
            readiness,
            tallier: Tallier::default(),
            wire: super::wire_stats::WireTally::default(),
        }
    }

    /// What librdkafka's statistics say about being ready to send.
    pub(super) fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// What librdkafka's statistics say about the requests sent, when asked.
    pub(super) fn tallier(&self) -> &Tallier {
        &self.tallier
    }

    /// The batches sent so far, from librdkafka's statistics.
    pub(super) fn wire(&self) -> super::wire_stats::WireBatches {
        self.wire.totals()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inflight> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record `seq`'s outcome now: acked on `partition`, or failed with `error`.
    pub(super) fn resolve(&self, seq: u64, partition: i32, error: Option<&KafkaError>) {
        let now = micros(self.origin.elapsed());
        self.lock().resolve(seq, now, error);
        {
            let mut tl = self.timeline.lock().unwrap_or_else(|e| e.into_inner());
            match error {
                None => tl.on_ack(partition, now),
                Some(_) => tl.on_failure(now),
            }
        }
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            None => ledger.on_ack(self.producer_id, seq),
            Some(_) => ledger.on_failed(self.producer_id, seq),
        }
    }
}

impl ClientContext for Ctx {
    fn stats_raw(&self, statistics: &[u8]) {
        self.readiness.observe(statistics);
        self.tallier.observe(statistics);
        self.wire.observe(statistics);
    }
}

pub(super) fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        match result {
            Ok(m) => self.resolve(seq as u64, m.partition(), None),
            Err((e, m)) => self.resolve(seq as u64, m.partition(), Some(e)),
        }
    }
}

/// A stable name for a delivery error, e.g. `MessageTimedOut` or `NotEnoughReplicas`.
pub fn error_kind(e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => format!("{e}")
            .split(':')
            .next()
            .unwrap_or("Unknown")
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_send_stamped_before_its_intended_time_has_zero_lag_not_an_overflow() {
        let (tx, rx) = mpsc::channel();
        let mut inflight = Inflight {
            ring: vec![(0, 0); 4],
            mask: 3,
            recorder: Some(Recorder::new("p".into(), tx)),
            pending: 0,
        };
        inflight.on_send(0, 1_000, 998);
        inflight.recorder.take().unwrap().finish();
        let iv = rx.recv().unwrap();
        let lag = iv.hists[Kind::SendLag.index()].as_ref().unwrap();
        assert_eq!((lag.len(), lag.max()), (1, 0));
        assert_eq!(iv.overflow[Kind::SendLag.index()], 0);
    }
}
