//! Summing records into the groups of one rollup table: exact per-hour
//! counts, sums and time bounds, in memory the caller bounds by spilling.
//!
//! A group's key is a fixed array of 32-bit words: a bitmask of nulls, the
//! hour (two words), then one word per key column, an id for text (each
//! column interns its distinct values once, found by hash) and the bits of
//! an `Int32`. A record so costs one hash of a few dozen bytes, a lookup
//! per text column (skipped when the value repeats the previous record's,
//! as account, action and status mostly do) and no allocation, however
//! many groups there are; [`Rollup::take`] rebuilds the key columns from
//! the ids. Derived keys whose source is also a key (`protocol_name`,
//! `*_is_private`) add nothing to the grouping: they are left out of the
//! key and recomputed per group with [`rederive`].

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringBuilder,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimestampMillisecondType};
use arrow::error::ArrowError;
use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

use super::RollupTable;
use super::interner::{Interner, too_many};
use crate::derive::{DERIVED_FROM, rederive};
use crate::schema::{END_TIME, START_TIME};

const HOUR_MS: i64 = 3_600_000;

/// Words in a key: the null mask, two for the hour, and the widest table's
/// key columns (`talkers_hourly` holds nine). Every word is hashed and
/// compared, so there are no spare ones.
const WORDS: usize = 12;

/// A group's key (see the module doc); unused words stay zero.
type Key = [u32; WORDS];

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

impl Sums {
    /// Folds in another group's sums: the sums of the union of their records.
    fn merge(&mut self, other: &Sums) {
        self.records += other.records;
        add(&mut self.packets, other.packets);
        add(&mut self.bytes, other.bytes);
        keep(&mut self.first_start, other.first_start, i64::min);
        keep(&mut self.last_start, other.last_start, i64::max);
        keep(&mut self.last_end, other.last_end, i64::max);
    }
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

/// The value at `i` of an i64-backed array, `None` when null.
fn value<T: arrow::datatypes::ArrowPrimitiveType<Native = i64>>(
    array: &arrow::array::PrimitiveArray<T>,
    i: usize,
) -> Option<i64> {
    array.is_valid(i).then(|| array.value(i))
}

/// How a key column is held in its word of the key.
#[derive(Debug)]
enum Slot {
    /// Text, as an id into its interner.
    Text(Interner),
    /// An `Int32`, as its bits.
    Int32,
}

/// One key column held in the key: its name, how, and its word.
#[derive(Debug)]
struct Held {
    name: &'static str,
    slot: Slot,
    word: usize,
    /// Its bit in the null mask.
    bit: u32,
}

/// How one key column of the output is made.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// Held column `n`.
    Held(usize),
    /// Recomputed from held column `n` (`derive::rederive`).
    Derived(usize),
}

/// Exact per-group sums of one rollup table over the batches added.
#[derive(Debug)]
pub struct Rollup {
    table: RollupTable,
    held: Vec<Held>,
    /// The output's key columns, in schema order.
    outputs: Vec<Output>,
    /// `(hash, id)` of every group, to find one by its key.
    index: HashTable<(u64, u32)>,
    keys: Vec<Key>,
    sums: Vec<Sums>,
    /// The text bytes [`Rollup::take`] will write: every group's own copy.
    text_out: usize,
}

/// The text bytes of `key`'s values, as a rebuilt column holds them.
fn text_len(held: &[Held], key: &Key) -> usize {
    held.iter()
        .map(|h| match &h.slot {
            Slot::Text(interner) if key[0] & h.bit == 0 => interner.get(key[h.word]).len(),
            _ => 0,
        })
        .sum()
}

/// The null-mask bit of the hour.
const HOUR_BIT: u32 = 1;

fn hash(key: &Key) -> u64 {
    let mut bytes = [0u8; WORDS * 4];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(key) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    xxh3_64(&bytes)
}

