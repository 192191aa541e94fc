//! What records look like beyond their schema: how their sizes are spread (one calibrated size,
//! a uniform range or a histogram), how compressible their contents are, and which keys they
//! carry (none, uniform over N, Zipf-skewed over N). Benchmarks that send one size of random
//! bytes with no key measure a workload nobody runs: compression, batching and the partitioner
//! all depend on these.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::avro::generate::LenModel;

/// How record sizes are spread, in encoded Avro bytes (the datum, as `record_size`).
#[derive(Debug, Clone, PartialEq)]
pub enum SizeDist {
    /// Every record the same size (`record_size = 1024`, or the schema's given lengths).
    Fixed,
    /// Uniform between two sizes, both included.
    Uniform {
        /// Smallest, bytes.
        min: usize,
        /// Largest, bytes.
        max: usize,
    },
    /// Sizes drawn with the given weights.
    Histogram(Vec<(usize, f64)>),
}

impl SizeDist {
    /// Mean size, bytes; `None` for `Fixed` (the calibrated size is the mean).
    pub fn mean(&self) -> Option<f64> {
        match self {
            SizeDist::Fixed => None,
            SizeDist::Uniform { min, max } => Some((min + max) as f64 / 2.0),
            SizeDist::Histogram(h) => {
                let total: f64 = h.iter().map(|(_, w)| w).sum();
                Some(h.iter().map(|(s, w)| *s as f64 * w).sum::<f64>() / total)
            }
        }
    }

    /// In words, for results and reports.
    pub fn describe(&self) -> String {
        match self {
            SizeDist::Fixed => "fixed".into(),
            SizeDist::Uniform { min, max } => format!("uniform {min}..{max} B"),
            SizeDist::Histogram(h) => {
                let total: f64 = h.iter().map(|(_, w)| w).sum();
                let parts: Vec<String> = (h.iter())
                    .map(|(s, w)| format!("{s} B {:.0} %", w / total * 100.0))
                    .collect();
                format!("histogram {}", parts.join(", "))
            }
        }
    }
}

/// Which keys records carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyDist {
    /// No key: the partitioner spreads records by itself.
    None,
    /// One of `count` keys, each as likely.
    Uniform {
        /// Distinct keys.
        count: u32,
    },
    /// One of `count` keys, key k (1-based) with weight 1/k^exponent: a few hot keys.
    Zipf {
        /// Distinct keys.
        count: u32,
        /// Skew; 0 is uniform, 1 is classic Zipf.
        exponent: f64,
    },
}

impl KeyDist {
    /// In words, for results and reports.
    pub fn describe(&self) -> String {
        match self {
            KeyDist::None => "none".into(),
            KeyDist::Uniform { count } => format!("uniform over {count} keys"),
            KeyDist::Zipf { count, exponent } => {
                format!("zipf (exponent {exponent}) over {count} keys")
            }
        }
    }
}

/// The payload a scenario asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadSpec {
    /// How sizes are spread.
    pub sizes: SizeDist,
    /// Share (0..=1) of string and bytes contents that repeats (compressible).
    pub repeat: f64,
    /// Which keys records carry.
    pub keys: KeyDist,
}

impl Default for PayloadSpec {
    fn default() -> Self {
        PayloadSpec {
            sizes: SizeDist::Fixed,
            repeat: 0.0,
            keys: KeyDist::None,
        }
    }
}

/// The payload as a producer draws it: the spec, and the schema's length model when sizes
/// vary (`None` for fixed sizes).
#[derive(Debug, Clone, Default)]
pub struct PayloadPlan {
    /// What the scenario asked for.
    pub spec: PayloadSpec,
    /// How the writer schema's size follows its string/bytes length.
    pub model: Option<LenModel>,
}

impl PayloadPlan {
    /// The size draw of a producer seeded with `seed`, when sizes vary.
    pub fn size_draw(&self, seed: u64) -> Option<SizeDraw> {
        SizeDraw::new(&self.spec.sizes, self.model?, seed)
    }
}

/// The partitioner keyed records get unless `[producer.properties]` names one: the Java
/// client's hash (murmur2), so a key lands where a Java producer would put it.
pub const KEYED_PARTITIONER: &str = "murmur2_random";

/// Draws each record's string/bytes length from a size distribution.
pub struct SizeDraw {
    model: LenModel,
    dist: SizeDist,
    /// Cumulative weights of a histogram.
    cdf: Vec<f64>,
    rng: ChaCha8Rng,
}

