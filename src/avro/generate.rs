//! Seeded generation of Avro values for any schema (every primitive, complex and logical type
//! apache-avro 0.22 knows), and calibration of string/bytes lengths to a target record size.
//!
//! The schema is compiled once into a flat list of nodes with names resolved, so generating a
//! record does no name lookups. Structure and numbers come from one random stream and the
//! contents of strings/bytes/fixed from another, so record N has the same shape whatever the
//! `Sizes`: encoded size then grows monotonically with `string_len` and can be binary-searched.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, Schema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{BigDecimal, Days, Decimal, Duration, Millis, Months};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How many times a record may be re-entered through a reference to itself (directly or via
/// other types) before arrays/maps become empty and unions take their terminating branch.
pub const MAX_RECURSION: u32 = 4;
/// Records sampled per candidate length by [`calibrate`].
pub const CALIBRATION_SAMPLES: usize = 32;
/// Upper bound of the `string_len` search in [`calibrate`].
pub const MAX_CALIBRATED_LEN: usize = 65536;

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// 2000-01-01 .. 2100-01-01 in ms: plausible instants that stay in range as nanoseconds in i64.
const TS_MS: (i64, i64) = (946_684_800_000, 4_102_444_799_999);
const DAY_MS: i32 = 86_400_000;

/// Exact lengths of variable-size values, so that record size is deterministic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    pub string_len: usize,
    pub bytes_len: usize,
    /// Items per array and entries per map.
    pub collection_len: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            string_len: 16,
            bytes_len: 16,
            collection_len: 4,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("the schema refers to `{0}`, which is not defined in it")]
    UnknownName(String),
    #[error("enum `{0}` has no symbols")]
    EmptyEnum(String),
    #[error("decimal `{0}` is a fixed of size 0, which cannot hold any value")]
    EmptyDecimal(String),
    #[error("the schema has no finite value: a record contains itself with no way out")]
    Unbounded,
    #[error("encoding a generated record failed: {0}")]
    Encode(#[source] apache_avro::Error),
}

#[derive(Debug)]
enum Node {
    Null,
    Boolean,
    Int(i32, i32, fn(i32) -> Value),
    Long(i64, i64, fn(i64) -> Value),
    Float,
    Double,
    Bytes,
    String,
    Record(Vec<(String, usize)>),
    /// A use of a record by name; re-entering a record already on the path counts as recursion.
    Ref(usize),
    Enum(Vec<String>),
    Array(usize),
    Map(usize),
    /// Branches that admit a finite value, as (index in the union, node), and which of them to
    /// take once the recursion limit is reached.
    Union(Vec<(u32, usize)>, usize),
    Fixed(usize),
    /// Unscaled digits allowed, and the fixed size if not on bytes.
    Decimal(u32, Option<usize>),
    BigDecimal,
    Uuid,
    Duration,
}

/// The compiled schema: nodes, which of them admit a finite value, and the root.
#[derive(Debug)]
struct Plan {
    nodes: Vec<Node>,
    finite: Vec<bool>,
    root: usize,
}

/// Named types by full name; Avro defines a name before its first reference.
type Named = HashMap<Name, usize>;

/// Digits of the unscaled value such that any value fits the precision and the fixed size.
fn decimal_digits(precision: usize, fixed: Option<usize>) -> u32 {
    // i128 holds any 38-digit number; a fixed under 16 bytes holds fewer.
    let max = fixed
        .filter(|n| *n < 16)
        .map_or(i128::MAX as u128, |n| (1u128 << (8 * n - 1)) - 1);
    (1..=38u32)
        .take_while(|d| *d as usize <= precision && 10u128.pow(*d) - 1 <= max)
        .last()
        .unwrap_or(0)
}

impl Plan {
    fn new(schema: &Schema) -> Result<Plan, GenError> {
        let mut plan = Plan {
            nodes: Vec::new(),
            finite: Vec::new(),
            root: 0,
        };
        plan.root = plan.compile(schema, None, &mut Named::new())?;
        plan.mark_finite()?;
        Ok(plan)
    }

