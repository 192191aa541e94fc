//! The search against a simulated cluster: p99 as a function of the rate (a queue's hockey
//! stick, with noise), a generator that cannot offer more than its own limit, and steps that
//! fail once for no reason. The search must find the edge within its precision, never report a
//! rate the generator could not offer, and survive a failure that does not repeat.

use super::*;

/// A cluster whose p99 is `base / (1 − rate / knee)` ms, judged against `slo_ms`.
struct Model {
    knee: f64,
    base_ms: f64,
    slo_ms: f64,
    generator_limit: f64,
    /// Multiplies each p99 by 1 ± this, from a fixed sequence.
    noise: f64,
    /// Rates that fail the first time they are run, whatever their latency.
    flaky: Vec<f64>,
    runs: u64,
}

impl Model {
    fn cluster(knee: f64) -> Model {
        Model {
            knee,
            base_ms: 5.0,
            slo_ms: 50.0,
            generator_limit: f64::INFINITY,
            noise: 0.0,
            flaky: Vec::new(),
            runs: 0,
        }
    }

    /// The highest rate whose noiseless p99 meets the objective.
    fn edge(&self) -> f64 {
        self.knee * (1.0 - self.base_ms / self.slo_ms)
    }

    fn step(&mut self, rate: f64) -> Verdict {
        self.runs += 1;
        if rate > self.generator_limit {
            return Verdict::Inconclusive {
                reason: "generator saturated".into(),
            };
        }
        if let Some(i) = self.flaky.iter().position(|r| (r - rate).abs() < 0.5) {
            self.flaky.remove(i);
            return Verdict::Fail {
                failed: vec!["lost 1 > 0".into()],
            };
        }
        let wobble = [0.3, -0.7, 0.9, -0.2, 0.5, -0.9, 0.1][self.runs as usize % 7];
        let p99 = if rate >= self.knee {
            f64::INFINITY
        } else {
            self.base_ms / (1.0 - rate / self.knee) * (1.0 + self.noise * wobble)
        };
        if p99 <= self.slo_ms {
            Verdict::Pass
        } else {
            Verdict::Fail {
                failed: vec![format!("ack_p99_ms {p99:.1} > {}", self.slo_ms)],
            }
        }
    }
}

fn spec() -> SearchSpec {
    SearchSpec {
        start: 1000.0,
        max: 200_000.0,
        factor: 2.0,
        precision: 0.05,
        max_steps: 30,
    }
}

fn run(model: &mut Model, spec: SearchSpec) -> Search {
    let mut s = Search::new(spec);
    while let Some((rate, purpose)) = s.next_step() {
        let v = model.step(rate);
        s.record(rate, purpose, v);
    }
    s
}

#[test]
fn finds_the_edge_within_its_precision_and_confirms_it() {
    let mut m = Model::cluster(30_000.0);
    let s = run(&mut m, spec());
    let a = s.answer();
    assert_eq!(a.stop, Some(Stop::Found), "{a:?}");
    let cap = a.capacity.unwrap();
    let edge = m.edge();
    assert!(cap <= edge, "claims {cap} above the edge {edge}");
    assert!((edge - cap) / edge <= 0.05, "{cap} vs {edge}");
    assert!(a.precision.unwrap() <= 0.05 && !a.next_up_inconclusive);
    assert_eq!(a.confirmations, 1);
    let last = s.steps().last().unwrap();
    let up = a.next_up.unwrap();
    assert_eq!((last.rate, last.purpose), (up, Purpose::Recheck));
    assert_eq!(a.next_up_failures, 2, "the lowest failure failed twice");
    assert!(s
        .steps()
        .iter()
        .any(|t| (t.rate, t.purpose) == (cap, Purpose::Confirm)));
    assert!(s.steps().len() < 20, "{} steps", s.steps().len());
}

#[test]
fn noise_does_not_move_the_answer_past_the_edge_by_more_than_the_noise() {
    let mut m = Model::cluster(30_000.0);
    m.noise = 0.1;
    let a = run(&mut m, spec()).answer();
    let cap = a.capacity.unwrap();
    // ±10 % on p99 near the knee moves the edge by about 1 %.
    assert!(
        (cap - m.edge()).abs() / m.edge() < 0.08,
        "{cap} vs {}",
        m.edge()
    );
    assert!(
        matches!(a.stop, Some(Stop::Found) | Some(Stop::Unstable)),
        "{a:?}"
    );
}

