//! Producer hot path: Avro record generation + kbench header + Confluent framing + encoding, per
//! record, exactly as `src/load/producer.rs` does it (generate a value, stamp the header, start the
//! frame, `write_value_ref` into a reused buffer).
//!
//! Groups:
//! - `produce/{small,order_1k,nested}`: the whole per-record loop for the small `reading.avsc`
//!   record, `order.avsc` calibrated to 1 KiB, and a bench-local nested schema (records in
//!   records, arrays of records, maps of unions).
//! - `order_1k_parts/*`: where the time of the 1 KiB record goes (generate alone, header alone,
//!   encode alone), and prototypes of fixes measured against the current loop: the writer without
//!   validation, and a bench-local positional encoder (no per-record `HashMap`), see [`proto`].
//!
//! Every bench reports records/s (`Throughput::Elements(1)`).

mod common;

use std::hint::black_box;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kbench::avro::generate::{calibrate, Generator, Sizes};
use kbench::avro::header::{augment_schema, Header, HeaderSlots};
use kbench::avro::wire;

const READING: &str = include_str!("../scenarios/schemas/reading.avsc");
const ORDER: &str = include_str!("../scenarios/schemas/order.avsc");

/// Nested records (reused by name), arrays of records, arrays of maps, maps of unions (one branch
/// a record).
const NESTED: &str = r#"{
  "type": "record", "name": "Shipment", "namespace": "dev.kbench.bench",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "origin", "type": {"type": "record", "name": "Address", "fields": [
      {"name": "street", "type": "string"},
      {"name": "city", "type": "string"},
      {"name": "geo", "type": {"type": "record", "name": "Geo", "fields": [
        {"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}]}}]}},
    {"name": "destination", "type": "Address"},
    {"name": "parcels", "type": {"type": "array", "items": {
      "type": "record", "name": "Parcel", "fields": [
        {"name": "weight_g", "type": "int"},
        {"name": "dims", "type": {"type": "array", "items": "float"}},
        {"name": "labels", "type": {"type": "map", "values": ["null", "string", "long"]}}]}}},
    {"name": "metadata", "type": {"type": "map", "values": ["null", "string", "double",
      {"type": "record", "name": "Stamp", "fields": [
        {"name": "by", "type": "string"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}]}},
    {"name": "history", "type": {"type": "array", "items": {"type": "map", "values": "int"}}}
  ]
}"#;

const SEED: u64 = 42;
const SCHEMA_ID: u32 = 7;
/// The `record_size` a 1 KiB scenario asks for.
const TARGET_1K: usize = 1024;
const WALL_ORIGIN_MS: i64 = 1_700_000_000_000;

/// A schema as the producer gets it: augmented with kbench's header fields, parsed, with the
/// header slots and the `Sizes` the run would use.
struct Case {
    name: &'static str,
    schema: Schema,
    slots: HeaderSlots,
    sizes: Sizes,
}

impl Case {
    fn new(name: &'static str, avsc: &str, target: Option<usize>) -> Case {
        let schema = Schema::parse_str(&augment_schema(avsc).expect("augment")).expect("parse");
        let slots = HeaderSlots::new(&schema).expect("header slots");
        let sizes = match target {
            Some(t) => calibrate(&schema, SEED, t).expect("calibrate"),
            None => Sizes::default(),
        };
        Case {
            name,
            schema,
            slots,
            sizes,
        }
    }

    fn generator(&self) -> Generator {
        Generator::new(&self.schema, SEED, self.sizes).expect("generator")
    }
}

fn header(seq: u64) -> Header {
    Header {
        producer: 3,
        seq: seq as i64,
        intended_us: (seq * 10) as i64,
        wall_ms: WALL_ORIGIN_MS + (seq / 100) as i64,
    }
}

/// One producer's per-record state, as in `load::producer::run`.
struct Producer<'s> {
    generator: Generator,
    writer: GenericDatumWriter<'s>,
    slots: HeaderSlots,
    buf: Vec<u8>,
    seq: u64,
}

impl<'s> Producer<'s> {
    fn new(case: &'s Case, validate: bool) -> Producer<'s> {
        let writer = GenericDatumWriter::builder(&case.schema)
            .validate(validate)
            .build()
            .expect("writer");
        Producer {
            generator: case.generator(),
            writer,
            slots: case.slots,
            buf: Vec::with_capacity(1024),
            seq: 0,
        }
    }

    /// Generate, stamp, frame, encode: the body of the producer loop minus the Kafka send.
    /// Not inlined, so a profiler (callgrind `--toggle-collect`) can isolate it.
    #[inline(never)]
    fn produce(&mut self) -> usize {
        let mut value = self.generator.generate();
        self.slots.set(&mut value, &header(self.seq));
        self.seq += 1;
        wire::start_frame(&mut self.buf, SCHEMA_ID);
        self.writer
            .write_value_ref(&mut self.buf, &value)
            .expect("encode");
        self.buf.len()
    }
}

/// Mean framed size of the first `n` records, for the report.
fn mean_frame(case: &Case, n: usize) -> f64 {
    let mut p = Producer::new(case, true);
    (0..n).map(|_| p.produce()).sum::<usize>() as f64 / n as f64
}

fn produce(c: &mut Criterion) {
    let cases = [
        Case::new("small", READING, None),
        Case::new("order_1k", ORDER, Some(TARGET_1K)),
        Case::new("nested", NESTED, None),
    ];
    let mut g = c.benchmark_group("produce");
    g.throughput(Throughput::Elements(1));
    for case in &cases {
        eprintln!(
            "produce/{}: {:?}, mean framed record {:.0} bytes",
            case.name,
            case.sizes,
            mean_frame(case, 256)
        );
        let mut p = Producer::new(case, true);
        g.bench_function(case.name, |b| b.iter(|| black_box(p.produce())));
    }
    g.finish();
}

/// A pool of generated, stamped values so the encode benches do not see one value only.
fn pool(case: &Case, n: usize) -> Vec<Value> {
    let mut generator = case.generator();
    (0..n as u64)
        .map(|seq| {
            let mut v = generator.generate();
            case.slots.set(&mut v, &header(seq));
            v
        })
        .collect()
}

fn order_1k_parts(c: &mut Criterion) {
    let case = Case::new("order_1k", ORDER, Some(TARGET_1K));
    let values = pool(&case, 256);
    let mut g = c.benchmark_group("order_1k_parts");
    g.throughput(Throughput::Elements(1));

    let mut generator = case.generator();
    g.bench_function("generate", |b| b.iter(|| black_box(generator.generate())));

    let mut value = values[0].clone();
    let mut seq = 0u64;
    g.bench_function("set_header", |b| {
        b.iter(|| {
            seq += 1;
            black_box(case.slots.set(&mut value, &header(seq)))
        })
    });

    // Encode alone, validation on (what the producer runs) and off.
    for validate in [true, false] {
        let writer = GenericDatumWriter::builder(&case.schema)
            .validate(validate)
            .build()
            .expect("writer");
        let mut buf = Vec::with_capacity(2048);
        let mut i = 0usize;
        let name = match validate {
            true => "encode",
            false => "encode_no_validate",
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % values.len();
                wire::start_frame(&mut buf, SCHEMA_ID);
                writer
                    .write_value_ref(&mut buf, &values[i])
                    .expect("encode");
                black_box(buf.len())
            })
        });
    }

    let enc = proto::Encoder::new(&case.schema);
    let mut buf = Vec::with_capacity(2048);
    let mut i = 0usize;
    g.bench_function("encode_positional_proto", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            wire::start_frame(&mut buf, SCHEMA_ID);
            enc.write(&mut buf, &values[i]);
            black_box(buf.len())
        })
    });

    // The whole loop with the fixes prototyped.
    let mut p = Producer::new(&case, false);
    g.bench_function("produce_no_validate", |b| b.iter(|| black_box(p.produce())));
    let mut generator = case.generator();
    let mut buf = Vec::with_capacity(2048);
    let mut seq = 0u64;
    g.bench_function("produce_positional_proto", |b| {
        b.iter(|| {
            let mut value = generator.generate();
            case.slots.set(&mut value, &header(seq));
            seq += 1;
            wire::start_frame(&mut buf, SCHEMA_ID);
            enc.write(&mut buf, &value);
            black_box(buf.len())
        })
    });
    let mut d = direct::Direct::new(&case.schema, SEED, case.sizes);
    let mut seq = 0u64;
    g.bench_function("produce_direct_proto", |b| {
        b.iter(|| {
            wire::start_frame(&mut buf, SCHEMA_ID);
            d.write(&mut buf, &header(seq));
            seq += 1;
            black_box(buf.len())
        })
    });
    g.finish();
}

