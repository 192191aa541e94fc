//! `RangeSet`: a compact set of `u64` sequence numbers, stored as sorted, disjoint, non-adjacent
//! runs. The audit keeps one per producer and outcome, so its memory must follow the number of
//! gaps in a run, never the number of records.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Set of `u64` as runs `first..=last`.
///
/// Runs are inclusive rather than half-open so that `u64::MAX` is a storable element: sequence
/// numbers come from the wire, and a corrupt one must be recorded, not panic or wrap.
///
/// The highest run lives outside the map because producers emit sequences in order: extending
/// it is then a field update, O(1), and only a new gap or an out-of-order arrival touches the
/// `BTreeMap` (O(log runs)). The representation is canonical (the highest run is always `tail`,
/// runs never touch), so the derived equality is set equality.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    /// All runs below `tail`: start -> last (inclusive).
    below: BTreeMap<u64, u64>,
    /// The highest run; `None` iff the set is empty.
    tail: Option<(u64, u64)>,
    /// Element count, cached so `len` stays O(1).
    len: u64,
}

impl RangeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no element.
    pub fn is_empty(&self) -> bool {
        self.tail.is_none()
    }

    /// Number of elements (not runs).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Number of stored runs: the memory cost of the set.
    pub fn range_count(&self) -> usize {
        self.below.len() + usize::from(self.tail.is_some())
    }

    /// Largest element, if any.
    pub fn max(&self) -> Option<u64> {
        self.tail.map(|(_, last)| last)
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: u64) -> bool {
        match self.tail {
            None => false,
            Some((first, last)) if x >= first => x <= last,
            Some(_) => matches!(self.below.range(..=x).next_back(), Some((_, &last)) if x <= last),
        }
    }

    /// Adds `x`; returns `false` if it was already present.
    pub fn insert(&mut self, x: u64) -> bool {
        let Some((first, last)) = self.tail else {
            self.tail = Some((x, x));
            self.len = 1;
            return true;
        };
        if x >= first {
            if x <= last {
                return false;
            }
            if x == last + 1 {
                self.tail = Some((first, x));
            } else {
                self.below.insert(first, last);
                self.tail = Some((x, x));
            }
        } else if !self.insert_below_tail(x, first, last) {
            return false;
        }
        self.len = self.len.saturating_add(1);
        true
    }

    /// Out-of-order path: `x < first` of the tail run.
    fn insert_below_tail(&mut self, x: u64, tail_first: u64, tail_last: u64) -> bool {
        let prev = self.below.range(..=x).next_back().map(|(&s, &l)| (s, l));
        if let Some((_, prev_last)) = prev {
            if x <= prev_last {
                return false;
            }
        }
        let joins_prev = prev.filter(|&(_, l)| l + 1 == x);
        // `x < tail_first`, so `x + 1` cannot overflow.
        let next = if x + 1 == tail_first {
            None
        } else {
            self.below.range(x + 1..).next().map(|(&s, &l)| (s, l))
        };
        let touches_next = x + 1 == tail_first || next.is_some_and(|(s, _)| s == x + 1);
        match (joins_prev, touches_next) {
            (Some((ps, _)), true) => {
                if x + 1 == tail_first {
                    self.below.remove(&ps);
                    self.tail = Some((ps, tail_last));
                } else if let Some((ns, nl)) = next {
                    self.below.remove(&ns);
                    self.below.insert(ps, nl);
                }
            }
            (Some((ps, _)), false) => {
                self.below.insert(ps, x);
            }
            (None, true) => {
                if x + 1 == tail_first {
                    self.tail = Some((x, tail_last));
                } else if let Some((ns, nl)) = next {
                    self.below.remove(&ns);
                    self.below.insert(x, nl);
                }
            }
            (None, false) => {
                self.below.insert(x, x);
            }
        }
        true
    }

    /// Runs in ascending order.
    pub fn iter_ranges(&self) -> impl Iterator<Item = RangeInclusive<u64>> + '_ {
        self.below
            .iter()
            .map(|(&s, &l)| s..=l)
            .chain(self.tail.map(|(s, l)| s..=l))
    }

    /// Elements in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter_ranges().flatten()
    }

    /// The `n` smallest elements (fewer if the set is smaller).
    pub fn first_n(&self, n: usize) -> Vec<u64> {
        let cap = usize::try_from(self.len).map_or(n, |len| len.min(n));
        let mut out = Vec::with_capacity(cap);
        out.extend(self.iter().take(n));
        out
    }

    /// Elements of `self` not in `other`. O(runs of both).
    pub fn difference(&self, other: &RangeSet) -> RangeSet {
        let mut out = Builder::default();
        let mut theirs = other.iter_ranges().peekable();
        for run in self.iter_ranges() {
            let (mut lo, hi) = (*run.start(), *run.end());
            // Runs of `other` wholly below `lo` cannot matter for this or any later run.
            while theirs.peek().is_some_and(|r| *r.end() < lo) {
                theirs.next();
            }
            let mut exhausted = false;
            while let Some(r) = theirs.peek() {
                let (os, oe) = (*r.start(), *r.end());
                if os > hi {
                    break;
                }
                if os > lo {
                    out.push(lo, os - 1);
                }
                if oe >= hi {
                    exhausted = true;
                    break;
                }
                lo = oe + 1;
                theirs.next();
            }
            if !exhausted {
                out.push(lo, hi);
            }
        }
        out.finish()
    }

    /// Elements in both sets. O(runs of both).
    pub fn intersection(&self, other: &RangeSet) -> RangeSet {
        let mut out = Builder::default();
        let mut a = self.iter_ranges().peekable();
        let mut b = other.iter_ranges().peekable();
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            let lo = (*x.start()).max(*y.start());
            let hi = (*x.end()).min(*y.end());
            if lo <= hi {
                out.push(lo, hi);
            }
            if x.end() < y.end() {
                a.next();
            } else {
                b.next();
            }
        }
        out.finish()
    }

    /// Elements in either set. O(runs of both).
    pub fn union(&self, other: &RangeSet) -> RangeSet {
        let mut out = Builder::default();
        let mut a = self.iter_ranges().peekable();
        let mut b = other.iter_ranges().peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.start() <= y.start(),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let run = if take_a { a.next() } else { b.next() };
            if let Some(r) = run {
                out.push(*r.start(), *r.end());
            }
        }
        out.finish()
    }
}

