//! Objects too large to hold decompressed, parsed on every core anyway.
//!
//! Text arrives in pieces (streamed gunzip, an S3 body, a large local
//! file). It is cut after a newline into segments of about
//! `segment_bytes`, exactly as [`segment::split`] cuts a whole object, and
//! the segments are parsed and encoded a wave at a time: one segment per
//! pool thread (at most `max_whole_bytes` of them), in parallel, before
//! more text is decompressed. Memory holds one wave of segments, whatever
//! the object's size. Reading and cutting run on the caller's thread, not
//! on the pool: a pool thread waiting for a wave to finish may pick up
//! other queued work, which must never be an object waiting on the network.
//!
//! A line longer than a whole segment cannot be held: it is fed through a
//! segment of its own as it arrives (the decoder keeps only its first bytes
//! and rejects it as too long), and cutting resumes after its newline.
//! Segments keep their order, so rejects keep line order and line numbers
//! are those of the whole object.

use flowlake_schemas::Format;
use memchr::{memchr, memrchr};
use rayon::prelude::*;

use crate::process::{ObjectOutput, ProcessConfig, ProcessError, TextToParquet, encode_segment};
use crate::segment::{Segment, scan};
use crate::sources::SourceObject;

/// Part-number distance between the files one segment reopens for the same
/// hour (see `PartitionedWriter::with_max_open`): more than any streamed
/// object's segment count, which is unknown in advance.
pub(crate) const STREAM_STRIDE: u32 = 1 << 24;

/// A segment cut from the stream, waiting for its wave.
struct Owned {
    bytes: Vec<u8>,
    index: u32,
    first_line: u64,
    format: Format,
}

/// Cuts streamed text into segments and parses them a wave at a time.
pub(crate) struct Waves<'a> {
    object: &'a SourceObject,
    source_key: &'a str,
    config: &'a ProcessConfig,
    pool: &'a rayon::ThreadPool,
    /// Text not yet cut into a segment.
    pending: Vec<u8>,
    wave: Vec<Owned>,
    wave_size: usize,
    /// Where the next segment starts.
    index: u32,
    line: u64,
    format: Format,
    /// A line longer than a segment, being fed as it arrives.
    long: Option<TextToParquet>,
    /// Every segment's result, in segment order.
    outputs: Vec<Result<ObjectOutput, ProcessError>>,
}

