//! Cursors: how far each append-only stream (a CloudWatch Logs log stream,
//! a Firehose sink's spool) has been read into the lake.
//!
//! ```text
//! _flowlake/cursors/<source-key>/<stream-key>.<seq>.json   one per stream at rest
//! ```
//!
//! A cursor is written by the same commit as the records it covers: the
//! commit's intent names the new cursor files and the ones they supersede,
//! the new ones are published before the ledger entry is created, and the
//! old ones are retired after it (`commit.rs`). So at rest each stream has
//! exactly one cursor, and it always agrees with what the lake holds; after
//! a crash, recovery removes or retires exactly as it does for data files.
//!
//! # Reading again behind the cursor
//! Events arrive late (CloudWatch Logs accepts timestamps up to 14 days
//! old), so each run re-reads a look-back window behind `read_until_ms` and
//! skips the events whose ids the cursor holds. The ids kept are those of
//! every event read with a timestamp at or after `ids_from_ms`, which is
//! never after where the next read starts; so a re-read of the window
//! writes nothing twice, and a late event inside it is written once. An
//! event that arrives with a timestamp before the window is not read.
//!
//! Ids are kept as 64-bit hashes (xxh3), sorted, base64 of little-endian
//! bytes: about 11 bytes an event. A false match needs a collision between
//! a new event's hash and one of the window's (about n / 2^64).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flowlake_schemas::lake::source_key;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::commit::CommitError;
use super::store::LakeStore;

/// Where cursors live inside the lake.
pub const CURSOR_DIR: &str = "_flowlake/cursors";

/// Cursor files read at once.
const READ_CONCURRENCY: usize = 16;

/// How far one stream has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCursor {
    /// The stream's name within its source (a log stream's name).
    pub stream: String,
    /// Increases by one with every commit that advances the stream, so the
    /// new cursor file never has the name of the one it replaces.
    pub seq: u64,
    /// Every event with a timestamp before this (UTC ms) has been read.
    pub read_until_ms: i64,
    /// The ids below are those of every event read with a timestamp at or
    /// after this (UTC ms).
    pub ids_from_ms: i64,
    /// Hashes of those ids (see the module docs).
    pub ids: String,
    /// Events read into the lake through this stream so far.
    pub events: u64,
}

impl StreamCursor {
    /// A stream seen for the first time.
    pub fn new(stream: &str) -> StreamCursor {
        StreamCursor {
            stream: stream.to_owned(),
            seq: 0,
            read_until_ms: i64::MIN,
            ids_from_ms: i64::MIN,
            ids: String::new(),
            events: 0,
        }
    }

    /// Where the next read of the stream starts, given the look-back window:
    /// a window back from `read_until_ms`, but not before the ids known.
    pub fn resume_from_ms(&self, lookback_ms: i64) -> i64 {
        self.read_until_ms
            .saturating_sub(lookback_ms)
            .max(self.ids_from_ms)
    }

    /// The event-id hashes, decoded (empty when the field is malformed).
    pub fn id_set(&self) -> IdSet {
        let bytes = BASE64.decode(self.ids.as_bytes()).unwrap_or_default();
        IdSet(
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
        )
    }

    /// Encodes a set of id hashes into the cursor.
    pub fn set_ids(&mut self, mut hashes: Vec<u64>) {
        hashes.sort_unstable();
        hashes.dedup();
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        self.ids = BASE64.encode(bytes);
    }
}

/// Sorted event-id hashes, for membership tests.
#[derive(Debug, Clone, Default)]
pub struct IdSet(Vec<u64>);

impl IdSet {
    /// True when the id's hash is in the set.
    pub fn contains(&self, hash: u64) -> bool {
        self.0.binary_search(&hash).is_ok()
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What to do with an event read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not read before: write it.
    New,
    /// Its id is in the cursor: written by an earlier run.
    Duplicate,
    /// Older than where this stream's read starts (another stream of the
    /// same call started earlier): covered by an earlier run.
    BeforeStart,
}

/// One stream being read in this run: its committed cursor, where the read
/// started, and the ids seen since, to decide what is new and to write the
/// next cursor.
#[derive(Debug)]
pub struct StreamRead {
    /// The cursor as committed (`seq` 0 and nothing read for a new stream).
    pub committed: StreamCursor,
    /// Its committed file, to retire when this read commits.
    pub committed_path: Option<String>,
    /// Where this run's read of the stream starts (UTC ms).
    pub start_ms: i64,
    known: IdSet,
    /// (timestamp, id hash) of events read this run, pruned to the window
    /// at each commit.
    seen: Vec<(i64, u64)>,
    lookback_ms: i64,
    /// Events written since the last commit of this stream.
    pub new_events: u64,
}

impl StreamRead {
    /// A read of `committed` from `start_ms`, keeping `lookback_ms` of ids.
    pub fn new(
        committed: StreamCursor,
        committed_path: Option<String>,
        start_ms: i64,
        lookback_ms: i64,
    ) -> StreamRead {
        let known = committed.id_set();
        // The decoded set is what is used from now on.
        let committed = StreamCursor {
            ids: String::new(),
            ..committed
        };
        StreamRead {
            known,
            committed,
            committed_path,
            start_ms,
            seen: Vec::new(),
            lookback_ms,
            new_events: 0,
        }
    }

