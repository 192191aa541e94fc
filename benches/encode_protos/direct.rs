//! Prototype of the bigger fix: generate straight into the wire buffer, walking the schema once
//! per record and writing Avro binary as it draws random values, with no `Value` tree (so no
//! field-name `String` clones, no boxes, no `HashMap`, no drop), the header fields written first
//! from the `Header`, and the alphanumeric mapping done through a 256-entry table. It draws from
//! the same kinds of distributions as `kbench::avro::generate` (ChaCha8, one stream for
//! structure, one for text; strings of `string_len` alphanumerics; collections of
//! `collection_len`; decimals within the precision), so its cost stands for what a
//! `Generator::generate_into(&mut Vec<u8>, &Header)` in kbench would cost. Not byte-identical to
//! the `Generator`'s records; `proto_matches_apache_avro` checks that they decode and have the
//! same size.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema, Schema, UuidSchema};
use kbench::avro::generate::Sizes;
use kbench::avro::header::Header;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::proto::long;

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// `ALNUM[b % 62]` for every byte `b`: the generator's mapping, one load per character.
const TABLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ALNUM[i % 62];
        i += 1;
    }
    t
};

pub struct Direct<'s> {
    root: &'s Schema,
    names: HashMap<Name, &'s Schema>,
    rng: ChaCha8Rng,
    fill: ChaCha8Rng,
    sizes: Sizes,
}

impl<'s> Direct<'s> {
    pub fn new(root: &'s Schema, seed: u64, sizes: Sizes) -> Direct<'s> {
        let resolved = ResolvedSchema::try_from(root).expect("resolve");
        let mut fill = ChaCha8Rng::seed_from_u64(seed);
        fill.set_stream(1);
        Direct {
            root,
            names: resolved.get_names().clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            fill,
            sizes,
        }
    }

    /// Appends one record, header first (kbench puts the four header fields first).
    pub fn write(&mut self, buf: &mut Vec<u8>, h: &Header) {
        let Schema::Record(r) = self.root else {
            panic!("top-level schema is not a record")
        };
        long(buf, i64::from(h.producer));
        long(buf, h.seq);
        long(buf, h.intended_us);
        long(buf, h.wall_ms);
        let ns = r.name.namespace();
        for f in &r.fields[4..] {
            self.gen(buf, &f.schema, ns);
        }
    }

    fn raw(&mut self, buf: &mut Vec<u8>, len: usize) -> usize {
        let start = buf.len();
        buf.resize(start + len, 0);
        self.fill.fill_bytes(&mut buf[start..]);
        start
    }

    fn text(&mut self, buf: &mut Vec<u8>, len: usize) -> usize {
        long(buf, len as i64);
        let start = self.raw(buf, len);
        for c in &mut buf[start..] {
            *c = TABLE[usize::from(*c)];
        }
        start
    }

    fn gen(&mut self, buf: &mut Vec<u8>, s: &Schema, ns: Option<&str>) {
        let n = self.sizes.collection_len;
        match s {
            Schema::Ref { name } => {
                let target = self.names[&*name.fully_qualified_name(ns)];
                self.gen(buf, target, ns)
            }
            Schema::Null => {}
            Schema::Boolean => buf.push(u8::from(self.rng.random::<bool>())),
            Schema::Int => long(buf, i64::from(self.rng.random::<i32>())),
            Schema::Date => long(buf, self.rng.random_range(0..=47_481)),
            Schema::TimeMillis => long(buf, self.rng.random_range(0..86_400_000)),
            Schema::Long | Schema::TimeMicros => long(buf, self.rng.random::<i64>()),
            Schema::TimestampMillis | Schema::LocalTimestampMillis => long(
                buf,
                self.rng.random_range(946_684_800_000..4_102_444_799_999),
            ),
            Schema::TimestampMicros
            | Schema::LocalTimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampNanos => long(
                buf,
                self.rng
                    .random_range(946_684_800_000_000..4_102_444_799_999_000),
            ),
            Schema::Float => {
                let x: f32 = self.rng.random_range(-1.0e6..1.0e6);
                buf.extend_from_slice(&x.to_le_bytes())
            }
            Schema::Double => {
                let x: f64 = self.rng.random_range(-1.0e9..1.0e9);
                buf.extend_from_slice(&x.to_le_bytes())
            }
            Schema::Bytes => {
                let len = self.sizes.bytes_len;
                long(buf, len as i64);
                self.raw(buf, len);
            }
            Schema::String => {
                self.text(buf, self.sizes.string_len);
            }
            Schema::Uuid(UuidSchema::String) => {
                let u = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
                let mut t = [0u8; 36];
                long(buf, 36);
                buf.extend_from_slice(u.hyphenated().encode_lower(&mut t).as_bytes());
            }
            Schema::Fixed(f) => {
                self.raw(buf, f.size);
            }
            Schema::Enum(e) => long(buf, self.rng.random_range(0..e.symbols.len()) as i64),
            Schema::Decimal(d) if matches!(d.inner, InnerDecimalSchema::Bytes) => {
                let digits = d.precision.min(18) as u32;
                let bound = 10i64.pow(digits) - 1;
                let be = self.rng.random_range(-bound..=bound).to_be_bytes();
                let sign = if be[0] & 0x80 != 0 { 0xFF } else { 0 };
                let skip = (0..7)
                    .take_while(|&i| be[i] == sign && (be[i + 1] & 0x80) == (sign & 0x80))
                    .count();
                long(buf, (8 - skip) as i64);
                buf.extend_from_slice(&be[skip..]);
            }
            Schema::Union(u) => {
                let i = self.rng.random_range(0..u.variants().len());
                long(buf, i as i64);
                self.gen(buf, &u.variants()[i], ns);
            }
            Schema::Array(a) => {
                if n > 0 {
                    long(buf, n as i64);
                    for _ in 0..n {
                        self.gen(buf, &a.items, ns);
                    }
                }
                buf.push(0);
            }
            Schema::Map(m) => {
                if n > 0 {
                    long(buf, n as i64);
                    for i in 0..n {
                        // Distinct keys: the last character spells the entry index.
                        let len = self.sizes.string_len.max(1);
                        let start = self.text(buf, len);
                        buf[start + len - 1] = ALNUM[i % 62];
                        self.gen(buf, &m.types, ns);
                    }
                }
                buf.push(0);
            }
            Schema::Record(r) => {
                let inner = r.name.namespace().or(ns);
                for f in &r.fields {
                    self.gen(buf, &f.schema, inner);
                }
            }
            other => panic!("direct prototype does not handle {other:?}"),
        }
    }
}
