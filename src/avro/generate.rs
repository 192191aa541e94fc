//! Seeded generation of Avro records for any schema (every primitive, complex and logical type
//! apache-avro 0.22 knows), and calibration of string/bytes lengths to a target record size.
//!
//! Records are drawn straight into Avro binary (`encode`), which is what the producer sends;
//! [`Generator::generate`] decodes that with apache-avro for callers that want a `Value`.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::Schema;

use super::encode::State;
use super::header::{Header, HeaderSlots};
use super::plan::Plan;
pub use super::plan::{GenError, Sizes, MAX_RECURSION};

/// Records sampled per candidate length by [`calibrate`].
pub const CALIBRATION_SAMPLES: usize = 32;
/// Upper bound of the `string_len` search in [`calibrate`].
pub const MAX_CALIBRATED_LEN: usize = 65536;

/// Produces a deterministic sequence of random records valid for one schema.
pub struct Generator {
    plan: Plan,
    state: State,
    schema: Schema,
    scratch: Vec<u8>,
}

impl Generator {
    /// Compiles `schema`; fails if it has unresolved names, an empty enum, a zero-size fixed
    /// decimal, or admits no finite value.
    pub fn new(schema: &Schema, seed: u64, sizes: Sizes) -> Result<Generator, GenError> {
        let plan = Plan::new(schema)?;
        let state = State::new(&plan, seed, sizes);
        Ok(Generator {
            plan,
            state,
            schema: schema.clone(),
            scratch: Vec::new(),
        })
    }

    /// Records whose string, bytes and fixed contents are `fraction` (0..=1) repeated runs
    /// from a small dictionary instead of all random: how compressible they are.
    pub fn with_repeat(mut self, fraction: f64) -> Generator {
        self.state.set_repeat(fraction);
        self
    }

    /// Draw the following records with strings and bytes of `len` (a record-size distribution
    /// sets it per record).
    pub fn set_value_len(&mut self, len: usize) {
        self.state.sizes.string_len = len;
        self.state.sizes.bytes_len = len;
    }

    /// The string, bytes and collection lengths records are drawn with.
    pub fn sizes(&self) -> Sizes {
        self.state.sizes
    }

    /// Appends the next record's Avro binary datum to `buf`.
    pub fn encode_into(&mut self, buf: &mut Vec<u8>) {
        let root = self.plan.root;
        self.plan.encode(&mut self.state, buf, root, 0, None);
    }

    /// Appends the next record with kbench's header fields (at `slots`) set to `header`; the
    /// same record as [`Generator::encode_into`] would give, header fields apart.
    pub fn encode_stamped(&mut self, buf: &mut Vec<u8>, slots: &HeaderSlots, header: &Header) {
        let root = self.plan.root;
        let stamp = Some((slots.positions(), header));
        self.plan.encode(&mut self.state, buf, root, 0, stamp);
    }

    /// The next record as a `Value`: [`Generator::encode_into`]'s bytes decoded by apache-avro,
    /// so a record that does not match the schema is an error here, never a silent value.
    pub fn generate(&mut self) -> Result<Value, GenError> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        self.encode_into(&mut buf);
        let decoded = decode_whole(&self.schema, &buf);
        self.scratch = buf;
        decoded
    }
}

/// Draw one record with `g` stamped with `header`, and check that it decodes whole with
/// `schema` and carries that header: records are valid by construction, and this is the one
/// check that says so before a schema is used.
pub fn check_stamped(
    g: &mut Generator,
    schema: &Schema,
    slots: &HeaderSlots,
    header: &Header,
) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    g.encode_stamped(&mut buf, slots, header);
    let value = decode_whole(schema, &buf)
        .map_err(|e| anyhow::anyhow!("a generated record does not decode: {e}"))?;
    anyhow::ensure!(
        slots.get(&value).as_ref() == Some(header),
        "a generated record does not carry its kbench header"
    );
    Ok(())
}

/// Decodes one datum and insists that it used every byte: a writer that wrote too much is as
/// wrong as one that wrote too little.
pub fn decode_whole(schema: &Schema, datum: &[u8]) -> Result<Value, GenError> {
    let reader = GenericDatumReader::builder(schema).build();
    let mut rest = datum;
    let value = reader
        .and_then(|r| r.read_value(&mut rest))
        .map_err(GenError::Decode)?;
    match rest.len() {
        0 => Ok(value),
        n => Err(GenError::TrailingBytes(n)),
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
    let sizes = |len| Sizes {
        string_len: len,
        bytes_len: len,
        ..Sizes::default()
    };
    let mut buf = Vec::new();
    let mut mean = |len: usize| mean_size(&plan, seed, len, &mut buf);
    let target = target_bytes as f64;
    // Smallest length whose mean reaches the target; the mean never shrinks as length grows.
    let (mut lo, mut hi) = (0, MAX_CALIBRATED_LEN);
    if mean(hi) < target {
        return Ok(sizes(hi));
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if mean(mid) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo > 0 && target - mean(lo - 1) < mean(lo) - target {
        lo -= 1;
    }
    Ok(sizes(lo))
}

/// How a schema's encoded size grows with the length of its strings and bytes: about
/// `base + per_len × len` bytes. Measured at two lengths, so varint prefixes and optional
/// fields are averaged in; a record-size distribution turns each drawn size into a length
/// with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LenModel {
    /// Mean datum size at length 0, bytes.
    pub base: f64,
    /// Bytes added per unit of length.
    pub per_len: f64,
}

impl LenModel {
    /// The string/bytes length whose records are closest to `target` bytes on average.
    pub fn len_for(&self, target: usize) -> usize {
        ((target as f64 - self.base) / self.per_len)
            .round()
            .max(0.0) as usize
    }
}

/// The [`LenModel`] of `schema`; `None` when it has no string, bytes or map to resize.
pub fn len_model(schema: &Schema, seed: u64) -> Result<Option<LenModel>, GenError> {
    let plan = Plan::new(schema)?;
    if !plan.resizable() {
        return Ok(None);
    }
    let mut buf = Vec::new();
    let mut mean = |len: usize| mean_size(&plan, seed, len, &mut buf);
    const FAR: usize = 4096;
    let (at0, at_far) = (mean(0), mean(FAR));
    Ok(Some(LenModel {
        base: at0,
        per_len: ((at_far - at0) / FAR as f64).max(1e-9),
    }))
}

/// Mean encoded size of [`CALIBRATION_SAMPLES`] records from `seed` with strings and bytes of
/// `len`.
fn mean_size(plan: &Plan, seed: u64, len: usize, buf: &mut Vec<u8>) -> f64 {
    let sizes = Sizes {
        string_len: len,
        bytes_len: len,
        ..Sizes::default()
    };
    let mut st = State::new(plan, seed, sizes);
    let mut total = 0;
    for _ in 0..CALIBRATION_SAMPLES {
        buf.clear();
        plan.encode(&mut st, buf, plan.root, 0, None);
        total += buf.len();
    }
    total as f64 / CALIBRATION_SAMPLES as f64
}
