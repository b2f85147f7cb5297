//! Spool segments into the lake, exactly once, as units of an append-only
//! source (`units.rs`): the sink is one "stream" whose cursor records the
//! request ids of the last unit committed.
//!
//! ```text
//! flush:     pending segments ─▶ UnitWriter (parse, encode) ─▶ commit_unit
//!            (data files + the cursor naming these request ids, one commit)
//!            ─▶ spool.mark_flushed
//! reconcile: at start and before every flush: the lake is recovered, and
//!            pending segments whose request ids the cursor names (committed
//!            just before a crash, or by a flush that failed past its commit
//!            point) are marked, not flushed again
//! ```
//!
//! Log events of subscription envelopes are deduplicated on their id within
//! a unit and against recently committed units (`recent.rs`); a redelivered
//! request is deduplicated by the spool.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use flowlake_schemas::RecordSource;
use flowlake_schemas::lake::source_key;

use super::recent::{DEFAULT_CAPACITY, RecentEvents};
use super::spool::{Segment, Spool};
use crate::events::Event;
use crate::lake::cursor::{StreamCursor, id_hash, load_cursors};
use crate::lake::{LakeStore, StreamRange, recover};
use crate::pipeline::JobError;
use crate::process::ProcessConfig;
use crate::sources::SourceError;
use crate::units::{CursorAdvance, UnitWriter, commit_unit, unit_object};

/// The name of the sink's one stream in its cursor folder.
const SPOOL_STREAM: &str = "spool";

/// Events sent to the parser at a time.
const EVENTS_PER_SEND: usize = 10_000;

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Segments committed.
    pub segments: u64,
    /// Record lines read from them.
    pub lines: u64,
    /// Log events dropped as repeats of one already in the unit.
    pub duplicate_events: u64,
    /// Records written to the lake.
    pub records: u64,
    /// Lines quarantined.
    pub rejected: u64,
}

/// Flushes one sink's spool into a lake.
#[derive(Debug)]
pub struct Flusher {
    spool: Arc<Spool>,
    identity: String,
    cursor_source: String,
    pool: Arc<rayon::ThreadPool>,
    config: Arc<ProcessConfig>,
    recent: Mutex<RecentEvents>,
}

impl Flusher {
    /// A flusher for the sink `name` (its identity in the lake is
    /// `firehose:<name>`).
    pub fn new(
        spool: Arc<Spool>,
        name: &str,
        pool: Arc<rayon::ThreadPool>,
        config: Arc<ProcessConfig>,
    ) -> Flusher {
        let identity = format!("firehose:{name}");
        Flusher {
            cursor_source: source_key(&identity),
            spool,
            identity,
            pool,
            config,
            recent: Mutex::new(RecentEvents::new(DEFAULT_CAPACITY)),
        }
    }

    async fn cursor(&self, lake: &LakeStore) -> Result<(Option<String>, StreamCursor), JobError> {
        let mut cursors = load_cursors(lake, &self.cursor_source).await?;
        Ok(match cursors.remove(SPOOL_STREAM) {
            Some((path, cursor)) => (Some(path), cursor),
            None => (None, StreamCursor::new(SPOOL_STREAM)),
        })
    }

    /// Finishes or undoes a commit left half-done (by a crash, or by a flush
    /// that failed past its commit point), then marks the pending segments
    /// that the last committed unit holds; returns how many. Every flush
    /// starts this way, so a failed flush is repaired by the next one.
    pub async fn reconcile(&self, lake: &LakeStore) -> Result<u64, JobError> {
        let pending = self.spool.pending();
        let (_, cursor) = self.recovered_cursor(lake).await?;
        let before = pending.len();
        Ok((before - self.skip_committed(&cursor, pending)?.len()) as u64)
    }

    /// The lake recovered, and the sink's cursor.
    async fn recovered_cursor(
        &self,
        lake: &LakeStore,
    ) -> Result<(Option<String>, StreamCursor), JobError> {
        recover(lake).await?;
        self.cursor(lake).await
    }

    /// Marks the segments whose request ids `cursor` names (committed, but
    /// not marked before a crash or a failure); returns the others.
    fn skip_committed(
        &self,
        cursor: &StreamCursor,
        segments: Vec<Segment>,
    ) -> Result<Vec<Segment>, JobError> {
        let committed = cursor.id_set();
        let (done, todo): (Vec<Segment>, Vec<Segment>) = segments
            .into_iter()
            .partition(|s| committed.contains(id_hash(&s.header.request_id)));
        let seqs: Vec<u64> = done.iter().map(|s| s.seq).collect();
        self.spool.mark_flushed(&seqs).map_err(SourceError::from)?;
        Ok(todo)
    }

