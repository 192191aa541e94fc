//! Property tests of record generation (`kbench::avro::generate`) and the header fields
//! (`kbench::avro::header`): generated values validate, survive the Confluent wire format,
//! carry the kbench header, are reproducible from their seed, and calibrate to a size.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use kbench::avro::generate::{calibrate, decode_whole, GenError, Generator, Sizes, MAX_RECURSION};
use kbench::avro::header::{augment_schema, Header, HeaderSlots};
use proptest::prelude::*;

/// Every primitive, complex and logical type, with namespaces and references between them.
const EVERYTHING: &str = r#"{"type":"record","name":"Everything","namespace":"kbench.test","fields":[
 {"name":"n","type":"null"},
 {"name":"b","type":"boolean"},
 {"name":"i","type":"int"},
 {"name":"l","type":"long"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"by","type":"bytes"},
 {"name":"s","type":"string"},
 {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
 {"name":"md5","type":{"type":"fixed","name":"Md5","size":16}},
 {"name":"empty","type":{"type":"fixed","name":"Empty","size":0}},
 {"name":"inner","type":{"type":"record","name":"Inner","fields":[
   {"name":"x","type":"int"},
   {"name":"c","type":"Color"},
   {"name":"deeper","type":{"type":"record","name":"Deeper","namespace":"other.ns","fields":[
     {"name":"z","type":"string"},
     {"name":"tag","type":{"type":"enum","name":"Tag","symbols":["A","B"]}}]}}]}},
 {"name":"inners","type":{"type":"array","items":"Inner"}},
 {"name":"deepers","type":{"type":"map","values":"other.ns.Deeper"}},
 {"name":"tags","type":{"type":"array","items":"other.ns.Tag"}},
 {"name":"m","type":{"type":"map","values":["null","int","string","Inner"]}},
 {"name":"u","type":["null","string","long","Md5",{"type":"array","items":"int"},
   {"type":"map","values":"double"}]},
 {"name":"nested","type":{"type":"array","items":{"type":"array","items":"float"}}},
 {"name":"date","type":{"type":"int","logicalType":"date"}},
 {"name":"tmillis","type":{"type":"int","logicalType":"time-millis"}},
 {"name":"tmicros","type":{"type":"long","logicalType":"time-micros"}},
 {"name":"tsmillis","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"tsmicros","type":{"type":"long","logicalType":"timestamp-micros"}},
 {"name":"tsnanos","type":{"type":"long","logicalType":"timestamp-nanos"}},
 {"name":"ltsmillis","type":{"type":"long","logicalType":"local-timestamp-millis"}},
 {"name":"ltsmicros","type":{"type":"long","logicalType":"local-timestamp-micros"}},
 {"name":"ltsnanos","type":{"type":"long","logicalType":"local-timestamp-nanos"}},
 {"name":"uuid_s","type":{"type":"string","logicalType":"uuid"}},
 {"name":"uuid_f","type":{"type":"fixed","name":"UuidFixed","size":16,"logicalType":"uuid"}},
 {"name":"uuid_b","type":{"type":"bytes","logicalType":"uuid"}},
 {"name":"dec_b","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"dec_b_big","type":{"type":"bytes","logicalType":"decimal","precision":60,"scale":5}},
 {"name":"dec_f1","type":{"type":"fixed","name":"Dec1","size":1,"logicalType":"decimal",
   "precision":5}},
 {"name":"dec_f4","type":{"type":"fixed","name":"Dec4","size":4,"logicalType":"decimal",
   "precision":20,"scale":3}},
 {"name":"dec_f20","type":{"type":"fixed","name":"Dec20","size":20,"logicalType":"decimal",
   "precision":30}},
 {"name":"dec_f4_again","type":"Dec4"},
 {"name":"bigdec","type":{"type":"bytes","logicalType":"big-decimal"}},
 {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}},
 {"name":"dur_again","type":"Dur"},
 {"name":"opt_dec","type":["null",{"type":"fixed","name":"Dec8","size":8,
   "logicalType":"decimal","precision":18,"scale":4}]},
 {"name":"opt_uuid","type":["null",{"type":"string","logicalType":"uuid"}]},
 {"name":"opt_ts","type":["null",{"type":"long","logicalType":"timestamp-millis"}]}
]}"#;

