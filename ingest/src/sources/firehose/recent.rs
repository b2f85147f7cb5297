//! The log event ids of recently committed flushes. A CloudWatch Logs
//! subscription may hand the same log event to Firehose again, in a new
//! record of a new request (so the request-id check of the spool does not
//! see it); the flusher drops an event whose id a recent flush committed.
//! Bounded: past `capacity` ids the oldest are forgotten, and after a
//! restart only the spool's request ids are remembered.

use std::collections::{HashSet, VecDeque};

/// Event ids remembered across flushes by default (about 32 MiB).
pub(super) const DEFAULT_CAPACITY: usize = 1 << 20;

/// A bounded, insertion-ordered set of event id hashes.
#[derive(Debug)]
pub(super) struct RecentEvents {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl RecentEvents {
    /// An empty set holding at most `capacity` ids.
    pub(super) fn new(capacity: usize) -> RecentEvents {
        RecentEvents {
            ids: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether a committed flush held this event.
    pub(super) fn contains(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    /// Remembers the events of a committed flush, forgetting the oldest.
    pub(super) fn remember(&mut self, ids: impl IntoIterator<Item = u64>) {
        for id in ids {
            if self.ids.insert(id) {
                self.order.push_back(id);
            }
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.ids.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_ids_are_forgotten_past_the_capacity() {
        let mut recent = RecentEvents::new(3);
        recent.remember([1, 2, 3, 2]);
        assert!((1..=3).all(|id| recent.contains(id)));
        recent.remember([4]);
        assert!(!recent.contains(1));
        assert!((2..=4).all(|id| recent.contains(id)));
    }
}
