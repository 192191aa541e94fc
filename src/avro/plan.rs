//! The schema compiled for generation: a flat list of nodes with every name resolved (so drawing
//! a record does no lookups), which of them admit a finite value, and the parameters each leaf is
//! drawn with. Built once per schema; `encode` draws records from it.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, Schema, UuidSchema};

/// Exact lengths of variable-size values, so that record size is deterministic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    /// Characters in every generated string (ASCII, so also its length in bytes).
    pub string_len: usize,
    /// Length of every generated `bytes` value.
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

/// Why a schema cannot be compiled for generation, or a drawn record is wrong.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The schema refers to a named type it does not define.
    #[error("the schema refers to `{0}`, which is not defined in it")]
    UnknownName(String),
    /// An enum with no symbols.
    #[error("enum `{0}` has no symbols")]
    EmptyEnum(String),
    /// A decimal on a fixed of size 0.
    #[error("decimal `{0}` is a fixed of size 0, which cannot hold any value")]
    EmptyDecimal(String),
    /// The schema admits no finite value: a record must contain itself.
    #[error("the schema has no finite value: a record contains itself with no way out")]
    Unbounded,
    /// A generated record does not decode against its schema (a generator bug).
    #[error("a generated record does not decode against its schema: {0}")]
    Decode(#[source] apache_avro::Error),
    /// Decoding a generated record left this many bytes unread.
    #[error("a generated record left {0} bytes unread after decoding")]
    TrailingBytes(usize),
}

/// How many times a record may be re-entered through a reference to itself (directly or via
/// other types) before arrays/maps become empty and unions take their terminating branch.
pub const MAX_RECURSION: u32 = 4;
// 2000-01-01 .. 2100-01-01 in ms: plausible instants that stay in range as nanoseconds in i64.
pub(crate) const TS_MS: (i64, i64) = (946_684_800_000, 4_102_444_799_999);
pub(crate) const DAY_MS: i32 = 86_400_000;

#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Boolean,
    /// Inclusive bounds.
    Int(i32, i32),
    Long(i64, i64),
    Float,
    Double,
    Bytes,
    String,
    /// The fields' nodes, in schema order.
    Record(Vec<usize>),
    /// A use of a record by name; re-entering a record already on the path counts as recursion.
    Ref(usize),
    /// How many symbols.
    Enum(usize),
    Array(usize),
    Map(usize),
    /// Branches that admit a finite value, as (index in the union, node), and which of them to
    /// take once the recursion limit is reached.
    Union(Vec<(u32, usize)>, usize),
    Fixed(usize),
    /// Unscaled digits allowed, and the fixed size if not on bytes.
    Decimal(u32, Option<usize>),
    BigDecimal,
    Uuid(UuidAs),
    Duration,
}

/// How a `uuid` is written: its logical type sits on a string, 16 bytes, or a fixed(16).
#[derive(Debug, Clone, Copy)]
pub(crate) enum UuidAs {
    String,
    Bytes,
    Fixed,
}

/// The compiled schema: nodes, which of them admit a finite value, and the root.
#[derive(Debug)]
pub(crate) struct Plan {
    pub nodes: Vec<Node>,
    pub finite: Vec<bool>,
    pub root: usize,
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
    pub fn new(schema: &Schema) -> Result<Plan, GenError> {
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
        let ts = |unit: i64| Node::Long(TS_MS.0 * unit, TS_MS.1 * unit);
        let node = match s {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int(i32::MIN, i32::MAX),
            Schema::Long => Node::Long(i64::MIN, i64::MAX),
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes => Node::Bytes,
            Schema::String => Node::String,
            Schema::Date => Node::Int(0, 47_481),
            Schema::TimeMillis => Node::Int(0, DAY_MS - 1),
            Schema::TimeMicros => Node::Long(0, DAY_MS as i64 * 1000 - 1),
            Schema::TimestampMillis | Schema::LocalTimestampMillis => ts(1),
            Schema::TimestampMicros | Schema::LocalTimestampMicros => ts(1000),
            Schema::TimestampNanos | Schema::LocalTimestampNanos => ts(1_000_000),
            Schema::BigDecimal => Node::BigDecimal,
            Schema::Uuid(u) => Node::Uuid(match u {
                UuidSchema::String => UuidAs::String,
                UuidSchema::Bytes => UuidAs::Bytes,
                UuidSchema::Fixed(_) => UuidAs::Fixed,
            }),
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
            Schema::Enum(e) => Node::Enum(e.symbols.len()),
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
                let fields = r.fields.iter();
                let fields = fields.map(|f| self.compile(&f.schema, inner_ns.as_deref(), named));
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
            Node::Record(fs) => fs.iter().all(|c| finite[*c]),
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
    pub fn resizable(&self) -> bool {
        let sized = |n: &Node| matches!(n, Node::String | Node::Bytes | Node::Map(_));
        self.nodes
            .iter()
            .zip(&self.finite)
            .any(|(n, f)| *f && sized(n))
    }
}
