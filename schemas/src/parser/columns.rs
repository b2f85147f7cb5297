//! The batch under construction: plain vectors per AWS field (values plus a
//! validity flag per row), and the address-privacy flags the parser computes
//! on the way. Finishing a batch hands the vectors to Arrow without copying.
//!
//! Plain vectors rather than Arrow builders, because a line is appended field
//! by field as it is parsed and a bad field must take the whole line back:
//! [`Columns::truncate`] does that in O(fields).
//!
//! Columns a format does not write are never touched while parsing; they
//! become all-null arrays when the batch is finished (one shared array per
//! type), so a 14-field default-format line costs 14 appends, not 72.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
    StringBuilder, new_null_array,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Int32Type, Int64Type};

use crate::derive;
use crate::fields::{FIELDS, FieldId, ValueKind, field_id};
use crate::schema::file_schema;
use crate::source::RecordSource;

/// One AWS field's values for the rows of the batch so far.
#[derive(Debug)]
pub(crate) enum Column {
    /// Text: UTF-8 bytes back to back, an end offset per row.
    Text {
        bytes: Vec<u8>,
        offsets: Vec<i32>,
        valid: Vec<bool>,
    },
    /// 32-bit integers.
    Int32 { values: Vec<i32>, valid: Vec<bool> },
    /// 64-bit integers.
    Int64 { values: Vec<i64>, valid: Vec<bool> },
}

impl Column {
    fn new(kind: ValueKind) -> Column {
        match kind {
            ValueKind::Int32 => Column::Int32 {
                values: Vec::new(),
                valid: Vec::new(),
            },
            ValueKind::Int64 => Column::Int64 {
                values: Vec::new(),
                valid: Vec::new(),
            },
            _ => Column::Text {
                bytes: Vec::new(),
                offsets: vec![0],
                valid: Vec::new(),
            },
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Column::Text { valid, .. }
            | Column::Int32 { valid, .. }
            | Column::Int64 { valid, .. } => valid.len(),
        }
    }

    #[inline]
    /// Appends UTF-8 text (checked once per chunk by the caller; the Arrow
    /// array re-checks it when the batch is finished).
    pub(crate) fn push_text(&mut self, text: &[u8]) {
        if let Column::Text {
            bytes,
            offsets,
            valid,
        } = self
        {
            bytes.extend_from_slice(text);
            offsets.push(bytes.len() as i32);
            valid.push(true);
        }
    }

    #[inline]
    pub(crate) fn push_int(&mut self, v: i64) {
        match self {
            Column::Int32 { values, valid } => {
                values.push(v as i32);
                valid.push(true);
            }
            Column::Int64 { values, valid } => {
                values.push(v);
                valid.push(true);
            }
            Column::Text { .. } => {}
        }
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        match self {
            Column::Text {
                bytes,
                offsets,
                valid,
            } => {
                offsets.push(bytes.len() as i32);
                valid.push(false);
            }
            Column::Int32 { values, valid } => {
                values.push(0);
                valid.push(false);
            }
            Column::Int64 { values, valid } => {
                values.push(0);
                valid.push(false);
            }
        }
    }

    fn push_nulls(&mut self, n: usize) {
        for _ in 0..n {
            self.push_null();
        }
    }