/// Builds a canonical set from runs given in ascending order of start, coalescing runs that
/// overlap or touch.
#[derive(Default)]
struct Builder {
    runs: Vec<(u64, u64)>,
}

impl Builder {
    fn push(&mut self, first: u64, last: u64) {
        if let Some(prev) = self.runs.last_mut() {
            if first <= prev.1.saturating_add(1) {
                prev.1 = prev.1.max(last);
                return;
            }
        }
        self.runs.push((first, last));
    }

    fn finish(mut self) -> RangeSet {
        let tail = self.runs.pop();
        let len = self
            .runs
            .iter()
            .chain(tail.iter())
            .fold(0u64, |acc, &(s, l)| {
                acc.saturating_add(l - s).saturating_add(1)
            });
        RangeSet {
            below: self.runs.into_iter().collect(),
            tail,
            len,
        }
    }
}

/// Serialised as a list of inclusive `[first, last]` pairs: readable in results.json and as
/// compact as the set itself.
impl Serialize for RangeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.range_count()))?;
        for run in self.iter_ranges() {
            seq.serialize_element(&[*run.start(), *run.end()])?;
        }
        seq.end()
    }
}

/// Read back from the same `[first, last]` pairs, in any order (overlaps coalesce); a pair with
/// `first > last` is refused rather than read as an empty run.
impl<'de> Deserialize<'de> for RangeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut runs = Vec::<[u64; 2]>::deserialize(deserializer)?;
        if let Some([first, last]) = runs.iter().find(|[f, l]| f > l) {
            return Err(D::Error::custom(format!(
                "range [{first}, {last}] ends before it starts"
            )));
        }
        runs.sort_unstable();
        let mut out = Builder::default();
        for [first, last] in runs {
            out.push(first, last);
        }
        Ok(out.finish())
    }
}