    /// Decides about one event of the time slice ending at `slice_end_ms`,
    /// and remembers its id if a cursor may need it: only ids within the
    /// look-back window before the slice's end can be (see
    /// [`StreamRead::advance`]), so memory holds at most a window of ids
    /// per stream, whatever the slice holds.
    pub fn offer(&mut self, timestamp_ms: i64, id: &str, slice_end_ms: i64) -> Seen {
        if timestamp_ms < self.start_ms {
            return Seen::BeforeStart;
        }
        let hash = id_hash(id);
        if timestamp_ms >= slice_end_ms.saturating_sub(self.lookback_ms) {
            self.seen.push((timestamp_ms, hash));
        }
        // The cursor holds only ids of events written: one there is a
        // duplicate wherever its timestamp falls.
        if self.known.contains(hash) {
            return Seen::Duplicate;
        }
        self.new_events += 1;
        Seen::New
    }

    /// The cursor to commit once every event of the stream with a timestamp
    /// from [`StreamRead::start_ms`] to before `read_until_ms` has been read
    /// (whole time slices, never part of a pagination: no order of events
    /// is assumed), or `None` when the committed one still holds.
    ///
    /// Past the committed position the cursor moves there and keeps the ids
    /// seen in the new window. Still inside the committed window (a
    /// re-read not yet past it) it stays, and the ids of events written
    /// since are added to it, so a crash before the read passes it writes
    /// none of them twice.
    pub fn advance(&self, read_until_ms: i64) -> Option<StreamCursor> {
        if read_until_ms <= self.start_ms {
            return None;
        }
        let events = self.committed.events + self.new_events;
        if read_until_ms > self.committed.read_until_ms {
            let ids_from = read_until_ms
                .saturating_sub(self.lookback_ms)
                .max(self.start_ms);
            let mut next = StreamCursor {
                stream: self.committed.stream.clone(),
                seq: self.committed.seq + 1,
                read_until_ms,
                ids_from_ms: ids_from,
                ids: String::new(),
                events,
            };
            next.set_ids(self.seen_since(ids_from).collect());
            return Some(next);
        }
        if self.new_events == 0 {
            return None;
        }
        let mut next = StreamCursor {
            seq: self.committed.seq + 1,
            events,
            ..self.committed.clone()
        };
        let ids = self.known.0.iter().copied();
        next.set_ids(
            ids.chain(self.seen_since(self.committed.ids_from_ms))
                .collect(),
        );
        Some(next)
    }

    fn seen_since(&self, from_ms: i64) -> impl Iterator<Item = u64> + '_ {
        self.seen
            .iter()
            .filter(move |&&(t, _)| t >= from_ms)
            .map(|&(_, h)| h)
    }

    /// Records that `cursor` (from [`StreamRead::advance`]) is committed at `path`.
    pub fn committed_as(&mut self, mut cursor: StreamCursor, path: String) {
        self.known = cursor.id_set();
        cursor.ids = String::new();
        let horizon = cursor.ids_from_ms;
        self.seen.retain(|&(t, _)| t >= horizon);
        self.committed = cursor;
        self.committed_path = Some(path);
        self.new_events = 0;
    }
}

/// The hash an event id is kept as.
pub fn id_hash(id: &str) -> u64 {
    xxh3_64(id.as_bytes())
}

/// The folder of a source's cursors.
pub fn cursor_dir(source: &str) -> String {
    format!("{CURSOR_DIR}/{source}/")
}

/// The path of one version of a stream's cursor.
pub fn cursor_path(source: &str, stream: &str, seq: u64) -> String {
    format!(
        "{CURSOR_DIR}/{source}/{}.{seq:012}.json",
        source_key(stream)
    )
}