    /// Drops rows past `rows` (a rejected line's fields).
    pub(crate) fn truncate(&mut self, rows: usize) {
        match self {
            Column::Text {
                bytes,
                offsets,
                valid,
            } => {
                if valid.len() > rows {
                    valid.truncate(rows);
                    offsets.truncate(rows + 1);
                    bytes.truncate(offsets[rows] as usize);
                }
            }
            Column::Int32 { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            Column::Int64 { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
        }
    }

    /// Hands the rows to Arrow and starts empty again.
    fn finish(&mut self, capacity: usize) -> ArrayRef {
        match self {
            Column::Text {
                bytes,
                offsets,
                valid,
            } => {
                let nulls = nulls(std::mem::take(valid));
                let offsets = std::mem::replace(offsets, {
                    let mut o = Vec::with_capacity(capacity + 1);
                    o.push(0);
                    o
                });
                let bytes = std::mem::take(bytes);
                // Every value came from UTF-8-checked text split at ASCII
                // spaces, and offsets only grow: try_new re-checks both in
                // one linear pass.
                let array = StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Buffer::from_vec(bytes),
                    nulls,
                )
                .expect("the parser only appends UTF-8 values");
                Arc::new(array)
            }
            Column::Int32 { values, valid } => {
                let nulls = nulls(std::mem::take(valid));
                let values = std::mem::replace(values, Vec::with_capacity(capacity));
                Arc::new(Int32Array::new(ScalarBuffer::from(values), nulls))
            }
            Column::Int64 { values, valid } => {
                let nulls = nulls(std::mem::take(valid));
                let values = std::mem::replace(values, Vec::with_capacity(capacity));
                Arc::new(Int64Array::new(ScalarBuffer::from(values), nulls))
            }
        }
    }
}

/// A validity bitmap, or none when every row is valid.
fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    if valid.iter().all(|v| *v) {
        return None;
    }
    Some(NullBuffer::new(BooleanBuffer::from(valid)))
}

/// Address-privacy flags for one address column (`None`: no address).
#[derive(Debug, Default)]
pub(crate) struct Flags(Vec<Option<bool>>);

impl Flags {
    pub(crate) fn push(&mut self, flag: Option<bool>) {
        self.0.push(flag);
    }

    fn finish(&mut self) -> ArrayRef {
        Arc::new(BooleanArray::from(std::mem::take(&mut self.0)))
    }
}

/// Builders for every column of a batch.
#[derive(Debug)]
pub(crate) struct Columns {
    pub(crate) columns: Vec<Column>,
    pub(crate) src_private: Flags,
    pub(crate) dst_private: Flags,
    pub(crate) rows: usize,
    srcaddr: usize,
    dstaddr: usize,
    start: usize,
    end: usize,
    protocol: usize,
    /// The distinct sources of this batch's rows.
    sources: Vec<Arc<RecordSource>>,
    /// Per row, 1 + its index in `sources`, or 0; empty while no row of
    /// the batch has a source (the common case costs nothing per row).
    row_source: Vec<u32>,
    /// The source of the rows being appended (same encoding).
    current: u32,
}

fn index_of(name: &str) -> usize {
    field_id(name).map_or(usize::MAX, usize::from)
}

impl Columns {
    pub(crate) fn new() -> Columns {
        Columns {
            columns: FIELDS.iter().map(|f| Column::new(f.kind)).collect(),
            src_private: Flags::default(),
            dst_private: Flags::default(),
            rows: 0,
            srcaddr: index_of("srcaddr"),
            dstaddr: index_of("dstaddr"),
            start: index_of("start"),
            end: index_of("end"),
            protocol: index_of("protocol"),
            sources: Vec::new(),
            row_source: Vec::new(),
            current: 0,
        }
    }

    /// The source of the rows appended from now on.
    pub(crate) fn set_source(&mut self, source: Option<&Arc<RecordSource>>) {
        self.current = match source {
            None => 0,
            Some(source) => {
                let known = self
                    .sources
                    .iter()
                    .rposition(|s| Arc::ptr_eq(s, source) || **s == **source);
                let index = known.unwrap_or_else(|| {
                    self.sources.push(source.clone());
                    self.sources.len() - 1
                });
                if self.row_source.is_empty() {
                    self.row_source.resize(self.rows, 0);
                }
                u32::try_from(index + 1).unwrap_or(0)
            }
        };
    }

    /// Counts the row just appended.
    #[inline]
    pub(crate) fn end_row(&mut self) {
        self.rows += 1;
        if self.current != 0 || !self.row_source.is_empty() {
            self.row_source.push(self.current);
        }
    }

