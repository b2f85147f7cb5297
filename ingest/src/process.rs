//! One object's bytes to staged Parquet files, rejected lines and counts.
//! CPU work only: runs on the ingest thread pool, never on the async runtime.
//!
//! ```text
//! Body::Whole ─▶ gunzip_whole ─▶ segment::split ─▶ (parallel) Decoder ─▶ PartitionedWriter ─┐
//! Body::Stream ─▶ StreamingGunzip ─▶ Decoder ─▶ PartitionedWriter ──────────────────────────┼─▶ ObjectOutput
//! .parquet ─▶ ParquetRecordBatchReader ─▶ normalize ─▶ PartitionedWriter ───────────────────┘
//! ```

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use flowlake_schemas::normalize::normalize;
use flowlake_schemas::{Decoder, Format, LineCounts, Reject};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use tokio::sync::mpsc;

use crate::encode::{EncodeError, PartitionedWriter, StagedFile};
use crate::gunzip::{GunzipError, StreamingGunzip, gunzip_whole};
use crate::segment::{self, SEGMENT_BYTES, Segment};
use crate::sources::{ObjectKind, SourceObject};

/// Bytes handed to the decoder at a time, so finished batches reach the
/// writer (and leave memory) while a segment is still being parsed.
const DECODE_CHUNK: usize = 4 << 20;

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
}

impl ProcessConfig {
    /// Defaults with the given format and staging folder.
    pub fn new(format: Format, staging: PathBuf) -> ProcessConfig {
        ProcessConfig {
            format,
            batch_size: flowlake_schemas::DEFAULT_BATCH_SIZE,
            staging,
            segment_bytes: SEGMENT_BYTES,
        }
    }
}

/// The result of processing one object, ready to commit.
#[derive(Debug, Default)]
pub struct ObjectOutput {
    /// Staged Parquet files, one per (segment, hour).
    pub files: Vec<StagedFile>,
    /// Rejected lines in line order.
    pub rejects: Vec<Reject>,
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
}

impl ProcessError {
    /// True when reading the object again may succeed (a dropped connection).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProcessError::Read(_))
    }
}

/// Processes an object held whole in memory. Large objects are split into
/// segments parsed and encoded in parallel on the current rayon pool.
pub fn process_whole(
    object: &SourceObject,
    source_key: &str,
    bytes: Bytes,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let bytes_in = bytes.len() as u64;
    let text: Bytes = match object.kind {
        ObjectKind::Parquet => return process_parquet(object, source_key, bytes, config),
        ObjectKind::GzipText => match gunzip_whole(&bytes)? {
            Some(text) => Bytes::from(text),
            None => {
                // Too large to hold decompressed: stream it from memory.
                let chunks = (0..bytes.len())
                    .step_by(DECODE_CHUNK)
                    .map(|i| Ok(bytes.slice(i..(i + DECODE_CHUNK).min(bytes.len()))));
                return process_chunks(object, source_key, chunks, config);
            }
        },
        ObjectKind::Text => bytes,
    };
    let segments = segment::split(&text, config.format.clone(), config.segment_bytes);
    let outputs: Vec<Result<ObjectOutput, ProcessError>> = segments
        .par_iter()
        .map(|seg| encode_segment(object, source_key, seg, config))
        .collect();
    let mut total = ObjectOutput {
        bytes_in,
        ..ObjectOutput::default()
    };
    for output in outputs {
        let output = output?;
        total.files.extend(output.files);
        total.rejects.extend(output.rejects);
        total.counts.add(&output.counts);
    }
    total.files.sort_by(|a, b| a.dest.cmp(&b.dest));
    Ok(total)
}

/// A decoder feeding a partitioned writer: flow-log text in, staged
/// Parquet files, rejects and counts out.
struct TextToParquet {
    decoder: Decoder,
    writer: PartitionedWriter,
}

impl TextToParquet {
    fn new(
        object: &SourceObject,
        source_key: &str,
        format: Format,
        first_line: u64,
        part: u32,
        config: &ProcessConfig,
    ) -> Self {
        TextToParquet {
            decoder: Decoder::new(format, first_line, config.batch_size),
            writer: PartitionedWriter::new(&config.staging, source_key, part, object.time_hint_ms),
        }
    }

    fn feed(&mut self, text: &[u8]) -> Result<(), ProcessError> {
        self.decoder.decode(text);
        for batch in self.decoder.take_batches() {
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ObjectOutput, ProcessError> {
        self.decoder.finish();
        for batch in self.decoder.take_batches() {
            self.writer.write(&batch)?;
        }
        Ok(ObjectOutput {
            files: self.writer.finish()?,
            rejects: self.decoder.take_rejects(),
            counts: self.decoder.counts(),
            ..ObjectOutput::default()
        })
    }
}

fn encode_segment(
    object: &SourceObject,
    source_key: &str,
    segment: &Segment<'_>,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let mut parse = TextToParquet::new(
        object,
        source_key,
        segment.format.clone(),
        segment.first_line,
        segment.index,
        config,
    );
    for chunk in segment.bytes.chunks(DECODE_CHUNK) {
        parse.feed(chunk)?;
    }
    parse.finish()
}

/// Processes an object whose bytes arrive over a channel (an S3 body),
/// blocking the current thread while it waits for them.
pub fn process_stream(
    object: &SourceObject,
    source_key: &str,
    mut chunks: mpsc::Receiver<io::Result<Bytes>>,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let chunks = std::iter::from_fn(move || chunks.blocking_recv());
    if object.kind == ObjectKind::Parquet {
        // Parquet needs its footer first; AWS's Parquet objects are small
        // enough to gather.
        let mut whole = Vec::new();
        for chunk in chunks {
            whole.extend_from_slice(&chunk.map_err(ProcessError::Read)?);
        }
        return process_parquet(object, source_key, Bytes::from(whole), config);
    }
    process_chunks(object, source_key, chunks, config)
}

/// Processes text (gzip or plain) arriving in chunks, in one pass with
/// bounded memory: one chunk, one batch, one row group per open hour.
fn process_chunks(
    object: &SourceObject,
    source_key: &str,
    chunks: impl Iterator<Item = io::Result<Bytes>>,
    config: &ProcessConfig,
) -> Result<ObjectOutput, ProcessError> {
    let mut gunzip = (object.kind == ObjectKind::GzipText).then(StreamingGunzip::new);
    let mut parse = TextToParquet::new(object, source_key, config.format.clone(), 1, 0, config);
    let mut bytes_in = 0u64;
    for chunk in chunks {
        let chunk = chunk.map_err(ProcessError::Read)?;
        bytes_in += chunk.len() as u64;
        match gunzip.as_mut() {
            Some(g) => parse.feed(&g.push(&chunk)?)?,
            None => parse.feed(&chunk)?,
        }
    }
    if let Some(g) = gunzip {
        parse.feed(&g.finish()?)?;
    }
    let mut output = parse.finish()?;
    output.bytes_in = bytes_in;
    Ok(output)
}

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
    let mut writer = PartitionedWriter::new(&config.staging, source_key, 0, object.time_hint_ms);
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        rows += batch.num_rows() as u64;
        let batch = normalize(&batch).map_err(|e| bad(&e))?;
        writer.write(&batch)?;
    }
    Ok(ObjectOutput {
        files: writer.finish()?,
        bytes_in,
        parquet_rows: rows,
        ..ObjectOutput::default()
    })
}
