//! The writer schema versions of a run, shared by its producers, its consumers and the thread
//! that evolves the schema: which versions the registry accepted (id, version under the
//! subject, file), which one producers write with from when, and where each producer switched
//! (its first sequence with each id) — so the audit can say which version every record was
//! written with, and consumers can check that the id on the wire is that version's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use apache_avro::Schema;

use crate::avro::generate::Sizes;

/// One version producers write with.
#[derive(Debug, Clone)]
pub struct WriterVersion {
    /// Registry id, on the wire in front of every record written with it.
    pub id: u32,
    /// Version number under the subject, where the registry said.
    pub version: Option<u32>,
    /// The schema file it came from, as reports name it.
    pub label: String,
    /// The schema as registered (with kbench's header fields).
    pub schema: Arc<Schema>,
    /// Value sizes, calibrated like the first version's.
    pub sizes: Sizes,
    /// Offset from the run's origin from which producer 0 writes with it; producer `n` from
    /// `from + n × spacing`.
    pub from: Duration,
    /// Gap between two producers' switches (zero: all at once).
    pub spacing: Duration,
}

impl WriterVersion {
    /// When producer `producer` starts writing with this version (offset from the origin).
    pub fn from_for(&self, producer: u32) -> Duration {
        self.from + self.spacing * producer
    }
}

/// The run's versions and every producer's switches.
#[derive(Debug)]
pub struct SchemaBoard {
    generation: AtomicU32,
    current: RwLock<Arc<WriterVersion>>,
    accepted: Mutex<Vec<Arc<WriterVersion>>>,
    /// Per producer, its first sequence with each id, in sequence order.
    switches: RwLock<BTreeMap<u32, Vec<(u64, u32)>>>,
    full_decode: bool,
}

impl SchemaBoard {
    /// A board whose producers all start with `first`. `full_decode`: consumers decode every
    /// record whole (runs that evolve the schema), not only the first of each id.
    pub fn new(first: WriterVersion, full_decode: bool) -> Arc<SchemaBoard> {
        let first = Arc::new(first);
        Arc::new(SchemaBoard {
            generation: AtomicU32::new(0),
            current: RwLock::new(Arc::clone(&first)),
            accepted: Mutex::new(vec![first]),
            switches: RwLock::default(),
            full_decode,
        })
    }

    /// Bumped whenever a version is published: the one number a producer checks per record.
    #[inline]
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// The newest accepted version.
    pub fn current(&self) -> Arc<WriterVersion> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// A version the registry accepted: producers switch to it from its `from` on.
    pub fn publish(&self, v: WriterVersion) {
        let v = Arc::new(v);
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&v));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = v;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Every accepted version, the first one first.
    pub fn accepted(&self) -> Vec<Arc<WriterVersion>> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the registry gave this run `id` (a version it accepted).
    pub fn registered(&self, id: u32) -> bool {
        let all = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().any(|v| v.id == id)
    }

    /// Producer `producer` writes with `id` from sequence `first_seq` on.
    pub fn note_switch(&self, producer: u32, first_seq: u64, id: u32) {
        let mut all = self.switches.write().unwrap_or_else(|e| e.into_inner());
        all.entry(producer).or_default().push((first_seq, id));
    }

    /// The id producer `producer` wrote sequence `seq` with; `None` for an unknown producer.
    pub fn id_for(&self, producer: u32, seq: u64) -> Option<u32> {
        let all = self.switches.read().unwrap_or_else(|e| e.into_inner());
        id_at(all.get(&producer)?, seq)
    }

    /// Every producer's switches.
    pub fn switches(&self) -> BTreeMap<u32, Vec<(u64, u32)>> {
        self.switches
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether consumers decode every record whole.
    pub fn full_decode(&self) -> bool {
        self.full_decode
    }
}

/// The id in force at `seq` in a producer's switch list.
pub fn id_at(switches: &[(u64, u32)], seq: u64) -> Option<u32> {
    let i = switches.partition_point(|(first, _)| *first <= seq);
    i.checked_sub(1).map(|i| switches[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u32, from_s: u64, spacing_s: u64) -> WriterVersion {
        WriterVersion {
            id,
            version: Some(id),
            label: format!("v{id}"),
            schema: Arc::new(Schema::parse_str(r#""long""#).unwrap()),
            sizes: Sizes::default(),
            from: Duration::from_secs(from_s),
            spacing: Duration::from_secs(spacing_s),
        }
    }

    #[test]
    fn switches_say_which_id_each_sequence_was_written_with() {
        let board = SchemaBoard::new(version(7, 0, 0), true);
        let g = board.generation();
        board.note_switch(0, 0, 7);
        board.note_switch(1, 0, 7);
        board.publish(version(9, 30, 2));
        assert_ne!(board.generation(), g, "producers see the new version");
        assert_eq!(board.current().id, 9);
        assert_eq!(board.current().from_for(3), Duration::from_secs(36));
        board.note_switch(0, 100, 9);
        assert_eq!(board.id_for(0, 99), Some(7));
        assert_eq!(board.id_for(0, 100), Some(9));
        assert_eq!(
            board.id_for(1, 1_000),
            Some(7),
            "producer 1 has not switched"
        );
        assert_eq!(board.id_for(2, 0), None);
        let ids: Vec<u32> = board.accepted().iter().map(|v| v.id).collect();
        assert_eq!(ids, [7, 9]);
        assert_eq!(id_at(&[(5, 1)], 4), None);
    }
}
