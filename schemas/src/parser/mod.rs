//! The push parser: flow-log text in, Arrow record batches and rejected lines out.
//!
//! Modelled on arrow-csv's `Decoder`: feed it bytes in chunks of any size
//! ([`Decoder::decode`]), take finished batches as they fill
//! ([`Decoder::take_batches`]) and the lines it could not parse
//! ([`Decoder::take_rejects`]), and call [`Decoder::finish`] at the end of the
//! object. It does no I/O and does not care whether the bytes came from a
//! gunzip stream, a CloudWatch page or a Firehose record.
//!
//! Per record it splits on spaces into a fixed array of spans, parses every
//! field into a fixed array of values, and only then appends to the column
//! builders, so a bad field rejects the whole line without leaving a partial
//! row behind. Nothing is allocated per record on this path. UTF-8 is checked
//! once per chunk, not per field.
//!
//! Limits ([`LineLimits`]) hold whatever the input: a line longer than
//! `max_line_bytes` is rejected without ever being held whole (only its
//! first [`MAX_RAW_LINE`](crate::reject::MAX_RAW_LINE) bytes are kept for
//! the quarantine), and a `start`/`end` outside the accepted
//! [`TimeBounds`] is a rejected line, never a record in a nonsense partition.
//!
//! Any line whose tokens are all field names is a header: it sets the format
//! from that line on (AWS writes one at the top of each S3 object; some tools
//! repeat it, and concatenated objects carry several).

mod columns;
mod limits;
mod split;
mod value;

pub use limits::{
    DEFAULT_MAX_LINE_BYTES, EARLIEST_FLOW_MS, FUTURE_SLACK_MS, LATEST_REPRESENTABLE_MS, LineLimits,
    TimeBounds,
};

use std::sync::Arc;

use arrow::array::RecordBatch;
use memchr::memchr;

use crate::fields::{Field, ValueKind, field, field_id};
use crate::format::Format;
use crate::reject::{Reject, RejectReason, keep_raw};
use crate::source::{RecordSource, export_timestamp_len};
use columns::Columns;
use split::for_each_field;
use value::{address_is_private, check_action, check_log_status, parse_int};

/// Rows per batch unless configured: large enough to amortise per-batch work,
/// small enough to stay in cache while encoding.
pub const DEFAULT_BATCH_SIZE: usize = 32 * 1024;

/// Counts of what the decoder saw; every line lands in exactly one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Lines turned into records.
    pub records: u64,
    /// Lines rejected (see [`Decoder::take_rejects`]).
    pub rejected: u64,
    /// Header lines (field names).
    pub headers: u64,
    /// Empty or all-space lines.
    pub blank: u64,
}

impl LineCounts {
    /// Every line seen.
    pub fn lines(&self) -> u64 {
        self.records + self.rejected + self.headers + self.blank
    }

    /// Adds another set of counts to this one.
    pub fn add(&mut self, other: &LineCounts) {
        self.records += other.records;
        self.rejected += other.rejected;
        self.headers += other.headers;
        self.blank += other.blank;
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    field: &'static Field,
    column: usize,
    /// `Some(true)`: srcaddr (feeds srcaddr_is_private); `Some(false)`: dstaddr.
    private_flag: Option<bool>,
    /// `Some(true)`: start; `Some(false)`: end (checked against the time bounds).
    time: Option<bool>,
}

/// Flow-log text to Arrow batches. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    format: Format,
    slots: Vec<Slot>,
    columns: Columns,
    batch_size: usize,
    ready: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    /// The start of a line split across `decode` calls (for an over-long
    /// line, only its first bytes).
    carry: Vec<u8>,
    /// Length of the carried line so far, when it is already over the limit.
    overlong: Option<u64>,
    limits: LineLimits,
    /// The current line's `start` and `end`, as parsed.
    start: Option<i64>,
    end: Option<i64>,
    line_no: u64,
    counts: LineCounts,
    /// Source columns of the lines being fed (see [`Decoder::set_source`]).
    source: Option<Arc<RecordSource>>,
    /// Whether a line of field names changes the format.
    headers: bool,
}

impl Decoder {
    /// A decoder that reads records in `format` until a header line says
    /// otherwise. `first_line` is the line number of the first byte fed (1 for
    /// a whole object; more when a large object is split into segments).
    pub fn new(format: Format, first_line: u64, batch_size: usize) -> Decoder {
        let columns = Columns::new();
        let slots = slots_for(&format, &columns);
        Decoder {
            format,
            slots,
            columns,
            batch_size: batch_size.max(1),
            ready: Vec::new(),
            rejects: Vec::new(),
            carry: Vec::new(),
            overlong: None,
            limits: LineLimits::default(),
            start: None,
            end: None,
            line_no: first_line.saturating_sub(1),
            counts: LineCounts::default(),
            source: None,
            headers: true,
        }
    }

