//! The contents of generated strings, bytes and fixed values: random bytes, or random
//! alphanumeric text, drawn a block at a time and handed out in order. Drawing and mapping a
//! whole block in one pass keeps the loops long and vectorised; per value, at ~70 bytes, their
//! start-up and scalar tails cost more than the bytes themselves. Every byte is used once, so
//! records share no text and compress as random text does — unless a `repeat` fraction is set:
//! then that share of each block, in runs of [`RUN`] bytes, is copied from a small dictionary
//! drawn once per pool, which any compressor finds again (real payloads repeat field values,
//! enum-like strings and templates; random bytes are the worst case, not the typical one).

use rand::RngCore;

use super::wyrand::WyRand;

pub(super) const ALNUM: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Bytes drawn per refill: a few records' worth of text, small enough to stay in L1.
const BLOCK: usize = 4096;
/// Length of a repeated run: long enough that LZ-family compressors (lz4 too) replace it by a
/// back-reference.
pub(super) const RUN: usize = 64;
/// Runs in the dictionary: 1 KiB, inside every compressor's window.
const DICT_RUNS: usize = 16;

/// `ALNUM[b * 62 / 256]`, in arithmetic rather than a table lookup so that the compiler turns
/// the loop over a block into vector instructions.
#[inline(always)]
fn to_alnum(b: u8) -> u8 {
    let i = ((u16::from(b) * 62) >> 8) as u8;
    i + b'0' + if i >= 10 { 7 } else { 0 } + if i >= 36 { 6 } else { 0 }
}

/// What a pool hands out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Contents {
    /// Uniform bytes (Avro bytes and fixed).
    Bytes,
    /// Uniform over the 62 ASCII letters and digits, 4 or 5 byte values each (Avro strings).
    Text,
}

pub(super) struct Pool {
    rng: WyRand,
    contents: Contents,
    block: Box<[u8; BLOCK]>,
    /// Next unused byte of `block`.
    at: usize,
    /// Share of runs copied from `dict`, in 1/65536ths (0: all random).
    repeat: u32,
    dict: Box<[u8; RUN * DICT_RUNS]>,
}

impl Pool {
    pub fn new(rng: WyRand, contents: Contents) -> Pool {
        Pool {
            rng,
            contents,
            block: Box::new([0; BLOCK]),
            at: BLOCK,
            repeat: 0,
            dict: Box::new([0; RUN * DICT_RUNS]),
        }
    }

    /// From now on, `fraction` (0..=1) of the contents is repeated runs; the dictionary they
    /// come from is drawn here, from the pool's own stream.
    pub fn set_repeat(&mut self, fraction: f64) {
        self.repeat = (fraction.clamp(0.0, 1.0) * 65536.0).round() as u32;
        self.rng.fill_block(&mut self.dict[..]);
        if self.contents == Contents::Text {
            self.dict.iter_mut().for_each(|b| *b = to_alnum(*b));
        }
        self.at = BLOCK;
    }

    /// Appends the next `len` bytes.
    pub fn take(&mut self, buf: &mut Vec<u8>, mut len: usize) {
        buf.reserve(len);
        while len > 0 {
            if self.at == BLOCK {
                self.refill();
            }
            let n = len.min(BLOCK - self.at);
            buf.extend_from_slice(&self.block[self.at..self.at + n]);
            self.at += n;
            len -= n;
        }
    }

    #[inline(never)]
    fn refill(&mut self) {
        self.rng.fill_block(&mut self.block[..]);
        if self.contents == Contents::Text {
            map_text(&mut self.block);
        }
        if self.repeat > 0 {
            self.repeat_runs();
        }
        self.at = 0;
    }

    /// Replace each run of the block by a dictionary run with probability `repeat`.
    fn repeat_runs(&mut self) {
        for run in self.block.chunks_exact_mut(RUN) {
            let r = self.rng.next_u64();
            if (r & 0xFFFF) < u64::from(self.repeat) {
                let i = (r >> 16) as usize % DICT_RUNS;
                run.copy_from_slice(&self.dict[i * RUN..(i + 1) * RUN]);
            }
        }
    }
}

/// Maps every byte of `block` to an alphanumeric, with 32-byte vectors where the CPU has AVX2
/// (the build targets baseline x86-64, whose SSE2 vectors are half as wide).
fn map_text(block: &mut [u8; BLOCK]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { map_text_avx2(block) };
    }
    map_text_portable(block);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn map_text_avx2(block: &mut [u8; BLOCK]) {
    map_text_portable(block);
}