    fn push(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn compile(
        &mut self,
        s: &Schema,
        ns: Option<&str>,
        named: &mut Named,
    ) -> Result<usize, GenError> {
        let fq = s.name().map(|n| n.fully_qualified_name(ns).into_owned());
        if let Some(&id) = fq.as_ref().and_then(|n| named.get(n)) {
            // A use of a named type by name; only records can make it recursive.
            return Ok(match self.nodes[id] {
                Node::Record(_) => self.push(Node::Ref(id)),
                _ => id,
            });
        }
        let long = |lo: i64, hi: i64, f: fn(i64) -> Value| Node::Long(lo, hi, f);
        let ts = |unit: i64, f: fn(i64) -> Value| Node::Long(TS_MS.0 * unit, TS_MS.1 * unit, f);
        let node = match s {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int(i32::MIN, i32::MAX, Value::Int),
            Schema::Long => long(i64::MIN, i64::MAX, Value::Long),
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes => Node::Bytes,
            Schema::String => Node::String,
            Schema::Date => Node::Int(0, 47_481, Value::Date),
            Schema::TimeMillis => Node::Int(0, DAY_MS - 1, Value::TimeMillis),
            Schema::TimeMicros => long(0, DAY_MS as i64 * 1000 - 1, Value::TimeMicros),
            Schema::TimestampMillis => ts(1, Value::TimestampMillis),
            Schema::TimestampMicros => ts(1000, Value::TimestampMicros),
            Schema::TimestampNanos => ts(1_000_000, Value::TimestampNanos),
            Schema::LocalTimestampMillis => ts(1, Value::LocalTimestampMillis),
            Schema::LocalTimestampMicros => ts(1000, Value::LocalTimestampMicros),
            Schema::LocalTimestampNanos => ts(1_000_000, Value::LocalTimestampNanos),
            Schema::BigDecimal => Node::BigDecimal,
            Schema::Uuid(_) => Node::Uuid,
            Schema::Duration(_) => Node::Duration,
            Schema::Fixed(f) => Node::Fixed(f.size),
            Schema::Decimal(d) => match &d.inner {
                InnerDecimalSchema::Bytes => Node::Decimal(decimal_digits(d.precision, None), None),
                InnerDecimalSchema::Fixed(f) if f.size == 0 => {
                    return Err(GenError::EmptyDecimal(f.name.to_string()))
                }
                InnerDecimalSchema::Fixed(f) => {
                    Node::Decimal(decimal_digits(d.precision, Some(f.size)), Some(f.size))
                }
            },
            Schema::Enum(e) if e.symbols.is_empty() => {
                return Err(GenError::EmptyEnum(e.name.to_string()))
            }
            Schema::Enum(e) => Node::Enum(e.symbols.clone()),
            Schema::Array(a) => Node::Array(self.compile(&a.items, ns, named)?),
            Schema::Map(m) => Node::Map(self.compile(&m.types, ns, named)?),
            Schema::Union(u) => {
                let branches = (0u32..).zip(u.variants());
                let branches = branches.map(|(i, b)| Ok((i, self.compile(b, ns, named)?)));
                Node::Union(branches.collect::<Result<_, GenError>>()?, 0)
            }
            Schema::Record(r) => {
                // Registered before the fields so that self-references find it.
                let id = self.push(Node::Record(Vec::new()));
                let inner_ns = fq.as_ref().and_then(|n| n.namespace()).map(str::to_owned);
                named.extend(fq.map(|n| (n, id)));
                let fields = r.fields.iter().map(|f| {
                    let child = self.compile(&f.schema, inner_ns.as_deref(), named)?;
                    Ok((f.name.clone(), child))
                });
                self.nodes[id] = Node::Record(fields.collect::<Result<_, GenError>>()?);
                return Ok(id);
            }
            Schema::Ref { name } => {
                return Err(GenError::UnknownName(
                    name.fully_qualified_name(ns).to_string(),
                ))
            }
        };
        let id = self.push(node);
        named.extend(fq.map(|n| (n, id)));
        Ok(id)
    }

    /// Marks the nodes that admit a finite value (least fixed point), then keeps only such
    /// branches in unions, so that generation can never walk into endless recursion.
    fn mark_finite(&mut self) -> Result<(), GenError> {
        let ready = |finite: &[bool], node: &Node| match node {
            Node::Record(fs) => fs.iter().all(|(_, c)| finite[*c]),
            Node::Ref(t) => finite[*t],
            Node::Union(b, _) => b.iter().any(|(_, c)| finite[*c]),
            _ => true,
        };
        let mut finite = vec![false; self.nodes.len()];
        // Least fixed point; sweeps repeat only while some node newly became finite.
        let mut changed = true;
        while changed {
            changed = false;
            for (i, node) in self.nodes.iter().enumerate() {
                if !finite[i] && ready(&finite, node) {
                    (finite[i], changed) = (true, true);
                }
            }
        }
        if !finite[self.root] {
            return Err(GenError::Unbounded);
        }
        let is_null: Vec<bool> = self.nodes.iter().map(|n| matches!(n, Node::Null)).collect();
        for node in &mut self.nodes {
            if let Node::Union(choices, at_limit) = node {
                choices.retain(|(_, c)| finite[*c]);
                *at_limit = choices.iter().position(|(_, c)| is_null[*c]).unwrap_or(0);
            }
        }
        self.finite = finite;
        Ok(())
    }

    /// Whether `Sizes` changes the encoded size at all (strings, bytes, map keys).
    fn resizable(&self) -> bool {
        let sized = |n: &Node| matches!(n, Node::String | Node::Bytes | Node::Map(_));
        self.nodes
            .iter()
            .zip(&self.finite)
            .any(|(n, f)| *f && sized(n))
    }

    fn gen(&self, st: &mut State, id: usize, level: u32) -> Value {
        let limited = level >= MAX_RECURSION;
        // Items whose type has no finite value (a branch of pure self-recursion) cannot appear.
        let n_items = |item: usize| match limited || !self.finite[item] {
            true => 0,
            false => st.sizes.collection_len,
        };
        match &self.nodes[id] {
            Node::Null => Value::Null,
            Node::Boolean => Value::Boolean(st.rng.random()),
            &Node::Int(lo, hi, make) => make(st.rng.random_range(lo..=hi)),
            &Node::Long(lo, hi, make) => make(st.rng.random_range(lo..=hi)),
            Node::Float => Value::Float(st.rng.random_range(-1.0e6..1.0e6)),
            Node::Double => Value::Double(st.rng.random_range(-1.0e9..1.0e9)),
            Node::Bytes => Value::Bytes(st.bytes(st.sizes.bytes_len)),
            Node::String => Value::String(st.string()),
            &Node::Fixed(n) => Value::Fixed(n, st.bytes(n)),
            Node::Enum(symbols) => {
                let i = st.rng.random_range(0..symbols.len());
                Value::Enum(i as u32, symbols[i].clone())
            }
            &Node::Ref(target) => {
                let deeper = level + u32::from(st.active[target] > 0);
                self.gen(st, target, deeper)
            }
            Node::Record(fields) => {
                st.active[id] += 1;
                let out = fields
                    .iter()
                    .map(|(name, child)| (name.clone(), self.gen(st, *child, level)))
                    .collect();
                st.active[id] -= 1;
                Value::Record(out)
            }
            &Node::Array(item) => {
                let n = n_items(item);
                Value::Array((0..n).map(|_| self.gen(st, item, level)).collect())
            }
            &Node::Map(item) => {
                let n = n_items(item);
                let mut m = HashMap::with_capacity(n);
                for i in 0..n {
                    let key = st.key(i);
                    m.insert(key, self.gen(st, item, level));
                }
                Value::Map(m)
            }
            Node::Union(choices, at_limit) => {
                let pick = match limited {
                    true => *at_limit,
                    false => st.rng.random_range(0..choices.len()),
                };
                let (index, branch) = choices[pick];
                Value::Union(index, Box::new(self.gen(st, branch, level)))
            }
            &Node::Decimal(digits, fixed) => Value::Decimal(st.decimal(digits, fixed)),
            Node::BigDecimal => {
                let scale = st.rng.random_range(0..=9u32);
                let unscaled = st
                    .rng
                    .random_range(-999_999_999_999_999i64..=999_999_999_999_999);
                let text = format!("{unscaled}e-{scale}");
                Value::BigDecimal(BigDecimal::parse_bytes(text.as_bytes(), 10).unwrap_or_default())
            }
            Node::Uuid => {
                Value::Uuid(uuid::Builder::from_random_bytes(st.rng.random()).into_uuid())
            }
            Node::Duration => Value::Duration(Duration::new(
                Months::new(st.rng.random_range(0..1200)),
                Days::new(st.rng.random_range(0..31)),
                Millis::new(st.rng.random_range(0..DAY_MS as u32)),
            )),
        }
    }
}

/// Everything that changes while generating: the random streams and the recursion bookkeeping.
struct State {
    sizes: Sizes,
    /// Structure and numbers.
    rng: ChaCha8Rng,
    /// Contents of strings, bytes and fixed.
    fill: ChaCha8Rng,
    /// How many times each record node is on the current path.
    active: Vec<u32>,
    /// Base-62 digits reserved at the end of map keys to make them distinct.
    key_digits: usize,
}

impl State {
    fn new(plan: &Plan, seed: u64, sizes: Sizes) -> State {
        let mut fill = ChaCha8Rng::seed_from_u64(seed);
        fill.set_stream(1);
        let last_key = sizes.collection_len.saturating_sub(1);
        State {
            sizes,
            rng: ChaCha8Rng::seed_from_u64(seed),
            fill,
            active: vec![0; plan.nodes.len()],
            key_digits: std::iter::successors(Some(last_key), |n| Some(n / 62))
                .take_while(|n| *n > 0)
                .count(),
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        self.fill.fill_bytes(&mut b);
        b
    }

    fn text(&mut self, len: usize) -> Vec<u8> {
        let mut b = self.bytes(len);
        for c in &mut b {
            *c = ALNUM[usize::from(*c) % ALNUM.len()];
        }
        b
    }

    fn string(&mut self) -> String {
        String::from_utf8(self.text(self.sizes.string_len)).unwrap_or_default()
    }

    /// A map key of exactly `max(string_len, key_digits)` characters, distinct within one map
    /// because its last `key_digits` characters spell the entry index in base 62.
    fn key(&mut self, index: usize) -> String {
        let mut k = self.text(self.sizes.string_len.max(self.key_digits));
        let mut n = index;
        for c in k.iter_mut().rev().take(self.key_digits) {
            *c = ALNUM[n % 62];
            n /= 62;
        }
        String::from_utf8(k).unwrap_or_default()
    }

    /// An unscaled value of at most `digits` digits (so it fits the precision and the fixed
    /// size) as two's complement big-endian, sign-extended to the fixed size or minimal on
    /// bytes, which is how apache-avro reads `Decimal` back.
    fn decimal(&mut self, digits: u32, fixed: Option<usize>) -> Decimal {
        let bound = 10i128.pow(digits) - 1;
        let v = self.rng.random_range(-bound..=bound);
        let be = v.to_be_bytes();
        let sign = if v < 0 { 0xFF } else { 0 };
        let redundant = |i: usize| be[i] == sign && (be[i + 1] & 0x80) == (sign & 0x80);
        match fixed {
            Some(n) if n >= 16 => Decimal::from([vec![sign; n - 16], be.to_vec()].concat()),
            Some(n) => Decimal::from(&be[16 - n..]),
            None => Decimal::from(&be[(0..15).find(|i| !redundant(*i)).unwrap_or(15)..]),
        }
    }
}

/// Produces a deterministic sequence of random values valid for one schema.
pub struct Generator {
    plan: Plan,
    state: State,
}

impl Generator {
    /// Compiles `schema`; fails if it has unresolved names, an empty enum, a zero-size fixed
    /// decimal, or admits no finite value.
    pub fn new(schema: &Schema, seed: u64, sizes: Sizes) -> Result<Generator, GenError> {
        let plan = Plan::new(schema)?;
        let state = State::new(&plan, seed, sizes);
        Ok(Generator { plan, state })
    }