const LINKED_LIST: &str = r#"{"type":"record","name":"Node","fields":[
 {"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;

const TREE: &str = r#"{"type":"record","name":"Tree","namespace":"t","fields":[
 {"name":"label","type":"string"},{"name":"kids","type":{"type":"array","items":"Tree"}}]}"#;

/// A and B reach each other through a required field, a map and an optional union.
const MUTUAL: &str = r#"{"type":"record","name":"A","fields":[
 {"name":"b","type":["null",{"type":"record","name":"B","fields":[
   {"name":"a","type":"A"},{"name":"as","type":{"type":"map","values":"A"}}]}]}]}"#;

/// `Inf` has no finite value, so the union must always be null and the array empty.
const ESCAPE: &str = r#"{"type":"record","name":"E","fields":[
 {"name":"u","type":["null",{"type":"record","name":"Inf","fields":[{"name":"me","type":"Inf"}]}]},
 {"name":"arr","type":{"type":"array","items":"Inf"}}]}"#;

const NUMBERS: &str = r#"{"type":"record","name":"Numbers","fields":[
 {"name":"a","type":"int"},{"name":"b","type":"double"},{"name":"c","type":"boolean"}]}"#;

const SCHEMAS: [&str; 6] = [EVERYTHING, LINKED_LIST, TREE, MUTUAL, ESCAPE, NUMBERS];

fn parse(src: &str) -> Schema {
    Schema::parse_str(src).expect("test schema parses")
}

fn wire_encode(schema: &Schema, id: u32, value: &Value) -> Vec<u8> {
    let writer = GenericDatumWriter::builder(schema).build().unwrap();
    let mut out = vec![0u8];
    out.extend_from_slice(&id.to_be_bytes());
    writer.write_value_ref(&mut out, value).unwrap();
    out
}

fn wire_decode(schema: &Schema, id: u32, bytes: &[u8]) -> Result<Value, String> {
    match bytes {
        [0, a, b, c, d, ..] if u32::from_be_bytes([*a, *b, *c, *d]) == id => {}
        _ => return Err(format!("bad magic byte or schema id: {:?}", bytes.get(..5))),
    }
    let reader = GenericDatumReader::builder(schema).build().unwrap();
    let mut rest = &bytes[5..];
    let v = reader.read_value(&mut rest).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes", rest.len()));
    }
    Ok(v)
}

fn walk(v: &Value, f: &mut impl FnMut(&Value)) {
    f(v);
    match v {
        Value::Record(fields) => fields.iter().for_each(|(_, x)| walk(x, f)),
        Value::Array(items) => items.iter().for_each(|x| walk(x, f)),
        Value::Map(m) => m.values().for_each(|x| walk(x, f)),
        Value::Union(_, x) => walk(x, f),
        _ => {}
    }
}

fn field<'v>(v: &'v Value, name: &str) -> &'v Value {
    let Value::Record(fields) = v else {
        panic!("not a record: {v:?}")
    };
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

fn mean_size(schema: &Schema, seed: u64, sizes: Sizes) -> f64 {
    let mut g = Generator::new(schema, seed, sizes).unwrap();
    let total: usize = (0..32)
        .map(|_| wire_encode(schema, 1, &g.generate().unwrap()).len() - 5)
        .sum();
    total as f64 / 32.0
}

/// The header read as the first four zig-zag varints of the datum, as the consumer's fast path
/// does; this only works because `augment_schema` puts the header fields first.
fn leading_header(mut datum: &[u8]) -> Header {
    let mut next = || {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (b, rest) = datum.split_first().unwrap();
            datum = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    };
    Header {
        producer: i32::try_from(next()).unwrap(),
        seq: next(),
        intended_us: next(),
        wall_ms: next(),
    }
}