/// Prototype of a fix: encode a `Value` positionally against the writer schema. The generator
/// (and `HeaderSlots::set`) produce record fields in schema order, so the encoder can walk
/// fields by index instead of building a `HashMap` of field names per record, which is what
/// apache-avro's `encode_internal` does for every record (nested ones too). It also writes
/// decimals and uuids without the per-value `ResolvedSchema` / `String` that apache-avro builds.
///
/// Only a measurement aid: it trusts the value to match the schema (the generator guarantees
/// that), and the `proto_matches_apache_avro` check below pins its output to apache-avro's.
mod proto {
    use std::collections::HashMap;

    use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema, Schema, UuidSchema};
    use apache_avro::types::Value;

    pub struct Encoder<'s> {
        root: &'s Schema,
        names: HashMap<Name, &'s Schema>,
    }

    fn long(buf: &mut Vec<u8>, v: i64) {
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
                (Value::Int(i) | Value::Date(i) | Value::TimeMillis(i), _) => {
                    long(buf, i64::from(*i))
                }
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
}

/// Prototype of the bigger fix: generate straight into the wire buffer, walking the schema once
/// per record and writing Avro binary as it draws random values, with no `Value` tree (so no
/// field-name `String` clones, no boxes, no `HashMap`, no drop), the header fields written first
/// from the `Header`, and the alphanumeric mapping done through a 256-entry table. It draws from
/// the same kinds of distributions as `kbench::avro::generate` (ChaCha8, one stream for
/// structure, one for text; strings of `string_len` alphanumerics; collections of
/// `collection_len`; decimals within the precision), so its cost stands for what a
/// `Generator::generate_into(&mut Vec<u8>, &Header)` in kbench would cost. Not byte-identical to
/// the `Generator`'s records; `proto_matches_apache_avro` checks that they decode and have the
/// same size.
mod direct {
    use std::collections::HashMap;

