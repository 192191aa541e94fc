//! The record generator's random streams: Wang Yi's wyrand, one 64-bit multiply per eight random
//! bytes. A record's bytes are mostly drawn text, so the generator's speed is this generator's
//! speed; wyrand passes the statistical suites (BigCrush, PractRand) and needs no cipher rounds,
//! which ChaCha8 (kbench's first choice) spent ~0.6 µs on per 1 KiB record. Not for secrets.

use rand::RngCore;

const INCREMENT: u64 = 0xa076_1d64_78bd_642f;
const MIX: u64 = 0xe703_7ed1_a0b4_28db;

pub(crate) struct WyRand(u64);

/// SplitMix64's finaliser: neighbouring seeds and stream numbers land far apart.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl WyRand {
    /// Stream `n` of `seed`: the same (seed, n) always gives the same numbers.
    pub fn stream(seed: u64, n: u64) -> WyRand {
        WyRand(mix(seed ^ mix(n.wrapping_add(INCREMENT))))
    }

    #[inline]
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(INCREMENT);
        let t = u128::from(self.0) * u128::from(self.0 ^ MIX);
        (t >> 64) as u64 ^ t as u64
    }

    /// Appends `len` random bytes, written a word at a time straight into the vector (a word
    /// assembled elsewhere and copied in stalls on store forwarding).
    pub fn append(&mut self, buf: &mut Vec<u8>, len: usize) {
        let start = buf.len();
        buf.resize(start + len.next_multiple_of(8), 0);
        for word in buf[start..].chunks_exact_mut(8) {
            word.copy_from_slice(&self.step().to_le_bytes());
        }
        buf.truncate(start + len);
    }
}

impl RngCore for WyRand {
    fn next_u32(&mut self) -> u32 {
        self.step() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.step()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let n = chunk.len();
            chunk.copy_from_slice(&self.step().to_le_bytes()[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, n| {
            let mut r = WyRand::stream(seed, n);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 0), draw(7, 0));
        assert_ne!(draw(7, 0), draw(7, 1));
        assert_ne!(draw(7, 0), draw(8, 0));
    }

    #[test]
    fn append_adds_exactly_len_bytes_that_vary() {
        let mut r = WyRand::stream(1, 1);
        for len in [0, 1, 7, 8, 31, 32, 33, 100] {
            let mut buf = vec![0xAA];
            r.append(&mut buf, len);
            assert_eq!(buf.len(), 1 + len);
            assert_eq!(buf[0], 0xAA);
        }
        let mut buf = Vec::new();
        r.append(&mut buf, 4096);
        // Every byte value shows up in 4 KiB of uniform bytes (expected 16 each).
        let mut seen = [false; 256];
        buf.iter().for_each(|b| seen[usize::from(*b)] = true);
        assert!(seen.iter().all(|s| *s));
    }
}
