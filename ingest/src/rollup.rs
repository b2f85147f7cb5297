//! Summing a data file's records into its rollup companions while the file
//! is written (see `flowlake_schemas::rollup` for the tables and why).
//!
//! Each open data file has one [`Companions`]: per rollup table an exact
//! aggregator (`flowlake_schemas::rollup::sums`) and, once it has emitted
//! anything, a staged Parquet file. When the groups held across the open
//! files take more memory than the writer allows, it asks the companions to
//! [`Companions::spill`]: the groups are written out as partial rows and
//! the aggregators start again, so memory is bounded by that cap, whatever
//! the input's cardinality; readers sum rows anyway.
//!
//! Only the tables no other table refines see the records: the others
//! (traffic, sources, destinations and ports, whose keys `talkers_hourly`
//! all holds) are summed from the finer table's groups just before it
//! writes them, one lookup per group instead of one per record (measured
//! in the README's rollup section and `cargo bench --bench rollup`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use flowlake_schemas::rollup::sums::Rollup;
use flowlake_schemas::rollup::{FIRST_START, HOUR_START, LAST_END, LAST_START, ROLLUPS};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::encode::{EncodeError, StagedFile};

/// Settings for companion files: snappy, and the data files' statistics
/// policy (see `encode::writer_properties`): chunk statistics on the hour,
/// the times and the numbers, none on text, whose comparisons cost a good
/// part of the write and whose ranges (addresses, ids) rarely prune.
///
/// Snappy rather than the lake's zstd: the Parquet reader builds a zstd
/// compressor and decompressor for every column chunk it opens, and a
/// dashboard opens thousands of small companions. Measured on a 100 M
/// record month (2,160 files per table, the files rewritten by pyarrow
/// with snappy): `report log-status` 0.84–0.86 s → 0.46–0.51 s, the traffic
/// dashboard 3.59 → 2.43–2.57 s, traffic_hourly 20 MB either way; the
/// top-talkers dashboard 28.8 → 26.2–27.4 s for talkers_hourly 1.23× larger.
fn companion_properties() -> WriterProperties {
    let mut builder = crate::encode::lake_properties()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::None);
    for column in [
        HOUR_START,
        FIRST_START,
        LAST_START,
        LAST_END,
        "dstport",
        "protocol",
    ] {
        builder = builder
            .set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::Chunk);
    }
    builder.build()
}

/// One companion being built: its aggregator and, once it spilled, its file.
#[derive(Debug)]
struct Companion {
    rollup: Rollup,
    /// The companion whose groups this one sums (see the module doc);
    /// `None` when it sums the records themselves.
    finer: Option<usize>,
    staged: PathBuf,
    dest: String,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    rows: u64,
}

impl Companion {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let file = File::create(&self.staged).map_err(|source| EncodeError::Io {
                    path: self.staged.clone(),
                    source,
                })?;
                self.writer.insert(ArrowWriter::try_new(
                    BufWriter::with_capacity(64 << 10, file),
                    self.rollup.table().schema(),
                    Some(companion_properties()),
                )?)
            }
        };
        writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn spill(&mut self) -> Result<(), EncodeError> {
        if let Some(batch) = self.rollup.take()? {
            self.write(&batch)?;
        }
        Ok(())
    }
}

/// The rollup companions of one data file being written.
#[derive(Debug)]
pub struct Companions {
    parts: Vec<Companion>,
}

impl Companions {
    /// Companions of the data file going to `dest` (a `flows/…` path),
    /// staged under `staging` beside it.
    pub fn new(staging: &Path, dest: &str) -> Result<Companions, EncodeError> {
        let mut parts = Vec::with_capacity(ROLLUPS.len());
        for table in ROLLUPS {
            let Some(dest) = table.companion(dest) else {
                continue;
            };
            parts.push(Companion {
                rollup: Rollup::new(*table)?,
                finer: None,
                staged: staging.join(dest.replace('/', "_")),
                dest,
                writer: None,
                rows: 0,
            });
        }
        // A table sums the groups of a table that refines it and that no
        // table refines (one exists: whatever refines a refining table
        // refines this one too), so the records go to those tables alone
        // and no table sums another's sums.
        let refines = |i: usize, j: usize| parts[i].rollup.coarsens(&parts[j].rollup);
        let finest = |j: usize| !(0..parts.len()).any(|k| refines(j, k));
        let finer: Vec<Option<usize>> = (0..parts.len())
            .map(|i| (0..parts.len()).find(|&j| finest(j) && refines(i, j)))
            .collect();
        for (part, finer) in parts.iter_mut().zip(finer) {
            part.finer = finer;
        }
        Ok(Companions { parts })
    }

    /// Adds a batch the data file received.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        for part in self.parts.iter_mut().filter(|p| p.finer.is_none()) {
            part.rollup.add(batch)?;
        }
        Ok(())
    }

    /// About how many bytes the groups held across the companions take.
    pub fn memory(&self) -> usize {
        self.parts.iter().map(|p| p.rollup.memory()).sum()
    }

    /// Writes the groups held out as partial rows, freeing their memory.
    pub fn spill(&mut self) -> Result<(), EncodeError> {
        for i in 0..self.parts.len() {
            let Some(j) = self.parts[i].finer else {
                continue;
            };
            let (coarse, finer) = if i < j {
                let (low, high) = self.parts.split_at_mut(j);
                (&mut low[i], &high[0])
            } else {
                let (low, high) = self.parts.split_at_mut(i);
                (&mut high[0], &low[j])
            };
            coarse.rollup.add_groups(&finer.rollup)?;
        }
        self.parts.iter_mut().try_for_each(Companion::spill)
    }

    /// The staged files this has created so far (to delete on failure).
    pub fn staged(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|p| p.staged.as_path())
    }

    /// Writes what is held, closes the files (made durable when published) and lists them.
    pub fn finish(mut self) -> Result<Vec<StagedFile>, EncodeError> {
        self.spill()?;
        let mut done = Vec::with_capacity(self.parts.len());
        for mut part in std::mem::take(&mut self.parts) {
            let Some(writer) = part.writer.take() else {
                continue; // the data file received no record
            };
            let bytes = crate::encode::finish_writer(writer, &part.staged)?;
            done.push(StagedFile {
                staged: part.staged,
                dest: part.dest,
                rows: part.rows,
                bytes,
                companions: Vec::new(),
            });
        }
        Ok(done)
    }
}
