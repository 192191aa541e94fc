//! Prototype of a fix: encode a `Value` positionally against the writer schema. The generator
//! (and `HeaderSlots::set`) produce record fields in schema order, so the encoder can walk
//! fields by index instead of building a `HashMap` of field names per record, which is what
//! apache-avro's `encode_internal` does for every record (nested ones too). It also writes
//! decimals and uuids without the per-value `ResolvedSchema` / `String` that apache-avro builds.
//!
//! Only a measurement aid: it trusts the value to match the schema (the generator guarantees
//! that), and the `proto_matches_apache_avro` check below pins its output to apache-avro's.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema, Schema, UuidSchema};
use apache_avro::types::Value;

pub struct Encoder<'s> {
    root: &'s Schema,
    names: HashMap<Name, &'s Schema>,
}

/// Avro's zig-zag varint `long`.
pub(super) fn long(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

fn bytes(buf: &mut Vec<u8>, b: &[u8]) {
    long(buf, b.len() as i64);
    buf.extend_from_slice(b);
}

impl<'s> Encoder<'s> {
    pub fn new(root: &'s Schema) -> Encoder<'s> {
        let resolved = ResolvedSchema::try_from(root).expect("resolve");
        let names = resolved.get_names().clone();
        Encoder { root, names }
    }

    pub fn write(&self, buf: &mut Vec<u8>, v: &Value) {
        self.enc(buf, v, self.root, None);
    }

    fn enc(&self, buf: &mut Vec<u8>, v: &Value, s: &Schema, ns: Option<&str>) {
        if let Schema::Ref { name } = s {
            let target = self.names[&*name.fully_qualified_name(ns)];
            return self.enc(buf, v, target, ns);
        }
        match (v, s) {
            (Value::Null, _) => {}
            (Value::Boolean(b), _) => buf.push(u8::from(*b)),
            (Value::Int(i) | Value::Date(i) | Value::TimeMillis(i), _) => long(buf, i64::from(*i)),
            (
                Value::Long(i)
                | Value::TimeMicros(i)
                | Value::TimestampMillis(i)
                | Value::TimestampMicros(i)
                | Value::TimestampNanos(i)
                | Value::LocalTimestampMillis(i)
                | Value::LocalTimestampMicros(i)
                | Value::LocalTimestampNanos(i),
                _,
            ) => long(buf, *i),
            (Value::Float(x), _) => buf.extend_from_slice(&x.to_le_bytes()),
            (Value::Double(x), _) => buf.extend_from_slice(&x.to_le_bytes()),
            (Value::Bytes(b), _) => bytes(buf, b),
            (Value::String(t), _) => bytes(buf, t.as_bytes()),
            (Value::Fixed(_, b), _) => buf.extend_from_slice(b),
            (Value::Enum(i, _), _) => long(buf, i64::from(*i)),
            (Value::Uuid(u), Schema::Uuid(UuidSchema::String) | Schema::String) => {
                let mut text = [0u8; 36];
                bytes(buf, u.hyphenated().encode_lower(&mut text).as_bytes());
            }
            (Value::Uuid(u), _) => bytes(buf, u.as_bytes()),
            (Value::Decimal(d), Schema::Decimal(ds)) => {
                let raw = Vec::<u8>::try_from(d).expect("decimal");
                match &ds.inner {
                    InnerDecimalSchema::Bytes => bytes(buf, &raw),
                    InnerDecimalSchema::Fixed(_) => buf.extend_from_slice(&raw),
                }
            }
            (Value::Union(i, inner), Schema::Union(u)) => {
                long(buf, i64::from(*i));
                self.enc(buf, inner, &u.variants()[*i as usize], ns);
            }
            (Value::Array(items), Schema::Array(a)) => {
                if !items.is_empty() {
                    long(buf, items.len() as i64);
                    for item in items {
                        self.enc(buf, item, &a.items, ns);
                    }
                }
                buf.push(0);
            }
            (Value::Map(entries), Schema::Map(m)) => {
                if !entries.is_empty() {
                    long(buf, entries.len() as i64);
                    for (k, item) in entries {
                        bytes(buf, k.as_bytes());
                        self.enc(buf, item, &m.types, ns);
                    }
                }
                buf.push(0);
            }
            (Value::Record(fields), Schema::Record(r)) => {
                let inner_ns = r.name.namespace().or(ns);
                for ((_, fv), f) in fields.iter().zip(&r.fields) {
                    self.enc(buf, fv, &f.schema, inner_ns);
                }
            }
            (other, schema) => panic!("prototype encoder: {other:?} for {schema:?}"),
        }
    }
}
