//! The Confluent wire format: magic byte 0, the schema id as 4 big-endian bytes, then the Avro
//! binary datum. Also a fast path that reads kbench's header fields straight off the datum, which
//! works because kbench puts them first in every schema it registers.

use super::header::Header;

/// First byte of every Confluent-framed message.
pub const MAGIC: u8 = 0;
/// Bytes before the Avro datum: the magic byte and the 4-byte schema id.
pub const PREFIX_LEN: usize = 5;

/// Why a message cannot be read as a Confluent-framed kbench record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than the 5-byte prefix; holds the message length.
    #[error("message of {0} bytes is too short for the Confluent wire format (needs at least 5)")]
    TooShort(usize),
    /// The first byte is not `MAGIC`; holds that byte.
    #[error("message starts with byte {0:#04x}, not the Confluent magic byte 0")]
    BadMagic(u8),
    /// The header fields at the start of the datum are truncated, malformed or out of range.
    #[error("the kbench header fields could not be read from the Avro datum")]
    BadHeader,
}

/// Clear `buf` and write the 5-byte prefix for `schema_id`; the datum is appended after it.
pub fn start_frame(buf: &mut Vec<u8>, schema_id: u32) {
    buf.clear();
    buf.push(MAGIC);
    buf.extend_from_slice(&schema_id.to_be_bytes());
}

/// Split a framed message into (schema id, Avro datum).
pub fn split(bytes: &[u8]) -> Result<(u32, &[u8]), WireError> {
    if bytes.len() < PREFIX_LEN {
        return Err(WireError::TooShort(bytes.len()));
    }
    if bytes[0] != MAGIC {
        return Err(WireError::BadMagic(bytes[0]));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[PREFIX_LEN..]))
}

/// Appends `v` as Avro's zig-zag varint (int and long share it).
#[inline]
pub fn put_long(buf: &mut Vec<u8>, v: i64) {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    if z < 0x80 {
        // Counts, union branches, enum symbols: most varints written.
        buf.push(z as u8);
    } else if z < 0x4000 {
        // String and bytes lengths up to 8 KiB.
        buf.extend_from_slice(&[z as u8 | 0x80, (z >> 7) as u8]);
    } else {
        put_varint(buf, z);
    }
}

/// Branch-free: the seven-bit groups are spread into the bytes of one 128-bit word by three
/// mask-and-shift steps (the low 56 bits, eight groups) plus the top byte, every continuation
/// bit set but the last byte's, and the word is stored whole and the vector cut back to the
/// varint's length. A loop that stops at the last byte mispredicts on random-width values
/// (timestamps, ids); a loop over all ten groups cost ~120 instructions per call; assembling the
/// bytes in a stack array and copying it stalls on store forwarding.
#[inline(never)]
fn put_varint(buf: &mut Vec<u8>, z: u64) {
    let n = (64 - (z | 1).leading_zeros() as usize).div_ceil(7);
    let mut lo = z & 0x00ff_ffff_ffff_ffff;
    lo = (lo & 0x0000_0000_0fff_ffff) | (lo & 0x00ff_ffff_f000_0000) << 4;
    lo = (lo & 0x0000_3fff_0000_3fff) | (lo & 0x0fff_c000_0fff_c000) << 2;
    lo = (lo & 0x007f_007f_007f_007f) | (lo & 0x3f80_3f80_3f80_3f80) << 1;
    let hi = (z >> 56) & 0x7f | (z >> 63) << 8;
    let continuation = 0x8080_8080_8080_8080_8080u128 & ((1u128 << (8 * (n - 1))) - 1);
    let word = (u128::from(hi) << 64 | u128::from(lo)) | continuation;
    let start = buf.len();
    buf.resize(start + 16, 0);
    buf[start..start + 16].copy_from_slice(&word.to_le_bytes());
    buf.truncate(start + n);
}

/// Avro's zig-zag varint (int and long share it).
fn read_long(data: &mut &[u8]) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = data.split_first()?;
        *data = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// The header from the first four fields of a datum written with a kbench-augmented schema
/// (producer int, seq long, intended_us long, wall_ms long), without decoding the rest.
pub fn read_header(datum: &[u8]) -> Result<Header, WireError> {
    let mut d = datum;
    let mut next = || read_long(&mut d).ok_or(WireError::BadHeader);
    let producer = i32::try_from(next()?).map_err(|_| WireError::BadHeader)?;
    Ok(Header {
        producer,
        seq: next()?,
        intended_us: next()?,
        wall_ms: next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_splits() {
        let mut buf = vec![9, 9, 9];
        start_frame(&mut buf, 0x0102_0304);
        buf.extend_from_slice(b"datum");
        assert_eq!(buf[..5], [0, 1, 2, 3, 4]);
        assert_eq!(split(&buf), Ok((0x0102_0304, &b"datum"[..])));
        assert_eq!(split(&[0, 1]), Err(WireError::TooShort(2)));
        assert_eq!(split(&[1, 0, 0, 0, 0]), Err(WireError::BadMagic(1)));
    }

    #[test]
    fn reads_zigzag_varints() {
        // 1 -> 2, -1 -> 1, 64 -> 0x80 0x01, i64::MIN -> ten bytes.
        let mut d: &[u8] = &[0x02, 0x01, 0x80, 0x01];
        assert_eq!(read_long(&mut d), Some(1));
        assert_eq!(read_long(&mut d), Some(-1));
        assert_eq!(read_long(&mut d), Some(64));
        assert_eq!(read_long(&mut d), None);
        assert!(read_header(&[0x02]).is_err());
    }

    #[test]
    fn writes_minimal_varints_of_every_width() {
        let mut values = vec![
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            -8192,
            8192,
            i64::MAX,
            i64::MIN,
        ];
        for bits in 0..63 {
            values.extend([1i64 << bits, (1i64 << bits) - 1, -(1i64 << bits)]);
        }
        for v in values {
            let mut buf = vec![0xEE];
            put_long(&mut buf, v);
            let written = &buf[1..];
            let (last, init) = written.split_last().expect("at least one byte");
            assert!(init.iter().all(|b| b & 0x80 != 0), "{v}: {written:02x?}");
            assert!(
                last & 0x80 == 0 && (init.is_empty() || *last != 0),
                "{v}: {written:02x?}"
            );
            let mut d = written;
            assert_eq!(read_long(&mut d), Some(v));
            assert!(d.is_empty());
        }
        let mut buf = Vec::new();
        for v in [64, -65, 8192, i64::MIN] {
            put_long(&mut buf, v);
        }
        let min = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(buf[..7], [0x80, 0x01, 0x81, 0x01, 0x80, 0x80, 0x01]);
        assert_eq!(buf[7..], min);
    }
}
