//! Summing a data file's records into its rollup companions while the file
//! is written (see `flowlake_schemas::rollup` for the tables and why).
//!
//! Each open data file has one [`Companions`]: per rollup table an exact
//! aggregator and, once it has emitted anything, a staged Parquet file. The
//! aggregator keys rows by the arrow row format of the hour and the table's
//! key columns (one byte string per record, hashed once), so a key costs
//! an allocation only the first time it is seen. Derived keys whose source
//! is also a key (`protocol_name`, `*_is_private`) are left out of the row
//! and recomputed per group when the rows are written. When the writer holds too
//! many groups it asks the companions to [`Companions::spill`]: the groups
//! are written out as partial rows and the aggregator starts again, so
//! memory is bounded by that cap, whatever the input's cardinality; readers
//! sum rows anyway.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::{Int64Type, TimestampMillisecondType};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use flowlake_schemas::derive::{DERIVED_FROM, rederive};
use flowlake_schemas::rollup::{
    FIRST_START, HOUR_START, LAST_END, LAST_START, ROLLUPS, RollupTable,
};
use flowlake_schemas::schema::{END_TIME, START_TIME};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::encode::{EncodeError, StagedFile};

const HOUR_MS: i64 = 3_600_000;

/// The running sums of one group.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    records: i64,
    packets: Option<i64>,
    bytes: Option<i64>,
    first_start: Option<i64>,
    last_start: Option<i64>,
    last_end: Option<i64>,
}

/// The value at `i` of an i64-backed array, `None` when null.
fn value<T: arrow::datatypes::ArrowPrimitiveType<Native = i64>>(
    array: &arrow::array::PrimitiveArray<T>,
    i: usize,
) -> Option<i64> {
    array.is_valid(i).then(|| array.value(i))
}

fn add(sum: &mut Option<i64>, value: Option<i64>) {
    if let Some(v) = value {
        *sum = Some(sum.unwrap_or(0).wrapping_add(v));
    }
}

fn keep(bound: &mut Option<i64>, value: Option<i64>, better: fn(i64, i64) -> i64) {
    if let Some(v) = value {
        *bound = Some(bound.map_or(v, |b| better(b, v)));
    }
}

/// How one key column of the output is made from a group's row.
#[derive(Debug, Clone, Copy)]
enum KeyColumn {
    /// Column `n` of the row (0 is the hour).
    Row(usize),
    /// Recomputed from row column `n` (`derive::rederive`): a derived
    /// column whose source is also a key adds nothing to the grouping.
    Derived(usize),
}

/// Exact per-group sums of one rollup table over the batches added.
#[derive(Debug)]
pub struct Rollup {
    table: RollupTable,
    converter: RowConverter,
    /// The keys held in the row, after the hour.
    hashed: Vec<&'static str>,
    /// The output's key columns, in schema order.
    outputs: Vec<KeyColumn>,
    groups: HashMap<Box<[u8]>, Sums, Xxh3DefaultBuilder>,
}

