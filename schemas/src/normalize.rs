//! Batches from elsewhere (AWS's own Parquet delivery) into the lake schema.
//!
//! AWS's Parquet files carry the flow log's fields under the lake's column
//! names, with types that vary by source (e.g. `protocol` INT32 for VPC but
//! INT64 for Transit Gateway). Columns are matched by name, cast to the lake
//! type (a value that does not fit becomes null), `-` strings become null,
//! absent fields are null, and the derived columns are computed.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::error::ArrowError;

use crate::derive;
use crate::fields::FIELDS;
use crate::schema::file_schema;

/// Converts `batch` to the lake's file schema. See the module docs.
pub fn normalize(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let rows = batch.num_rows();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(file_schema().fields().len());
    for field in FIELDS {
        let target = field.kind.data_type();
        let column = batch
            .column_by_name(field.column)
            .or_else(|| batch.column_by_name(field.name));
        let array = match column {
            None => new_null_array(&target, rows),
            Some(column) => {
                let column = if is_string(column.data_type()) {
                    dash_to_null(&cast(column, &DataType::Utf8)?)
                } else {
                    column.clone()
                };
                cast(&column, &target)?
            }
        };
        arrays.push(array);
    }
    let by_name = |name: &str| -> Option<&ArrayRef> {
        FIELDS
            .iter()
            .position(|f| f.column == name)
            .map(|i| &arrays[i])
    };
    let (start, end, protocol, src, dst) = match (
        by_name("start"),
        by_name("end"),
        by_name("protocol"),
        by_name("srcaddr"),
        by_name("dstaddr"),
    ) {
        (Some(a), Some(b), Some(c), Some(d), Some(e)) => (a, b, c, d, e),
        _ => {
            return Err(ArrowError::SchemaError(
                "field table lacks a core field".into(),
            ));
        }
    };
    let derived = [
        derive::timestamps(start.as_primitive::<Int64Type>()),
        derive::timestamps(end.as_primitive::<Int64Type>()),
        derive::protocol_names(protocol.as_primitive::<Int32Type>()),
        derive::private_flags(src.as_string::<i32>()),
        derive::private_flags(dst.as_string::<i32>()),
    ];
    arrays.extend(derived);
    // AWS's Parquet objects come from S3: no CloudWatch group or stream.
    arrays.push(new_null_array(&DataType::Utf8, rows));
    arrays.push(new_null_array(&DataType::Utf8, rows));
    RecordBatch::try_new(file_schema(), arrays)
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn dash_to_null(array: &ArrayRef) -> ArrayRef {
    let strings = array.as_string::<i32>();
    let cleaned: StringArray = strings
        .iter()
        .map(|v| v.filter(|s| !s.is_empty() && *s != "-"))
        .collect();
    Arc::new(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    #[test]
    fn aws_parquet_columns_map_by_name_with_casts() {
        let schema = Schema::new(vec![
            Field::new("srcaddr", DataType::Utf8, true),
            Field::new("protocol", DataType::Int64, true),
            Field::new("start", DataType::Int64, true),
            Field::new("action", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["10.0.0.1", "-"])),
                Arc::new(Int64Array::from(vec![6, 17])),
                Arc::new(Int64Array::from(vec![1_700_000_000, 1_700_000_060])),
                Arc::new(StringArray::from(vec!["ACCEPT", "-"])),
            ],
        )
        .unwrap();
        let out = normalize(&batch).unwrap();
        assert_eq!(out.schema(), file_schema());
        let protocol = out
            .column_by_name("protocol")
            .unwrap()
            .as_primitive::<Int32Type>();
        assert_eq!(protocol.value(1), 17);
        assert!(out.column_by_name("srcaddr").unwrap().is_null(1));
        assert!(out.column_by_name("action").unwrap().is_null(1));
        assert!(out.column_by_name("vpc_id").unwrap().is_null(0));
        let private = out
            .column_by_name("srcaddr_is_private")
            .unwrap()
            .as_boolean();
        assert!(private.value(0));
        assert_eq!(
            out.column_by_name("protocol_name")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "tcp"
        );
    }
}