impl FromIterator<u64> for RangeSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut set = RangeSet::new();
        for x in iter {
            set.insert(x);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn runs(s: &RangeSet) -> Vec<(u64, u64)> {
        s.iter_ranges().map(|r| (*r.start(), *r.end())).collect()
    }

    /// Runs sorted, disjoint, non-adjacent, and `len` matches them.
    fn assert_canonical(s: &RangeSet) {
        let r = runs(s);
        for w in r.windows(2) {
            assert!(w[0].1.checked_add(1).is_some_and(|n| n < w[1].0), "{r:?}");
        }
        let count: u64 = r.iter().map(|&(a, b)| b - a + 1).sum();
        assert_eq!(count, s.len());
        assert_eq!(s.is_empty(), r.is_empty());
    }

    fn model_runs(m: &BTreeSet<u64>) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &x in m {
            match out.last_mut() {
                Some(last) if last.1 + 1 == x => last.1 = x,
                _ => out.push((x, x)),
            }
        }
        out
    }

    #[test]
    fn in_order_inserts_stay_one_run() {
        let mut s = RangeSet::new();
        for x in 0..100_000 {
            assert!(s.insert(x));
        }
        assert_eq!(s.range_count(), 1);
        assert_eq!(s.len(), 100_000);
        assert!(!s.insert(500));
        assert!(s.contains(99_999) && !s.contains(100_000));
    }

    #[test]
    fn gaps_and_backfill_merge() {
        let mut s: RangeSet = [1, 2, 3, 7, 8, 10].into_iter().collect();
        assert_eq!(runs(&s), vec![(1, 3), (7, 8), (10, 10)]);
        assert!(s.insert(9)); // joins a run below with the tail
        assert_eq!(runs(&s), vec![(1, 3), (7, 10)]);
        assert!(s.insert(5));
        assert!(s.insert(4)); // joins two runs in the map side
        assert!(s.insert(6)); // and then with the tail
        assert_eq!(runs(&s), vec![(1, 10)]);
        assert!(s.insert(0));
        assert_eq!(runs(&s), vec![(0, 10)]);
        assert_canonical(&s);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let mut s = RangeSet::new();
        assert!(s.insert(u64::MAX));
        assert!(s.insert(u64::MAX - 1));
        assert!(s.insert(0));
        assert!(!s.insert(u64::MAX));
        assert_eq!(runs(&s), vec![(0, 0), (u64::MAX - 1, u64::MAX)]);
        assert_eq!(s.first_n(5), vec![0, u64::MAX - 1, u64::MAX]);
        let d = s.difference(&[u64::MAX].into_iter().collect());
        assert_eq!(runs(&d), vec![(0, 0), (u64::MAX - 1, u64::MAX - 1)]);
        assert_canonical(&s.union(&d));
    }

    #[test]
    fn difference_splits_runs() {
        let a: RangeSet = (0..100).collect();
        let b: RangeSet = [0, 10, 11, 50, 99, 200].into_iter().collect();
        let d = a.difference(&b);
        assert_eq!(runs(&d), vec![(1, 9), (12, 49), (51, 98)]);
        assert_eq!(d.len(), 95);
        assert!(a.difference(&a).is_empty());
        assert_eq!(b.first_n(3), vec![0, 10, 11]);
    }

    #[test]
    fn serialises_as_pairs() {
        let s: RangeSet = [1, 2, 3, 9].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some("[[1,3],[9,9]]")
        );
    }

    #[test]
    fn reads_back_what_it_writes_and_refuses_a_backwards_run() {
        let s: RangeSet = [1, 2, 3, 9, u64::MAX].into_iter().collect();
        let text = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(serde_json::from_str::<RangeSet>(&text).ok(), Some(s));
        let merged: Option<RangeSet> = serde_json::from_str("[[9,9],[1,4],[3,5]]").ok();
        assert_eq!(merged.map(|m| runs(&m)), Some(vec![(1, 5), (9, 9)]));
        let err = serde_json::from_str::<RangeSet>("[[5,1]]")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("[5, 1] ends before it starts")));
    }

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![
            8 => 0u64..300,
            1 => Just(u64::MAX),
            1 => Just(u64::MAX - 1),
        ]
    }

    proptest! {
        #[test]
        fn matches_btreeset_model(
            xs in proptest::collection::vec(value(), 0..300),
            ys in proptest::collection::vec(value(), 0..300),
            probes in proptest::collection::vec(value(), 0..50),
            n in 0usize..20,
        ) {
            let mut set = RangeSet::new();
            let mut model = BTreeSet::new();
            for &x in &xs {
                prop_assert_eq!(set.insert(x), model.insert(x));
            }
            assert_canonical(&set);
            prop_assert_eq!(set.len(), model.len() as u64);
            prop_assert_eq!(runs(&set), model_runs(&model));
            for &p in &probes {
                prop_assert_eq!(set.contains(p), model.contains(&p));
            }
            prop_assert_eq!(set.first_n(n), model.iter().copied().take(n).collect::<Vec<_>>());

            let other: RangeSet = ys.iter().copied().collect();
            let other_model: BTreeSet<u64> = ys.iter().copied().collect();
            let diff = set.difference(&other);
            assert_canonical(&diff);
            prop_assert_eq!(runs(&diff), model_runs(&model.difference(&other_model).copied().collect()));
            let inter = set.intersection(&other);
            assert_canonical(&inter);
            prop_assert_eq!(runs(&inter), model_runs(&model.intersection(&other_model).copied().collect()));
            let uni = set.union(&other);
            assert_canonical(&uni);
            prop_assert_eq!(runs(&uni), model_runs(&model.union(&other_model).copied().collect()));
            // Built sets and inserted sets share one canonical form.
            let reinserted: RangeSet = model.union(&other_model).copied().collect();
            prop_assert_eq!(uni, reinserted);
        }
    }
}
