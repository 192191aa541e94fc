//! Drawing a record straight into Avro binary: walks the compiled [`Plan`] once per record and
//! writes each value as it draws it, with no `Value` tree in between (no field-name clones, no
//! boxes, no hash maps, nothing to drop). This is the producer's hot path; `Value`s, when a test
//! or a tool wants one, are this output decoded by apache-avro.
//!
//! Structure and numbers come from one random stream and the contents of strings, bytes and
//! fixed from two others (`pool`), so record N has the same shape whatever the `Sizes`: its
//! encoded size then grows monotonically with `string_len`, which is what calibration
//! binary-searches.

use rand::Rng;

use super::header::Header;
use super::plan::{Node, Plan, Sizes, UuidAs, DAY_MS, MAX_RECURSION};
use super::pool::{Contents, Pool, ALNUM};
use super::wire::put_long;
use super::wyrand::WyRand;

/// Everything that changes while drawing: the random streams and the recursion bookkeeping.
pub(crate) struct State {
    pub sizes: Sizes,
    /// Structure and numbers.
    rng: WyRand,
    /// Contents of bytes and fixed.
    bytes: Pool,
    /// Contents of strings.
    text: Pool,
    /// How many times each record node is on the current path.
    active: Vec<u32>,
    /// Base-62 digits reserved at the end of map keys to make them distinct.
    key_digits: usize,
}

impl State {
    pub fn new(plan: &Plan, seed: u64, sizes: Sizes) -> State {
        let last_key = sizes.collection_len.saturating_sub(1);
        State {
            sizes,
            rng: WyRand::stream(seed, 0),
            bytes: Pool::new(WyRand::stream(seed, 1), Contents::Bytes),
            text: Pool::new(WyRand::stream(seed, 2), Contents::Text),
            active: vec![0; plan.nodes.len()],
            key_digits: std::iter::successors(Some(last_key), |n| Some(n / 62))
                .take_while(|n| *n > 0)
                .count(),
        }
    }

    /// `fraction` of string, bytes and fixed contents from now on is repeated runs (see `pool`).
    pub fn set_repeat(&mut self, fraction: f64) {
        self.bytes.set_repeat(fraction);
        self.text.set_repeat(fraction);
    }

    /// Appends an Avro string of `len` random alphanumerics.
    fn text(&mut self, buf: &mut Vec<u8>, len: usize) {
        put_long(buf, len as i64);
        self.text.take(buf, len);
    }

    /// A map key of exactly `max(string_len, key_digits)` characters, distinct within one map
    /// because its last `key_digits` characters spell the entry index in base 62.
    fn key(&mut self, buf: &mut Vec<u8>, index: usize) {
        self.text(buf, self.sizes.string_len.max(self.key_digits));
        let at = buf.len();
        let mut n = index;
        for c in buf[at - self.key_digits..].iter_mut().rev() {
            *c = ALNUM[n % 62];
            n /= 62;
        }
    }

    /// An unscaled value of at most `digits` digits (so it fits the precision and the fixed
    /// size), as two's complement big-endian: sign-extended to the fixed size, or minimal (with
    /// its length first) on bytes, which is how apache-avro writes a `Decimal`.
    fn decimal(&mut self, buf: &mut Vec<u8>, digits: u32, fixed: Option<usize>) {
        let v = match digits {
            // Most decimals (prices, amounts) fit an i64, whose draw is a fraction of an i128's.
            0..=18 => {
                let bound = 10i64.pow(digits) - 1;
                i128::from(self.rng.random_range(-bound..=bound))
            }
            _ => {
                let bound = 10i128.pow(digits) - 1;
                self.rng.random_range(-bound..=bound)
            }
        };
        match fixed {
            Some(n) if n >= 16 => {
                let sign = if v < 0 { 0xFF } else { 0 };
                buf.resize(buf.len() + n - 16, sign);
                buf.extend_from_slice(&v.to_be_bytes());
            }
            Some(n) => buf.extend_from_slice(&v.to_be_bytes()[16 - n..]),
            None => put_signed_bytes(buf, v),
        }
    }
}

/// `v` as Avro bytes holding its minimal two's complement big-endian form (at least one byte),
/// as num-bigint's `to_signed_bytes_be` gives it and apache-avro writes it.
fn put_signed_bytes(buf: &mut Vec<u8>, v: i128) {
    // Significant bits plus the sign bit, rounded up to bytes.
    let magnitude = if v < 0 { !v } else { v };
    let len = (128 - magnitude.leading_zeros() as usize) / 8 + 1;
    put_long(buf, len as i64);
    buf.extend_from_slice(&v.to_be_bytes()[16 - len..]);
}

