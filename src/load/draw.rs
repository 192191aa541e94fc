//! Drawing a producer's records into one reused buffer: the generator of the version it writes
//! with, kbench's header slots, and the Confluent frame with that version's id — and switching
//! to a newer version mid-run, checking its first record like the first version's.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use apache_avro::Schema;

use super::delivery::micros;
use super::pace::Slot;
use super::payload::{PayloadPlan, SizeDraw};
use super::versions::{SchemaBoard, WriterVersion};
use crate::avro::generate::{self, Generator, Sizes};
use crate::avro::header::{Header, HeaderSlots};
use crate::avro::wire;

/// What a producer stamps into every record's header, and what seeds its generator.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    /// Producer number.
    pub id: u32,
    /// The run's seed (combined with `id`).
    pub seed: u64,
    /// When the producer's schedule starts (offset from the origin).
    pub start: Duration,
    /// Wall clock (ms since the epoch) at the origin.
    pub wall_origin_ms: i64,
}

/// Draws records into one reused buffer: generator, header slots and the Confluent frame.
pub(super) struct RecordDraw {
    cfg: Stamp,
    schema: Arc<Schema>,
    schema_id: u32,
    sizes: Sizes,
    plan: PayloadPlan,
    /// Each record's string/bytes length, when sizes vary.
    shape: Option<SizeDraw>,
    generator: Generator,
    slots: HeaderSlots,
    buf: Vec<u8>,
}

impl RecordDraw {
    /// Records of `schema` (registry id `schema_id`), checked (see [`RecordDraw::check_first`]).
    pub(super) fn new(
        cfg: Stamp,
        schema: Arc<Schema>,
        schema_id: u32,
        sizes: Sizes,
        plan: &PayloadPlan,
    ) -> Result<RecordDraw> {
        let slots = HeaderSlots::new(&schema).context("schema lacks kbench's header fields")?;
        let draw = RecordDraw {
            cfg,
            generator: generator(&cfg, &schema, sizes, plan)?,
            schema,
            schema_id,
            sizes,
            shape: plan.size_draw(seed(&cfg)),
            plan: plan.clone(),
            slots,
            buf: Vec::with_capacity(1024),
        };
        draw.check_first()?;
        Ok(draw)
    }

    /// From now on, records of version `v`.
    pub(super) fn switch_to(&mut self, v: &WriterVersion) -> Result<()> {
        let next = Self::new(self.cfg, Arc::clone(&v.schema), v.id, v.sizes, &self.plan)
            .with_context(|| format!("switching to schema {} (id {})", v.label, v.id))?;
        *self = next;
        Ok(())
    }

    /// The id records are framed with now.
    pub(super) fn schema_id(&self) -> u32 {
        self.schema_id
    }

    /// Records are valid by construction (property-tested against apache-avro's decoder);
    /// decoding every one would cost more than drawing it, so the first one is checked, on a
    /// twin generator, before the loop — the loop then draws that same record again.
    fn check_first(&self) -> Result<()> {
        let mut twin = generator(&self.cfg, &self.schema, self.sizes, &self.plan)?;
        let header = Header {
            producer: self.cfg.id as i32,
            seq: 0,
            intended_us: 0,
            wall_ms: self.cfg.wall_origin_ms,
        };
        generate::check_stamped(&mut twin, &self.schema, &self.slots, &header)
            .context("checking the first generated record against the schema")
    }

    /// The record for `slot`, framed, in the reused buffer.
    #[inline]
    pub(super) fn draw(&mut self, slot: &Slot) -> &[u8] {
        let start_us = micros(self.cfg.start);
        let header = Header {
            producer: self.cfg.id as i32,
            seq: slot.seq as i64,
            intended_us: (start_us + micros(slot.intended)) as i64,
            wall_ms: self.cfg.wall_origin_ms + ((start_us + micros(slot.actual)) / 1000) as i64,
        };
        if let Some(shape) = &mut self.shape {
            self.generator.set_value_len(shape.next_len());
        }
        wire::start_frame(&mut self.buf, self.schema_id);
        self.generator
            .encode_stamped(&mut self.buf, &self.slots, &header);
        &self.buf
    }
}

/// Producer `cfg.id`'s seed: each producer draws its own records, sizes and keys.
pub(super) fn seed(cfg: &Stamp) -> u64 {
    cfg.seed ^ (u64::from(cfg.id) << 32)
}

/// The generator of producer `cfg.id` for `schema`, as compressible as `plan` asks.
fn generator(cfg: &Stamp, schema: &Schema, sizes: Sizes, plan: &PayloadPlan) -> Result<Generator> {
    Ok(Generator::new(schema, seed(cfg), sizes)?.with_repeat(plan.spec.repeat))
}

/// A producer following the run's schema board: it switches its draw to a newer version once
/// that version's time for this producer has come, and notes the switch on the board.
pub(super) struct Follow<'b> {
    board: Option<&'b SchemaBoard>,
    seen: u32,
    pending: Option<Arc<WriterVersion>>,
}

impl<'b> Follow<'b> {
    /// Follow `board` (nothing to follow: `None`), from the version the draw writes with.
    pub(super) fn new(board: Option<&'b SchemaBoard>, producer: u32, draw: &RecordDraw) -> Self {
        if let Some(b) = board {
            b.note_switch(producer, 0, draw.schema_id());
        }
        Follow {
            board,
            seen: board.map_or(0, SchemaBoard::generation),
            pending: None,
        }
    }

    /// Before drawing `slot`: switch if a newer version is due (one atomic load otherwise).
    #[inline]
    pub(super) fn before(&mut self, draw: &mut RecordDraw, slot: &Slot) {
        let Some(board) = self.board else {
            return;
        };
        let g = board.generation();
        if g != self.seen {
            self.seen = g;
            self.pending = Some(board.current());
        }
        let Some(v) = &self.pending else {
            return;
        };
        if draw.cfg.start + slot.intended < v.from_for(draw.cfg.id) {
            return;
        }
        // Each version's first record was generated and decoded when it was prepared, so a
        // failure here is a bug; the producer keeps the version it has rather than stop.
        match draw.switch_to(v) {
            Ok(()) => board.note_switch(draw.cfg.id, slot.seq, v.id),
            Err(e) => eprintln!(
                "kbench: producer {} keeps schema id {}: {e:#}",
                draw.cfg.id,
                draw.schema_id()
            ),
        }
        self.pending = None;
    }
}
