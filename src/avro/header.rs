//! kbench's header fields inside every record: putting them first in the user's schema
//! (`augment_schema`), and writing/reading them in an Avro `Value` (`HeaderSlots`).
//!
//! The header travels inside the Avro value, not in Kafka record headers, so that the payload
//! alone identifies a record for the audit (lost / duplicated / reordered) and carries the
//! producer's timing for latency.

use apache_avro::schema::{RecordSchema, Schema, SchemaKind};
use apache_avro::types::Value;
use serde_json::{json, Map, Value as Json};

/// Names of the header fields, in the order they open every augmented schema.
pub const FIELDS: [&str; 4] = [
    "kbench_producer",
    "kbench_seq",
    "kbench_intended_us",
    "kbench_wall_ms",
];

/// The Avro type each header field must have, as (type, logicalType).
const TYPES: [(&str, Option<&str>); 4] = [
    ("int", None),
    ("long", None),
    ("long", None),
    ("long", Some("timestamp-millis")),
];

const DOCS: [&str; 4] = [
    "kbench: id of the producer that sent this record",
    "kbench: per-producer sequence number, starting at 0",
    "kbench: intended send time, microseconds since the run's monotonic origin",
    "kbench: wall-clock time at send",
];

/// Why a schema cannot carry, or does not carry, kbench's header fields.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The schema text is not valid JSON.
    #[error("schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The top-level schema is not a record; holds a description of what it is.
    #[error("the top-level schema must be a record, found {0}")]
    NotARecord(String),
    /// The top-level record has no `fields` array.
    #[error("the top-level record has no `fields` array")]
    NoFields,
    /// A header field is declared with a type other than the one kbench writes.
    #[error("field `{field}` is reserved by kbench and must have type {expected}, found {found}")]
    FieldType {
        /// Name of the header field.
        field: &'static str,
        /// The type kbench requires, as Avro schema JSON.
        expected: String,
        /// What the schema declares instead.
        found: String,
    },
    /// The record schema lacks this header field (it was not augmented).
    #[error("the record has no field `{0}`; was the schema passed through augment_schema?")]
    MissingField(&'static str),
    /// The schema with the header fields added does not parse as Avro.
    #[error("schema with kbench header fields is not valid Avro: {0}")]
    Avro(#[from] apache_avro::Error),
}

/// The measured values kbench puts in every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Id of the producer that sent the record.
    pub producer: i32,
    /// The record's sequence number within its producer, from 0.
    pub seq: i64,
    /// Intended send time, µs since the run's monotonic origin.
    pub intended_us: i64,
    /// Wall-clock time at send, ms since the Unix epoch.
    pub wall_ms: i64,
}

fn describe_expected(i: usize) -> String {
    match TYPES[i] {
        (t, None) => format!("\"{t}\""),
        (t, Some(l)) => format!("{{\"type\":\"{t}\",\"logicalType\":\"{l}\"}}"),
    }
}

/// Reduces a field's `type` to (type, logicalType) when it is a plain or annotated primitive;
/// anything else (union, record, ...) can never match a header type.
fn primitive_of(t: &Json) -> Option<(&str, Option<&str>)> {
    match t {
        Json::String(s) => Some((s.as_str(), None)),
        Json::Object(o) => {
            let inner = o.get("type")?.as_str()?;
            let logical = match o.get("logicalType") {
                None => None,
                Some(l) => Some(l.as_str()?),
            };
            Some((inner, logical))
        }
        _ => None,
    }
}

fn describe_found(v: &Json) -> String {
    match v {
        Json::Object(o) => match o.get("type") {
            Some(Json::String(t)) => format!("a schema of type \"{t}\""),
            _ => "an object without a string `type`".to_string(),
        },
        Json::Array(_) => "a union".to_string(),
        Json::String(s) => format!("the type \"{s}\""),
        other => format!("the JSON value {other}"),
    }
}

/// Puts the header fields first in a top-level record schema, in the order of [`FIELDS`], and
/// returns the result as compact JSON. Header fields the user already declared with the right
/// type are moved to the front (keeping their doc and other attributes); the rest are added.
///
/// First, because the wire format's fast path reads the header straight off the start of the
/// datum without decoding the rest of the record.
pub fn augment_schema(avsc_json: &str) -> Result<String, HeaderError> {
    let mut root: Json = serde_json::from_str(avsc_json)?;
    let record = match &mut root {
        Json::Object(o) if o.get("type").and_then(Json::as_str) == Some("record") => o,
        other => return Err(HeaderError::NotARecord(describe_found(other))),
    };
    let fields = match record.get_mut("fields") {
        Some(Json::Array(f)) => f,
        _ => return Err(HeaderError::NoFields),
    };
    let mut header = Vec::with_capacity(FIELDS.len());
    for (i, name) in FIELDS.iter().enumerate() {
        let existing = fields
            .iter()
            .position(|f| f.get("name").and_then(Json::as_str) == Some(name));
        let field = match existing {
            Some(pos) => {
                let field = fields.remove(pos);
                let t = field.get("type").unwrap_or(&Json::Null);
                if primitive_of(t) != Some(TYPES[i]) {
                    return Err(HeaderError::FieldType {
                        field: name,
                        expected: describe_expected(i),
                        found: t.to_string(),
                    });
                }
                field
            }
            None => {
                let (t, logical) = TYPES[i];
                let ty = match logical {
                    None => json!(t),
                    Some(l) => json!({ "type": t, "logicalType": l }),
                };
                let mut f = Map::new();
                f.insert("name".into(), json!(name));
                f.insert("type".into(), ty);
                f.insert("doc".into(), json!(DOCS[i]));
                Json::Object(f)
            }
        };
        header.push(field);
    }
    fields.splice(0..0, header);
    let out = serde_json::to_string(&root)?;
    // Fail here, with the user's schema at hand, rather than later in the run.
    Schema::parse_str(&out)?;
    Ok(out)
}

