//! What the decoder accepts beyond a line's syntax: how long a line may be,
//! and which flow times are believable. Both protect the lake, not just the
//! parser: an unbounded line would be held whole in memory, and a time
//! outside what a partition path can name (chrono stops at the year 262143)
//! used to map several hours onto one staged file and fail the object on
//! every run.
//!
//! "Now" is an input, never read from a clock here, so the crate stays pure
//! and its tests deterministic: ingest passes the time it started.

use crate::derive::time_millis;
use crate::reject::RejectReason;

/// Longest line the decoder accepts, in bytes, unless configured. A
/// default-format line is about 100 bytes and one with every field about
/// 1 KiB; 64 KiB is far above any real line and small enough that a few
/// decoders in flight cost nothing.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 10;

/// 2010-01-01T00:00:00Z in milliseconds. VPC Flow Logs launched in June
/// 2015, but AWS's own documentation examples (and so many test fixtures)
/// are stamped December 2014 (`1418530010`); 2010 keeps those and still
/// rejects zeros, small counters and other numbers that are not times.
pub const EARLIEST_FLOW_MS: i64 = 1_262_304_000_000;

/// How far past "now" a flow time may be: AWS stamps records with the
/// capture window, never ahead of it, so a day covers any clock skew.
pub const FUTURE_SLACK_MS: i64 = 24 * 3_600_000;

/// 9999-12-31T23:59:59.999Z: the bound when no "now" is given. Every
/// partition path up to here is a four-digit year, so distinct hours always
/// get distinct paths.
pub const LATEST_REPRESENTABLE_MS: i64 = 253_402_300_799_999;

/// The range of flow times (`start`, `end`, after seconds/milliseconds are
/// told apart) a line may carry, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    /// Earliest accepted time, UTC milliseconds.
    pub earliest_ms: i64,
    /// Latest accepted time, UTC milliseconds.
    pub latest_ms: i64,
}

impl Default for TimeBounds {
    /// From 2010 to the last representable year: safe without knowing now.
    fn default() -> Self {
        TimeBounds {
            earliest_ms: EARLIEST_FLOW_MS,
            latest_ms: LATEST_REPRESENTABLE_MS,
        }
    }
}

impl TimeBounds {
    /// From 2010 to a day after `now_ms` (the caller's clock).
    pub fn until(now_ms: i64) -> TimeBounds {
        TimeBounds {
            earliest_ms: EARLIEST_FLOW_MS,
            latest_ms: now_ms
                .saturating_add(FUTURE_SLACK_MS)
                .min(LATEST_REPRESENTABLE_MS),
        }
    }

    /// Checks a record's raw `start` and `end` (seconds or milliseconds, as
    /// the line wrote them; `None` for `-`): each within bounds, and the
    /// window not ending before it starts.
    pub fn check(&self, start: Option<i64>, end: Option<i64>) -> Result<(), RejectReason> {
        let start_ms = start.map(time_millis);
        let end_ms = end.map(time_millis);
        for (field, raw, ms) in [("start", start, start_ms), ("end", end, end_ms)] {
            if let (Some(raw), Some(ms)) = (raw, ms)
                && !(self.earliest_ms..=self.latest_ms).contains(&ms)
            {
                return Err(RejectReason::TimeOutOfRange {
                    field,
                    value: raw,
                    earliest_ms: self.earliest_ms,
                    latest_ms: self.latest_ms,
                });
            }
        }
        match (start_ms, end_ms) {
            (Some(s), Some(e)) if s > e => Err(RejectReason::EndBeforeStart {
                start: start.unwrap_or_default(),
                end: end.unwrap_or_default(),
            }),
            _ => Ok(()),
        }
    }
}

/// Limits one [`Decoder`](super::Decoder) enforces on every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineLimits {
    /// Longest line in bytes (without its newline); a longer one is
    /// rejected as [`RejectReason::LineTooLong`] and never held whole.
    pub max_line_bytes: usize,
    /// Accepted flow times.
    pub times: TimeBounds,
}

impl Default for LineLimits {
    fn default() -> Self {
        LineLimits {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            times: TimeBounds::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_the_bounds_or_reversed_are_rejected() {
        let now = 1_764_547_200_000; // 2025-12-01T00:00:00Z
        let b = TimeBounds::until(now);
        assert_eq!(b.check(Some(1_716_595_200), Some(1_716_595_260)), Ok(()));
        assert_eq!(b.check(None, Some(1_716_595_260)), Ok(()));
        // Milliseconds are fine too.
        assert_eq!(b.check(Some(1_716_595_200_000), None), Ok(()));
        // AWS's documentation example (December 2014) is fine.
        assert_eq!(b.check(Some(1_418_530_010), Some(1_418_530_070)), Ok(()));
        // 2009-12-31T23:59:59Z is not.
        assert!(matches!(
            b.check(Some(1_262_303_999), Some(1_716_595_260)),
            Err(RejectReason::TimeOutOfRange { field: "start", .. })
        ));
        // A day and a second ahead of now.
        let ahead = (now + FUTURE_SLACK_MS) / 1000 + 1;
        assert!(matches!(
            b.check(Some(ahead - 100), Some(ahead)),
            Err(RejectReason::TimeOutOfRange { field: "end", .. })
        ));
        assert_eq!(b.check(Some(ahead - 2), Some(ahead - 1)), Ok(()));
        // Far beyond any year a path can name.
        assert!(b.check(Some(999_999_999_999_999_999), None).is_err());
        assert!(
            TimeBounds::default()
                .check(Some(999_999_999_999_999_999), None)
                .is_err()
        );
        assert!(matches!(
            b.check(Some(1_716_595_260), Some(1_716_595_200)),
            Err(RejectReason::EndBeforeStart { .. })
        ));
    }
}