impl<'a> Waves<'a> {
    /// Cuts and parses `object`'s text, a wave of one segment per thread
    /// of `pool`.
    pub(crate) fn new(
        object: &'a SourceObject,
        source_key: &'a str,
        config: &'a ProcessConfig,
        pool: &'a rayon::ThreadPool,
    ) -> Waves<'a> {
        let by_memory = config.limits.max_whole_bytes / config.segment_bytes.max(1);
        Waves {
            object,
            source_key,
            config,
            pool,
            pending: Vec::new(),
            wave: Vec::new(),
            wave_size: pool.current_num_threads().min(by_memory).max(1),
            index: 0,
            line: 1,
            format: config.format.clone(),
            long: None,
            outputs: Vec::new(),
        }
    }

    /// Takes the next piece of text.
    pub(crate) fn push(&mut self, mut text: &[u8]) -> Result<(), ProcessError> {
        if let Some(long) = self.long.as_mut() {
            match memchr(b'\n', text) {
                None => return long.feed(text),
                Some(i) => {
                    long.feed(&text[..=i])?;
                    self.end_long();
                    text = &text[i + 1..];
                }
            }
        }
        self.pending.extend_from_slice(text);
        self.cut()
    }

    /// Cuts every full segment out of `pending`.
    fn cut(&mut self) -> Result<(), ProcessError> {
        let max = self.config.segment_bytes.max(1);
        while self.pending.len() >= max {
            match memrchr(b'\n', &self.pending[..max]) {
                Some(i) => {
                    // An exact-size copy: the pending buffer keeps its capacity.
                    let bytes = self.pending[..=i].to_vec();
                    self.pending.drain(..=i);
                    self.queue(bytes)?;
                }
                None => return self.start_long(),
            }
        }
        Ok(())
    }

    /// The first pending line is longer than a segment: parse the waves
    /// before it, then feed it through a segment of its own.
    fn start_long(&mut self) -> Result<(), ProcessError> {
        self.run_wave();
        let mut long = TextToParquet::new(
            self.object,
            self.source_key,
            (self.format.clone(), self.line, self.index, STREAM_STRIDE),
            self.config,
        );
        self.index += 1;
        let pending = std::mem::take(&mut self.pending);
        match memchr(b'\n', &pending) {
            None => {
                long.feed(&pending)?;
                self.long = Some(long);
                Ok(())
            }
            Some(i) => {
                long.feed(&pending[..=i])?;
                self.long = Some(long);
                self.end_long();
                self.pending = pending[i + 1..].to_vec();
                self.cut()
            }
        }
    }

    /// The long line has ended (its newline was fed).
    fn end_long(&mut self) {
        if let Some(long) = self.long.take() {
            self.outputs.push(long.finish());
            self.line += 1;
        }
    }

    /// Adds a segment to the wave, and parses the wave when it is full.
    fn queue(&mut self, bytes: Vec<u8>) -> Result<(), ProcessError> {
        let (lines, header) = scan(&bytes);
        self.wave.push(Owned {
            bytes,
            index: self.index,
            first_line: self.line,
            format: self.format.clone(),
        });
        self.index += 1;
        self.line += lines;
        if let Some(format) = header {
            self.format = format;
        }
        if self.wave.len() >= self.wave_size {
            self.run_wave();
        }
        Ok(())
    }

    /// Parses and encodes the waiting segments in parallel.
    fn run_wave(&mut self) {
        let wave = std::mem::take(&mut self.wave);
        if wave.is_empty() {
            return;
        }
        let (object, key, config) = (self.object, self.source_key, self.config);
        let results: Vec<Result<ObjectOutput, ProcessError>> = self.pool.install(|| {
            wave.par_iter()
                .map(|s| {
                    let segment = Segment {
                        index: s.index,
                        bytes: &s.bytes,
                        first_line: s.first_line,
                        format: s.format.clone(),
                    };
                    encode_segment(object, key, &segment, STREAM_STRIDE, config)
                })
                .collect()
        });
        self.outputs.extend(results);
    }

    /// Gives up (the object failed): nothing more is parsed, and every
    /// staged file of the segments done so far is removed.
    pub(crate) fn abandon(self) {
        for output in self.outputs.into_iter().flatten() {
            output.discard();
        }
        // A long line's writers remove their staged files when dropped.
    }

    /// Ends the text: parses what is left (a last line may lack its
    /// newline) and returns every segment's result, in order.
    pub(crate) fn finish(mut self) -> Vec<Result<ObjectOutput, ProcessError>> {
        if let Some(long) = self.long.take() {
            self.outputs.push(long.finish());
        } else if !self.pending.is_empty() {
            let bytes = std::mem::take(&mut self.pending);
            self.wave.push(Owned {
                bytes,
                index: self.index,
                first_line: self.line,
                format: self.format.clone(),
            });
        }
        self.run_wave();
        self.outputs
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use bytes::Bytes;
    use flowlake_schemas::Format;

    use crate::process::{ProcessConfig, process_stream, process_whole};
    use crate::sources::{ObjectKind, SourceObject, VersionRoute};

    fn object() -> SourceObject {
        SourceObject {
            identity: "test".into(),
            shard: "s".into(),
            location: "test.log".into(),
            version: "1".into(),
            route: VersionRoute::Modified,
            size: 0,
            kind: ObjectKind::Text,
            time_hint_ms: None,
            source: None,
        }
    }

    /// Lines of every kind: records over two hours, a header changing the
    /// format, bad lines, blank lines and lines longer than a segment.
    fn text() -> Vec<u8> {
        let mut text = String::from(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
        );
        for i in 0..400u64 {
            let t = 1_716_595_200 + i * 20;
            text.push_str(&format!(
                "2 123456789010 eni-0a1b2c3d 10.0.0.{} 198.51.100.7 443 {} 6 10 840 {t} {} ACCEPT OK\n",
                i % 250,
                40_000 + i,
                t + 60
            ));
            match i % 97 {
                5 => text.push_str("2 123456789010 eni-0a1b2c3d 10.0.0.5 nonsense\n"),
                11 => text.push('\n'),
                23 => text.push_str(&format!("2 {}\n", "x".repeat(3000))),
                42 => {
                    // Another format for one record, then back.
                    text.push_str("srcaddr dstaddr version start end action log-status\n");
                    text.push_str(&format!("10.0.0.9 10.0.0.10 2 {t} {} REJECT OK\n", t + 5));
                    text.push_str("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n");
                }
                _ => {}
            }
        }
        text.into_bytes()
    }

    fn quarantined(path: Option<&std::path::Path>) -> Vec<u64> {
        let Some(path) = path else { return Vec::new() };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["line"].as_u64())
            .collect()
    }

    #[test]
    fn a_streamed_object_gives_what_the_whole_object_gives() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = text();
        let whole_config = ProcessConfig::new(Format::default_vpc(), dir.path().join("whole"));
        std::fs::create_dir_all(&whole_config.staging).unwrap_or_default();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let whole = process_whole(
            &object(),
            "w",
            Bytes::from(text.clone()),
            &whole_config,
            &pool,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for (segment_bytes, chunk) in [(2048, 100), (700, 4096), (1 << 20, 333)] {
            let mut config = ProcessConfig::new(
                Format::default_vpc(),
                dir.path().join(format!("s{segment_bytes}")),
            );
            std::fs::create_dir_all(&config.staging).unwrap_or_default();
            config.segment_bytes = segment_bytes;
            config.limits.max_line_bytes = 1000;
            let (tx, rx) = tokio::sync::mpsc::channel(text.len() / chunk + 2);
            for piece in text.chunks(chunk) {
                tx.try_send(Ok::<Bytes, io::Error>(Bytes::copy_from_slice(piece)))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            drop(tx);
            let streamed = process_stream(&object(), "s", rx, &config, &pool)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(streamed.counts, whole.counts, "segments of {segment_bytes}");
            assert_eq!(streamed.rows_written(), whole.rows_written());
            assert_eq!(
                quarantined(streamed.quarantine.as_ref().map(|q| q.staged.as_path())),
                quarantined(whole.quarantine.as_ref().map(|q| q.staged.as_path())),
                "rejected line numbers, in order"
            );
            if segment_bytes < 4096 {
                assert!(streamed.files.len() > 2, "several segments were written");
            }
        }
        assert!(
            whole.counts.rejected >= 8 && whole.counts.blank >= 4,
            "{:?}",
            whole.counts
        );
    }
}
