//! The time slices a batch of streams is read in.

/// The first slice of a long read (a scheduled run's window is shorter, so
/// it is one slice).
pub(super) const FIRST_SLICE_MS: i64 = 6 * 3_600_000;

/// The narrowest slice.
const MIN_SLICE_MS: i64 = 1_000;

/// Consecutive slices of `[start, end)`, each read as one whole
/// FilterLogEvents pagination, sized to about `target` events: each next
/// slice's width is scaled by how far the last one was from the target
/// (at most 4 times wider or 8 times narrower), so a backfill commits about
/// every `target` events while a quiet range is crossed in a few calls.
#[derive(Debug)]
pub(super) struct Slices {
    next_ms: i64,
    end_ms: i64,
    width_ms: i64,
    target: u64,
}

impl Slices {
    pub(super) fn new(start_ms: i64, end_ms: i64, target: u64) -> Slices {
        Slices {
            next_ms: start_ms,
            end_ms,
            width_ms: FIRST_SLICE_MS,
            target: target.max(1),
        }
    }

    /// The next slice to read, `[from, to)`, if any is left.
    pub(super) fn next_slice(&self) -> Option<(i64, i64)> {
        (self.next_ms < self.end_ms).then(|| {
            let end = self.next_ms.saturating_add(self.width_ms).min(self.end_ms);
            (self.next_ms, end)
        })
    }

    /// Marks a slice read to the end of its pagination, with `events` returned.
    pub(super) fn done(&mut self, (from, to): (i64, i64), events: u64) {
        self.next_ms = to;
        let width = (to - from).max(MIN_SLICE_MS) as f64;
        let scale = (self.target as f64 / events.max(1) as f64).clamp(0.125, 4.0);
        self.width_ms = ((width * scale) as i64).max(MIN_SLICE_MS);
    }

    /// Everything before this has been read.
    pub(super) fn read_until(&self) -> i64 {
        self.next_ms
    }

    /// True when the whole range has been read.
    pub(super) fn finished(&self) -> bool {
        self.next_ms >= self.end_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_range_without_gaps_and_follow_the_target() {
        let hour = 3_600_000;
        let mut slices = Slices::new(0, 48 * hour, 1000);
        let mut covered = 0;
        let mut widths = Vec::new();
        while let Some(slice) = slices.next_slice() {
            assert_eq!(slice.0, covered, "no gap, no overlap");
            covered = slice.1;
            widths.push(slice.1 - slice.0);
            // 4,000 events an hour: the target is a quarter of an hour.
            let events = ((slice.1 - slice.0) * 4000 / hour) as u64;
            slices.done(slice, events);
        }
        assert_eq!(covered, 48 * hour);
        assert!(slices.finished());
        assert_eq!(widths[0], 6 * hour);
        assert_eq!(widths[1], 6 * hour / 8, "narrowed at most eightfold");
        assert!(widths[3..widths.len() - 1].iter().all(|w| *w == hour / 4));
        let mut quiet = Slices::new(0, 1000 * hour, 1000);
        let mut calls = 0;
        while let Some(slice) = quiet.next_slice() {
            quiet.done(slice, 0);
            calls += 1;
        }
        assert!(calls <= 6, "an empty range in few calls: {calls}");
    }
}
