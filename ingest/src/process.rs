//! One object's bytes to staged Parquet files, rejected lines and counts.
//! CPU work only: runs on the ingest thread pool, never on the async runtime.
//!
//! ```text
//! Body::Whole ─▶ gunzip_whole ─▶ segment::split ─▶ (parallel) Decoder ─▶ PartitionedWriter ─┐
//! Body::Stream ─▶ StreamingGunzip ─▶ Decoder ─▶ PartitionedWriter ──────────────────────────┼─▶ ObjectOutput
//! .parquet ─▶ ParquetRecordBatchReader ─▶ normalize ─▶ PartitionedWriter ───────────────────┘
//! ```
//!
//! Rejected lines go to a staged quarantine file as they are found
//! ([`QuarantineWriter`]), one per segment, joined in line order at the end.
//!
//! # Memory
//!
//! Bounded by [`Limits`], never by the object. One object in flight holds
//! at most: its compressed bytes when read whole (local files and S3
//! bodies up to `max_whole_bytes`; larger ones stream in 1 MiB chunks), its
//! decompressed text when that fits in `max_whole_bytes` (else one wave of
//! 16 MiB segments, at most `max_whole_bytes` of them, plus one segment
//! being cut; see `waves`), and per segment being parsed one decode chunk (1 MiB), one
//! batch (`batch_size` rows), one carried line (`max_line_bytes`) and up to
//! `max_open_partitions` Parquet writers whose buffered row groups are
//! flushed past 96 MiB. A gzip object that inflates past
//! `max_decompressed_bytes`, or more than `max_decompression_ratio` times
//! its size, fails by name; the run goes on.

use std::io;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Int64Type;
use bytes::Bytes;
use flowlake_schemas::normalize::normalize;
use flowlake_schemas::{Decoder, Format, LineCounts, LineLimits, Reject, TimeBounds};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use tokio::sync::mpsc;

use crate::encode::{EncodeError, PartitionedWriter, StagedFile};
use crate::gunzip::{GunzipError, StreamingGunzip, gunzip_whole};
use crate::lake::quarantine::{self, FIRST_REJECTS, QuarantineWriter, StagedQuarantine};
pub use crate::limits::{
    DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_DECOMPRESSION_RATIO, DEFAULT_MAX_WHOLE_BYTES,
    Limits,
};
use crate::segment::{self, SEGMENT_BYTES, Segment};
use crate::sources::{ObjectKind, SourceObject};
use crate::waves::Waves;

/// Bytes handed to the decoder at a time, so finished batches reach the
/// writer (and rejected lines the quarantine file) while a segment is still
/// being parsed: a chunk of nothing but bad lines holds at most this many
/// bytes of rejects in memory.
pub(crate) const DECODE_CHUNK: usize = 1 << 20;

/// What processing needs besides the object.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// Format of lines before any header line (default VPC v2 unless configured).
    pub format: Format,
    /// Rows per Arrow batch.
    pub batch_size: usize,
    /// Where staged files go until they are published.
    pub staging: PathBuf,
    /// Decompressed bytes per parallel segment.
    pub segment_bytes: usize,
    /// Memory and size limits.
    pub limits: Limits,
    /// Records with a time more than a day after this (UTC milliseconds,
    /// when the ingest started) are rejected lines.
    pub now_ms: i64,
}

