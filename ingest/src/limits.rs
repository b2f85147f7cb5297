//! The limits that bound what one object may cost, whatever it holds: line
//! length, how far gzip may inflate, open Parquet writers, rollup groups
//! held, and the size up to which an object is held whole. Defaults are
//! generous for real AWS objects (at most 75 MB of gzip, about 1 GB of
//! text, short lines, an hour or two).

use crate::encode::{DEFAULT_MAX_OPEN_PARTITIONS, DEFAULT_MAX_ROLLUP_BYTES};
use crate::process::ProcessError;

/// Largest object (compressed file, or decompressed gzip text) held whole
/// in memory and parsed in parallel segments, unless configured; larger
/// ones are streamed. AWS writes at most 75 MB of gzip per object, which
/// inflates to about 1 GB, so the biggest AWS objects stream.
pub const DEFAULT_MAX_WHOLE_BYTES: usize = 128 << 20;

/// Decompressed bytes one gzip object may inflate to, unless configured:
/// 16 times the decompressed size of AWS's largest objects.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 16 << 30;

/// Decompressed/compressed size ratio past which a gzip object is treated
/// as a bomb, unless configured. Flow logs compress 8 to 20 times; deflate
/// cannot exceed about 1032.
pub const DEFAULT_MAX_DECOMPRESSION_RATIO: u64 = 500;

/// The ratio is only judged past this many decompressed bytes, so small
/// objects of repeated lines (tests, samples) never trip it.
const RATIO_FLOOR: u64 = 64 << 20;

/// The limits that bound one object's memory and output, whatever it holds.
/// All in one place; the operator-facing ones are `flowlake ingest` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line in bytes; a longer one is a rejected line (`line_too_long`).
    pub max_line_bytes: usize,
    /// Bytes a gzip object may inflate to; past it the object fails.
    pub max_decompressed_bytes: u64,
    /// Times its compressed size a gzip object may inflate to (judged past
    /// 64 MiB of output); past it the object fails.
    pub max_decompression_ratio: u64,
    /// Hours with an open Parquet writer per segment; past it the least
    /// recently written file is finished and a new one started if needed.
    pub max_open_partitions: usize,
    /// Bytes of rollup groups held per segment; past it they are written out
    /// as partial rows (more rows, the same sums).
    pub max_rollup_bytes: usize,
    /// Objects up to this size are held whole (fast, parallel); larger ones
    /// are streamed.
    pub max_whole_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: flowlake_schemas::parser::DEFAULT_MAX_LINE_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_decompression_ratio: DEFAULT_MAX_DECOMPRESSION_RATIO,
            max_open_partitions: DEFAULT_MAX_OPEN_PARTITIONS,
            max_rollup_bytes: DEFAULT_MAX_ROLLUP_BYTES,
            max_whole_bytes: DEFAULT_MAX_WHOLE_BYTES,
        }
    }
}

impl Limits {
    /// Fails when `decompressed` bytes from `compressed` is past a limit.
    pub(crate) fn check_inflated(
        &self,
        decompressed: u64,
        compressed: u64,
    ) -> Result<(), ProcessError> {
        if decompressed > self.max_decompressed_bytes {
            return Err(ProcessError::TooLarge {
                limit: self.max_decompressed_bytes,
            });
        }
        if decompressed > RATIO_FLOOR
            && decompressed > compressed.saturating_mul(self.max_decompression_ratio)
        {
            return Err(ProcessError::Ratio {
                compressed,
                decompressed,
                limit: self.max_decompression_ratio,
            });
        }
        Ok(())
    }
}