fn sizes_strategy() -> impl Strategy<Value = Sizes> {
    (0usize..40, 0usize..40, 0usize..6).prop_map(|(s, b, c)| Sizes {
        string_len: s,
        bytes_len: b,
        collection_len: c,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn values_validate_and_round_trip_the_wire_format(
        seed: u64, sizes in sizes_strategy(), id: u32,
    ) {
        for src in SCHEMAS {
            let schema = parse(src);
            let mut g = Generator::new(&schema, seed, sizes).unwrap();
            for _ in 0..3 {
                let v = g.generate().unwrap();
                prop_assert!(v.validate(&schema), "invalid value for {}", src);
                walk(&v, &mut |x| match x {
                    Value::Float(f) => assert!(f.is_finite()),
                    Value::Double(d) => assert!(d.is_finite()),
                    _ => {}
                });
                let bytes = wire_encode(&schema, id, &v);
                prop_assert_eq!(wire_decode(&schema, id, &bytes), Ok(v));
                prop_assert!(wire_decode(&schema, id.wrapping_add(1), &bytes).is_err());
            }
        }
    }

    /// Also the producer's path: stamping writes the header in place of the drawn header fields
    /// and changes nothing else, so the record is the generator's next one with its header set.
    #[test]
    fn header_survives_augmentation_generation_stamping_and_the_wire(
        seed: u64, producer: i32, seq in 0i64.., intended_us: i64, wall_ms: i64,
    ) {
        let h = Header { producer, seq, intended_us, wall_ms };
        for src in SCHEMAS {
            let schema = parse(&augment_schema(src).unwrap());
            let slots = HeaderSlots::new(&schema).unwrap();
            let mut g = Generator::new(&schema, seed, Sizes::default()).unwrap();
            let mut v = g.generate().unwrap();
            prop_assert!(slots.set(&mut v, &h));
            prop_assert!(v.validate(&schema));
            let bytes = wire_encode(&schema, 9, &v);
            prop_assert_eq!(leading_header(&bytes[5..]), h, "header is not first in {}", src);
            let back = wire_decode(&schema, 9, &bytes).unwrap();
            prop_assert_eq!(slots.get(&back), Some(h));
            prop_assert_eq!(&back, &v);
            let mut stamping = Generator::new(&schema, seed, Sizes::default()).unwrap();
            let mut datum = Vec::new();
            stamping.encode_stamped(&mut datum, &slots, &h);
            prop_assert_eq!(leading_header(&datum), h);
            prop_assert_eq!(decode_whole(&schema, &datum).unwrap(), v);
        }
    }

    #[test]
    fn same_seed_gives_same_values(seed: u64, sizes in sizes_strategy()) {
        for src in SCHEMAS {
            let schema = parse(src);
            let mut a = Generator::new(&schema, seed, sizes).unwrap();
            let mut b = Generator::new(&schema, seed, sizes).unwrap();
            for _ in 0..5 {
                prop_assert_eq!(a.generate().unwrap(), b.generate().unwrap());
            }
        }
    }

    /// kbench writes Avro itself (no `Value` tree); apache-avro must read every byte of it and,
    /// writing the value back, produce the same bytes (same length where a map's entry order,
    /// which apache-avro takes from a `HashMap`, may differ).
    #[test]
    fn encoded_records_are_what_apache_avro_writes(seed: u64, sizes in sizes_strategy()) {
        for src in SCHEMAS {
            let schema = parse(src);
            let mut g = Generator::new(&schema, seed, sizes).unwrap();
            for _ in 0..3 {
                let mut ours = Vec::new();
                g.encode_into(&mut ours);
                let v = decode_whole(&schema, &ours).unwrap();
                prop_assert!(v.validate(&schema), "invalid value for {}", src);
                let theirs = wire_encode(&schema, 0, &v).split_off(5);
                if has_reorderable_map(&v) {
                    prop_assert_eq!(theirs.len(), ours.len());
                } else {
                    prop_assert_eq!(theirs, ours, "bytes differ for {}", src);
                }
            }
        }
    }
}

/// Whether `v` holds a map with two entries or more, whose order on the wire is not fixed.
fn has_reorderable_map(v: &Value) -> bool {
    let mut found = false;
    walk(v, &mut |x| {
        found |= matches!(x, Value::Map(m) if m.len() > 1)
    });
    found
}

#[test]
fn generator_can_move_to_another_thread() {
    fn is_send<T: Send>() {}
    is_send::<Generator>();
}

#[test]
fn different_seeds_give_different_values() {
    let schema = parse(EVERYTHING);
    let mut a = Generator::new(&schema, 1, Sizes::default()).unwrap();
    let mut b = Generator::new(&schema, 2, Sizes::default()).unwrap();
    assert_ne!(a.generate().unwrap(), b.generate().unwrap());
}

#[test]
fn logical_types_get_their_own_value_variants() {
    let schema = parse(EVERYTHING);
    let v = Generator::new(&schema, 3, Sizes::default())
        .unwrap()
        .generate()
        .unwrap();
    type Check = fn(&Value) -> bool;
    let expect: [(&str, Check); 19] = [
        ("date", |v| matches!(v, Value::Date(_))),
        ("tmillis", |v| matches!(v, Value::TimeMillis(_))),
        ("tmicros", |v| matches!(v, Value::TimeMicros(_))),
        ("tsmillis", |v| matches!(v, Value::TimestampMillis(_))),
        ("tsmicros", |v| matches!(v, Value::TimestampMicros(_))),
        ("tsnanos", |v| matches!(v, Value::TimestampNanos(_))),
        ("ltsmillis", |v| matches!(v, Value::LocalTimestampMillis(_))),
        ("ltsmicros", |v| matches!(v, Value::LocalTimestampMicros(_))),
        ("ltsnanos", |v| matches!(v, Value::LocalTimestampNanos(_))),
        ("uuid_s", |v| matches!(v, Value::Uuid(_))),
        ("uuid_f", |v| matches!(v, Value::Uuid(_))),
        ("uuid_b", |v| matches!(v, Value::Uuid(_))),
        ("dec_b", |v| matches!(v, Value::Decimal(_))),
        ("dec_f4", |v| matches!(v, Value::Decimal(_))),
        ("dec_f20", |v| matches!(v, Value::Decimal(_))),
        ("bigdec", |v| matches!(v, Value::BigDecimal(_))),
        ("dur", |v| matches!(v, Value::Duration(_))),
        ("md5", |v| matches!(v, Value::Fixed(16, b) if b.len() == 16)),
        ("empty", |v| matches!(v, Value::Fixed(0, b) if b.is_empty())),
    ];
    for (name, ok) in expect {
        assert!(ok(field(&v, name)), "{name}: {:?}", field(&v, name));
    }
}

/// The unscaled value of a decimal, from its two's complement bytes.
fn unscaled(v: &Value) -> (i128, usize) {
    let Value::Decimal(d) = v else {
        panic!("not a decimal: {v:?}")
    };
    let bytes = Vec::<u8>::try_from(d).unwrap();
    let sign = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xFF
    } else {
        0
    };
    let mut be = [sign; 16];
    let skip = bytes.len().saturating_sub(16);
    assert!(
        bytes[..skip].iter().all(|b| *b == sign),
        "more than 128 bits"
    );
    be[16 - (bytes.len() - skip)..].copy_from_slice(&bytes[skip..]);
    (i128::from_be_bytes(be), bytes.len())
}

#[test]
fn decimals_fit_precision_and_fixed_size() {
    let schema = parse(EVERYTHING);
    let mut g = Generator::new(&schema, 11, Sizes::default()).unwrap();
    let mut widest = [0u32; 5];
    for _ in 0..300 {
        let v = g.generate().unwrap();
        // (field, maximum digits from the precision and the size, fixed size)
        let cases = [
            ("dec_b", 10, None),
            ("dec_b_big", 38, None),
            ("dec_f1", 2, Some(1)),
            ("dec_f4", 9, Some(4)),
            ("dec_f20", 30, Some(20)),
        ];
        for (k, (name, digits, size)) in cases.into_iter().enumerate() {
            let (x, len) = unscaled(field(&v, name));
            assert!(x.unsigned_abs() < 10u128.pow(digits), "{name}: {x}");
            if let Some(size) = size {
                assert_eq!(len, size, "{name}");
            }
            widest[k] = widest[k].max(x.unsigned_abs().checked_ilog10().unwrap_or(0) + 1);
        }
    }
    // The range is used, not just small values.
    assert_eq!(widest, [10, 38, 2, 9, 30]);
}

#[test]
fn lengths_are_exact_and_map_keys_distinct() {
    let src = r#"{"type":"record","name":"S","fields":[
      {"name":"s","type":"string"},{"name":"b","type":"bytes"},
      {"name":"a","type":{"type":"array","items":"string"}},
      {"name":"m","type":{"type":"map","values":"bytes"}}]}"#;
    let schema = parse(src);
    for (string_len, bytes_len, collection_len, key_len) in
        [(3, 5, 7, 3), (0, 0, 70, 2), (0, 9, 1, 0), (20, 0, 0, 20)]
    {
        let sizes = Sizes {
            string_len,
            bytes_len,
            collection_len,
        };
        let mut g = Generator::new(&schema, 5, sizes).unwrap();
        for _ in 0..10 {
            let v = g.generate().unwrap();
            assert!(matches!(field(&v, "s"), Value::String(s) if s.len() == string_len));
            assert!(matches!(field(&v, "b"), Value::Bytes(b) if b.len() == bytes_len));
            let Value::Array(a) = field(&v, "a") else {
                panic!()
            };
            assert_eq!(a.len(), collection_len);
            let Value::Map(m) = field(&v, "m") else {
                panic!()
            };
            assert_eq!(m.len(), collection_len, "keys must be distinct");
            assert!(m
                .keys()
                .all(|k| k.len() == key_len && k.chars().all(|c| c.is_ascii_alphanumeric())));
        }
    }
}