impl ProcessConfig {
    /// Defaults with the given format and staging folder, "now" from the clock.
    pub fn new(format: Format, staging: PathBuf) -> ProcessConfig {
        ProcessConfig {
            format,
            batch_size: flowlake_schemas::DEFAULT_BATCH_SIZE,
            staging,
            segment_bytes: SEGMENT_BYTES,
            limits: Limits::default(),
            now_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    fn line_limits(&self) -> LineLimits {
        LineLimits {
            max_line_bytes: self.limits.max_line_bytes,
            times: TimeBounds::until(self.now_ms),
        }
    }
}

/// The result of processing one object, ready to commit.
#[derive(Debug, Default)]
pub struct ObjectOutput {
    /// Staged Parquet files, one per (segment, hour).
    pub files: Vec<StagedFile>,
    /// The staged quarantine file (every rejected line, in line order), if
    /// any line was rejected.
    pub quarantine: Option<StagedQuarantine>,
    /// The first few rejected lines (at most 5), for the summary and log.
    pub first_rejects: Vec<Reject>,
    /// What every line turned out to be.
    pub counts: LineCounts,
    /// Bytes read from the source (compressed).
    pub bytes_in: u64,
    /// Rows read from Parquet input (no lines there).
    pub parquet_rows: u64,
}

impl ObjectOutput {
    /// Records in the staged files.
    pub fn rows_written(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Removes every staged file (the object will not be committed).
    pub fn discard(&self) {
        for file in &self.files {
            file.discard();
        }
        if let Some(q) = &self.quarantine {
            let _ = std::fs::remove_file(&q.staged);
        }
    }
}

/// Why an object could not be processed. Nothing of it is committed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Gzip trouble: corrupt, truncated, not gzip.
    #[error(transparent)]
    Gunzip(#[from] GunzipError),
    /// A Parquet input file could not be read.
    #[error("reading Parquet input: {0}")]
    ParquetInput(String),
    /// Writing the output failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The body stream failed (network).
    #[error("reading the object: {0}")]
    Read(io::Error),
    /// A gzip object inflated past `--max-decompressed-bytes`.
    #[error(
        "decompresses to more than {limit} bytes (--max-decompressed-bytes): a gzip bomb, or raise the limit"
    )]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// None of the first events of an append-only source parsed: almost
    /// certainly the wrong `--format`, so the run stops instead of
    /// quarantining every event.
    #[error(
        "none of the first {events} events parsed as flow records in the format given ({fields} fields: {format}); the first was rejected with \"{example}\". CloudWatch Logs does not record which format a log group holds: pass the flow log's LogFormat with --format '${{version}} ${{account-id}} ...' (aws ec2 describe-flow-logs shows it)"
    )]
    NothingParses {
        /// Events tried.
        events: u64,
        /// Fields in the format.
        fields: usize,
        /// The format, as a LogFormat string.
        format: String,
        /// The first rejected event and why.
        example: String,
    },
    /// A gzip object inflated more than `--max-decompression-ratio` times.
    #[error(
        "{compressed} compressed bytes inflated to more than {decompressed} bytes, over {limit} times (--max-decompression-ratio): a gzip bomb, or raise the limit"
    )]
    Ratio {
        /// Compressed bytes read so far.
        compressed: u64,
        /// Decompressed bytes so far.
        decompressed: u64,
        /// The ratio limit.
        limit: u64,
    },
}

impl ProcessError {
    /// True when reading the object again may succeed (a dropped connection).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProcessError::Read(_))
    }
}

/// Processes an object held whole in memory. Large objects are split into
/// segments parsed and encoded in parallel on `pool`.
pub fn process_whole(
    object: &SourceObject,
    source_key: &str,
    bytes: Bytes,
    config: &ProcessConfig,
    pool: &rayon::ThreadPool,
) -> Result<ObjectOutput, ProcessError> {
    pool.install(|| whole_on_pool(object, source_key, bytes, config, pool))
}

fn whole_on_pool(
    object: &SourceObject,
    source_key: &str,
    bytes: Bytes,
    config: &ProcessConfig,
    pool: &rayon::ThreadPool,
) -> Result<ObjectOutput, ProcessError> {
    let bytes_in = bytes.len() as u64;
    let text: Bytes = match object.kind {
        ObjectKind::Parquet => return process_parquet(object, source_key, bytes, config),
        ObjectKind::GzipText => match gunzip_whole(&bytes, config.limits.max_whole_bytes)? {
            Some(text) => {
                config.limits.check_inflated(text.len() as u64, bytes_in)?;
                Bytes::from(text)
            }
            None => {
                // Too large to hold decompressed: stream it from memory.
                let chunks = (0..bytes.len())
                    .step_by(DECODE_CHUNK)
                    .map(|i| Ok(bytes.slice(i..(i + DECODE_CHUNK).min(bytes.len()))));
                return process_chunks(object, source_key, chunks, config, pool);
            }
        },
        ObjectKind::Text => bytes,
    };
    let segments = segment::split(&text, config.format.clone(), config.segment_bytes);
    let stride = u32::try_from(segments.len()).unwrap_or(u32::MAX);
    let outputs: Vec<Result<ObjectOutput, ProcessError>> = segments
        .par_iter()
        .map(|seg| encode_segment(object, source_key, seg, stride, config))
        .collect();
    let mut total = combine(outputs, source_key, config)?;
    total.bytes_in = bytes_in;
    Ok(total)
}

