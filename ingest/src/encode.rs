//! Parsed batches to Parquet files, one per partition (hour) a segment touches.
//!
//! A segment's batches are split by the UTC hour of each record's time and
//! appended to one open [`ArrowWriter`] per hour, writing straight to a staged
//! file on local disk, so memory holds at most one row group per open writer.
//! The files become visible only when the object commits (see `lake::commit`).
//!
//! At most `max_open` writers are open at once: an object whose records span
//! more hours closes the least recently written one (its file is finished)
//! and opens a new file, with a new part number, if that hour comes back.
//! Memory is then bounded by `max_open` (about 256 KiB of buffer plus the
//! column encoders per writer) and the buffered row-group cap, whatever the
//! input's time spread.
//!
//! Writer settings come from measurements (see [`writer_properties`]): zstd
//! level 1 (as small as level 3 here, and faster), dictionary encoding,
//! chunk-level statistics on the numeric columns.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMillisecondType;
use flowlake_schemas::lake::{Partition, data_file_path};
use flowlake_schemas::schema::{END_TIME, START_TIME, file_schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::rollup::Companions;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Columns worth min/max statistics: the times and numbers queries filter
/// on. Text columns get none: comparing strings for every value costs about
/// a tenth of the write, and address or id ranges rarely prune anything.
const STATISTICS_COLUMNS: &[&str] = &[
    "version",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "tcp_flags",
    "start_time",
    "end_time",
];

/// Numbers with thousands of distinct values per object: dictionary encoding
/// costs more than it saves there (measured: -2 % instructions and 7 %
/// smaller files without it).
const PLAIN_COLUMNS: &[&str] = &["srcport", "dstport", "packets", "bytes"];

/// Parquet writer settings for every lake file.
///
/// Measured on one 200,000-record object with callgrind (instructions for the
/// whole ingest, and Parquet bytes): dictionary encoding on every column
/// (Parquet's default; it falls back by itself when a column's dictionary
/// grows past 1 MiB), except on [`PLAIN_COLUMNS`], was both smaller and
/// cheaper than dictionary encoding
/// only the obviously low-cardinality columns (3.7 MB vs 4.8 MB, -1.4 %
/// instructions), because a 5-minute object repeats its addresses, ports
/// and times; statistics only on numeric columns saved 8 %. The time
/// columns keep PLAIN as their fallback: a file holds one hour, so their
/// dictionaries (at most 3600 values) never overflow, and a
/// DELTA_BINARY_PACKED fallback cost a 1 MiB buffer per column per row
/// group for nothing.
pub fn writer_properties() -> WriterProperties {
    flows_properties().build()
}

fn flows_properties() -> WriterPropertiesBuilder {
    let mut builder = lake_properties()
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::None);
    for column in STATISTICS_COLUMNS {
        builder = builder
            .set_column_statistics_enabled(ColumnPath::from(*column), EnabledStatistics::Chunk);
    }
    for column in PLAIN_COLUMNS {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    builder
}

/// [`writer_properties`] fitted to what one object holds, judged by its
/// first batch: a column that batch leaves entirely null (most of the 80,
/// for the default format) is written without a dictionary, statistics or
/// zstd. parquet-rs makes a zstd compressor and decompressor for every
/// column of every row group (about 200 KiB each); for a column of nulls
/// they cost more than the column. Snappy still compresses one that fills
/// in later, so a wrong guess costs size, never data.
pub fn writer_properties_for(first: &RecordBatch) -> WriterProperties {
    let mut builder = flows_properties();
    for (field, column) in first.schema().fields().iter().zip(first.columns()) {
        if column.null_count() == column.len() {
            let path = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_compression(path.clone(), Compression::SNAPPY)
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    builder.build()
}

/// What every Parquet file flowlake writes into a lake shares (data files,
/// rollup companions, inventory tables, saved explanations): zstd at level
/// 1, which every engine reads and which costs little more CPU than
/// snappy for much smaller files, and flowlake's name and version as the
/// writer. Each kind of file adds its own row groups and statistics (and
/// the rollup companions, read thousands at a time, their own codec).
pub fn lake_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_created_by(format!("flowlake {}", env!("CARGO_PKG_VERSION")))
}

/// A finished Parquet file waiting to be published.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Where it is on local disk now.
    pub staged: PathBuf,
    /// Where it goes, relative to the lake root (`flows/day=…/hour=…/….parquet`).
    pub dest: String,
    /// Records in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its rollup companions (data files only): published before it and
    /// deleted with it (see `flowlake_schemas::rollup`).
    pub companions: Vec<StagedFile>,
}

impl StagedFile {
    /// Deletes the staged file and its companions (not to be committed).
    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.staged);
        for companion in &self.companions {
            companion.discard();
        }
    }
}