/// The committed cursor of every stream of a source, by stream name, with
/// its path. Run after recovery, when each stream has one cursor file (two
/// are an error).
pub async fn load_cursors(
    lake: &LakeStore,
    source: &str,
) -> Result<HashMap<String, (String, StreamCursor)>, CommitError> {
    let paths = lake.list(&cursor_dir(source)).await?;
    let read: Vec<(String, StreamCursor)> = futures::stream::iter(paths)
        .map(|path| async move {
            let bytes = lake.get(&path).await?;
            let Some(bytes) = bytes else {
                return Ok(None);
            };
            let cursor: StreamCursor =
                serde_json::from_slice(&bytes).map_err(|e| CommitError::Corrupt {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            Ok::<_, CommitError>(Some((path, cursor)))
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await?;
    let mut out: HashMap<String, (String, StreamCursor)> = HashMap::new();
    for (path, cursor) in read {
        if let Some((other, _)) = out.get(&cursor.stream) {
            // Recovery leaves one cursor per stream; two mean a commit
            // protocol bug, and guessing could duplicate or lose events.
            return Err(CommitError::Corrupt {
                path,
                message: format!(
                    "a second cursor for stream {} beside {other}",
                    cursor.stream
                ),
            });
        }
        out.insert(cursor.stream.clone(), (path, cursor));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reread_window_writes_only_what_is_new() {
        let hour = 3_600_000;
        let mut read = StreamRead::new(StreamCursor::new("s"), None, 0, hour);
        assert_eq!(read.offer(10 * hour, "a", 11 * hour), Seen::New);
        assert_eq!(read.offer(10 * hour + 5, "b", 11 * hour), Seen::New);
        let cursor = read.advance(11 * hour).unwrap();
        assert_eq!((cursor.seq, cursor.ids_from_ms), (1, 10 * hour));
        assert_eq!(cursor.id_set().len(), 2);

        // The next run starts an hour back and sees both again, plus a late
        // one, in two slices: the first ends inside the committed window.
        let start = cursor.resume_from_ms(hour);
        let mut again = StreamRead::new(cursor, Some("p".into()), start, hour);
        let first_end = 10 * hour + 2;
        assert_eq!(again.offer(9 * hour, "old", first_end), Seen::BeforeStart);
        assert_eq!(again.offer(10 * hour, "a", first_end), Seen::Duplicate);
        assert_eq!(again.offer(10 * hour + 1, "late", first_end), Seen::New);
        // Committed there, the cursor stays and gains the id written since.
        let held = again.advance(first_end).unwrap();
        assert_eq!(
            (held.read_until_ms, held.ids_from_ms),
            (11 * hour, 10 * hour)
        );
        assert_eq!(held.id_set().len(), 3, "a, b and late");
        again.committed_as(held, "p2".into());
        assert_eq!(again.offer(10 * hour + 5, "b", 12 * hour), Seen::Duplicate);
        assert_eq!(
            again.offer(10 * hour + 1, "late", 12 * hour),
            Seen::Duplicate
        );
        assert_eq!(again.offer(11 * hour + 1, "c", 12 * hour), Seen::New);
        let next = again.advance(12 * hour).unwrap();
        assert_eq!((next.seq, next.events), (3, 4));
        assert_eq!(next.id_set().len(), 1, "only ids inside the new window");
        let idle = StreamRead::new(next, None, 11 * hour, hour);
        assert!(
            idle.advance(11 * hour + 5).is_none(),
            "nothing new, not past it"
        );
    }

    #[test]
    fn ids_round_trip_and_the_resume_point_keeps_inside_them() {
        let mut cursor = StreamCursor::new("eni-1-all");
        cursor.set_ids(vec![id_hash("b"), id_hash("a"), id_hash("a")]);
        let ids = cursor.id_set();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(id_hash("a")) && !ids.contains(id_hash("c")));
        cursor.read_until_ms = 10_000;
        cursor.ids_from_ms = 7_000;
        assert_eq!(cursor.resume_from_ms(1_000), 9_000);
        assert_eq!(
            cursor.resume_from_ms(5_000),
            7_000,
            "not before the ids known"
        );
        assert_eq!(StreamCursor::new("x").resume_from_ms(3_600_000), i64::MIN);
        assert_ne!(
            cursor_path("k", "eni-1-all", 1),
            cursor_path("k", "eni-1-all", 2)
        );
    }
}