impl Rollup {
    /// An empty aggregator for `table`.
    pub fn new(table: RollupTable) -> Result<Rollup, ArrowError> {
        let schema = table.schema();
        let source_of = |key: &str| {
            DERIVED_FROM
                .iter()
                .find(|(derived, _)| *derived == key)
                .map(|(_, source)| *source)
                .filter(|source| table.keys.contains(source))
        };
        let hashed: Vec<&'static str> = table
            .keys
            .iter()
            .copied()
            .filter(|k| source_of(k).is_none())
            .collect();
        let position = |key: &str| hashed.iter().position(|h| *h == key).map(|i| i + 1);
        let outputs = table
            .keys
            .iter()
            .map(|key| match source_of(key).and_then(position) {
                Some(i) => Some(KeyColumn::Derived(i)),
                None => position(key).map(KeyColumn::Row),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ArrowError::SchemaError(format!("{}: bad keys", table.name)))?;
        // The hour and the hashed keys, typed as in the table's schema.
        let type_of = |name: &str| schema.field_with_name(name).map(|f| f.data_type().clone());
        let mut fields = vec![SortField::new(type_of(HOUR_START)?)];
        for key in &hashed {
            fields.push(SortField::new(type_of(key)?));
        }
        Ok(Rollup {
            table,
            converter: RowConverter::new(fields)?,
            hashed,
            outputs,
            groups: HashMap::default(),
        })
    }

    /// Groups held now.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds a batch in the lake's file schema.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let missing = |name: &str| ArrowError::SchemaError(format!("no column {name}"));
        let times = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .ok_or_else(|| missing(name))
        };
        let numbers = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| missing(name))
        };
        let (start, end) = (times(START_TIME)?, times(END_TIME)?);
        let (packets, bytes) = (numbers("packets")?, numbers("bytes")?);
        let hour: TimestampMillisecondArray = start
            .unary::<_, TimestampMillisecondType>(|t| t - t.rem_euclid(HOUR_MS))
            .with_timezone("UTC");
        let mut columns: Vec<ArrayRef> = vec![Arc::new(hour)];
        for key in &self.hashed {
            columns.push(
                batch
                    .column_by_name(key)
                    .ok_or_else(|| missing(key))?
                    .clone(),
            );
        }
        let rows = self.converter.convert_columns(&columns)?;
        for (i, row) in rows.iter().enumerate() {
            let key = row.as_ref();
            let sums = match self.groups.get_mut(key) {
                Some(sums) => sums,
                None => self.groups.entry(key.into()).or_default(),
            };
            sums.records += 1;
            add(&mut sums.packets, value(packets, i));
            add(&mut sums.bytes, value(bytes, i));
            let (s, e) = (value(start, i), value(end, i));
            keep(&mut sums.first_start, s, i64::min);
            keep(&mut sums.last_start, s, i64::max);
            keep(&mut sums.last_end, e, i64::max);
        }
        Ok(())
    }

    /// The groups as one batch in the table's schema (`None` if there are
    /// none), leaving the aggregator empty.
    pub fn take(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.groups.is_empty() {
            return Ok(None);
        }
        let groups = std::mem::take(&mut self.groups);
        let parser = self.converter.parser();
        let mut keys = Vec::with_capacity(groups.len());
        let mut sums = Vec::with_capacity(groups.len());
        for (key, s) in &groups {
            keys.push(parser.parse(key));
            sums.push(*s);
        }
        let rows = self.converter.convert_rows(keys)?;
        let mut columns = Vec::with_capacity(self.table.schema().fields().len());
        columns.push(rows[0].clone());
        for (key, output) in self.table.keys.iter().zip(&self.outputs) {
            columns.push(match *output {
                KeyColumn::Row(i) => rows[i].clone(),
                KeyColumn::Derived(i) => rederive(key, &rows[i])
                    .ok_or_else(|| ArrowError::SchemaError(format!("cannot derive {key}")))?,
            });
        }
        let stamp = |f: fn(&Sums) -> Option<i64>| -> ArrayRef {
            Arc::new(TimestampMillisecondArray::from_iter(sums.iter().map(f)).with_timezone("UTC"))
        };
        columns.push(Arc::new(Int64Array::from_iter_values(
            sums.iter().map(|s| s.records),
        )));
        columns.push(Arc::new(Int64Array::from_iter(
            sums.iter().map(|s| s.packets),
        )));
        columns.push(Arc::new(Int64Array::from_iter(
            sums.iter().map(|s| s.bytes),
        )));
        columns.push(stamp(|s| s.first_start));
        columns.push(stamp(|s| s.last_start));
        columns.push(stamp(|s| s.last_end));
        // The key columns come back with the schema's types: the converter
        // was built from them, and rederive gives the derived columns' own.
        RecordBatch::try_new(self.table.schema(), columns).map(Some)
    }
}