    /// Whether a line of field names is a header that sets the format (the
    /// default, as in S3 text objects), or just a line that does not parse
    /// (CloudWatch and Firehose events carry no headers, and one message
    /// must not change how the next ones are read).
    pub fn recognise_headers(&mut self, headers: bool) {
        self.headers = headers;
    }

    /// Sets the source columns (`log_group`, `log_stream`) of the records in
    /// the lines fed from now on, and of their rejects; `None` for none.
    /// Call it at a line boundary: a partial line carried from the last
    /// [`Decoder::decode`] takes the source in force when it ends.
    pub fn set_source(&mut self, source: Option<Arc<RecordSource>>) {
        self.columns.set_source(source.as_ref());
        self.source = source;
    }

    /// The same decoder with other limits (the default accepts lines up to
    /// [`DEFAULT_MAX_LINE_BYTES`] and times from 2010 to the year 9999;
    /// ingest narrows the latter to a day past its start).
    pub fn with_limits(mut self, limits: LineLimits) -> Decoder {
        self.limits = limits;
        self
    }

    /// Feeds bytes. Complete lines are parsed now; a trailing partial line is
    /// kept until the next call or [`Decoder::finish`].
    pub fn decode(&mut self, mut buf: &[u8]) {
        if !self.carry.is_empty() || self.overlong.is_some() {
            match memchr(b'\n', buf) {
                Some(i) => {
                    self.carry_more(&buf[..i]);
                    self.end_carried_line();
                    buf = &buf[i + 1..];
                }
                None => {
                    self.carry_more(buf);
                    return;
                }
            }
        }
        let complete = match memchr::memrchr(b'\n', buf) {
            Some(i) => i + 1,
            None => 0,
        };
        let (lines, rest) = buf.split_at(complete);
        match std::str::from_utf8(lines) {
            Ok(_) => {
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', lines) {
                    self.line_no += 1;
                    self.line(&lines[start..end]);
                    start = end + 1;
                }
            }
            Err(_) => {
                // Some line in this chunk is not UTF-8: check line by line so
                // only the bad ones are rejected.
                if let Some((_, body)) = lines.split_last() {
                    for line in body.split(|&b| b == b'\n') {
                        self.bytes_line(line);
                    }
                }
            }
        }
        self.carry_more(rest);
    }

    /// Adds to the carried partial line, keeping only its first bytes once
    /// it is over the length limit.
    fn carry_more(&mut self, piece: &[u8]) {
        if let Some(len) = self.overlong.as_mut() {
            *len += piece.len() as u64;
            let room = crate::reject::MAX_RAW_LINE.saturating_sub(self.carry.len());
            self.carry
                .extend_from_slice(&piece[..room.min(piece.len())]);
            return;
        }
        let len = self.carry.len() + piece.len();
        if len > self.limits.max_line_bytes {
            let room = crate::reject::MAX_RAW_LINE.saturating_sub(self.carry.len());
            self.carry
                .extend_from_slice(&piece[..room.min(piece.len())]);
            self.carry.shrink_to(crate::reject::MAX_RAW_LINE);
            self.overlong = Some(len as u64);
        } else {
            self.carry.extend_from_slice(piece);
        }
    }

    /// Parses (or rejects as too long) the carried line, now complete.
    fn end_carried_line(&mut self) {
        let line = std::mem::take(&mut self.carry);
        match self.overlong.take() {
            Some(bytes) => {
                self.line_no += 1;
                self.reject_long(bytes, &line);
            }
            None => self.bytes_line(&line),
        }
        let mut line = line;
        line.clear();
        self.carry = line;
    }

    fn reject_long(&mut self, bytes: u64, line: &[u8]) {
        let max = self.limits.max_line_bytes;
        self.reject(RejectReason::LineTooLong { bytes, max }, line);
    }

    /// Parses a trailing line without a newline and finishes the last batch.
    pub fn finish(&mut self) {
        if !self.carry.is_empty() || self.overlong.is_some() {
            self.end_carried_line();
        }
        if self.columns.rows > 0 {
            let batch = self.columns.finish(self.batch_size);
            self.ready.push(batch);
        }
    }

    /// Batches completed so far (each at most the batch size).
    pub fn take_batches(&mut self) -> Vec<RecordBatch> {
        std::mem::take(&mut self.ready)
    }

    /// Lines rejected so far, in line order.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::take(&mut self.rejects)
    }

    /// What the decoder has seen so far.
    pub fn counts(&self) -> LineCounts {
        self.counts
    }

    /// The format in force now (changed by header lines).
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Number of the last line consumed.
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    fn bytes_line(&mut self, line: &[u8]) {
        // Only called for carried-over lines and chunks that failed UTF-8
        // validation, so the line number is counted here.
        self.line_no += 1;
        if line.len() > self.limits.max_line_bytes {
            return self.reject_long(line.len() as u64, line);
        }
        match std::str::from_utf8(line) {
            Ok(_) => self.line(line),
            Err(_) => self.reject(RejectReason::InvalidUtf8, line),
        }
    }

    /// Parses one line (without its newline). The caller has checked that
    /// the line is UTF-8, so fields split at ASCII spaces are UTF-8 too.
    #[inline]
    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.limits.max_line_bytes {
            return self.reject_long(line.len() as u64, line);
        }
        // A CloudWatch export line: the event's timestamp, then the record.
        let line = &line[export_timestamp_len(line)..];
        // Records never start with a lower-case letter unless the format's
        // first field is text; only then is the header check worth its cost.
        if self.headers
            && line.first().is_some_and(u8::is_ascii_lowercase)
            && Format::is_header_line(line)
        {
            self.header(line);
            return;
        }

        // One pass: split on runs of spaces, parse each field and append it
        // to its column. A bad line is taken back out of the columns.
        let expected = self.slots.len();
        let mut found = 0usize;
        let mut error = None;
        self.start = None;
        self.end = None;
        for_each_field(line, |field| {
            if found < expected && error.is_none() {
                let slot = self.slots[found];
                if let Err(reason) = self.field(slot, field) {
                    error = Some(reason);
                }
            }
            found += 1;
        });
        if found == 0 {
            self.counts.blank += 1;
            return;
        }
        if found == expected && error.is_none() {
            error = self.limits.times.check(self.start, self.end).err();
        }
        if found != expected || error.is_some() {
            let slots = std::mem::take(&mut self.slots);
            self.columns
                .truncate(slots.iter().map(|s| (s.column, s.private_flag)));
            self.slots = slots;
            let reason = match error {
                Some(reason) if found == expected => reason,
                _ => RejectReason::FieldCount { expected, found },
            };
            self.reject(reason, line);
            return;
        }
        self.columns.end_row();
        self.counts.records += 1;
        if self.columns.rows >= self.batch_size {
            let batch = self.columns.finish(self.batch_size);
            self.ready.push(batch);
        }
    }

    /// Parses one field and appends it to its column.
    #[inline]
    fn field(&mut self, slot: Slot, text: &[u8]) -> Result<(), RejectReason> {
        let column = &mut self.columns.columns[slot.column];
        if text == b"-" {
            column.push_null();
            if let Some(is_src) = slot.private_flag {
                self.columns.flags(is_src).push(None);
            }
            return Ok(());
        }
        match slot.field.kind {
            ValueKind::Int64 => {
                let value = parse_int(slot.field, text, i64::MAX)?;
                column.push_int(value);
                match slot.time {
                    Some(true) => self.start = Some(value),
                    Some(false) => self.end = Some(value),
                    None => {}
                }
            }
            ValueKind::Int32 => column.push_int(parse_int(slot.field, text, i64::from(i32::MAX))?),
            ValueKind::Text => column.push_text(text),
            ValueKind::Action => {
                check_action(text)?;
                column.push_text(text);
            }
            ValueKind::LogStatus => {
                check_log_status(text)?;
                column.push_text(text);
            }
            ValueKind::Addr => {
                let private = address_is_private(slot.field, text)?;
                column.push_text(text);
                if let Some(is_src) = slot.private_flag {
                    self.columns.flags(is_src).push(Some(private));
                }
            }
        }
        Ok(())
    }

    fn header(&mut self, line: &[u8]) {
        self.counts.headers += 1;
        let parsed = std::str::from_utf8(line).map(Format::from_header);
        match parsed {
            Ok(Ok(format)) if format != self.format => {
                self.columns.pad();
                self.slots = slots_for(&format, &self.columns);
                self.columns
                    .pad_for(self.slots.iter().map(|s| (s.column, s.private_flag)));
                self.format = format;
            }
            _ => {}
        }
    }

    fn reject(&mut self, reason: RejectReason, raw: &[u8]) {
        self.counts.rejected += 1;
        self.rejects.push(Reject {
            line: self.line_no,
            reason,
            raw: keep_raw(raw),
            source: self.source.clone(),
        });
    }
}

fn slots_for(format: &Format, columns: &Columns) -> Vec<Slot> {
    let (start, end) = (field_id("start"), field_id("end"));
    format
        .fields()
        .iter()
        .map(|&id| Slot {
            field: field(id),
            column: usize::from(id),
            private_flag: columns.private_flag(id),
            time: if Some(id) == start {
                Some(true)
            } else if Some(id) == end {
                Some(false)
            } else {
                None
            },
        })
        .collect()
}

#[cfg(test)]
mod tests;