fn list_len(v: &Value) -> u32 {
    match field(v, "next") {
        Value::Union(_, next) if **next != Value::Null => 1 + list_len(next),
        _ => 1,
    }
}

fn tree_depth(v: &Value) -> u32 {
    let Value::Array(kids) = field(v, "kids") else {
        panic!()
    };
    1 + kids.iter().map(tree_depth).max().unwrap_or(0)
}

#[test]
fn recursion_is_bounded() {
    let list = parse(LINKED_LIST);
    let mut g = Generator::new(&list, 8, Sizes::default()).unwrap();
    let lens: Vec<u32> = (0..500).map(|_| list_len(&g.generate().unwrap())).collect();
    assert!(lens.iter().all(|l| *l <= MAX_RECURSION + 1), "{lens:?}");
    assert!(lens.contains(&(MAX_RECURSION + 1)));
    let tree = parse(TREE);
    let v = Generator::new(&tree, 8, Sizes::default())
        .unwrap()
        .generate()
        .unwrap();
    assert_eq!(tree_depth(&v), MAX_RECURSION + 1);
}

#[test]
fn branches_without_a_finite_value_are_never_taken() {
    let schema = parse(ESCAPE);
    let mut g = Generator::new(&schema, 4, Sizes::default()).unwrap();
    for _ in 0..50 {
        let v = g.generate().unwrap();
        assert_eq!(field(&v, "u"), &Value::Union(0, Box::new(Value::Null)));
        assert_eq!(field(&v, "arr"), &Value::Array(vec![]));
    }
}

