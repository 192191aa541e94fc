//! The contents of generated strings, bytes and fixed values: random bytes, or random
//! alphanumeric text, drawn a block at a time and handed out in order. Drawing and mapping a
//! whole block in one pass keeps the loops long and vectorised; per value, at ~70 bytes, their
//! start-up and scalar tails cost more than the bytes themselves. Every byte is used once, so
//! records share no text and compress as random text does.

use super::wyrand::WyRand;

pub(super) const ALNUM: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Bytes drawn per refill: a few records' worth of text, small enough to stay in L1.
const BLOCK: usize = 4096;

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
}

impl Pool {
    pub fn new(rng: WyRand, contents: Contents) -> Pool {
        Pool {
            rng,
            contents,
            block: Box::new([0; BLOCK]),
            at: BLOCK,
        }
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
        self.at = 0;
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