#[inline(always)]
fn map_text_portable(block: &mut [u8; BLOCK]) {
    for b in block.iter_mut() {
        *b = to_alnum(*b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeated_share(fraction: f64, contents: Contents) -> f64 {
        let mut p = Pool::new(WyRand::stream(9, 1), contents);
        p.set_repeat(fraction);
        let mut buf = Vec::new();
        p.take(&mut buf, 64 * BLOCK);
        let runs = buf.chunks_exact(RUN);
        let n = runs.len() as f64;
        let hits = runs
            .filter(|r| p.dict.chunks_exact(RUN).any(|d| d == *r))
            .count();
        hits as f64 / n
    }

    #[test]
    fn the_repeated_share_is_the_fraction_asked_for() {
        for (f, c) in [
            (0.0, Contents::Text),
            (0.5, Contents::Bytes),
            (0.9, Contents::Text),
        ] {
            let got = repeated_share(f, c);
            assert!((got - f).abs() < 0.03, "asked {f}, got {got}");
        }
        let mut p = Pool::new(WyRand::stream(9, 2), Contents::Text);
        p.set_repeat(1.0);
        let mut buf = Vec::new();
        p.take(&mut buf, BLOCK);
        assert!(buf.iter().all(|b| ALNUM.contains(b)), "text stays text");
    }

    #[test]
    fn every_byte_maps_to_an_alphanumeric_and_every_alphanumeric_is_reached() {
        let mut seen = [0u32; 256];
        for b in 0..=255u8 {
            seen[usize::from(to_alnum(b))] += 1;
        }
        for (c, n) in seen.iter().enumerate() {
            match ALNUM.contains(&(c as u8)) {
                // 256 bytes over 62 characters: each is hit 4 or 5 times.
                true => assert!((4..=5).contains(n), "{:?} hit {n} times", c as u8 as char),
                false => assert_eq!(*n, 0, "{c} is not alphanumeric"),
            }
        }
    }

    /// The mapping as documented: `ALNUM[b * 62 / 256]` by table lookup, independent of the
    /// arithmetic `to_alnum` every compiled path uses.
    fn reference(b: u8) -> u8 {
        ALNUM[usize::from(b) * 62 / 256]
    }

    /// Every byte value, several times over, in an order no vector lane lines up with.
    fn mixed_block() -> Box<[u8; BLOCK]> {
        let mut block = Box::new([0u8; BLOCK]);
        for (i, b) in block.iter_mut().enumerate() {
            *b = (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8;
        }
        block
    }

    #[test]
    fn every_compiled_mapping_matches_the_documented_table() {
        let input = mixed_block();
        let expected: Vec<u8> = input.iter().map(|&b| reference(b)).collect();
        let mut portable = input.clone();
        map_text_portable(&mut portable);
        assert_eq!(portable.to_vec(), expected, "portable mapping");
        let mut dispatched = input.clone();
        map_text(&mut dispatched);
        assert_eq!(dispatched.to_vec(), expected, "runtime-dispatched mapping");
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let mut avx2 = input.clone();
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { map_text_avx2(&mut avx2) };
            assert_eq!(avx2.to_vec(), expected, "AVX2 mapping");
        } else {
            eprintln!("this CPU has no AVX2: only the portable mapping was checked");
        }
    }

    #[test]
    fn takes_are_the_stream_in_order_across_blocks() {
        let mut whole = vec![0; 3 * BLOCK];
        WyRand::stream(5, 1).fill_block(&mut whole);
        let mut pool = Pool::new(WyRand::stream(5, 1), Contents::Bytes);
        let mut got = Vec::new();
        // Lengths that end blocks mid-take and exactly, and a take longer than a block.
        for len in [0, 1, 70, BLOCK - 71, BLOCK + 5, 100] {
            let before = got.len();
            pool.take(&mut got, len);
            assert_eq!(got.len(), before + len);
        }
        assert_eq!(got, whole[..got.len()]);
    }

    #[test]
    fn text_is_alphanumeric_and_varied() {
        let mut pool = Pool::new(WyRand::stream(9, 1), Contents::Text);
        let mut text = Vec::new();
        pool.take(&mut text, 2 * BLOCK + 3);
        assert!(text.iter().all(|c| c.is_ascii_alphanumeric()));
        let distinct: std::collections::BTreeSet<_> = text.iter().collect();
        assert_eq!(distinct.len(), 62);
    }
}