impl Plan {
    /// Appends the Avro binary of one value of node `id`. At the root, `header` replaces the
    /// values drawn for the header fields (drawn all the same, so the streams stay in step).
    pub(crate) fn encode(
        &self,
        st: &mut State,
        buf: &mut Vec<u8>,
        id: usize,
        level: u32,
        header: Option<([usize; 4], &Header)>,
    ) {
        let limited = level >= MAX_RECURSION;
        // Items whose type has no finite value (a branch of pure self-recursion) cannot appear.
        let n_items = |st: &State, item: usize| match limited || !self.finite[item] {
            true => 0,
            false => st.sizes.collection_len,
        };
        match &self.nodes[id] {
            Node::Null => {}
            Node::Boolean => buf.push(u8::from(st.rng.random::<bool>())),
            &Node::Int(lo, hi) => put_long(buf, i64::from(st.rng.random_range(lo..=hi))),
            &Node::Long(lo, hi) => put_long(buf, st.rng.random_range(lo..=hi)),
            Node::Float => {
                let x: f32 = st.rng.random_range(-1.0e6..1.0e6);
                buf.extend_from_slice(&x.to_le_bytes());
            }
            Node::Double => {
                let x: f64 = st.rng.random_range(-1.0e9..1.0e9);
                buf.extend_from_slice(&x.to_le_bytes());
            }
            Node::Bytes => {
                put_long(buf, st.sizes.bytes_len as i64);
                st.bytes.take(buf, st.sizes.bytes_len);
            }
            Node::String => {
                st.text(buf, st.sizes.string_len);
            }
            &Node::Fixed(n) => st.bytes.take(buf, n),
            &Node::Enum(symbols) => put_long(buf, st.rng.random_range(0..symbols) as i64),
            &Node::Ref(target) => {
                let deeper = level + u32::from(st.active[target] > 0);
                self.encode(st, buf, target, deeper, None);
            }
            Node::Record(fields) => self.encode_record(st, buf, (id, fields), level, header),
            &Node::Array(item) => {
                let n = n_items(st, item);
                if n > 0 {
                    put_long(buf, n as i64);
                    for _ in 0..n {
                        self.encode(st, buf, item, level, None);
                    }
                }
                buf.push(0);
            }
            &Node::Map(item) => {
                let n = n_items(st, item);
                if n > 0 {
                    put_long(buf, n as i64);
                    for i in 0..n {
                        st.key(buf, i);
                        self.encode(st, buf, item, level, None);
                    }
                }
                buf.push(0);
            }
            Node::Union(choices, at_limit) => {
                let pick = match limited {
                    true => *at_limit,
                    false => st.rng.random_range(0..choices.len()),
                };
                let (index, branch) = choices[pick];
                put_long(buf, i64::from(index));
                self.encode(st, buf, branch, level, None);
            }
            &Node::Decimal(digits, fixed) => st.decimal(buf, digits, fixed),
            Node::BigDecimal => st.big_decimal(buf),
            &Node::Uuid(kind) => st.uuid(buf, kind),
            Node::Duration => st.duration(buf),
        }
    }

    /// A record's fields in order; at the root, the header fields carry `header`'s values.
    #[inline]
    fn encode_record(
        &self,
        st: &mut State,
        buf: &mut Vec<u8>,
        (id, fields): (usize, &[usize]),
        level: u32,
        header: Option<([usize; 4], &Header)>,
    ) {
        st.active[id] += 1;
        for (i, &child) in fields.iter().enumerate() {
            let mark = buf.len();
            self.encode(st, buf, child, level, None);
            if let Some(slot) = header.and_then(|(at, h)| stamp(at, h, i)) {
                buf.truncate(mark);
                put_long(buf, slot);
            }
        }
        st.active[id] -= 1;
    }
}

impl State {
    /// apache-avro's big-decimal: bytes holding (unscaled as bytes, scale as long).
    fn big_decimal(&mut self, buf: &mut Vec<u8>) {
        let scale = self.rng.random_range(0..=9i64);
        let unscaled = self
            .rng
            .random_range(-999_999_999_999_999i64..=999_999_999_999_999);
        let mut inner = Vec::with_capacity(16);
        put_signed_bytes(&mut inner, i128::from(unscaled));
        put_long(&mut inner, scale);
        put_long(buf, inner.len() as i64);
        buf.extend_from_slice(&inner);
    }

    fn uuid(&mut self, buf: &mut Vec<u8>, kind: UuidAs) {
        let u = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        match kind {
            UuidAs::String => {
                put_long(buf, 36);
                let mut text = [0u8; 36];
                buf.extend_from_slice(u.hyphenated().encode_lower(&mut text).as_bytes());
            }
            UuidAs::Bytes => {
                put_long(buf, 16);
                buf.extend_from_slice(u.as_bytes());
            }
            UuidAs::Fixed => buf.extend_from_slice(u.as_bytes()),
        }
    }

    /// Avro's duration: months, days and milliseconds as three little-endian u32.
    fn duration(&mut self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.rng.random_range(0..1200u32).to_le_bytes());
        buf.extend_from_slice(&self.rng.random_range(0..31u32).to_le_bytes());
        buf.extend_from_slice(&self.rng.random_range(0..DAY_MS as u32).to_le_bytes());
    }
}

/// The header value that field `i` of the root record carries, if it is a header field.
fn stamp(at: [usize; 4], h: &Header, i: usize) -> Option<i64> {
    let values = [i64::from(h.producer), h.seq, h.intended_us, h.wall_ms];
    at.iter().position(|p| *p == i).map(|k| values[k])
}
