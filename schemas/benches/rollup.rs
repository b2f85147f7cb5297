//! Summing records into the rollup tables, against the generic route the
//! first version took (every key through arrow's row format into a hash map
//! of byte strings, then back). `cargo bench -p flowlake-schemas --bench rollup`.
//!
//! Two inputs of 200k parsed default-format records: nearly every record a
//! conversation of its own (scanners, clients of many hosts) and 5,000
//! conversations repeating. For the tables ingest sums from
//! talkers_hourly's groups, also that route (`from_talkers_groups`).

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::TimestampMillisecondType;
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowlake_schemas::derive::DERIVED_FROM;
use flowlake_schemas::rollup::sums::Rollup;
use flowlake_schemas::rollup::{HOUR_START, ROLLUPS, RollupTable, TALKERS_HOURLY};
use flowlake_schemas::{DEFAULT_BATCH_SIZE, Decoder, Format};

fn batches(conversations: u64) -> Vec<RecordBatch> {
    let text = common::lines(200_000, conversations);
    let mut d = Decoder::new(Format::default_vpc(), 1, DEFAULT_BATCH_SIZE);
    d.decode(text.as_bytes());
    d.finish();
    d.take_batches()
}

/// The baseline: the keys that are not derived from another key, with the
/// hour, through the row format; per group the record count and byte sum;
/// then the rows back to columns.
fn row_format(table: RollupTable, batches: &[RecordBatch]) -> Result<usize, ArrowError> {
    let schema = table.schema();
    let keys: Vec<&str> = table
        .keys
        .iter()
        .copied()
        .filter(|k| {
            !DERIVED_FROM
                .iter()
                .any(|(d, s)| d == k && table.keys.contains(s))
        })
        .collect();
    let mut fields = vec![SortField::new(
        schema.field_with_name(HOUR_START)?.data_type().clone(),
    )];
    for k in &keys {
        fields.push(SortField::new(
            schema.field_with_name(k)?.data_type().clone(),
        ));
    }
    let converter = RowConverter::new(fields)?;
    let mut groups: HashMap<Box<[u8]>, (i64, i64), xxhash_rust::xxh3::Xxh3DefaultBuilder> =
        HashMap::default();
    for batch in batches {
        let start = column(batch, "start_time")?.as_primitive::<TimestampMillisecondType>();
        let hour: TimestampMillisecondArray = start
            .unary::<_, TimestampMillisecondType>(|t| t - t.rem_euclid(3_600_000))
            .with_timezone("UTC");
        let mut columns: Vec<ArrayRef> = vec![Arc::new(hour)];
        for k in &keys {
            columns.push(column(batch, k)?.clone());
        }
        let rows = converter.convert_columns(&columns)?;
        let bytes = column(batch, "bytes")?.as_primitive::<arrow::datatypes::Int64Type>();
        for (i, row) in rows.iter().enumerate() {
            let sums = match groups.get_mut(row.as_ref()) {
                Some(s) => s,
                None => groups.entry(row.as_ref().into()).or_default(),
            };
            sums.0 += 1;
            sums.1 += bytes.value(i);
        }
    }
    let parser = converter.parser();
    let rows: Vec<_> = groups.keys().map(|k| parser.parse(k)).collect();
    Ok(converter.convert_rows(rows)?.len())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, ArrowError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ArrowError::SchemaError(format!("no column {name}")))
}

fn interned(table: RollupTable, batches: &[RecordBatch]) -> Result<usize, ArrowError> {
    let mut rollup = Rollup::new(table)?;
    for batch in batches {
        rollup.add(batch)?;
    }
    Ok(rollup.take()?.map_or(0, |b| b.num_rows()))
}

/// A coarser table summed from the finer table's groups (what ingest does
/// for every table `talkers_hourly` refines), against `interned` above.
fn from_groups(table: RollupTable, finer: &Rollup) -> Result<usize, ArrowError> {
    let mut rollup = Rollup::new(table)?;
    rollup.add_groups(finer)?;
    Ok(rollup.take()?.map_or(0, |b| b.num_rows()))
}

fn bench(c: &mut Criterion) {
    for (name, conversations) in [("distinct", u64::MAX), ("5000_conversations", 5000)] {
        let input = batches(conversations);
        let records: usize = input.iter().map(|b| b.num_rows()).sum();
        let mut group = c.benchmark_group(format!("rollup_{name}"));
        group.throughput(Throughput::Elements(records as u64));
        let mut talkers = Rollup::new(TALKERS_HOURLY).expect("talkers_hourly");
        for batch in &input {
            talkers.add(batch).expect("a parsed batch");
        }
        for table in ROLLUPS {
            group.bench_function(format!("{}/row_format", table.name), |b| {
                b.iter(|| black_box(row_format(*table, &input)))
            });
            group.bench_function(format!("{}/interned", table.name), |b| {
                b.iter(|| black_box(interned(*table, &input)))
            });
            let coarse = Rollup::new(*table).expect("a rollup table");
            if coarse.coarsens(&talkers) {
                group.bench_function(format!("{}/from_talkers_groups", table.name), |b| {
                    b.iter(|| black_box(from_groups(*table, &talkers)))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
