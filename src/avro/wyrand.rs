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

    /// The output for state `s`.
    #[inline(always)]
    fn output(s: u64) -> u64 {
        let t = u128::from(s) * u128::from(s ^ MIX);
        (t >> 64) as u64 ^ t as u64
    }

    #[inline]
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(INCREMENT);
        Self::output(self.0)
    }

    /// Fills `out` with the next bytes of the stream (those `next_u64` would give, in order),
    /// four words per round: each word's state is the round's start plus a multiple of the
    /// increment, so the four multiplies are independent and overlap, and the words are
    /// written straight into `out` (a word assembled elsewhere and copied in stalls on store
    /// forwarding).
    pub fn fill_block(&mut self, out: &mut [u8]) {
        let mut rounds = out.chunks_exact_mut(32);
        for round in &mut rounds {
            let s = self.0;
            for (k, word) in (1u64..).zip(round.chunks_exact_mut(8)) {
                let w = Self::output(s.wrapping_add(INCREMENT.wrapping_mul(k)));
                word.copy_from_slice(&w.to_le_bytes());
            }
            self.0 = s.wrapping_add(INCREMENT.wrapping_mul(4));
        }
        self.fill_bytes(rounds.into_remainder());
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
    fn fill_block_continues_the_stream_and_covers_every_byte_value() {
        for len in [0, 1, 7, 8, 31, 32, 33, 100, 4096] {
            let (mut a, mut b) = (WyRand::stream(1, 1), WyRand::stream(1, 1));
            let mut block = vec![0xAA; len];
            a.fill_block(&mut block);
            let words: Vec<u8> = (0..len.div_ceil(8))
                .flat_map(|_| b.next_u64().to_le_bytes())
                .collect();
            assert_eq!(block, words[..len], "len {len}");
            assert_eq!(
                a.next_u64(),
                b.next_u64(),
                "len {len}: the stream goes on in step"
            );
        }
        let mut block = vec![0; 4096];
        WyRand::stream(2, 1).fill_block(&mut block);
        // Every byte value shows up in 4 KiB of uniform bytes (expected 16 each).
        let mut seen = [false; 256];
        block.iter().for_each(|b| seen[usize::from(*b)] = true);
        assert!(seen.iter().all(|s| *s));
    }
}