/// Settings for companion files: zstd, and the data files' statistics
/// policy (see `encode::writer_properties`): chunk statistics on the hour,
/// the times and the numbers, none on text, whose comparisons cost a good
/// part of the write and whose ranges (addresses, ids) rarely prune.
fn companion_properties() -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::None)
        .set_created_by(format!("flowlake {}", env!("CARGO_PKG_VERSION")));
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
                    self.rollup.table.schema(),
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
                staged: staging.join(dest.replace('/', "_")),
                dest,
                writer: None,
                rows: 0,
            });
        }
        Ok(Companions { parts })
    }

    /// Adds a batch the data file received.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        for part in &mut self.parts {
            part.rollup.add(batch)?;
        }
        Ok(())
    }

    /// Groups held in memory across the companions.
    pub fn groups(&self) -> usize {
        self.parts.iter().map(|p| p.rollup.len()).sum()
    }

    /// Writes the groups held out as partial rows, freeing their memory.
    pub fn spill(&mut self) -> Result<(), EncodeError> {
        self.parts.iter_mut().try_for_each(Companion::spill)
    }

    /// The staged files this has created so far (to delete on failure).
    pub fn staged(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|p| p.staged.as_path())
    }

    /// Writes what is held, closes the files (made durable when published) and lists them.
    pub fn finish(mut self) -> Result<Vec<StagedFile>, EncodeError> {
        let mut done = Vec::with_capacity(self.parts.len());
        for mut part in std::mem::take(&mut self.parts) {
            part.spill()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use flowlake_schemas::rollup::TRAFFIC_HOURLY;
    use flowlake_schemas::schema::file_schema;

    fn batch(rows: &[(&str, &str, Option<i64>, Option<i64>)]) -> RecordBatch {
        let schema = file_schema();
        let columns = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                let n = rows.len();
                match f.name().as_str() {
                    "interface_id" => {
                        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0)))
                    }
                    "action" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                    "bytes" => Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.2))),
                    "start_time" => Arc::new(
                        TimestampMillisecondArray::from_iter(rows.iter().map(|r| r.3))
                            .with_timezone("UTC"),
                    ),
                    "protocol" => Arc::new(Int32Array::from(vec![6; n])),
                    _ => arrow::array::new_null_array(f.data_type(), n),
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn derived_keys_are_recomputed_from_their_source() {
        use flowlake_schemas::rollup::TALKERS_HOURLY;
        let schema = file_schema();
        let rows = [("10.0.0.1", 6), ("203.0.113.9", 17), ("10.0.0.1", 6)];
        let columns = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "srcaddr" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                    "dstaddr" => Arc::new(StringArray::from(vec!["fd00::1", "8.8.8.8", "fd00::1"])),
                    "protocol" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
                    _ => arrow::array::new_null_array(f.data_type(), rows.len()),
                }
            })
            .collect();
        let mut rollup = Rollup::new(TALKERS_HOURLY).unwrap();
        rollup
            .add(&RecordBatch::try_new(schema, columns).unwrap())
            .unwrap();
        let out = rollup.take().unwrap().unwrap();
        assert_eq!(out.schema(), TALKERS_HOURLY.schema());
        let text = |name: &str, i: usize| {
            let c = out.column_by_name(name).unwrap();
            arrow::util::display::array_value_to_string(c, i).unwrap()
        };
        let mut got: Vec<_> = (0..out.num_rows())
            .map(|i| {
                [
                    "srcaddr",
                    "protocol_name",
                    "srcaddr_is_private",
                    "dstaddr_is_private",
                    "records",
                ]
                .map(|c| text(c, i))
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ["10.0.0.1", "tcp", "true", "true", "2"].map(String::from),
                ["203.0.113.9", "udp", "false", "false", "1"].map(String::from),
            ]
        );
    }

    #[test]
    fn sums_per_hour_and_key_with_sql_null_rules() {
        let mut rollup = Rollup::new(TRAFFIC_HOURLY).unwrap();
        let h = 1_716_613_200_000; // 05:00
        rollup
            .add(&batch(&[
                ("eni-a", "ACCEPT", Some(10), Some(h + 1)),
                ("eni-a", "ACCEPT", None, Some(h + 59 * 60_000)),
                ("eni-a", "ACCEPT", Some(5), Some(h + HOUR_MS)),
                ("eni-b", "REJECT", None, None),
            ]))
            .unwrap();
        rollup
            .add(&batch(&[("eni-a", "ACCEPT", Some(1), Some(h + 2))]))
            .unwrap();
        assert_eq!(rollup.len(), 3);
        let out = rollup.take().unwrap().unwrap();
        assert!(rollup.is_empty());
        let col = |name: &str| out.column_by_name(name).unwrap().clone();
        let (iface, hour, records, bytes) = (
            col("interface_id"),
            col("hour_start"),
            col("records"),
            col("bytes"),
        );
        let (iface, hour) = (
            iface.as_string::<i32>(),
            hour.as_primitive::<TimestampMillisecondType>(),
        );
        let (records, bytes) = (
            records.as_primitive::<Int64Type>(),
            bytes.as_primitive::<Int64Type>(),
        );
        let mut got: Vec<(String, Option<i64>, i64, Option<i64>)> = (0..out.num_rows())
            .map(|i| {
                (
                    iface.value(i).to_owned(),
                    hour.is_valid(i).then(|| hour.value(i)),
                    records.value(i),
                    bytes.is_valid(i).then(|| bytes.value(i)),
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("eni-a".to_owned(), Some(h), 3, Some(11)),
                ("eni-a".to_owned(), Some(h + HOUR_MS), 1, Some(5)),
                ("eni-b".to_owned(), None, 1, None),
            ]
        );
    }
}