    /// Commits `segments` (pending, oldest first) as one unit, after
    /// [`Flusher::reconcile`]'s repair (segments already committed are only
    /// marked).
    pub async fn flush(&self, lake: &LakeStore, segments: &[Segment]) -> Result<Flushed, JobError> {
        let (path, cursor) = self.recovered_cursor(lake).await?;
        let segments = self.skip_committed(&cursor, segments.to_vec())?;
        let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
            return Ok(Flushed::default());
        };
        let shard = chrono::DateTime::from_timestamp_millis(last.header.received_ms).map_or_else(
            || "1970/01/01".to_owned(),
            |t| t.format("%Y/%m/%d").to_string(),
        );
        let object = unit_object(
            format!(
                "{}@{}-{}-{}",
                self.identity, first.header.received_ms, first.seq, last.seq
            ),
            format!("firehose/{}/{shard}", source_key(&self.identity)),
            format!(
                "{} (spool segments {}..={})",
                self.identity, first.seq, last.seq
            ),
        );
        let mut writer = UnitWriter::start(
            object.clone(),
            self.pool.clone(),
            self.config.clone(),
            false,
        );
        let mut report = Flushed {
            segments: segments.len() as u64,
            ..Flushed::default()
        };
        let mut sources: HashMap<(Option<String>, Option<String>), Arc<RecordSource>> =
            HashMap::new();
        let mut seen_events: HashSet<u64> = HashSet::new();
        let mut batch = Vec::with_capacity(EVENTS_PER_SEND);
        for segment in &segments {
            let lines = self.spool.read(segment.seq).map_err(SourceError::from)?;
            report.lines += lines.len() as u64;
            for line in lines {
                if let (Some(group), Some(stream), Some(id)) =
                    (&line.log_group, &line.log_stream, &line.event_id)
                {
                    let id = id_hash(&format!("{group}\n{stream}\n{id}"));
                    if self.recently_committed(id) || !seen_events.insert(id) {
                        report.duplicate_events += 1;
                        continue;
                    }
                }
                let key = (line.log_group, line.log_stream);
                let source = sources
                    .entry(key)
                    .or_insert_with_key(|(group, stream)| {
                        Arc::new(RecordSource {
                            log_group: group.clone(),
                            log_stream: stream.clone(),
                        })
                    })
                    .clone();
                batch.push(Event {
                    source,
                    message: line.message,
                });
                if batch.len() >= EVENTS_PER_SEND && !writer.send(std::mem::take(&mut batch)).await
                {
                    break;
                }
            }
        }
        writer.send(batch).await;
        let output = writer.finish().await?;
        report.records = output.rows_written();
        report.rejected = output.counts.rejected;
        let mut next = StreamCursor {
            stream: SPOOL_STREAM.to_owned(),
            seq: cursor.seq + 1,
            read_until_ms: last.header.received_ms,
            ids_from_ms: first.header.received_ms,
            ids: String::new(),
            events: cursor.events + report.records,
        };
        next.set_ids(
            segments
                .iter()
                .map(|s| id_hash(&s.header.request_id))
                .collect(),
        );
        let advance = CursorAdvance {
            range: StreamRange {
                stream: SPOOL_STREAM.to_owned(),
                from_ms: first.header.received_ms,
                until_ms: last.header.received_ms,
                events: report.records,
            },
            cursor: next,
            replaces: path,
        };
        commit_unit(
            lake,
            &object,
            &self.cursor_source,
            &output,
            (&[advance], &[]),
        )
        .await?;
        // Only committed events count as seen: a failed flush is retried whole.
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remember(seen_events);
        let seqs: Vec<u64> = segments.iter().map(|s| s.seq).collect();
        self.spool.mark_flushed(&seqs).map_err(SourceError::from)?;
        Ok(report)
    }

    fn recently_committed(&self, id: u64) -> bool {
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsSettings;
    use crate::lake::LedgerEntry;
    use crate::pipeline::{IngestOptions, cpu_pool, process_config};
    use crate::sources::firehose::spool::SpooledLine;

    fn line(n: u64, event: Option<&str>) -> SpooledLine {
        SpooledLine {
            log_group: event.map(|_| "/vpc/flows".to_owned()),
            log_stream: event.map(|_| "eni-1-all".to_owned()),
            event_id: event.map(str::to_owned),
            message: format!(
                "2 123456789012 eni-1 10.0.0.1 198.51.100.1 443 {} 6 1 {n} 1716595200 1716595260 ACCEPT OK",
                1024 + n
            ),
        }
    }

    /// Records the lake's ledger says it holds (its entries' file rows).
    async fn lake_records(lake: &LakeStore) -> u64 {
        let mut rows = 0;
        for path in lake.list("_flowlake/ledger").await.unwrap() {
            let entry: LedgerEntry =
                serde_json::from_slice(&lake.get(&path).await.unwrap().unwrap()).unwrap();
            rows += entry.files.iter().map(|f| f.rows).sum::<u64>();
        }
        rows
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn segments_reach_the_lake_once_even_if_marking_them_was_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakeStore::open(
            dir.path().join("lake").to_str().unwrap(),
            &AwsSettings::default(),
        )
        .await
        .unwrap();
        let spool_dir = dir.path().join("spool");
        let spool = Arc::new(Spool::open(&spool_dir).unwrap());
        spool
            .append("r1", 1_000, &[line(1, None), line(2, None)])
            .unwrap();
        // The same event twice (a subscription resending it): written once.
        spool
            .append(
                "r2",
                2_000,
                &[
                    line(3, Some("e3")),
                    line(3, Some("e3")),
                    line(4, Some("e4")),
                ],
            )
            .unwrap();
        let options = IngestOptions::default();
        let make = |spool: Arc<Spool>| {
            Flusher::new(
                spool,
                "test",
                cpu_pool(1).unwrap(),
                process_config(&options, &lake),
            )
        };
        let flusher = make(spool.clone());
        let done = flusher.flush(&lake, &spool.pending()).await.unwrap();
        assert_eq!(
            (done.records, done.duplicate_events, done.segments),
            (4, 1, 2)
        );
        assert_eq!(lake_records(&lake).await, 4);
        assert!(spool.pending().is_empty());
        // The same event in a later request (a new request id): dropped.
        spool.append("r2b", 2_500, &[line(4, Some("e4"))]).unwrap();
        let done = flusher.flush(&lake, &spool.pending()).await.unwrap();
        assert_eq!((done.records, done.duplicate_events), (0, 1));

        // A crash between the commit and the marking: the next start finds
        // the segment pending, and the cursor says it was committed.
        spool.append("r3", 3_000, &[line(5, None)]).unwrap();
        let pending = spool.pending();
        let saved = std::fs::read(spool_dir.join("0000000000000003.jsonl")).unwrap();
        flusher.flush(&lake, &pending).await.unwrap();
        std::fs::remove_file(spool_dir.join("0000000000000003.done")).unwrap();
        std::fs::write(spool_dir.join("0000000000000003.jsonl"), saved).unwrap();
        drop(flusher);
        drop(spool);
        let spool = Arc::new(Spool::open(&spool_dir).unwrap());
        assert_eq!(spool.pending().len(), 1);
        let flusher = make(spool.clone());
        assert_eq!(flusher.reconcile(&lake).await.unwrap(), 1);
        assert!(spool.pending().is_empty());
        assert_eq!(lake_records(&lake).await, 5, "once each");

        // A flush that failed after its commit point (the marking lost, the
        // sink still running): the next flush of the same segments only
        // marks them.
        spool.append("r4", 4_000, &[line(6, None)]).unwrap();
        let pending = spool.pending();
        let saved = std::fs::read(spool_dir.join("0000000000000004.jsonl")).unwrap();
        flusher.flush(&lake, &pending).await.unwrap();
        std::fs::remove_file(spool_dir.join("0000000000000004.done")).unwrap();
        std::fs::write(spool_dir.join("0000000000000004.jsonl"), saved).unwrap();
        let spool = Arc::new(Spool::open(&spool_dir).unwrap());
        let flusher = make(spool.clone());
        let again = flusher.flush(&lake, &spool.pending()).await.unwrap();
        assert_eq!(again.records, 0);
        assert!(spool.pending().is_empty());
        assert_eq!(lake_records(&lake).await, 6, "once each");
    }
}