#[test]
fn never_reports_a_rate_the_generator_could_not_offer() {
    let mut m = Model::cluster(100_000.0);
    m.generator_limit = 20_000.0;
    let s = run(&mut m, spec());
    let a = s.answer();
    assert_eq!(a.stop, Some(Stop::GeneratorLimit), "{a:?}");
    let cap = a.capacity.unwrap();
    assert!(cap <= 20_000.0, "{cap}");
    assert!(a.next_up_inconclusive);
    for t in s.steps() {
        if t.rate > 20_000.0 {
            assert!(matches!(t.verdict, Verdict::Inconclusive { .. }), "{t:?}");
        }
    }
}

#[test]
fn a_failure_that_does_not_repeat_is_bisected_around_not_believed_blindly() {
    let mut m = Model::cluster(30_000.0);
    // The coarse step at 16 000 fails once for no reason: the search bisects below it, then
    // above it the steps pass, so its answer stays below 16 000 — but a flaky confirmation
    // must not make it claim more than the edge either.
    m.flaky = vec![16_000.0];
    let a = run(&mut m, spec()).answer();
    let cap = a.capacity.unwrap();
    assert!(cap <= m.edge(), "{cap}");
    assert!(cap >= 8_000.0, "{cap}");
    assert_eq!(a.stop, Some(Stop::Found), "{a:?}");
}

