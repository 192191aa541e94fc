//! The .hlog files: standard HdrHistogram interval logs (the format of Java's
//! `HistogramLogWriter`, readable by `HistogramLogProcessor`, HdrHistogramVisualizer and
//! hdrhistogram's `IntervalLogIterator`), one per latency kind, plus `read_hlog` to load one back.
//!
//! Layout of each file:
//!
//! ```text
//! #[kbench ack_corrected: ack time - intended send time (coordinated-omission corrected)]
//! #[Values in microseconds; Interval_Max is in microseconds too]
//! #[Histogram log format version 1.3]
//! #[StartTime: 1700000000.123 (seconds since epoch)]
//! #[BaseTime: 1700000000.123 (seconds since epoch)]
//! "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//! 0.000,1.000,1999.000,HISTFAAAA...
//! ```
//!
//! StartTime and BaseTime are both the wall clock at the run origin, so interval timestamps are
//! seconds since the origin. Histograms are V2 + DEFLATE ("HISTFAAA..." once base64-encoded).
//! Java tools assume nanoseconds by default; pass `-outputValueUnitRatio 1000` to get ms.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::Kind;

const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

/// One open interval log per kind, indexed by [`Kind::index`].
pub(crate) struct HlogSet {
    logs: Vec<(PathBuf, BufWriter<File>)>,
    serializer: V2DeflateSerializer,
}

impl HlogSet {
    /// Creates (truncates) `<dir>/<kind>.hlog` for every kind and writes the headers.
    pub(crate) fn create(dir: &Path, start_wall_ms: u64) -> Result<HlogSet> {
        let origin = UNIX_EPOCH + Duration::from_millis(start_wall_ms);
        let mut serializer = V2DeflateSerializer::new();
        let mut logs = Vec::with_capacity(Kind::COUNT);
        for kind in Kind::ALL {
            let path = dir.join(kind.file_name());
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            write_header(&mut out, &mut serializer, kind, origin)
                .with_context(|| format!("cannot write {}", path.display()))?;
            logs.push((path, out));
        }
        Ok(HlogSet { logs, serializer })
    }

    /// Appends one interval `[start_us, end_us)` (µs since the origin). `late_second` marks data
    /// that arrived after its second was written; it goes in as one more untagged interval for
    /// that second, after a comment, so summing the log still gives every value.
    pub(crate) fn write(
        &mut self,
        kind: Kind,
        h: &Histogram<u64>,
        start_us: u64,
        end_us: u64,
        late_second: Option<u64>,
    ) -> Result<()> {
        let (path, out) = &mut self.logs[kind.index()];
        // The writer borrows its output, so it cannot live in this struct next to it; a builder
        // without headers writes nothing, which makes a fresh writer per interval free.
        let mut w = IntervalLogWriterBuilder::new()
            .begin_log_with(out, &mut self.serializer)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if let Some(s) = late_second {
            w.write_comment(&format!(
                "late data for second {s}, merged after that second was written"
            ))
            .with_context(|| format!("cannot write {}", path.display()))?;
        }
        w.write_histogram(
            h,
            Duration::from_micros(start_us),
            Duration::from_micros(end_us.saturating_sub(start_us)),
            None,
        )
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        for (path, out) in &mut self.logs {
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

fn write_header(
    out: &mut BufWriter<File>,
    serializer: &mut V2DeflateSerializer,
    kind: Kind,
    origin: SystemTime,
) -> std::io::Result<()> {
    IntervalLogWriterBuilder::new()
        .add_comment(&format!("[kbench {}: {}]", kind.name(), kind.description()))
        .add_comment("[Values in microseconds; Interval_Max is in microseconds too]")
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(origin)
        .with_base_time(origin)
        .begin_log_with(out, serializer)?;
    writeln!(out, "{LEGEND}")?;
    out.flush()
}

/// Reads an interval log: (interval start in seconds as written — relative to BaseTime when the
/// log has one — and the histogram) in file order. The histograms come back with auto-resize on,
/// ready to be merged.
pub fn read_hlog(path: impl AsRef<Path>) -> Result<Vec<(f64, Histogram<u64>)>> {
    let intervals = read_intervals(path.as_ref())?;
    Ok(intervals
        .into_iter()
        .map(|(start, _, h)| (start, h))
        .collect())
}

/// Reads a log kbench wrote, each interval under the second it belongs to. An interval ends on
/// its second's end but may start earlier (a straggler folded in, see the aggregator), so the
/// second is read from the end.
pub fn read_hlog_seconds(path: impl AsRef<Path>) -> Result<Vec<(u64, Histogram<u64>)>> {
    let intervals = read_intervals(path.as_ref())?;
    let second = |start: f64, length: f64| ((start + length).round() as u64).saturating_sub(1);
    Ok((intervals.into_iter())
        .map(|(start, length, h)| (second(start, length), h))
        .collect())
}

/// (start s, length s, histogram) of every interval, in file order.
fn read_intervals(path: &Path) -> Result<Vec<(f64, f64, Histogram<u64>)>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut deserializer = Deserializer::new();
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry =
            entry.map_err(|e| anyhow!("{}: malformed interval log: {e:?}", path.display()))?;
        if let LogEntry::Interval(iv) = entry {
            let start = iv.start_timestamp().as_secs_f64();
            let raw = base64_decode(iv.encoded_histogram())
                .with_context(|| format!("{}: interval at {start:.3} s", path.display()))?;
            let mut h: Histogram<u64> = deserializer
                .deserialize(&mut raw.as_slice())
                .map_err(|e| anyhow!("{}: interval at {start:.3} s: {e}", path.display()))?;
            h.auto(true);
            out.push((start, iv.duration().as_secs_f64(), h));
        }
    }
    Ok(out)
}

/// Standard-alphabet base64 with padding, as interval logs use. Hand-written because the crate
/// that hdrhistogram uses for it is not one of ours.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let body = text.trim_end_matches('=');
    if !text.len().is_multiple_of(4) || text.len() - body.len() > 2 {
        bail!("bad base64 length or padding");
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            let v = sextet(c).ok_or_else(|| anyhow!("bad base64 character {:?}", c as char))?;
            acc = (acc << 6) | v;
        }
        // A chunk of n sextets carries n*6 bits, i.e. n-1 whole bytes.
        let bits = chunk.len() * 6;
        acc <<= 24 - bits;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        let cases: [(&str, &[u8]); 5] = [
            ("", b""),
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYmFy", b"foobar"),
        ];
        for (enc, dec) in cases {
            assert_eq!(base64_decode(enc).ok().as_deref(), Some(dec), "{enc}");
        }
        assert!(base64_decode("Zg=").is_err());
        assert!(base64_decode("Z===").is_err());
        assert!(base64_decode("Zm9*").is_err());
    }
}
