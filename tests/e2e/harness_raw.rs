//! The tests' own count of raw flow-log input: lines, records, headers
//! and blanks by the README's rule, from the AWS field list in the test
//! data, never from flowlake's parser.

#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// Every AWS flow-log field name (VPC and Transit Gateway), from the test
/// data (`tests/data/aws-flow-log-fields.txt`), not from flowlake's table.
pub(crate) fn aws_field_names() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-flow-log-fields.txt");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Lines of raw flow-log input, counted by the test's own rule (README: every
/// line read is a record, a rejected line, a header or a blank line).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLines {
    /// Lines: pieces between newlines; a last line without one counts too.
    pub(crate) lines: u64,
    /// Lines whose every space-separated token is an AWS field name.
    pub(crate) headers: u64,
    /// Lines holding nothing but spaces (after a CR of a CRLF ending).
    pub(crate) blank: u64,
}

impl RawLines {
    /// Lines that are neither headers nor blank: records or rejected lines.
    pub(crate) fn data(&self) -> u64 {
        self.lines - self.headers - self.blank
    }

    /// Both counts together.
    pub(crate) fn plus(self, other: RawLines) -> RawLines {
        RawLines {
            lines: self.lines + other.lines,
            headers: self.headers + other.headers,
            blank: self.blank + other.blank,
        }
    }
}

/// True when a raw line is a header line by the test's rule.
pub(crate) fn is_header_line(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let names = aws_field_names();
    let mut tokens = text.split(' ').filter(|t| !t.is_empty()).peekable();
    tokens.peek().is_some() && tokens.all(|t| names.contains(t))
}

/// The bytes of a raw object, gunzipped by the test (flate2) when it is `.gz`.
pub(crate) fn raw_bytes(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: not gzip: {e}", path.display()));
        out
    } else {
        bytes
    }
}

/// The lines of raw text (without their `\n` and a trailing `\r`).
pub(crate) fn raw_line_slices(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// [`RawLines`] of raw text.
pub(crate) fn raw_lines_of(text: &[u8]) -> RawLines {
    let mut counts = RawLines::default();
    for line in raw_line_slices(text) {
        counts.lines += 1;
        if line.iter().all(|&b| b == b' ') {
            counts.blank += 1;
        } else if is_header_line(line) {
            counts.headers += 1;
        }
    }
    counts
}

/// [`RawLines`] of one raw object (`.log` or `.log.gz`).
pub(crate) fn raw_lines(path: &Path) -> RawLines {
    raw_lines_of(&raw_bytes(path))
}

/// Text flow-log objects (`.log`, `.log.gz`) under a folder, relative, sorted.
pub(crate) fn text_objects_under(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with(".log") || f.ends_with(".log.gz"))
        .collect()
}

/// [`RawLines`] summed over the text objects under `dir`, except `skip`
/// (objects expected to fail, whose lines are never counted as read).
pub(crate) fn raw_lines_under(dir: &Path, skip: &[&str]) -> RawLines {
    text_objects_under(dir)
        .iter()
        .filter(|f| !skip.iter().any(|s| f.ends_with(s)))
        .fold(RawLines::default(), |acc, f| {
            acc.plus(raw_lines(&dir.join(f)))
        })
}

/// Asserts that an ingest summary's line counts equal the test's own count
/// of the raw lines, with `rejected` lines known from the fixture.
pub(crate) fn assert_lines_match(summary: &Value, raw: RawLines, rejected: u64) {
    let lines = &summary["lines"];
    let what = format!("summary {lines} against raw {raw:?}, {rejected} rejected");
    assert_eq!(lines["read"], raw.lines, "lines read: {what}");
    assert_eq!(lines["headers"], raw.headers, "headers: {what}");
    assert_eq!(lines["blank"], raw.blank, "blank lines: {what}");
    assert_eq!(lines["rejected"], rejected, "rejected: {what}");
    assert_eq!(lines["records"], raw.data() - rejected, "records: {what}");
}
