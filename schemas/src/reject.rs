//! Why a line was not turned into a record.
//!
//! A rejected line is data, not an error: the parser records it and goes on,
//! and ingest writes it to the lake's quarantine with the object it came from.
//! Line numbers count from 1 and include header lines, so they match what an
//! editor shows for the decompressed object.

use std::fmt;

/// The longest raw line kept in a [`Reject`]; longer lines are cut (on a
/// character boundary) so one pathological line cannot blow up memory.
pub const MAX_RAW_LINE: usize = 4096;

/// One line the parser could not turn into a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Line number within the object, from 1.
    pub line: u64,
    /// What was wrong.
    pub reason: RejectReason,
    /// The line as it was read (lossily decoded, at most [`MAX_RAW_LINE`] bytes).
    pub raw: String,
    /// The CloudWatch group and stream it came from, when the source knows them.
    pub source: Option<std::sync::Arc<crate::RecordSource>>,
}

/// What was wrong with a rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The line has more or fewer fields than the format.
    FieldCount {
        /// Fields in the format.
        expected: usize,
        /// Fields found on the line.
        found: usize,
    },
    /// A numeric field holds something other than digits (or `-`).
    NotANumber {
        /// AWS field name.
        field: &'static str,
        /// The offending text.
        value: String,
    },
    /// A numeric field does not fit its column type.
    OutOfRange {
        /// AWS field name.
        field: &'static str,
        /// The offending text.
        value: String,
    },
    /// An address field holds neither an IPv4 nor an IPv6 address.
    BadAddress {
        /// AWS field name.
        field: &'static str,
        /// The offending text.
        value: String,
    },
    /// `action` is not `ACCEPT`, `REJECT` or `-`.
    UnknownAction {
        /// The offending text.
        value: String,
    },
    /// `log-status` is not `OK`, `NODATA`, `SKIPDATA` or `-`.
    UnknownLogStatus {
        /// The offending text.
        value: String,
    },
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is longer than the configured limit; only its first
    /// [`MAX_RAW_LINE`] bytes are kept, the rest was never held in memory.
    LineTooLong {
        /// The line's length in bytes (without its newline).
        bytes: u64,
        /// The limit.
        max: usize,
    },
    /// `start` or `end` is a number, but not a believable flow time (before
    /// 2010, more than a day after the ingest started, or past what a
    /// partition path can name).
    TimeOutOfRange {
        /// AWS field name.
        field: &'static str,
        /// The value as written (seconds or milliseconds).
        value: i64,
        /// Earliest accepted time, UTC milliseconds.
        earliest_ms: i64,
        /// Latest accepted time, UTC milliseconds.
        latest_ms: i64,
    },
    /// `end` is before `start`.
    EndBeforeStart {
        /// `start` as written.
        start: i64,
        /// `end` as written.
        end: i64,
    },
}

impl RejectReason {
    /// A stable, short name for the kind of problem, for counting and for the
    /// quarantine's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::FieldCount { .. } => "field_count",
            RejectReason::NotANumber { .. } => "not_a_number",
            RejectReason::OutOfRange { .. } => "out_of_range",
            RejectReason::BadAddress { .. } => "bad_address",
            RejectReason::UnknownAction { .. } => "unknown_action",
            RejectReason::UnknownLogStatus { .. } => "unknown_log_status",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::LineTooLong { .. } => "line_too_long",
            RejectReason::TimeOutOfRange { .. } => "time_out_of_range",
            RejectReason::EndBeforeStart { .. } => "end_before_start",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            RejectReason::NotANumber { field, value } => {
                write!(f, "{field}: {value:?} is not a number")
            }
            RejectReason::OutOfRange { field, value } => {
                write!(f, "{field}: {value:?} is out of range")
            }
            RejectReason::BadAddress { field, value } => {
                write!(f, "{field}: {value:?} is not an IP address")
            }
            RejectReason::UnknownAction { value } => {
                write!(f, "action: {value:?} is not ACCEPT or REJECT")
            }
            RejectReason::UnknownLogStatus { value } => {
                write!(f, "log-status: {value:?} is not OK, NODATA or SKIPDATA")
            }
            RejectReason::InvalidUtf8 => f.write_str("line is not valid UTF-8"),
            RejectReason::LineTooLong { bytes, max } => {
                write!(f, "line is {bytes} bytes, longer than the limit of {max}")
            }
            RejectReason::TimeOutOfRange {
                field,
                value,
                earliest_ms,
                latest_ms,
            } => write!(
                f,
                "{field}: {value} is outside {} .. {}",
                utc(*earliest_ms),
                utc(*latest_ms)
            ),
            RejectReason::EndBeforeStart { start, end } => {
                write!(f, "end {end} is before start {start}")
            }
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A UTC time for messages (`2015-01-01T00:00:00Z`).
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// Cuts `raw` to at most [`MAX_RAW_LINE`] bytes, decoding invalid UTF-8 lossily.
pub(crate) fn keep_raw(raw: &[u8]) -> String {
    let mut end = raw.len().min(MAX_RAW_LINE);
    let text = String::from_utf8_lossy(&raw[..end]);
    if text.len() <= MAX_RAW_LINE {
        return text.into_owned();
    }
    // Lossy decoding grew the text (replacement characters); cut again on a
    // character boundary.
    end = MAX_RAW_LINE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_value() {
        let r = Reject {
            line: 17,
            reason: RejectReason::NotANumber {
                field: "dstport",
                value: "http".into(),
            },
            raw: String::new(),
            source: None,
        };
        assert_eq!(r.to_string(), r#"line 17: dstport: "http" is not a number"#);
    }

    #[test]
    fn time_messages_show_dates() {
        let r = RejectReason::TimeOutOfRange {
            field: "start",
            value: 5,
            earliest_ms: 1_420_070_400_000,
            latest_ms: 1_764_633_600_000,
        };
        assert_eq!(
            r.to_string(),
            "start: 5 is outside 2015-01-01T00:00:00Z .. 2025-12-02T00:00:00Z"
        );
    }

    #[test]
    fn raw_lines_are_capped() {
        assert_eq!(keep_raw(&[b'a'; 10_000]).len(), MAX_RAW_LINE);
        assert!(keep_raw(&[0xff; 10_000]).len() <= MAX_RAW_LINE);
    }
}
