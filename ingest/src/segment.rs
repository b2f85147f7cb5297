//! Splitting a decompressed object into line-aligned segments that can be
//! parsed and encoded in parallel, so one large object keeps every core busy.
//!
//! Each segment knows the line number of its first line and the format in
//! force there (a header line inside an earlier segment may have changed it),
//! so parsing a segment alone gives exactly what parsing the whole object
//! would: same line numbers in rejects, same columns.

use flowlake_schemas::Format;
use memchr::{memchr_iter, memrchr};

/// Largest segment, in decompressed bytes: big enough for good row groups,
/// small enough that a few large objects still keep every core busy.
pub const SEGMENT_BYTES: usize = 16 << 20;

/// One line-aligned piece of an object.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    /// Position of this segment in the object, from 0 (part of file names).
    pub index: u32,
    /// The bytes: whole lines (the last segment may end without a newline).
    pub bytes: &'a [u8],
    /// Line number of the first line, from 1.
    pub first_line: u64,
    /// Format in force at the first line.
    pub format: Format,
}

/// Splits `text` into equal segments of at most about `max` bytes, cut
/// after a newline (equal, so no core is left with a short last piece).
pub fn split(text: &[u8], format: Format, max: usize) -> Vec<Segment<'_>> {
    let pieces = text.len().div_ceil(max.max(1)).max(1);
    let target = text.len().div_ceil(pieces).max(1);
    let mut segments = Vec::new();
    let mut start = 0;
    let mut line = 1u64;
    let mut format = format;
    while start < text.len() {
        let end = if text.len() - start <= target {
            text.len()
        } else {
            match memrchr(b'\n', &text[start..start + target]) {
                Some(i) => start + i + 1,
                // A single line longer than the target: cut after it.
                None => match memchr::memchr(b'\n', &text[start + target..]) {
                    Some(i) => start + target + i + 1,
                    None => text.len(),
                },
            }
        };
        let bytes = &text[start..end];
        segments.push(Segment {
            index: segments.len() as u32,
            bytes,
            first_line: line,
            format: format.clone(),
        });
        if end < text.len() {
            let (lines, last_header) = scan(bytes);
            line += lines;
            if let Some(header) = last_header {
                format = header;
            }
        }
        start = end;
    }
    segments
}

/// Counts the newlines in `bytes` and finds the last header line, if any.
/// Only lines starting with a lower-case letter can be headers, so record
/// lines cost one byte comparison.
pub(crate) fn scan(bytes: &[u8]) -> (u64, Option<Format>) {
    let mut lines = 0u64;
    let mut header = None;
    let mut line_start = 0usize;
    for nl in memchr_iter(b'\n', bytes) {
        lines += 1;
        let line = &bytes[line_start..nl];
        if line.first().is_some_and(u8::is_ascii_lowercase)
            && Format::is_header_line(line)
            && let Ok(text) = std::str::from_utf8(line)
            && let Ok(format) = Format::from_header(text.trim_end_matches('\r'))
        {
            header = Some(format);
        }
        line_start = nl + 1;
    }
    (lines, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_everything_with_right_line_numbers_and_formats() {
        let text =
            b"version srcaddr\n2 10.0.0.1\n2 10.0.0.2\nsrcaddr version\n10.0.0.3 2\n10.0.0.4 2";
        let segs = split(text, Format::default_vpc(), 20);
        let joined: Vec<u8> = segs.iter().flat_map(|s| s.bytes.to_vec()).collect();
        assert_eq!(joined, text.to_vec());
        assert!(segs.len() > 2);
        for pair in segs.windows(2) {
            assert_eq!(pair[0].bytes.last(), Some(&b'\n'), "cut after a newline");
        }
        let last = segs.last().unwrap();
        assert_eq!(last.first_line, 6);
        assert_eq!(last.format, Format::from_header("srcaddr version").unwrap());
        assert_eq!(segs[0].format, Format::default_vpc());
    }

    #[test]
    fn one_segment_when_small_and_long_lines_survive() {
        assert_eq!(split(b"a\nb\n", Format::default_vpc(), 100).len(), 1);
        let long = [vec![b'x'; 50], b"\nshort\n".to_vec()].concat();
        let segs = split(&long, Format::default_vpc(), 10);
        assert_eq!(segs[0].bytes.len(), 51);
        assert_eq!(segs[1].first_line, 2);
        assert!(split(b"", Format::default_vpc(), 10).is_empty());
    }
}