    use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema, Schema, UuidSchema};
    use kbench::avro::generate::Sizes;
    use kbench::avro::header::Header;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

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

    fn long(buf: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        buf.push(z as u8);
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
}

/// The prototype is only worth measuring if it writes the same bytes as apache-avro.
fn proto_matches_apache_avro(_: &mut Criterion) {
    for (avsc, target) in [(READING, None), (ORDER, Some(TARGET_1K)), (NESTED, None)] {
        let case = Case::new("check", avsc, target);
        let writer = GenericDatumWriter::builder(&case.schema).build().unwrap();
        let enc = proto::Encoder::new(&case.schema);
        for v in pool(&case, 64) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            writer.write_value_ref(&mut a, &v).unwrap();
            enc.write(&mut b, &v);
            assert_eq!(a, b, "prototype encoder differs from apache-avro");
        }
        // The direct prototype's records must decode, carry the header, and be as large.
        let reader = GenericDatumReader::builder(&case.schema).build().unwrap();
        let mut d = direct::Direct::new(&case.schema, SEED, case.sizes);
        let mut total = 0;
        for seq in 0..256 {
            let mut buf = Vec::new();
            d.write(&mut buf, &header(seq));
            let v = reader
                .read_value(&mut &buf[..])
                .expect("direct record decodes");
            assert_eq!(case.slots.get(&v), Some(header(seq)));
            total += buf.len() + wire::PREFIX_LEN;
        }
        let (real, direct) = (mean_frame(&case, 256), total as f64 / 256.0);
        eprintln!("direct prototype: mean framed {direct:.0} bytes (generator: {real:.0})");
        assert!((direct - real).abs() < 0.05 * real, "{direct} vs {real}");
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = proto_matches_apache_avro, produce, order_1k_parts
}
criterion_main!(benches);