impl SizeDraw {
    /// `None` for fixed sizes: the generator's lengths never change.
    pub fn new(dist: &SizeDist, model: LenModel, seed: u64) -> Option<SizeDraw> {
        let cdf = match dist {
            SizeDist::Fixed => return None,
            SizeDist::Uniform { .. } => Vec::new(),
            SizeDist::Histogram(h) => cumulative(h.iter().map(|(_, w)| *w)),
        };
        Some(SizeDraw {
            model,
            dist: dist.clone(),
            cdf,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5153_495a_4553),
        })
    }

    /// The next record's string/bytes length.
    #[inline]
    pub fn next_len(&mut self) -> usize {
        let size = match &self.dist {
            SizeDist::Fixed => unreachable!("no SizeDraw for fixed sizes"),
            SizeDist::Uniform { min, max } => self.rng.random_range(*min..=*max),
            SizeDist::Histogram(h) => h[pick(&self.cdf, self.rng.random())].0,
        };
        self.model.len_for(size)
    }
}

/// Draws each record's key.
pub struct KeyDraw {
    count: u32,
    /// Cumulative weights for Zipf; empty for uniform.
    cdf: Vec<f64>,
    rng: ChaCha8Rng,
    buf: Vec<u8>,
}

impl KeyDraw {
    /// `None` when records carry no key.
    pub fn new(keys: KeyDist, seed: u64) -> Option<KeyDraw> {
        let (count, cdf) = match keys {
            KeyDist::None => return None,
            KeyDist::Uniform { count } => (count, Vec::new()),
            KeyDist::Zipf { count, exponent } => (
                count,
                cumulative((1..=count).map(|k| 1.0 / f64::from(k).powf(exponent))),
            ),
        };
        Some(KeyDraw {
            count,
            cdf,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4b45_5953),
            buf: Vec::with_capacity(16),
        })
    }

    /// Index (0-based) of the next key.
    #[inline]
    pub fn next_index(&mut self) -> u32 {
        if self.cdf.is_empty() {
            self.rng.random_range(0..self.count)
        } else {
            pick(&self.cdf, self.rng.random()) as u32
        }
    }

    /// The next key, `key-<index>`.
    #[inline]
    pub fn next_key(&mut self) -> &[u8] {
        use std::io::Write;
        let i = self.next_index();
        self.buf.clear();
        let _ = write!(self.buf, "key-{i}");
        &self.buf
    }
}

/// Running sums of `weights`, normalised to end at 1.
fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    cdf.iter_mut().for_each(|c| *c /= acc);
    cdf
}

/// The first index whose cumulative weight exceeds `u` (0..1).
#[inline]
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|c| *c <= u).min(cdf.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_keys_are_skewed_and_uniform_ones_are_not() {
        let share_of_top = |keys| {
            let mut d = KeyDraw::new(keys, 7).expect("keyed");
            let n = 20_000;
            (0..n).filter(|_| d.next_index() == 0).count() as f64 / n as f64
        };
        let zipf = share_of_top(KeyDist::Zipf {
            count: 100,
            exponent: 1.0,
        });
        // H(100) = 5.187: the top key of Zipf(1) over 100 has 1/5.187 = 19.3 % of the records.
        assert!((zipf - 0.193).abs() < 0.015, "top key share {zipf}");
        let uniform = share_of_top(KeyDist::Uniform { count: 100 });
        assert!((uniform - 0.01).abs() < 0.005, "top key share {uniform}");
        assert!(KeyDraw::new(KeyDist::None, 1).is_none());
        let mut d = KeyDraw::new(KeyDist::Uniform { count: 3 }, 1).unwrap();
        assert!(d.next_key().starts_with(b"key-"));
    }

    #[test]
    fn sizes_follow_their_distribution_through_the_length_model() {
        let model = LenModel {
            base: 100.0,
            per_len: 2.0,
        };
        let dist = SizeDist::Histogram(vec![(300, 3.0), (1100, 1.0)]);
        assert_eq!(dist.mean(), Some(500.0));
        let mut d = SizeDraw::new(&dist, model, 3).expect("not fixed");
        let lens: Vec<usize> = (0..8000).map(|_| d.next_len()).collect();
        assert!(lens.iter().all(|l| *l == 100 || *l == 500));
        let small = lens.iter().filter(|l| **l == 100).count() as f64 / 8000.0;
        assert!((small - 0.75).abs() < 0.02, "share of 300 B: {small}");
        let uni = SizeDist::Uniform { min: 100, max: 300 };
        let mut d = SizeDraw::new(&uni, model, 3).unwrap();
        assert!((0..1000).map(|_| d.next_len()).all(|l| l <= 100));
        assert!(SizeDraw::new(&SizeDist::Fixed, model, 1).is_none());
    }
}