#[test]
fn schemas_without_finite_values_or_with_empty_decimals_are_errors() {
    let looped = r#"{"type":"record","name":"L","fields":[{"name":"me","type":"L"}]}"#;
    let err = Generator::new(&parse(looped), 0, Sizes::default()).err();
    assert!(matches!(err, Some(GenError::Unbounded)), "{err:?}");
    let dec0 = r#"{"type":"record","name":"D","fields":[{"name":"d","type":{"type":"fixed",
      "name":"Z","size":0,"logicalType":"decimal","precision":3}}]}"#;
    let err = Generator::new(&parse(dec0), 0, Sizes::default()).err();
    assert!(matches!(err, Some(GenError::EmptyDecimal(_))), "{err:?}");
}

#[test]
fn calibrate_reaches_the_target_size() {
    let msg = r#"{"type":"record","name":"Msg","fields":[
      {"name":"id","type":"long"},{"name":"body","type":"string"},{"name":"n","type":"int"}]}"#;
    let schema = parse(&augment_schema(msg).unwrap());
    let sizes = calibrate(&schema, 1, 1024).unwrap();
    assert_eq!(sizes.string_len, sizes.bytes_len);
    assert_eq!(sizes.collection_len, Sizes::default().collection_len);
    for seed in [1, 99] {
        let mean = mean_size(&schema, seed, sizes);
        assert!(
            (mean - 1024.0).abs() <= 102.4,
            "seed {seed}: mean {mean} with {sizes:?}"
        );
    }
    let everything = parse(EVERYTHING);
    let sizes = calibrate(&everything, 2, 8192).unwrap();
    let mean = mean_size(&everything, 2, sizes);
    assert!((mean - 8192.0).abs() <= 819.2, "mean {mean} with {sizes:?}");
}

#[test]
fn calibrate_leaves_unresizable_schemas_at_default() {
    let schema = parse(NUMBERS);
    assert_eq!(calibrate(&schema, 1, 1024).unwrap(), Sizes::default());
    let tiny = calibrate(&parse(LINKED_LIST), 1, 0).unwrap();
    assert_eq!(tiny, Sizes::default());
}
