//! Rewriting a group of a partition's files as one: each input is read
//! whole (it is small by construction: under the target size), its batches
//! put in the lake's file schema and appended to one staged Parquet file
//! with the lake's writer settings.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use bytes::Bytes;
use flowlake_schemas::schema::file_schema;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::CompactError;
use super::plan::Candidate;
use crate::encode::{PartitionedWriter, StagedFile};
use crate::lake::LakeStore;

/// Rows per batch read from an input.
const BATCH_ROWS: usize = 8192;

/// A batch of an input file in the lake's current file schema: columns
/// matched by name, missing ones null (a file written before a column
/// existed), a column the schema does not know refused (it would be lost).
fn align(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    if let Some(extra) = batch
        .schema()
        .fields()
        .iter()
        .find(|f| schema.field_with_name(f.name()).is_err())
    {
        return Err(format!(
            "column {:?} is not in the lake's schema",
            extra.name()
        ));
    }
    let columns: Result<Vec<ArrayRef>, ArrowError> = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) if column.data_type() == field.data_type() => Ok(column.clone()),
            // Strict: a value that does not fit is an error, never a null.
            Some(column) => cast_with_options(
                column,
                field.data_type(),
                &CastOptions {
                    safe: false,
                    ..CastOptions::default()
                },
            ),
            None => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect();
    columns
        .and_then(|columns| RecordBatch::try_new(schema.clone(), columns))
        .map_err(|e| e.to_string())
}

/// Appends every row of one input; returns the rows read.
fn append(
    writer: &mut PartitionedWriter,
    schema: &SchemaRef,
    path: &str,
    bytes: Bytes,
) -> Result<u64, CompactError> {
    let bad = |message: String| CompactError::Input {
        path: path.to_owned(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| bad(e.to_string()))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut rows = 0;
    for batch in reader {
        let batch = align(&batch.map_err(|e| bad(e.to_string()))?, schema).map_err(bad)?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    Ok(rows)
}

/// Merges `group` into staged files named `<stem>-<part>`; returns them
/// and the rows read. Inputs are fetched one at a time, so memory holds
/// one input and one row group.
pub(super) async fn merge_group(
    lake: &LakeStore,
    group: &[Candidate],
    (staging, stem, part): (&Path, &str, u32),
    time_hint_ms: i64,
) -> Result<(Vec<StagedFile>, u64), CompactError> {
    let schema = file_schema();
    let mut writer = PartitionedWriter::new(staging, stem, part, Some(time_hint_ms));
    let mut rows = 0;
    let join = |e: tokio::task::JoinError| CompactError::Join(e.to_string());
    for candidate in group {
        let path = candidate.file.path.clone();
        let bytes = lake
            .get(&path)
            .await?
            .ok_or_else(|| CompactError::Missing {
                path: path.clone(),
                entry: candidate.entry.clone(),
            })?;
        let schema = Arc::clone(&schema);
        let (back, read) = tokio::task::spawn_blocking(move || {
            let read = append(&mut writer, &schema, &path, bytes);
            (writer, read)
        })
        .await
        .map_err(join)?;
        writer = back;
        rows += read?;
    }
    let files = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(join)??;
    Ok((files, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn a_file_missing_a_column_gets_nulls_and_an_unknown_column_is_refused() {
        let target: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("srcport", DataType::Int32, true),
            Field::new("log_group", DataType::Utf8, true),
        ]));
        let old = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "srcport",
                DataType::Int32,
                true,
            )])),
            vec![Arc::new(Int32Array::from(vec![443, 22]))],
        )
        .unwrap();
        let aligned = align(&old, &target).unwrap();
        assert_eq!(aligned.num_columns(), 2);
        assert_eq!(aligned.column(1).null_count(), 2);

        let future = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "new_col",
                DataType::Utf8,
                true,
            )])),
            vec![Arc::new(StringArray::from(vec!["x"]))],
        )
        .unwrap();
        assert!(align(&future, &target).unwrap_err().contains("new_col"));
    }
}