/// Positions of the header fields in the top-level record, computed once per schema so that
/// stamping a record costs four indexed writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSlots {
    idx: [usize; 4],
}

fn schema_matches(i: usize, s: &Schema) -> bool {
    matches!(
        (i, s),
        (0, Schema::Int) | (1, Schema::Long) | (2, Schema::Long) | (3, Schema::TimestampMillis)
    )
}

impl HeaderSlots {
    /// Finds the header fields in a parsed (augmented) schema and checks their types.
    pub fn new(schema: &Schema) -> Result<HeaderSlots, HeaderError> {
        let RecordSchema { fields, lookup, .. } = match schema {
            Schema::Record(r) => r,
            other => {
                return Err(HeaderError::NotARecord(format!(
                    "{:?}",
                    SchemaKind::from(other)
                )))
            }
        };
        let mut idx = [0usize; 4];
        for (i, name) in FIELDS.iter().enumerate() {
            let pos = *lookup.get(*name).ok_or(HeaderError::MissingField(name))?;
            let field = fields.get(pos).ok_or(HeaderError::MissingField(name))?;
            if !schema_matches(i, &field.schema) {
                return Err(HeaderError::FieldType {
                    field: name,
                    expected: describe_expected(i),
                    found: format!("{:?}", SchemaKind::from(&field.schema)),
                });
            }
            idx[i] = pos;
        }
        Ok(HeaderSlots { idx })
    }

    /// The field positions, in the order of [`FIELDS`].
    pub fn positions(&self) -> [usize; 4] {
        self.idx
    }

    /// Finds field `i`, trusting the cached position but checking the name, because a `Value`
    /// built by hand (or by a reader schema) need not follow the writer's field order.
    fn slot(&self, fields: &[(String, Value)], i: usize) -> Option<usize> {
        match fields.get(self.idx[i]) {
            Some((n, _)) if n == FIELDS[i] => Some(self.idx[i]),
            _ => fields.iter().position(|(n, _)| n == FIELDS[i]),
        }
    }

    /// Overwrites the header fields of a `Value::Record`. Returns false (and leaves the value
    /// untouched) if it is not a record holding all four fields.
    pub fn set(&self, value: &mut Value, h: &Header) -> bool {
        let Value::Record(fields) = value else {
            return false;
        };
        let mut pos = [0usize; 4];
        for (i, p) in pos.iter_mut().enumerate() {
            match self.slot(fields, i) {
                Some(x) => *p = x,
                None => return false,
            }
        }
        let new = [
            Value::Int(h.producer),
            Value::Long(h.seq),
            Value::Long(h.intended_us),
            Value::TimestampMillis(h.wall_ms),
        ];
        for (p, v) in pos.into_iter().zip(new) {
            fields[p].1 = v;
        }
        true
    }

    /// Reads the header back; `None` if a field is missing or has an unexpected variant.
    pub fn get(&self, value: &Value) -> Option<Header> {
        let Value::Record(fields) = value else {
            return None;
        };
        let at = |i: usize| self.slot(fields, i).map(|p| &fields[p].1);
        let producer = match at(0)? {
            Value::Int(x) => *x,
            _ => return None,
        };
        let long = |i: usize| match at(i)? {
            Value::Long(x) => Some(*x),
            _ => None,
        };
        let seq = long(1)?;
        let intended_us = long(2)?;
        // Decoders return TimestampMillis for the logical type, hand-built values may use Long.
        let wall_ms = match at(3)? {
            Value::Long(x) | Value::TimestampMillis(x) => *x,
            _ => return None,
        };
        Some(Header {
            producer,
            seq,
            intended_us,
            wall_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;

    const USER: &str = r#"{"type":"record","name":"Order","namespace":"shop",
        "fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"}]}"#;