    /// The `log_group` and `log_stream` arrays of the finished batch, then
    /// a fresh table holding only the current source.
    fn finish_sources(&mut self, rows: usize) -> [ArrayRef; 2] {
        let arrays = if self.row_source.is_empty() {
            [
                new_null_array(&DataType::Utf8, rows),
                new_null_array(&DataType::Utf8, rows),
            ]
        } else {
            self.row_source.resize(rows, 0);
            let mut group = StringBuilder::with_capacity(rows, rows * 8);
            let mut stream = StringBuilder::with_capacity(rows, rows * 24);
            for &i in &self.row_source {
                let source = i.checked_sub(1).and_then(|i| self.sources.get(i as usize));
                group.append_option(source.and_then(|s| s.log_group.as_deref()));
                stream.append_option(source.and_then(|s| s.log_stream.as_deref()));
            }
            [
                Arc::new(group.finish()) as ArrayRef,
                Arc::new(stream.finish()) as ArrayRef,
            ]
        };
        self.row_source.clear();
        let current = self
            .current
            .checked_sub(1)
            .and_then(|i| self.sources.get(i as usize).cloned());
        self.sources.clear();
        self.current = 0;
        self.set_source(current.as_ref());
        arrays
    }

    /// Which privacy flags this field feeds: `Some(true)` srcaddr,
    /// `Some(false)` dstaddr.
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

    /// The privacy flags for srcaddr (`true`) or dstaddr (`false`).
    #[inline]
    pub(crate) fn flags(&mut self, is_src: bool) -> &mut Flags {
        if is_src {
            &mut self.src_private
        } else {
            &mut self.dst_private
        }
    }

    /// Takes back a partly appended line: every column to `rows` values.
    pub(crate) fn truncate(&mut self, columns: impl Iterator<Item = (usize, Option<bool>)>) {
        let rows = self.rows;
        for (column, private_flag) in columns {
            self.columns[column].truncate(rows);
            if let Some(is_src) = private_flag {
                self.flags(is_src).0.truncate(rows);
            }
        }
    }

    /// Brings every column that has values to `rows` values, so a new
    /// format can start appending. Columns never written stay empty and
    /// become all-null arrays in [`Columns::finish`], at no cost per row.
    pub(crate) fn pad(&mut self) {
        let rows = self.rows;
        for c in &mut self.columns {
            let len = c.len();
            if len > 0 && len < rows {
                c.push_nulls(rows - len);
            }
        }
        for f in [&mut self.src_private, &mut self.dst_private] {
            let len = f.0.len();
            if len > 0 && len < rows {
                f.0.resize(rows, None);
            }
        }
    }

    /// Brings the columns a new format writes to `rows` values (nulls for
    /// the rows before the format change), so its first row lines up.
    pub(crate) fn pad_for(&mut self, columns: impl Iterator<Item = (usize, Option<bool>)>) {
        let rows = self.rows;
        for (column, private_flag) in columns {
            let c = &mut self.columns[column];
            let len = c.len();
            if len < rows {
                c.push_nulls(rows - len);
            }
            if let Some(is_src) = private_flag {
                let flags = &mut self.flags(is_src).0;
                if flags.len() < rows {
                    flags.resize(rows, None);
                }
            }
        }
    }

    /// Finishes the batch (AWS columns plus derived ones) and starts a new one.
    pub(crate) fn finish(&mut self, capacity: usize) -> RecordBatch {
        self.pad();
        let rows = self.rows;
        self.rows = 0;
        // Most columns are absent from any one format: share one all-null
        // array per type instead of allocating (and zeroing) one per column.
        let mut shared: Vec<(DataType, ArrayRef)> = Vec::with_capacity(4);
        let mut null_of = |t: DataType| -> ArrayRef {
            if let Some((_, a)) = shared.iter().find(|(d, _)| *d == t) {
                return a.clone();
            }
            let a = new_null_array(&t, rows);
            shared.push((t, a.clone()));
            a
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(FIELDS.len() + 7);
        for (c, f) in self.columns.iter_mut().zip(FIELDS) {
            arrays.push(if c.len() == 0 {
                null_of(f.kind.data_type())
            } else {
                c.finish(capacity)
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
        for is_src in [true, false] {
            let flags = self.flags(is_src);
            arrays.push(if flags.0.is_empty() {
                null_of(DataType::Boolean)
            } else {
                flags.finish()
            });
        }
        arrays.extend(self.finish_sources(rows));
        // The arrays follow file_schema() by construction (same table, same
        // order); a mismatch is a bug in this file, caught by every test.
        RecordBatch::try_new(file_schema(), arrays).expect("columns match the lake schema")
    }
}
