//! Reading one batch of streams: time slices, each one whole pagination,
//! into units committed with the batch's cursors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use flowlake_schemas::{LineCounts, RecordSource, Reject};

use super::CloudWatchOptions;
use super::plan::Batch;
use super::slices::Slices;
use crate::events::Event;
use crate::lake::cursor::{Seen, StreamRead};
use crate::lake::{LakeStore, StreamRange};
use crate::pipeline::JobError;
use crate::process::{ObjectOutput, ProcessConfig};
use crate::sources::SourceError;
use crate::sources::cloudwatch::CloudWatchLogs;
use crate::units::{CursorAdvance, UnitWriter, commit_unit, unit_object};

/// Times an empty page answering a token with that same token is asked
/// again (with a pause) before the batch fails: only a missing token ends a
/// pagination, and a server that keeps answering so would loop for ever.
const MAX_REPEATED_TOKEN: u32 = 3;

/// What one unit's events were.
#[derive(Debug, Default)]
pub(super) struct UnitTally {
    pub(super) events: u64,
    pub(super) duplicates: u64,
    pub(super) before_start: u64,
}

/// One committed unit, for the summary.
#[derive(Debug)]
pub(super) struct UnitDone {
    pub(super) tally: UnitTally,
    pub(super) counts: LineCounts,
    pub(super) records_written: u64,
    pub(super) bytes_in: u64,
    pub(super) first_rejects: Vec<Reject>,
    pub(super) checkpoints: u64,
    pub(super) files: u64,
    pub(super) bytes_out: u64,
}

/// What a batch did: its committed units, and the error that stopped it.
#[derive(Debug)]
pub(super) struct BatchOutcome {
    pub(super) location: String,
    pub(super) units: Vec<UnitDone>,
    pub(super) error: Option<JobError>,
}

/// A batch being read: its streams' reads and their source columns.
struct Reading<'a> {
    api: &'a CloudWatchLogs,
    batch: &'a Batch,
    names: Vec<String>,
    reads: Vec<StreamRead>,
    sources: HashMap<String, (usize, Arc<RecordSource>)>,
}

/// The events of one unit, as read so far.
#[derive(Debug, Default)]
struct UnitReads {
    tally: UnitTally,
    /// Per stream index: (first, last) timestamp of its new events.
    ranges: HashMap<usize, (i64, i64)>,
}

pub(super) async fn read_batch(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    batch: Batch,
    options: &CloudWatchOptions,
    pool: Arc<rayon::ThreadPool>,
    config: Arc<ProcessConfig>,
) -> BatchOutcome {
    let names: Vec<String> = batch
        .streams
        .iter()
        .map(|s| s.cursor.stream.clone())
        .collect();
    let location = format!(
        "cloudwatch:{} ({} stream{} from {})",
        batch.group,
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.first().map(String::as_str).unwrap_or_default()
    );
    let mut outcome = BatchOutcome {
        location,
        units: Vec::new(),
        error: None,
    };
    // A format check only for streams that never gave a record: a later
    // batch of non-flow messages is quarantined, not a stuck group.
    let check_format = batch.streams.iter().all(|s| s.cursor.events == 0);
    let start_ms = batch.streams.iter().map(|s| s.start_ms).min().unwrap_or(0);
    let sources = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let source = Arc::new(RecordSource::stream(Some(&batch.group), n));
            (n.clone(), (i, source))
        })
        .collect();
    // The id sets are decoded now, one batch at a time.
    let reads = batch
        .streams
        .iter()
        .map(|s| {
            StreamRead::new(
                s.cursor.clone(),
                s.path.clone(),
                s.start_ms,
                options.lookback_ms,
            )
        })
        .collect();
    let mut reading = Reading {
        api,
        batch: &batch,
        names,
        reads,
        sources,
    };
    let mut slices = Slices::new(start_ms, batch.end_ms, options.checkpoint_every);
    let mut retire = batch.retire.clone();
    let mut unit_no = 0usize;
    while outcome.error.is_none() {
        let unit = unit_object(
            format!(
                "{}@{}/{}/{}",
                batch.identity, config.now_ms, batch.index, unit_no
            ),
            batch.shard.clone(),
            outcome.location.clone(),
        );
        unit_no += 1;
        let object = unit.clone();
        let mut writer = UnitWriter::start(unit, pool.clone(), config.clone(), check_format);
        let mut unit_reads = UnitReads::default();
        // Whole slices only: a cursor moves to the end of a slice read to
        // the end of its pagination, whatever order the events came in.
        let mut failed = None;
        while let Some(slice) = slices.next_slice() {
            match reading
                .read_slice(slice, &mut writer, &mut unit_reads)
                .await
            {
                Ok(returned) => slices.done(slice, returned),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if writer.events() >= options.checkpoint_every {
                break;
            }
        }
        let output = writer.finish().await;
        let output = match (failed, output) {
            (None, Ok(output)) => output,
            (Some(e), Ok(output)) => {
                output.discard();
                outcome.error = Some(e);
                break;
            }
            // The parser's error explains a dead channel best.
            (_, Err(e)) => {
                outcome.error = Some(e);
                break;
            }
        };
        let read_until = slices.read_until();
        match reading
            .commit(lake, &object, &output, read_until, &retire)
            .await
        {
            Ok(checkpoints) => {
                retire.clear();
                outcome.units.push(UnitDone {
                    tally: unit_reads.tally,
                    counts: output.counts,
                    records_written: output.rows_written(),
                    bytes_in: output.bytes_in,
                    first_rejects: output.first_rejects.clone(),
                    checkpoints,
                    files: output.files.len() as u64,
                    bytes_out: output.files.iter().map(|f| f.bytes).sum(),
                });
            }
            Err(e) => outcome.error = Some(e),
        }
        if slices.finished() {
            break;
        }
    }
    outcome
}

