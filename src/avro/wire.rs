//! The Confluent wire format: magic byte 0, the schema id as 4 big-endian bytes, then the Avro
//! binary datum. Also a fast path that reads kbench's header fields straight off the datum, which
//! works because kbench puts them first in every schema it registers.

use super::header::Header;

pub const MAGIC: u8 = 0;
pub const PREFIX_LEN: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes is too short for the Confluent wire format (needs at least 5)")]
    TooShort(usize),
    #[error("message starts with byte {0:#04x}, not the Confluent magic byte 0")]
    BadMagic(u8),
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
        // Lengths, counts, union branches and enum symbols: nearly every varint written.
        buf.push(z as u8);
    } else {
        put_varint(buf, z);
    }
}

/// Branch-free: the byte count comes from the leading zeros and all ten candidate bytes are
/// computed, then appended as a fixed 10 bytes and cut back. A loop that stops at the last byte
/// mispredicts on random-width values (timestamps, ids), and a push per byte stores the length
/// each time.
#[inline(never)]
fn put_varint(buf: &mut Vec<u8>, z: u64) {
    let n = (64 - (z | 1).leading_zeros() as usize).div_ceil(7);
    let mut out = [0u8; 10];
    let mut rest = z;
    for b in out.iter_mut() {
        *b = rest as u8 | 0x80;
        rest >>= 7;
    }
    out[n - 1] &= 0x7f;
    let end = buf.len() + n;
    buf.extend_from_slice(&out);
    buf.truncate(end);
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
}
