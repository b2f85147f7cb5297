//! Splitting a line into fields at runs of spaces, eight bytes at a time.
//!
//! Field splitting runs for every byte ingested, so instead of testing byte
//! by byte it loads eight bytes as one word and finds every space in it with
//! a few arithmetic operations (SWAR, "SIMD within a register"), then walks
//! the spaces it found. Runs of spaces count as one separator (an AWS
//! documentation example has a double space), and leading or trailing
//! spaces produce no empty field.

const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// A mask with the high bit set in every byte of `word` that is a space.
#[inline]
fn space_mask(word: u64) -> u64 {
    let x = word ^ SPACES; // spaces become zero bytes
    // Exact zero-byte test (no false positives from borrows).
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Calls `field` with each non-empty space-separated field of `line`, in order.
#[inline]
pub(crate) fn for_each_field(line: &[u8], mut field: impl FnMut(&[u8])) {
    let mut start = 0usize;
    let mut emit = |start: &mut usize, end: usize| {
        if end > *start {
            field(&line[*start..end]);
        }
        *start = end + 1;
    };
    let mut chunks = line.chunks_exact(8);
    let mut base = 0usize;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut mask = space_mask(u64::from_le_bytes(word));
        while mask != 0 {
            let at = base + (mask.trailing_zeros() / 8) as usize;
            emit(&mut start, at);
            mask &= mask - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == b' ' {
            emit(&mut start, base + i);
        }
    }
    emit(&mut start, line.len());
}

#[cfg(test)]
mod tests {
    use super::for_each_field;

    fn fields(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_field(line.as_bytes(), |f| {
            out.push(String::from_utf8(f.to_vec()).unwrap())
        });
        out
    }

    #[test]
    fn splits_like_split_whitespace_on_spaces() {
        for line in [
            "",
            " ",
            "a",
            "a b",
            "  a  b  ",
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            "5001 43638  10.0.0.62",
            "abcdefgh ijklmnop qrstuvwx",
            "abcdefg hijklmn",
            "        x        ",
        ] {
            let expected: Vec<String> = line
                .split(' ')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            assert_eq!(fields(line), expected, "{line:?}");
        }
    }

    #[test]
    fn non_ascii_bytes_are_not_spaces() {
        // 0xa0 (a UTF-8 continuation byte) and 0x20 | 0x80 must not match.
        assert_eq!(
            fields("é\u{a0}x y"),
            vec!["é\u{a0}x".to_owned(), "y".to_owned()]
        );
    }
}