/// Why encoding failed (local disk or Parquet trouble, never bad input).
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Writing the staged file failed.
    #[error("writing staged file {path}: {source}")]
    Io {
        /// The staged file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("encoding Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Splitting a batch by partition, or summing it into a rollup, failed.
    #[error("splitting or summing a batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

struct OpenFile {
    writer: ArrowWriter<BufWriter<File>>,
    companions: Companions,
    staged: PathBuf,
    dest: String,
    rows: u64,
    /// When it was last written (a counter), to close the least recent.
    used: u64,
}

/// Open partitions per writer unless configured: an AWS object covers one
/// or two hours, so this is only reached by merged or hostile inputs.
pub const DEFAULT_MAX_OPEN_PARTITIONS: usize = 32;

/// Writes one segment's batches into per-partition Parquet files.
pub struct PartitionedWriter {
    staging: PathBuf,
    source_key: String,
    part: u32,
    /// Partition for records with no time of their own (from the object's
    /// name, e.g. AWS's `_20240525T0505Z_` stamp), else the epoch.
    fallback: Partition,
    open: HashMap<Partition, OpenFile>,
    /// The files' settings; `None` until the first batch when they are
    /// fitted to it (see [`PartitionedWriter::fitted_to_content`]).
    properties: Option<WriterProperties>,
    max_open: usize,
    /// See [`DEFAULT_MAX_ROLLUP_BYTES`].
    max_rollup_bytes: usize,
    /// Distance between part numbers of one partition's successive files
    /// (the number of segments, so every segment's numbers stay distinct).
    stride: u32,
    /// Files already closed because too many partitions were open.
    closed: Vec<StagedFile>,
    /// How many files each partition has had so far (only for partitions
    /// closed early; the first file of a partition is number 0).
    reopened: HashMap<Partition, u32>,
    tick: u64,
}

impl std::fmt::Debug for PartitionedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedWriter")
            .field("source_key", &self.source_key)
            .field("part", &self.part)
            .field("open", &self.open.len())
            .finish()
    }
}

/// Buffered row-group bytes across open writers above which all are flushed.
const MAX_BUFFERED: usize = 96 << 20;

/// Memory the rollup groups held across one writer's open files may take,
/// unless configured, before they are written out as partial rows (see
/// `Rollup::memory`: a group's key and sums, its text as the output will
/// hold it, and each distinct value once).
pub const DEFAULT_MAX_ROLLUP_BYTES: usize = 32 << 20;

impl PartitionedWriter {
    /// A writer for segment `part` of the source with key `source_key`,
    /// staging files under `staging`.
    pub fn new(staging: &Path, source_key: &str, part: u32, time_hint_ms: Option<i64>) -> Self {
        PartitionedWriter {
            staging: staging.to_owned(),
            source_key: source_key.to_owned(),
            part,
            fallback: Partition::from_millis(time_hint_ms.unwrap_or(0)),
            open: HashMap::new(),
            properties: Some(writer_properties()),
            max_open: DEFAULT_MAX_OPEN_PARTITIONS,
            max_rollup_bytes: DEFAULT_MAX_ROLLUP_BYTES,
            stride: 1,
            closed: Vec::new(),
            reopened: HashMap::new(),
            tick: 0,
        }
    }

    /// Keeps at most `max_open` partitions open; `stride` is the number of
    /// segments writing the same object (part numbers `part + k * stride`).
    pub fn with_max_open(mut self, max_open: usize, stride: u32) -> Self {
        self.max_open = max_open.max(1);
        self.stride = stride.max(1);
        self
    }

    /// Writes the rollup groups held out as partial rows whenever they take
    /// more than `bytes` (see [`DEFAULT_MAX_ROLLUP_BYTES`]).
    pub fn with_max_rollup_bytes(mut self, bytes: usize) -> Self {
        self.max_rollup_bytes = bytes;
        self
    }

    /// Fits the files' settings to the first batch ([`writer_properties_for`]):
    /// for a writer fed by one object, whose batches share its format.
    pub fn fitted_to_content(mut self) -> Self {
        self.properties = None;
        self
    }