    pub fn sizes(&self) -> Sizes {
        self.state.sizes
    }

    /// The next value; always valid for the schema given to [`Generator::new`].
    pub fn generate(&mut self) -> Value {
        self.plan.gen(&mut self.state, self.plan.root, 0)
    }
}

/// Chooses `string_len` (and `bytes_len`, kept equal) so that the mean encoded datum size of
/// [`CALIBRATION_SAMPLES`] records from `seed` is as close as possible to `target_bytes`.
///
/// Sizes are those of the Avro datum, without the 5-byte Confluent prefix; calibrate with the
/// schema actually sent (after `header::augment_schema`). Schemas without strings, bytes or maps
/// cannot be resized: the default `Sizes` are returned and the caller should report the size
/// achieved. `collection_len` keeps its default.
pub fn calibrate(schema: &Schema, seed: u64, target_bytes: usize) -> Result<Sizes, GenError> {
    let plan = Plan::new(schema)?;
    if !plan.resizable() {
        return Ok(Sizes::default());
    }
    let writer = GenericDatumWriter::builder(schema).build();
    let writer = writer.map_err(GenError::Encode)?;
    let sizes = |len| Sizes {
        string_len: len,
        bytes_len: len,
        ..Sizes::default()
    };
    let mut buf = Vec::new();
    let mut mean = |len: usize| -> Result<f64, GenError> {
        let mut st = State::new(&plan, seed, sizes(len));
        let mut total = 0;
        for _ in 0..CALIBRATION_SAMPLES {
            let v = plan.gen(&mut st, plan.root, 0);
            buf.clear();
            writer
                .write_value_ref(&mut buf, &v)
                .map_err(GenError::Encode)?;
            total += buf.len();
        }
        Ok(total as f64 / CALIBRATION_SAMPLES as f64)
    };
    let target = target_bytes as f64;
    // Smallest length whose mean reaches the target; the mean never shrinks as length grows.
    let (mut lo, mut hi) = (0, MAX_CALIBRATED_LEN);
    if mean(hi)? < target {
        return Ok(sizes(hi));
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if mean(mid)? >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo > 0 && target - mean(lo - 1)? < mean(lo)? - target {
        lo -= 1;
    }
    Ok(sizes(lo))
}
