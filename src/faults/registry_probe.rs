//! The registry's availability during a run: `GET /subjects` every 200 ms by a probe of its
//! own (not the producers' requests, which a cached schema id makes rare), each probe's outcome
//! and latency, and the outages — stretches in which it did not answer. The registry's
//! counterpart of the brokers' ack gaps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::cluster::Registry;
use crate::security::registry::RequestFailure;

/// How often the registry is asked.
pub const PROBE_PERIOD: Duration = Duration::from_millis(200);
/// A probe not answered within this counts as failed ("timeout"): a registry this slow is not
/// serving producers either.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One probe: when it was sent (s since the run's origin), whether it got a 2xx, and how long it
/// took.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Sent at, s since the run's origin.
    pub t_s: f64,
    /// Time to the answer or the failure, ms.
    pub latency_ms: f64,
    /// `None` when it answered 2xx; else the kind of failure (`refused`, `timeout`, `HTTP 503`).
    pub error: Option<String>,
}

/// A stretch in which the registry did not answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// The last probe that was answered before it (s since the origin); `None` if none was.
    pub last_ok_s: Option<f64>,
    /// The first probe that failed.
    pub from_s: f64,
    /// The first probe answered again; `None` if it never was before probing stopped.
    pub to_s: Option<f64>,
    /// Failed probes by kind of failure.
    pub failures: BTreeMap<String, u32>,
}

impl Outage {
    /// From the first failed probe to the first answered one (s); `None` while open.
    pub fn duration_s(&self) -> Option<f64> {
        self.to_s.map(|t| t - self.from_s)
    }
}

/// One second of probing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSecond {
    /// Second since the origin.
    pub t: u64,
    /// Probes answered.
    pub ok: u32,
    /// Probes failed.
    pub failed: u32,
    /// Slowest probe of the second, ms (answered or not).
    pub max_ms: f64,
}

/// What the probe saw over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryAvailability {
    /// Probe period, ms.
    pub period_ms: u64,
    /// Probes sent.
    pub probes: u64,
    /// Probes that failed.
    pub failed: u64,
    /// Every outage, in time order.
    pub outages: Vec<Outage>,
    /// Probes per second (the report's availability timeline).
    pub seconds: Vec<ProbeSecond>,
}

impl RegistryAvailability {
    /// Summarise a probe log.
    pub fn of(probes: &[Probe]) -> RegistryAvailability {
        RegistryAvailability {
            period_ms: PROBE_PERIOD.as_millis() as u64,
            probes: probes.len() as u64,
            failed: probes.iter().filter(|p| p.error.is_some()).count() as u64,
            outages: outages(probes),
            seconds: per_second(probes),
        }
    }

    /// The outage a fault fired at `fired_s` caused: the first one starting at or after it
    /// (less a period, since a probe in flight may fail first).
    pub fn outage_after(&self, fired_s: f64) -> Option<&Outage> {
        let period = PROBE_PERIOD.as_secs_f64();
        (self.outages.iter()).find(|o| o.from_s >= fired_s - period)
    }
}

/// Maximal runs of failed probes.
pub fn outages(probes: &[Probe]) -> Vec<Outage> {
    let mut out: Vec<Outage> = Vec::new();
    let mut open: Option<Outage> = None;
    let mut last_ok = None;
    for p in probes {
        match (&p.error, open.as_mut()) {
            (Some(kind), Some(o)) => *o.failures.entry(kind.clone()).or_default() += 1,
            (Some(kind), None) => {
                open = Some(Outage {
                    last_ok_s: last_ok,
                    from_s: p.t_s,
                    to_s: None,
                    failures: BTreeMap::from([(kind.clone(), 1)]),
                })
            }
            (None, _) => {
                if let Some(mut o) = open.take() {
                    o.to_s = Some(p.t_s);
                    out.push(o);
                }
                last_ok = Some(p.t_s);
            }
        }
    }
    out.extend(open);
    out
}

/// Probes grouped by the second they were sent in.
pub fn per_second(probes: &[Probe]) -> Vec<ProbeSecond> {
    let mut by: BTreeMap<u64, ProbeSecond> = BTreeMap::new();
    for p in probes {
        let t = p.t_s.max(0.0) as u64;
        let s = by.entry(t).or_insert(ProbeSecond {
            t,
            ok: 0,
            failed: 0,
            max_ms: 0.0,
        });
        match p.error {
            None => s.ok += 1,
            Some(_) => s.failed += 1,
        }
        s.max_ms = s.max_ms.max(p.latency_ms);
    }
    by.into_values().collect()
}

/// Probe `registry` every [`PROBE_PERIOD`] until `cancel`led; the log of every probe.
pub fn probe_until(registry: &Registry, origin: Instant, cancel: &Cancel) -> Vec<Probe> {
    let client = match registry.blocking_client(PROBE_TIMEOUT) {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    let mut log = Vec::new();
    let mut next = Instant::now();
    while !cancel.is_cancelled() {
        let t0 = Instant::now();
        let error = match registry.get_with(&client, "/subjects") {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(RequestFailure::Status(r.status().as_u16()).to_string()),
            Err(e) => Some(RequestFailure::of_anyhow(&e).to_string()),
        };
        log.push(Probe {
            t_s: t0.duration_since(origin).as_secs_f64(),
            latency_ms: t0.elapsed().as_secs_f64() * 1e3,
            error,
        });
        next += PROBE_PERIOD;
        let now = Instant::now();
        if next < now {
            next = now; // a slow probe does not make the next ones bunch up
        }
        std::thread::sleep(next - now);
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(t_s: f64, error: Option<&str>) -> Probe {
        Probe {
            t_s,
            latency_ms: if error.is_some() { 1000.0 } else { 2.0 },
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn outages_are_runs_of_failed_probes_bounded_by_answered_ones() {
        let log = [
            probe(0.0, None),
            probe(0.2, None),
            probe(0.4, Some("refused")),
            probe(0.6, Some("refused")),
            probe(0.8, Some("timeout")),
            probe(1.0, None),
            probe(1.2, Some("HTTP 503")),
        ];
        let o = outages(&log);
        assert_eq!(o.len(), 2);
        assert_eq!(
            (o[0].last_ok_s, o[0].from_s, o[0].to_s),
            (Some(0.2), 0.4, Some(1.0))
        );
        assert!((o[0].duration_s().unwrap() - 0.6).abs() < 1e-9);
        assert_eq!(o[0].failures["refused"], 2);
        assert_eq!(o[0].failures["timeout"], 1);
        // Still down when probing stopped: open, never dropped.
        assert_eq!(
            (o[1].from_s, o[1].to_s, o[1].duration_s()),
            (1.2, None, None)
        );
        let a = RegistryAvailability::of(&log);
        assert_eq!((a.probes, a.failed), (7, 4));
        assert_eq!(a.outage_after(0.3).map(|o| o.from_s), Some(0.4));
        assert_eq!(a.outage_after(1.1).map(|o| o.from_s), Some(1.2));
        assert_eq!(a.outage_after(2.0), None);
    }

    #[test]
    fn seconds_count_answered_and_failed_probes() {
        let log = [
            probe(0.1, None),
            probe(0.9, Some("refused")),
            probe(1.3, None),
        ];
        let s = per_second(&log);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].t, s[0].ok, s[0].failed, s[0].max_ms),
            (0, 1, 1, 1000.0)
        );
        assert_eq!((s[1].t, s[1].ok, s[1].failed), (1, 1, 0));
        assert!(outages(&[probe(0.0, None)]).is_empty());
    }
}