/// The search on a clean model whose rate `first` fails `times` times once it is confirmed.
fn with_failing_confirmation(first: f64, times: u32) -> Search {
    let mut m = Model::cluster(30_000.0);
    let mut s = Search::new(spec());
    let mut left = times;
    let mut confirming = false;
    while let Some((rate, purpose)) = s.next_step() {
        confirming |= purpose == Purpose::Confirm && rate == first;
        let v = if confirming && rate == first && left > 0 {
            left -= 1;
            Verdict::Fail {
                failed: vec!["ack_p99_ms 51 > 50".into()],
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    s
}

#[test]
fn a_confirmation_that_fails_for_good_moves_the_answer_down() {
    let first = run(&mut Model::cluster(30_000.0), spec())
        .answer()
        .capacity
        .unwrap();
    let a = with_failing_confirmation(first, u32::MAX).answer();
    assert!(a.capacity.unwrap() < first, "{a:?}");
    assert_eq!(a.stop, Some(Stop::Found));
    assert_eq!(a.confirmations, 1);
}

#[test]
fn a_confirmation_that_fails_once_is_rechecked_before_it_moves_the_answer() {
    let first = run(&mut Model::cluster(30_000.0), spec())
        .answer()
        .capacity
        .unwrap();
    let s = with_failing_confirmation(first, 1);
    let a = s.answer();
    assert!(
        (s.steps().iter()).any(|t| t.rate == first && t.purpose == Purpose::Recheck),
        "{:?}",
        s.steps()
    );
    assert_eq!(
        (a.capacity, a.stop),
        (Some(first), Some(Stop::Found)),
        "{a:?}"
    );
}

#[test]
fn ends_at_max_when_everything_passes_and_when_nothing_does() {
    let mut easy = Model::cluster(1e9);
    let a = run(&mut easy, spec()).answer();
    assert_eq!((a.stop, a.capacity), (Some(Stop::AtMax), Some(200_000.0)));
    let mut hard = Model::cluster(10.0);
    let a = run(&mut hard, spec()).answer();
    assert_eq!((a.stop, a.capacity), (Some(Stop::NothingPasses), None));
}

#[test]
fn the_step_budget_ends_it_and_says_so() {
    let mut m = Model::cluster(30_000.0);
    let s = run(
        &mut m,
        SearchSpec {
            max_steps: 4,
            ..spec()
        },
    );
    assert_eq!(s.steps().len(), 4);
    assert_eq!(s.answer().stop, Some(Stop::Budget));
}

#[test]
fn an_inconclusive_step_is_run_once_more_before_it_is_believed() {
    let mut m = Model::cluster(30_000.0);
    let mut s = Search::new(spec());
    let mut starved_once = true;
    while let Some((rate, purpose)) = s.next_step() {
        // The first step's generator is starved once (a JIT warming up), then keeps up.
        let v = if std::mem::take(&mut starved_once) {
            Verdict::Inconclusive {
                reason: "generator saturated".into(),
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    assert_eq!(s.steps()[1].rate, s.steps()[0].rate, "the same rate again");
    let a = s.answer();
    assert_eq!(a.stop, Some(Stop::Found), "{a:?}");
    assert!((m.edge() - a.capacity.unwrap()) / m.edge() <= 0.05);
}

#[test]
fn a_lowest_failure_that_passes_when_rechecked_moves_the_edge_up() {
    let mut m = Model::cluster(30_000.0);
    let clean = run(&mut Model::cluster(30_000.0), spec()).answer();
    // The rate just above the clean answer fails once, by chance, on its first run.
    let mut s = Search::new(spec());
    let mut failed_once = false;
    while let Some((rate, purpose)) = s.next_step() {
        let v = if rate == clean.next_up.unwrap() && !failed_once {
            failed_once = true;
            Verdict::Fail {
                failed: vec!["ack_p99_ms 60 > 50".into()],
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    let a = s.answer();
    assert!(failed_once);
    assert!(
        s.steps().iter().any(|t| t.purpose == Purpose::Recheck),
        "{:?}",
        s.steps()
    );
    assert_eq!(a.stop, Some(Stop::Found), "{a:?}");
    assert!(a.capacity.unwrap() <= m.edge());
    assert!(a.next_up_failures >= 2, "{a:?}");
}

#[test]
fn an_inconclusive_run_of_the_lowest_failure_is_not_counted_as_a_failure() {
    let mut m = Model::cluster(30_000.0);
    let clean = run(&mut Model::cluster(30_000.0), spec()).answer();
    let up = clean.next_up.unwrap();
    // The first run at the rate above the answer is starved (inconclusive); the rest is the model.
    let mut s = Search::new(spec());
    let mut starved = false;
    while let Some((rate, purpose)) = s.next_step() {
        let v = if rate == up && !starved {
            starved = true;
            Verdict::Inconclusive {
                reason: "generator saturated".into(),
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    let a = s.answer();
    assert!(starved);
    assert_eq!(a.stop, Some(Stop::Found), "{a:?}");
    assert_eq!(a.next_up, Some(up));
    let runs_up = s.steps().iter().filter(|t| t.rate == up).count();
    assert_eq!(runs_up, 3, "starved, failed, rechecked: {:?}", s.steps());
    assert_eq!(a.next_up_failures, 2, "{a:?}");
}

#[test]
fn an_inconclusive_confirmation_is_run_again_not_counted_as_a_failure() {
    // Under a CPU quota the generator falls behind now and then: every confirmation's first
    // try is starved, then it keeps up. The search must still end found, not unstable.
    let mut m = Model::cluster(30_000.0);
    let mut s = Search::new(spec());
    let mut starved = std::collections::BTreeSet::new();
    while let Some((rate, purpose)) = s.next_step() {
        let first_confirm = purpose == Purpose::Confirm && starved.insert(rate as u64);
        let v = if first_confirm {
            Verdict::Inconclusive {
                reason: "generator fell behind".into(),
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    let a = s.answer();
    assert_eq!(a.stop, Some(Stop::Found), "{:?}", s.steps());
    assert!((m.edge() - a.capacity.unwrap()) / m.edge() <= 0.05, "{a:?}");
    let cap = a.capacity.unwrap();
    let confirms: Vec<_> = (s.steps().iter())
        .filter(|t| t.rate == cap && t.purpose == Purpose::Confirm)
        .collect();
    assert_eq!(confirms.len(), 2, "retried once: {confirms:?}");
}

#[test]
fn a_confirmation_the_generator_never_manages_ends_at_its_limit_not_unstable() {
    let mut m = Model::cluster(30_000.0);
    let mut s = Search::new(spec());
    while let Some((rate, purpose)) = s.next_step() {
        let v = if purpose == Purpose::Confirm {
            Verdict::Inconclusive {
                reason: "generator fell behind".into(),
            }
        } else {
            m.step(rate)
        };
        s.record(rate, purpose, v);
    }
    let a = s.answer();
    assert_ne!(a.stop, Some(Stop::Unstable), "{:?}", s.steps());
}