    fn header() -> Header {
        Header {
            producer: 7,
            seq: 42,
            intended_us: 1_234_567,
            wall_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn augment_puts_fields_first_with_docs() {
        let out = augment_schema(USER).unwrap();
        let v: Json = serde_json::from_str(&out).unwrap();
        let fields = v["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 6);
        for (i, name) in FIELDS.iter().enumerate() {
            assert_eq!(fields[i]["name"], *name);
            assert!(fields[i]["doc"].as_str().unwrap().starts_with("kbench"));
        }
        assert_eq!(fields[4]["name"], "id");
        assert_eq!(fields[5]["name"], "qty");
        let schema = Schema::parse_str(&out).unwrap();
        assert_eq!(HeaderSlots::new(&schema).unwrap().positions(), [0, 1, 2, 3]);
    }

    #[test]
    fn augment_is_idempotent() {
        let once = augment_schema(USER).unwrap();
        let twice = augment_schema(&once).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn existing_field_with_right_type_is_moved_to_the_front() {
        let s = r#"{"type":"record","name":"R","fields":[{"name":"x","type":"int"},
            {"name":"kbench_wall_ms","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"kbench_seq","type":{"type":"long"},"doc":"mine"}]}"#;
        let out = augment_schema(s).unwrap();
        let v: Json = serde_json::from_str(&out).unwrap();
        let fields = v["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[1]["doc"], "mine");
        assert_eq!(fields[4]["name"], "x");
        let slots = HeaderSlots::new(&Schema::parse_str(&out).unwrap()).unwrap();
        assert_eq!(slots.positions(), [0, 1, 2, 3]);
    }

    #[test]
    fn wrong_type_is_an_error_naming_field_and_type() {
        let s = r#"{"type":"record","name":"R","fields":[{"name":"kbench_seq","type":"int"}]}"#;
        let e = augment_schema(s).unwrap_err().to_string();
        assert!(e.contains("kbench_seq") && e.contains("\"long\""), "{e}");
        let s =
            r#"{"type":"record","name":"R","fields":[{"name":"kbench_wall_ms","type":"long"}]}"#;
        let e = augment_schema(s).unwrap_err().to_string();
        assert!(
            e.contains("kbench_wall_ms") && e.contains("timestamp-millis"),
            "{e}"
        );
    }

    #[test]
    fn non_record_top_level_is_rejected() {
        for (s, what) in [
            (r#""string""#, "\"string\""),
            (r#"["null","int"]"#, "union"),
            (r#"{"type":"enum","name":"E","symbols":["A"]}"#, "\"enum\""),
        ] {
            let e = augment_schema(s).unwrap_err();
            assert!(matches!(e, HeaderError::NotARecord(_)));
            assert!(e.to_string().contains(what), "{e}");
        }
        assert!(matches!(
            augment_schema("{not json"),
            Err(HeaderError::Json(_))
        ));
        assert!(matches!(
            augment_schema(r#"{"type":"record","name":"R"}"#),
            Err(HeaderError::NoFields)
        ));
    }

    #[test]
    fn invalid_avro_is_reported() {
        let s = r#"{"type":"record","name":"R","fields":[{"name":"x","type":"nosuch"}]}"#;
        assert!(matches!(augment_schema(s), Err(HeaderError::Avro(_))));
    }

    #[test]
    fn slots_reject_unaugmented_schema() {
        let schema = Schema::parse_str(USER).unwrap();
        assert!(matches!(
            HeaderSlots::new(&schema),
            Err(HeaderError::MissingField("kbench_producer"))
        ));
        assert!(HeaderSlots::new(&Schema::String).is_err());
    }

    #[test]
    fn set_get_round_trip_through_encoding() {
        let schema = Schema::parse_str(&augment_schema(USER).unwrap()).unwrap();
        let slots = HeaderSlots::new(&schema).unwrap();
        let mut v = Value::Record(vec![
            ("id".into(), Value::String("a".into())),
            ("qty".into(), Value::Int(1)),
            ("kbench_producer".into(), Value::Int(0)),
            ("kbench_seq".into(), Value::Long(0)),
            ("kbench_intended_us".into(), Value::Long(0)),
            ("kbench_wall_ms".into(), Value::Long(0)),
        ]);
        assert!(slots.set(&mut v, &header()));
        assert_eq!(slots.get(&v), Some(header()));
        assert!(v.validate(&schema));
        let writer = GenericDatumWriter::builder(&schema).build().unwrap();
        let bytes = writer.write_value_to_vec(v).unwrap();
        let reader = GenericDatumReader::builder(&schema).build().unwrap();
        let back = reader.read_value(&mut &bytes[..]).unwrap();
        assert_eq!(slots.get(&back), Some(header()));
    }

    #[test]
    fn set_and_get_tolerate_bad_values() {
        let schema = Schema::parse_str(&augment_schema(USER).unwrap()).unwrap();
        let slots = HeaderSlots::new(&schema).unwrap();
        let mut not_record = Value::Int(3);
        assert!(!slots.set(&mut not_record, &header()));
        assert_eq!(not_record, Value::Int(3));
        assert_eq!(slots.get(&not_record), None);
        let mut short = Value::Record(vec![("kbench_producer".into(), Value::Int(0))]);
        assert!(!slots.set(&mut short, &header()));
        assert_eq!(slots.get(&short), None);
        // Fields out of schema order are still found by name.
        let mut shuffled = Value::Record(
            FIELDS
                .iter()
                .rev()
                .map(|n| (n.to_string(), Value::Null))
                .collect(),
        );
        assert!(slots.set(&mut shuffled, &header()));
        assert_eq!(slots.get(&shuffled), Some(header()));
    }
}