/// Joins the outputs of an object's segments (in segment order) into the
/// object's output: their files, their quarantine parts concatenated in
/// line order, and their counts. If any segment failed, every staged file
/// is removed and the first error returned.
fn combine(
    outputs: Vec<Result<ObjectOutput, ProcessError>>,
    source_key: &str,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let mut total = ObjectOutput::default();
    let mut parts = Vec::new();
    let mut failed = None;
    for output in outputs {
        match output {
            Ok(output) => {
                total.files.extend(output.files);
                parts.extend(output.quarantine);
                let room = FIRST_REJECTS.saturating_sub(total.first_rejects.len());
                total
                    .first_rejects
                    .extend(output.first_rejects.into_iter().take(room));
                total.counts.add(&output.counts);
            }
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    let joined = match failed {
        Some(e) => Err(e),
        None => quarantine::concat(parts.clone(), &quarantine_staging(config, source_key, None))
            .map_err(ProcessError::from),
    };
    match joined {
        Ok(q) => total.quarantine = q,
        Err(e) => {
            for part in &parts {
                let _ = std::fs::remove_file(&part.staged);
            }
            total.discard();
            return Err(e);
        }
    }
    total.files.sort_by(|a, b| a.dest.cmp(&b.dest));
    Ok(total)
}

/// Where a segment's (or, with `None`, the object's) quarantine is staged.
fn quarantine_staging(config: &ProcessConfig, source_key: &str, part: Option<u32>) -> PathBuf {
    config.staging.join(match part {
        Some(part) => format!("{source_key}-quarantine-{part:04}.jsonl"),
        None => format!("{source_key}-quarantine.jsonl"),
    })
}

/// A decoder feeding a partitioned writer and a quarantine file: flow-log
/// text in, staged Parquet files, staged rejects and counts out (objects
/// here, events of append-only sources in `events.rs`).
pub(crate) struct TextToParquet {
    pub(crate) decoder: Decoder,
    writer: PartitionedWriter,
    pub(crate) quarantine: QuarantineWriter,
}

impl TextToParquet {
    pub(crate) fn new(
        object: &SourceObject,
        source_key: &str,
        segment: (Format, u64, u32, u32),
        config: &ProcessConfig,
    ) -> Self {
        let (format, first_line, part, stride) = segment;
        let mut decoder =
            Decoder::new(format, first_line, config.batch_size).with_limits(config.line_limits());
        decoder.set_source(object.source.clone());
        TextToParquet {
            decoder,
            writer: PartitionedWriter::new(&config.staging, source_key, part, object.time_hint_ms)
                .with_max_open(config.limits.max_open_partitions, stride)
                .with_max_rollup_bytes(config.limits.max_rollup_bytes)
                .fitted_to_content(),
            quarantine: QuarantineWriter::new(
                quarantine_staging(config, source_key, Some(part)),
                object,
            ),
        }
    }

    pub(crate) fn feed(&mut self, text: &[u8]) -> Result<(), ProcessError> {
        for chunk in text.chunks(DECODE_CHUNK) {
            self.decoder.decode(chunk);
            for batch in self.decoder.take_batches() {
                self.writer.write(&batch)?;
            }
            self.quarantine.write(self.decoder.take_rejects())?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<ObjectOutput, ProcessError> {
        self.decoder.finish();
        for batch in self.decoder.take_batches() {
            self.writer.write(&batch)?;
        }
        self.quarantine.write(self.decoder.take_rejects())?;
        let (quarantine, first_rejects) = self.quarantine.finish()?;
        let files = match self.writer.finish() {
            Ok(files) => files,
            Err(e) => {
                if let Some(q) = &quarantine {
                    let _ = std::fs::remove_file(&q.staged);
                }
                return Err(e.into());
            }
        };
        Ok(ObjectOutput {
            files,
            quarantine,
            first_rejects,
            counts: self.decoder.counts(),
            ..ObjectOutput::default()
        })
    }
}

pub(crate) fn encode_segment(
    object: &SourceObject,
    source_key: &str,
    segment: &Segment<'_>,
    stride: u32,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let mut parse = TextToParquet::new(
        object,
        source_key,
        (
            segment.format.clone(),
            segment.first_line,
            segment.index,
            stride,
        ),
        config,
    );
    parse.feed(segment.bytes)?;
    parse.finish()
}

/// Processes an object whose bytes arrive over a channel (an S3 body, a
/// large local file), blocking the current thread while it waits for them:
/// call it from a blocking thread, not from `pool`, which only parses.
pub fn process_stream(
    object: &SourceObject,
    source_key: &str,
    mut chunks: mpsc::Receiver<io::Result<Bytes>>,
    config: &ProcessConfig,
    pool: &rayon::ThreadPool,
) -> Result<ObjectOutput, ProcessError> {
    let chunks = std::iter::from_fn(move || chunks.blocking_recv());
    if object.kind == ObjectKind::Parquet {
        // Parquet needs its footer first; AWS's Parquet objects are small
        // enough to gather.
        let mut whole = Vec::new();
        for chunk in chunks {
            whole.extend_from_slice(&chunk.map_err(ProcessError::Read)?);
        }
        return pool.install(|| process_parquet(object, source_key, Bytes::from(whole), config));
    }
    process_chunks(object, source_key, chunks, config, pool)
}

/// Processes text (gzip or plain) arriving in chunks, in one pass with
/// bounded memory: cut into segments parsed a wave at a time on every
/// thread of the pool (see [`Waves`]).
fn process_chunks(
    object: &SourceObject,
    source_key: &str,
    chunks: impl Iterator<Item = io::Result<Bytes>>,
    config: &ProcessConfig,
    pool: &rayon::ThreadPool,
) -> Result<ObjectOutput, ProcessError> {
    let mut gunzip = (object.kind == ObjectKind::GzipText).then(StreamingGunzip::new);
    let mut waves = Waves::new(object, source_key, config, pool);
    let mut bytes_in = 0u64;
    let read = || -> Result<(), ProcessError> {
        for chunk in chunks {
            let chunk = chunk.map_err(ProcessError::Read)?;
            bytes_in += chunk.len() as u64;
            match gunzip.as_mut() {
                Some(g) => g.push(&chunk, |text, g| {
                    config
                        .limits
                        .check_inflated(g.decompressed(), g.compressed())?;
                    waves.push(text)
                })?,
                None => waves.push(&chunk)?,
            }
        }
        if let Some(g) = gunzip.take() {
            let (decompressed, compressed) = (g.decompressed(), g.compressed());
            let rest = g.finish()?;
            config
                .limits
                .check_inflated(decompressed + rest.len() as u64, compressed)?;
            waves.push(&rest)?;
        }
        Ok(())
    };
    if let Err(e) = read() {
        waves.abandon();
        return Err(e);
    }
    let mut output = combine(waves.finish(), source_key, config)?;
    output.bytes_in = bytes_in;
    Ok(output)
}

/// Reads AWS's Parquet delivery. Rows whose `start`/`end` are not believable
/// flow times are quarantined like rejected lines, numbered by row from 1
/// (their `raw` names the row and the two values).
fn process_parquet(
    object: &SourceObject,
    source_key: &str,
    bytes: Bytes,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let bytes_in = bytes.len() as u64;
    let bad = |e: &dyn std::fmt::Display| ProcessError::ParquetInput(e.to_string());
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| bad(&e))?
        .with_batch_size(config.batch_size)
        .build()
        .map_err(|e| bad(&e))?;
    let mut writer = PartitionedWriter::new(&config.staging, source_key, 0, object.time_hint_ms)
        .with_max_open(config.limits.max_open_partitions, 1)
        .with_max_rollup_bytes(config.limits.max_rollup_bytes)
        .fitted_to_content();
    let mut quarantine =
        QuarantineWriter::new(quarantine_staging(config, source_key, None), object);
    let bounds = config.line_limits().times;
    let mut rows = 0u64;
    let mut kept = 0u64;
    let mut counts = LineCounts::default();
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let batch = normalize(&batch).map_err(|e| bad(&e))?;
        let (batch, rejects) = drop_unbelievable_times(&batch, &bounds, rows)?;
        rows += (batch.num_rows() + rejects.len()) as u64;
        kept += batch.num_rows() as u64;
        counts.rejected += rejects.len() as u64;
        quarantine.write(rejects)?;
        writer.write(&batch)?;
    }
    let (quarantine, first_rejects) = quarantine.finish()?;
    let files = match writer.finish() {
        Ok(files) => files,
        Err(e) => {
            if let Some(q) = &quarantine {
                let _ = std::fs::remove_file(&q.staged);
            }
            return Err(e.into());
        }
    };
    Ok(ObjectOutput {
        files,
        quarantine,
        first_rejects,
        counts,
        bytes_in,
        parquet_rows: kept,
    })
}

/// Splits a normalised batch into the rows whose times pass `bounds` and
/// rejects for the others (`before` rows of the object came earlier).
fn drop_unbelievable_times(
    batch: &RecordBatch,
    bounds: &TimeBounds,
    before: u64,
) -> Result<(RecordBatch, Vec<Reject>), ProcessError> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .cloned()
    };
    let (Some(start), Some(end)) = (column("start"), column("end")) else {
        return Ok((batch.clone(), Vec::new()));
    };
    let value = |a: &arrow::array::Int64Array, row: usize| a.is_valid(row).then(|| a.value(row));
    let mut rejects = Vec::new();
    let keep: BooleanArray = (0..batch.num_rows())
        .map(|row| {
            let (s, e) = (value(&start, row), value(&end, row));
            match bounds.check(s, e) {
                Ok(()) => Some(true),
                Err(reason) => {
                    rejects.push(Reject {
                        line: before + row as u64 + 1,
                        raw: parquet_raw(s, e),
                        source: None,
                        reason,
                    });
                    Some(false)
                }
            }
        })
        .collect();
    if rejects.is_empty() {
        return Ok((batch.clone(), rejects));
    }
    let kept = filter_record_batch(batch, &keep).map_err(EncodeError::from)?;
    Ok((kept, rejects))
}

/// What the quarantine keeps of a rejected Parquet row: its times.
fn parquet_raw(start: Option<i64>, end: Option<i64>) -> String {
    let show = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    format!("start={} end={}", show(start), show(end))
}