impl Rollup {
    /// An empty aggregator for `table`, whose keys must be `flows` columns
    /// of text or `Int32` type.
    pub fn new(table: RollupTable) -> Result<Rollup, ArrowError> {
        let schema = table.schema();
        let source_of = |key: &str| {
            DERIVED_FROM
                .iter()
                .find(|(derived, _)| *derived == key)
                .map(|(_, source)| *source)
                .filter(|source| table.keys.contains(source))
        };
        let mut held = Vec::new();
        let mut word = 3; // after the null mask and the hour
        for key in table.keys.iter().copied() {
            if source_of(key).is_some() {
                continue;
            }
            let slot = match schema.field_with_name(key)?.data_type() {
                DataType::Utf8 => Slot::Text(Interner::default()),
                DataType::Int32 => Slot::Int32,
                other => {
                    return Err(ArrowError::SchemaError(format!(
                        "{}: key {key} has type {other}, not text or Int32",
                        table.name
                    )));
                }
            };
            if word == WORDS || held.len() >= 30 {
                return Err(ArrowError::SchemaError(format!(
                    "{}: too many keys for a rollup",
                    table.name
                )));
            }
            held.push(Held {
                name: key,
                slot,
                word,
                bit: 1 << (held.len() + 1),
            });
            word += 1;
        }
        let position = |key: &str| held.iter().position(|h| h.name == key);
        let outputs = table
            .keys
            .iter()
            .map(|key| match source_of(key).and_then(position) {
                Some(i) => Some(Output::Derived(i)),
                None => position(key).map(Output::Held),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ArrowError::SchemaError(format!("{}: bad keys", table.name)))?;
        Ok(Rollup {
            table,
            held,
            outputs,
            index: HashTable::new(),
            keys: Vec::new(),
            sums: Vec::new(),
            text_out: 0,
        })
    }

    /// Groups held now.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// About how many bytes the groups held take, and [`Rollup::take`]
    /// would build, for the caller's bound: each group's key and sums, its
    /// own copy of its text in the output, and each distinct value once.
    pub fn memory(&self) -> usize {
        let text: usize = self
            .held
            .iter()
            .map(|h| match &h.slot {
                Slot::Text(interner) => interner.memory(),
                _ => 0,
            })
            .sum();
        // Capacities: a vector that doubled holds up to twice its length,
        // and the bound is on what is allocated.
        self.keys.capacity() * std::mem::size_of::<Key>()
            + self.sums.capacity() * std::mem::size_of::<Sums>()
            + self.index.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.text_out
            + text
    }

    /// Adds a batch in the lake's file schema.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let missing = |name: &str| ArrowError::SchemaError(format!("no column {name}"));
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| missing(name));
        let times = |name: &str| {
            column(name)?
                .as_primitive_opt::<TimestampMillisecondType>()
                .ok_or_else(|| missing(name))
        };
        let numbers = |name: &str| {
            column(name)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| missing(name))
        };
        let (start, end) = (times(START_TIME)?, times(END_TIME)?);
        let (packets, bytes) = (numbers("packets")?, numbers("bytes")?);

        // The keys, a column at a time.
        let mut keys = vec![[0u32; WORDS]; batch.num_rows()];
        for (key, i) in keys.iter_mut().zip(0..) {
            match value(start, i) {
                Some(t) => {
                    let hour = t.div_euclid(HOUR_MS) as u64;
                    key[1] = hour as u32;
                    key[2] = (hour >> 32) as u32;
                }
                None => key[0] |= HOUR_BIT,
            }
        }
        for held in &mut self.held {
            let array = column(held.name)?;
            let (word, bit) = (held.word, held.bit);
            let wrong =
                || ArrowError::SchemaError(format!("column {} has the wrong type", held.name));
            match &mut held.slot {
                Slot::Text(interner) => {
                    let array = array.as_string_opt::<i32>().ok_or_else(wrong)?;
                    for (key, text) in keys.iter_mut().zip(array) {
                        match text {
                            Some(text) => key[word] = interner.intern(text)?,
                            None => key[0] |= bit,
                        }
                    }
                }
                Slot::Int32 => {
                    let array = array.as_primitive_opt::<Int32Type>().ok_or_else(wrong)?;
                    for (key, v) in keys.iter_mut().zip(array) {
                        match v {
                            Some(v) => key[word] = v as u32,
                            None => key[0] |= bit,
                        }
                    }
                }
            }
        }

        for (key, i) in keys.iter().zip(0..) {
            let group = self.group(key)?;
            let (s, e) = (value(start, i), value(end, i));
            self.sums[group].merge(&Sums {
                records: 1,
                packets: value(packets, i),
                bytes: value(bytes, i),
                first_start: s,
                last_start: s,
                last_end: e,
            });
        }
        Ok(())
    }

    /// The group of `key`, created empty if it is new.
    fn group(&mut self, key: &Key) -> Result<usize, ArrowError> {
        let h = hash(key);
        let stored = &self.keys;
        let found = self
            .index
            .find(h, |&(gh, g)| gh == h && stored[g as usize] == *key)
            .map(|&(_, g)| g as usize);
        if let Some(group) = found {
            return Ok(group);
        }
        let group = self.keys.len();
        let id = u32::try_from(group).map_err(|_| too_many())?;
        self.keys.push(*key);
        self.sums.push(Sums::default());
        self.text_out += text_len(&self.held, key);
        self.index.insert_unique(h, (h, id), |&(gh, _)| gh);
        Ok(group)
    }

    /// For each column this holds, the position of the same column among
    /// those `finer` holds; `None` unless `finer` holds every one of them
    /// (with the same type) and more, so that each of its groups lies in
    /// exactly one of this table's.
    fn held_in(&self, finer: &Rollup) -> Option<Vec<usize>> {
        if finer.held.len() <= self.held.len() {
            return None;
        }
        self.held
            .iter()
            .map(|mine| {
                let at = finer.held.iter().position(|h| h.name == mine.name)?;
                let same = matches!(
                    (&mine.slot, &finer.held[at].slot),
                    (Slot::Text(_), Slot::Text(_)) | (Slot::Int32, Slot::Int32)
                );
                same.then_some(at)
            })
            .collect()
    }

    /// Whether [`Rollup::add_groups`] can take `finer`'s groups: its table
    /// groups by every key this one holds, and more.
    pub fn coarsens(&self, finer: &Rollup) -> bool {
        self.held_in(finer).is_some()
    }

    /// Adds the groups `finer` holds, as if the records they sum had been
    /// added one by one: `sources_hourly` from `talkers_hourly`'s groups,
    /// one lookup per group with no text hashed, instead of one per record
    /// with the address interned again. `finer` must pass
    /// [`Rollup::coarsens`].
    pub fn add_groups(&mut self, finer: &Rollup) -> Result<(), ArrowError> {
        let columns = self.held_in(finer).ok_or_else(|| {
            ArrowError::SchemaError(format!(
                "{} does not group by every key of {}",
                finer.table.name, self.table.name
            ))
        })?;
        // Per text column, `finer`'s ids mapped to this one's, as met.
        let mut ids: Vec<Vec<Option<u32>>> = columns
            .iter()
            .map(|&at| match &finer.held[at].slot {
                Slot::Text(interner) => vec![None; interner.len()],
                Slot::Int32 => Vec::new(),
            })
            .collect();
        for (theirs, sums) in finer.keys.iter().zip(&finer.sums) {
            let mut key: Key = [0; WORDS];
            key[0] = theirs[0] & HOUR_BIT;
            key[1] = theirs[1];
            key[2] = theirs[2];
            for ((mine, &at), ids) in self.held.iter_mut().zip(&columns).zip(&mut ids) {
                let source = &finer.held[at];
                if theirs[0] & source.bit != 0 {
                    key[0] |= mine.bit;
                    continue;
                }
                let word = theirs[source.word];
                key[mine.word] = match (&mut mine.slot, &source.slot) {
                    (Slot::Text(interner), Slot::Text(values)) => {
                        let id = &mut ids[word as usize];
                        match *id {
                            Some(id) => id,
                            None => *id.insert(interner.intern(values.get(word))?),
                        }
                    }
                    _ => word,
                };
            }
            let group = self.group(&key)?;
            self.sums[group].merge(sums);
        }
        Ok(())
    }

    /// The groups as one batch in the table's schema (`None` if there are
    /// none), in the order they were first seen, leaving the aggregator
    /// empty, its interned text included.
    pub fn take(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        let keys = std::mem::take(&mut self.keys);
        let sums = std::mem::take(&mut self.sums);
        self.index = HashTable::new();
        self.text_out = 0;

        let hour = TimestampMillisecondArray::from_iter(keys.iter().map(|k| {
            (k[0] & HOUR_BIT == 0)
                .then(|| ((u64::from(k[2]) << 32 | u64::from(k[1])) as i64) * HOUR_MS)
        }))
        .with_timezone("UTC");
        let held: Vec<ArrayRef> = self
            .held
            .iter_mut()
            .map(|held| -> ArrayRef {
                let (word, bit) = (held.word, held.bit);
                let valid = |k: &Key| k[0] & bit == 0;
                match &mut held.slot {
                    Slot::Text(interner) => {
                        let interner = std::mem::take(interner);
                        let mut out = StringBuilder::with_capacity(keys.len(), interner.text_len());
                        for k in &keys {
                            if valid(k) {
                                out.append_value(interner.get(k[word]));
                            } else {
                                out.append_null();
                            }
                        }
                        Arc::new(out.finish()) as ArrayRef
                    }
                    Slot::Int32 => Arc::new(Int32Array::from_iter(
                        keys.iter().map(|k| valid(k).then(|| k[word] as i32)),
                    )),
                }
            })
            .collect();

        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.table.schema().fields().len());
        columns.push(Arc::new(hour));
        for (key, output) in self.table.keys.iter().zip(&self.outputs) {
            columns.push(match *output {
                Output::Held(i) => held[i].clone(),
                Output::Derived(i) => rederive(key, &held[i])
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
        RecordBatch::try_new(self.table.schema(), columns).map(Some)
    }

    /// The table this sums.
    pub fn table(&self) -> RollupTable {
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::{TALKERS_HOURLY, TRAFFIC_HOURLY};
    use crate::schema::file_schema;
    use arrow::array::StringArray;

    /// A batch in the file schema with `named` columns and every other
    /// column null.
    fn file_batch(rows: usize, named: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let schema = file_schema();
        let columns = schema
            .fields()
            .iter()
            .map(|f| match named.iter().find(|(n, _)| n == f.name()) {
                Some((_, array)) => array.clone(),
                None => arrow::array::new_null_array(f.data_type(), rows),
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn times(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from_iter(values).with_timezone("UTC"))
    }

    fn texts<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
        Arc::new(StringArray::from_iter(values))
    }

    fn batch(rows: &[(&str, &str, Option<i64>, Option<i64>)]) -> RecordBatch {
        file_batch(
            rows.len(),
            vec![
                ("interface_id", texts(rows.iter().map(|r| Some(r.0)))),
                ("action", texts(rows.iter().map(|r| Some(r.1)))),
                (
                    "bytes",
                    Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.2))),
                ),
                ("start_time", times(rows.iter().map(|r| r.3))),
                ("protocol", Arc::new(Int32Array::from(vec![6; rows.len()]))),
            ],
        )
    }

    #[test]
    fn derived_keys_are_recomputed_from_their_source() {
        let rows = [("10.0.0.1", 6), ("203.0.113.9", 17), ("10.0.0.1", 6)];
        let input = file_batch(
            rows.len(),
            vec![
                ("srcaddr", texts(rows.iter().map(|r| Some(r.0)))),
                (
                    "dstaddr",
                    texts(["fd00::1", "8.8.8.8", "fd00::1"].map(Some)),
                ),
                (
                    "protocol",
                    Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
                ),
            ],
        );
        let mut rollup = Rollup::new(TALKERS_HOURLY).unwrap();
        rollup.add(&input).unwrap();
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

    #[test]
    fn null_is_a_value_of_its_own_and_no_time_is_too_big() {
        // Text: NULL, "" and "x"; integers: NULL, 0 and a negative; times:
        // none, far before the epoch and near the largest.
        let big = 253_402_300_799_999; // 9999-12-31T23:59:59.999
        let rows: [(Option<&str>, Option<i32>, Option<i64>); 6] = [
            (None, None, None),
            (Some(""), Some(0), Some(-5)),
            (Some("x"), Some(-1), Some(big)),
            (None, None, None),
            (Some(""), Some(0), Some(-5)),
            (Some("x"), Some(-1), Some(big)),
        ];
        let input = file_batch(
            rows.len(),
            vec![
                ("interface_id", texts(rows.iter().map(|r| r.0))),
                (
                    "dstport",
                    Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.1))),
                ),
                ("start_time", times(rows.iter().map(|r| r.2))),
            ],
        );
        let mut rollup = Rollup::new(TALKERS_HOURLY).unwrap();
        rollup.add(&input).unwrap();
        assert_eq!(rollup.len(), 3);
        assert!(rollup.memory() > 0);
        let out = rollup.take().unwrap().unwrap();
        assert_eq!(rollup.memory(), 0);
        let text = |name: &str, i: usize| {
            let c = out.column_by_name(name).unwrap();
            if c.is_null(i) {
                "NULL".to_owned()
            } else {
                arrow::util::display::array_value_to_string(c, i).unwrap()
            }
        };
        let got: Vec<_> = (0..3)
            .map(|i| ["interface_id", "dstport", "records"].map(|c| text(c, i)))
            .collect();
        assert_eq!(
            got,
            vec![
                ["NULL", "NULL", "2"].map(String::from),
                ["", "0", "2"].map(String::from),
                ["x", "-1", "2"].map(String::from),
            ]
        );
        let hours = out
            .column_by_name("hour_start")
            .unwrap()
            .as_primitive::<TimestampMillisecondType>()
            .clone();
        let hour = |t: i64| Some(t - t.rem_euclid(HOUR_MS));
        let got: Vec<Option<i64>> = hours.iter().collect();
        assert_eq!(got, vec![None, hour(-5), hour(big)]);
        assert_eq!(hour(-5), Some(-HOUR_MS));
    }

    #[test]
    fn memory_counts_the_text_each_group_will_carry() {
        // One long interface id shared by many groups (one per port): the
        // id is interned once but written once per group by take().
        let long = "e".repeat(60_000);
        let n = 100;
        let input = file_batch(
            n,
            vec![
                ("interface_id", texts(vec![Some(long.as_str()); n])),
                (
                    "dstport",
                    Arc::new(Int32Array::from_iter_values(0..n as i32)),
                ),
            ],
        );
        let mut rollup = Rollup::new(TALKERS_HOURLY).unwrap();
        rollup.add(&input).unwrap();
        assert!(rollup.memory() >= n * long.len(), "{}", rollup.memory());
        let out = rollup.take().unwrap().unwrap();
        let ids = out
            .column_by_name("interface_id")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(ids.value_data().len(), n * long.len());
    }

    #[test]
    fn many_distinct_values_keep_their_own_sums_across_batches() {
        let batch = |from: usize, to: usize| {
            let addrs: Vec<String> = (from..to)
                .map(|i| format!("198.51.{}.{}", i / 256, i % 256))
                .collect();
            let n = addrs.len();
            file_batch(
                n,
                vec![
                    ("dstaddr", texts(addrs.iter().map(|a| Some(a.as_str())))),
                    (
                        "bytes",
                        Arc::new(Int64Array::from_iter_values((from..to).map(|i| i as i64))),
                    ),
                    ("action", texts(vec![Some("ACCEPT"); n])),
                ],
            )
        };
        let mut rollup = Rollup::new(TALKERS_HOURLY).unwrap();
        rollup.add(&batch(0, 5000)).unwrap();
        rollup.add(&batch(2500, 7500)).unwrap();
        assert_eq!(rollup.len(), 7500);
        let out = rollup.take().unwrap().unwrap();
        let addrs = out
            .column_by_name("dstaddr")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let bytes = out
            .column_by_name("bytes")
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone();
        let records = out
            .column_by_name("records")
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone();
        for i in 0..out.num_rows() {
            // First seen first: row i is address i, seen twice in the overlap.
            assert_eq!(addrs.value(i), format!("198.51.{}.{}", i / 256, i % 256));
            let twice = (2500..5000).contains(&i);
            assert_eq!(records.value(i), if twice { 2 } else { 1 });
            assert_eq!(bytes.value(i), if twice { 2 * i as i64 } else { i as i64 });
        }
    }
}