impl Reading<'_> {
    /// Reads one slice to the end of its pagination, sending the new events
    /// to `writer`; returns how many events the API returned.
    async fn read_slice(
        &mut self,
        slice: (i64, i64),
        writer: &mut UnitWriter,
        unit: &mut UnitReads,
    ) -> Result<u64, JobError> {
        let mut token: Option<String> = None;
        let mut returned = 0u64;
        let mut repeats = 0u32;
        loop {
            let page = self
                .api
                .filter_page(&self.batch.group, &self.names, slice, token.clone())
                .await?;
            if page.next.is_some() && page.next == token {
                // The server answered a token with itself. With events, a
                // second read of the same token would return them again;
                // without, it may be a pause (only a missing token ends the
                // pagination), so ask again a few times.
                repeats += 1;
                if !page.events.is_empty() || repeats > MAX_REPEATED_TOKEN {
                    return Err(JobError::Source(SourceError::Remote {
                        location: format!("log group {}", self.batch.group),
                        message: format!(
                            "FilterLogEvents answered a page token with the same token {repeats} time(s){}; nothing of this slice is committed",
                            if page.events.is_empty() {
                                ""
                            } else {
                                " and events"
                            }
                        ),
                        retryable: false,
                    }));
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(repeats))).await;
                continue;
            }
            repeats = 0;
            returned += page.events.len() as u64;
            let mut events = Vec::with_capacity(page.events.len());
            for event in page.events {
                unit.tally.events += 1;
                let Some((i, source)) = self.sources.get(&event.stream) else {
                    return Err(JobError::Source(SourceError::Remote {
                        location: format!("log group {}", self.batch.group),
                        message: format!(
                            "FilterLogEvents returned an event of stream {}, which was not asked for",
                            event.stream
                        ),
                        retryable: false,
                    }));
                };
                let t = event.timestamp_ms;
                if !(slice.0..slice.1).contains(&t) {
                    return Err(JobError::Source(SourceError::Remote {
                        location: format!("log group {}", self.batch.group),
                        message: format!(
                            "FilterLogEvents returned an event at {t} ms, outside the {} .. {} asked for",
                            slice.0, slice.1
                        ),
                        retryable: false,
                    }));
                }
                match self.reads[*i].offer(t, &event.id, slice.1) {
                    Seen::New => {
                        let range = unit.ranges.entry(*i).or_insert((t, t));
                        *range = (range.0.min(t), range.1.max(t));
                        events.push((*i, source.clone(), event.message));
                    }
                    Seen::Duplicate => unit.tally.duplicates += 1,
                    Seen::BeforeStart => unit.tally.before_start += 1,
                }
            }
            // One run of lines per stream: the parser switches source
            // columns at most once per stream a page.
            events.sort_by_key(|(i, _, _)| *i);
            let events = events
                .into_iter()
                .map(|(_, source, message)| Event { source, message })
                .collect();
            if !writer.send(events).await {
                // The parser stopped; `finish` says why.
                return Ok(returned);
            }
            token = page.next;
            if token.is_none() {
                return Ok(returned);
            }
        }
    }

    /// Commits a finished unit with every cursor it moves (and the retired
    /// ones); returns how many cursors moved.
    async fn commit(
        &mut self,
        lake: &LakeStore,
        object: &crate::sources::SourceObject,
        output: &ObjectOutput,
        read_until: i64,
        retire: &[String],
    ) -> Result<u64, JobError> {
        let mut advances = Vec::new();
        let mut moved = Vec::new();
        for (i, read) in self.reads.iter().enumerate() {
            let Some(cursor) = read.advance(read_until) else {
                continue;
            };
            advances.push(CursorAdvance {
                range: StreamRange {
                    stream: read.committed.stream.clone(),
                    from_ms: read.start_ms.max(0),
                    until_ms: read_until,
                    events: read.new_events,
                },
                cursor,
                replaces: read.committed_path.clone(),
            });
            moved.push(i);
        }
        let paths = commit_unit(
            lake,
            object,
            &self.batch.cursor_source,
            output,
            (&advances, retire),
        )
        .await?;
        for ((i, advance), path) in moved.iter().zip(advances).zip(paths) {
            self.reads[*i].committed_as(advance.cursor, path);
        }
        Ok(moved.len() as u64)
    }
}
