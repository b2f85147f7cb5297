//! The batch under construction: one Arrow builder per AWS field, plus the
//! address-privacy flags the parser computes on the way.
//!
//! Columns a format does not write are never touched while parsing; they are
//! padded with nulls when the batch is finished (or when the format changes
//! mid-batch), so a 14-field default-format line costs 14 appends, not 72.

use std::sync::Arc;

use arrow::array::new_null_array;
use arrow::array::{Array, ArrayBuilder, AsArray};
use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type};

use crate::derive;
use crate::fields::{FIELDS, FieldId, ValueKind, field_id};
use crate::schema::file_schema;

/// One AWS field's builder.
#[derive(Debug)]
pub(crate) enum Builder {
    Text(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
}

impl Builder {
    fn new(kind: ValueKind) -> Builder {
        match kind {
            ValueKind::Int32 => Builder::Int32(Int32Builder::new()),
            ValueKind::Int64 => Builder::Int64(Int64Builder::new()),
            _ => Builder::Text(StringBuilder::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Builder::Text(b) => b.len(),
            Builder::Int32(b) => b.len(),
            Builder::Int64(b) => b.len(),
        }
    }

    fn append_nulls(&mut self, n: usize) {
        match self {
            Builder::Text(b) => {
                for _ in 0..n {
                    b.append_null();
                }
            }
            Builder::Int32(b) => b.append_nulls(n),
            Builder::Int64(b) => b.append_nulls(n),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
        }
    }
}

/// Builders for every column of a batch.
#[derive(Debug)]
pub(crate) struct Columns {
    pub(crate) builders: Vec<Builder>,
    pub(crate) src_private: BooleanBuilder,
    pub(crate) dst_private: BooleanBuilder,
    pub(crate) rows: usize,
    srcaddr: usize,
    dstaddr: usize,
    start: usize,
    end: usize,
    protocol: usize,
}

fn index_of(name: &str) -> usize {
    field_id(name).map_or(usize::MAX, usize::from)
}

impl Columns {
    pub(crate) fn new() -> Columns {
        Columns {
            builders: FIELDS.iter().map(|f| Builder::new(f.kind)).collect(),
            src_private: BooleanBuilder::new(),
            dst_private: BooleanBuilder::new(),
            rows: 0,
            srcaddr: index_of("srcaddr"),
            dstaddr: index_of("dstaddr"),
            start: index_of("start"),
            end: index_of("end"),
            protocol: index_of("protocol"),
        }
    }

    /// Column index of a privacy flag for this field, if it has one.
    pub(crate) fn private_flag(&self, id: FieldId) -> Option<bool> {
        let i = usize::from(id);
        if i == self.srcaddr {
            Some(true)
        } else if i == self.dstaddr {
            Some(false)
        } else {
            None
        }
    }

    /// Brings every column that has values to `rows` values, so a new
    /// format can start appending. Columns never written stay empty and
    /// become all-null arrays in [`Columns::finish`], at no cost per row.
    pub(crate) fn pad(&mut self) {
        let rows = self.rows;
        for b in &mut self.builders {
            let len = b.len();
            if len > 0 && len < rows {
                b.append_nulls(rows - len);
            }
        }
        for b in [&mut self.src_private, &mut self.dst_private] {
            let len = b.len();
            if len > 0 && len < rows {
                b.append_nulls(rows - len);
            }
        }
    }

    /// Brings the columns a new format writes to `rows` values (nulls for
    /// the rows before the format change), so its first row lines up.
    pub(crate) fn pad_for(&mut self, columns: impl Iterator<Item = (usize, Option<bool>)>) {
        let rows = self.rows;
        for (column, private_flag) in columns {
            let b = &mut self.builders[column];
            let len = b.len();
            if len < rows {
                b.append_nulls(rows - len);
            }
            if let Some(is_src) = private_flag {
                let flags = if is_src {
                    &mut self.src_private
                } else {
                    &mut self.dst_private
                };
                let len = flags.len();
                if len < rows {
                    flags.append_nulls(rows - len);
                }
            }
        }
    }

    /// Finishes the batch (AWS columns plus derived ones) and starts a new one.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        self.pad();
        let rows = self.rows;
        self.rows = 0;
        // Most columns are absent from any one format: share one all-null
        // array per type instead of allocating (and zeroing) one per column.
        let mut nulls: Vec<(DataType, ArrayRef)> = Vec::with_capacity(4);
        let mut null_of = |t: DataType| -> ArrayRef {
            if let Some((_, a)) = nulls.iter().find(|(d, _)| *d == t) {
                return a.clone();
            }
            let a = new_null_array(&t, rows);
            nulls.push((t, a.clone()));
            a
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(FIELDS.len() + 5);
        for (b, f) in self.builders.iter_mut().zip(FIELDS) {
            arrays.push(if b.len() == 0 {
                null_of(f.kind.data_type())
            } else {
                b.finish()
            });
        }
        let start = arrays[self.start].as_primitive::<Int64Type>().clone();
        let end = arrays[self.end].as_primitive::<Int64Type>().clone();
        let protocol = arrays[self.protocol].as_primitive::<Int32Type>().clone();
        arrays.push(derive::timestamps(&start));
        arrays.push(derive::timestamps(&end));
        arrays.push(if protocol.null_count() == rows {
            null_of(DataType::Utf8)
        } else {
            derive::protocol_names(&protocol)
        });
        for flags in [&mut self.src_private, &mut self.dst_private] {
            arrays.push(if flags.len() == 0 {
                null_of(DataType::Boolean)
            } else {
                Arc::new(flags.finish())
            });
        }
        // The arrays follow file_schema() by construction (same table, same
        // order); a mismatch is a bug in this file, caught by every test.
        RecordBatch::try_new(file_schema(), arrays).expect("columns match the lake schema")
    }
}