    /// Appends a batch in the lake's file schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let partitions = self.partitions_of(batch);
        let first = partitions[0];
        if partitions.iter().all(|p| *p == first) {
            self.write_to(first, batch)?;
        } else {
            let mut groups: HashMap<Partition, Vec<u32>> = HashMap::new();
            for (row, p) in partitions.iter().enumerate() {
                groups.entry(*p).or_default().push(row as u32);
            }
            let mut groups: Vec<_> = groups.into_iter().collect();
            groups.sort_by_key(|(p, _)| *p);
            for (p, rows) in groups {
                let slice = take_record_batch(batch, &UInt32Array::from(rows))?;
                self.write_to(p, &slice)?;
            }
        }
        let buffered: usize = self
            .open
            .values()
            .map(|f| f.writer.in_progress_size())
            .sum();
        if buffered > MAX_BUFFERED {
            for file in self.open.values_mut() {
                file.writer.flush()?;
            }
        }
        let held: usize = self.open.values().map(|f| f.companions.memory()).sum();
        if held > self.max_rollup_bytes {
            for file in self.open.values_mut() {
                file.companions.spill()?;
            }
        }
        Ok(())
    }

    /// The partition of each row: `start_time`, else `end_time`, else the fallback.
    fn partitions_of(&self, batch: &RecordBatch) -> Vec<Partition> {
        let time = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .cloned()
        };
        let (start, end) = (time(START_TIME), time(END_TIME));
        (0..batch.num_rows())
            .map(|row| {
                let pick = |a: &Option<arrow::array::TimestampMillisecondArray>| {
                    a.as_ref().filter(|a| a.is_valid(row)).map(|a| a.value(row))
                };
                pick(&start)
                    .or_else(|| pick(&end))
                    .map_or(self.fallback, Partition::from_millis)
            })
            .collect()
    }

    /// Finishes the least recently written file, to make room.
    fn close_least_recent(&mut self) -> Result<(), EncodeError> {
        let Some(oldest) = self
            .open
            .iter()
            .min_by_key(|(_, f)| f.used)
            .map(|(p, _)| *p)
        else {
            return Ok(());
        };
        if let Some(file) = self.open.remove(&oldest) {
            *self.reopened.entry(oldest).or_insert(0) += 1;
            let staged = file.staged_paths();
            match close(file) {
                Ok(done) => self.closed.push(done),
                Err(e) => {
                    for path in staged {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn write_to(&mut self, partition: Partition, batch: &RecordBatch) -> Result<(), EncodeError> {
        self.tick += 1;
        if !self.open.contains_key(&partition) {
            if self.open.len() >= self.max_open {
                self.close_least_recent()?;
            }
            let k = self.reopened.get(&partition).copied().unwrap_or(0);
            let part = self.part.saturating_add(k.saturating_mul(self.stride));
            let dest = data_file_path(partition, &self.source_key, part);
            let staged = self.staging.join(dest.replace('/', "_"));
            let file = File::create(&staged).map_err(|source| EncodeError::Io {
                path: staged.clone(),
                source,
            })?;
            let properties = self
                .properties
                .get_or_insert_with(|| writer_properties_for(batch))
                .clone();
            let writer = ArrowWriter::try_new(
                BufWriter::with_capacity(256 << 10, file),
                file_schema(),
                Some(properties),
            )?;
            let companions = Companions::new(&self.staging, &dest)?;
            self.open.insert(
                partition,
                OpenFile {
                    writer,
                    companions,
                    staged,
                    dest,
                    rows: 0,
                    used: 0,
                },
            );
        }
        if let Some(file) = self.open.get_mut(&partition) {
            file.writer.write(batch)?;
            file.companions.add(batch)?;
            file.rows += batch.num_rows() as u64;
            file.used = self.tick;
        }
        Ok(())
    }

    /// Closes every file (footer written; made durable when published) and lists them.
    /// On failure no staged file is left behind.
    pub fn finish(mut self) -> Result<Vec<StagedFile>, EncodeError> {
        let open = std::mem::take(&mut self.open);
        let mut closed = std::mem::take(&mut self.closed);
        let mut paths: Vec<PathBuf> = open.values().flat_map(OpenFile::staged_paths).collect();
        for file in &closed {
            paths.push(file.staged.clone());
            paths.extend(file.companions.iter().map(|c| c.staged.clone()));
        }
        let result = close_all(open).map(|files| {
            closed.extend(files);
            closed.sort_by(|a, b| a.dest.cmp(&b.dest));
            closed
        });
        if result.is_err() {
            for path in &paths {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }
}

impl OpenFile {
    /// The staged files it may have created: its own and its companions'.
    fn staged_paths(&self) -> Vec<PathBuf> {
        std::iter::once(self.staged.clone())
            .chain(self.companions.staged().map(Path::to_path_buf))
            .collect()
    }
}

/// Writes the footer, hands the bytes to the OS and returns the size. No
/// fsync here: this runs on the CPU workers, and `LakeStore::publish` makes
/// the file durable on the blocking pool before any commit point needs it.
pub(crate) fn finish_writer(
    writer: ArrowWriter<BufWriter<File>>,
    staged: &Path,
) -> Result<u64, EncodeError> {
    let io = |source| EncodeError::Io {
        path: staged.to_owned(),
        source,
    };
    let buffered = writer.into_inner()?;
    let inner = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    Ok(inner.metadata().map_err(io)?.len())
}

fn close(file: OpenFile) -> Result<StagedFile, EncodeError> {
    let companions = file.companions.finish()?;
    let bytes = finish_writer(file.writer, &file.staged)?;
    Ok(StagedFile {
        staged: file.staged,
        dest: file.dest,
        rows: file.rows,
        bytes,
        companions,
    })
}

fn close_all(open: HashMap<Partition, OpenFile>) -> Result<Vec<StagedFile>, EncodeError> {
    open.into_values().map(close).collect()
}

impl Drop for PartitionedWriter {
    /// A writer dropped before `finish` (the object failed) leaves no staged
    /// files behind.
    fn drop(&mut self) {
        for file in self.open.values() {
            for path in file.staged_paths() {
                let _ = std::fs::remove_file(path);
            }
        }
        for file in &self.closed {
            file.discard();
        }
    }
}
