//! `ingest cloudwatch`: log groups of flow logs into the lake, each stream
//! continuing from its cursor, exactly once.
//!
//! ```text
//! per group:  DescribeLogGroups (account) ─▶ cursors ─▶ DescribeLogStreams ─▶ plan
//! per batch of ≤100 streams (concurrently, paced under the quota):
//!   time slices of [start, end), each one whole FilterLogEvents pagination
//!     ─▶ StreamRead::offer (new / duplicate / before start)
//!     ─▶ UnitWriter (parse, encode on the CPU pool)
//!     ─▶ after the slice that reaches `checkpoint_every` events, and at the
//!        end: commit_unit (data files + the batch's cursors, one commit)
//! ```
//!
//! A cursor only ever moves to the end of a slice whose pagination ran to
//! its end: nothing is assumed about the order of events within a page or
//! across pages (AWS sorts them by time; other servers need not).
//!
//! Each stream is read from its cursor's look-back point (`StreamCursor::
//! resume_from_ms`) up to the run's end time (`--to`, else the time the run
//! started). A stream whose cursor is already past the end, or whose latest
//! event (padded by an hour, as `lastEventTimestamp` lags) is before its
//! start, is not read. An event arriving later than the look-back window
//! behind the cursor has a timestamp before the next read's start and is
//! not read (the summary cannot see it).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flowlake_schemas::lake::source_key;
use flowlake_schemas::{LineCounts, RecordSource, Reject};
use futures::StreamExt;

use crate::lake::cursor::{Seen, StreamCursor, StreamRead, load_cursors};
use crate::lake::{LakeStore, StreamRange, recover};
use crate::pipeline::{IngestError, IngestOptions, ObjectReport, Progress, under_lock};
use crate::process::{Event, ProcessConfig, ProcessError};
use crate::sources::SourceError;
use crate::sources::cloudwatch::{CloudWatchLogs, MAX_STREAMS_PER_CALL};
use crate::units::{CursorAdvance, UnitError, UnitWriter, commit_unit, unit_object};

/// `lastEventTimestamp` is eventually consistent ("typically less than an
/// hour"): a stream is skipped only if its latest event is this much
/// before where its read would start.
const LAST_EVENT_LAG_MS: i64 = 3_600_000;

/// Empty pages answering a token with itself, in a row, taken as the end.
const MAX_REPEATED_TOKEN: u32 = 3;

/// How a CloudWatch Logs ingest runs.
#[derive(Debug, Clone)]
pub struct CloudWatchOptions {
    /// Log groups to read.
    pub groups: Vec<String>,
    /// Only streams whose names start with this.
    pub stream_prefix: Option<String>,
    /// Streams read for the first time start here (UTC ms; default: their
    /// first event). Also a lower bound for every stream.
    pub from_ms: Option<i64>,
    /// Events before this (UTC ms) are read; default: when the run started.
    pub to_ms: Option<i64>,
    /// The look-back window re-read behind each cursor, in ms.
    pub lookback_ms: i64,
    /// A unit is committed after this many events (and at the end of each
    /// batch), so a long first read keeps its progress.
    pub checkpoint_every: u64,
    /// Batches of streams read at once.
    pub concurrency: usize,
    /// Threads, record format, batch size and limits.
    pub ingest: IngestOptions,
}

impl CloudWatchOptions {
    /// Defaults: a one-hour look-back, a unit per million events.
    pub fn new(groups: Vec<String>) -> CloudWatchOptions {
        CloudWatchOptions {
            groups,
            stream_prefix: None,
            from_ms: None,
            to_ms: None,
            lookback_ms: 3_600_000,
            checkpoint_every: 1_000_000,
            concurrency: 4,
            ingest: IngestOptions::default(),
        }
    }
}

/// Everything a CloudWatch Logs ingest did. Reconciles: every event read
/// is a duplicate, before its stream's start, or a line (record, rejected or
/// blank), and every record line is a record written.
#[derive(Debug, Clone, Default)]
pub struct CloudWatchSummary {
    /// The groups, described.
    pub source: String,
    /// The lake, described.
    pub lake: String,
    /// Log groups read.
    pub groups: u64,
    /// Streams listed.
    pub streams_listed: u64,
    /// Streams read.
    pub streams_read: u64,
    /// Streams not read: no event since their cursor, or cursor past `--to`.
    pub streams_skipped: u64,
    /// Events returned by the API, in committed units.
    pub events_read: u64,
    /// Of those, read before (their id is in the cursor).
    pub duplicates: u64,
    /// Of those, older than their stream's start (read by an earlier run).
    pub before_start: u64,
    /// What the new events turned out to be.
    pub counts: LineCounts,
    /// Records written to the lake.
    pub records_written: u64,
    /// Parquet files written.
    pub files_written: u64,
    /// Bytes of Parquet written.
    pub bytes_out: u64,
    /// Units committed.
    pub units: u64,
    /// Stream cursors advanced.
    pub checkpoints: u64,
    /// Interrupted earlier runs cleaned up.
    pub recovered: u64,
    /// DescribeLogGroups and DescribeLogStreams calls.
    pub describe_requests: u64,
    /// FilterLogEvents calls.
    pub filter_requests: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
    /// Attempts throttled or failed and retried.
    pub retried: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// What failed (a group, a batch of streams) and why; nothing of a
    /// failed unit is committed.
    pub failures: Vec<(String, String)>,
    /// The first rejected events, with their unit.
    pub rejects: Vec<(String, Reject)>,
}

impl CloudWatchSummary {
    /// True when every event is accounted for.
    pub fn reconciles(&self) -> bool {
        self.events_read == self.duplicates + self.before_start + self.counts.lines()
            && self.counts.records == self.records_written
    }

    /// True when something failed or was quarantined (exit code 1).
    pub fn is_partial(&self) -> bool {
        !self.failures.is_empty() || self.counts.rejected > 0
    }
}

/// One stream to read in this run.
#[derive(Debug)]
struct Planned {
    name: String,
    read: StreamRead,
}

/// A batch of streams of one group, read with one FilterLogEvents pagination.
#[derive(Debug)]
struct Batch {
    group: String,
    identity: String,
    shard: String,
    cursor_source: String,
    index: usize,
    end_ms: i64,
    streams: Vec<Planned>,
}

/// What one unit contributed.
#[derive(Debug, Default)]
struct UnitTally {
    events: u64,
    duplicates: u64,
    before_start: u64,
}

/// Ingests what is new in the log groups of `options` into `lake`.
pub async fn ingest_cloudwatch(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    options: &CloudWatchOptions,
    progress: Arc<dyn Progress>,
) -> Result<CloudWatchSummary, IngestError> {
    let started = Instant::now();
    under_lock(lake, |fenced| async move {
        run_locked(api, &fenced, options, progress, started).await
    })
    .await
}

async fn run_locked(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    options: &CloudWatchOptions,
    progress: Arc<dyn Progress>,
    started: Instant,
) -> Result<CloudWatchSummary, IngestError> {
    let run_ms = chrono::Utc::now().timestamp_millis();
    let end_ms = options.to_ms.unwrap_or(run_ms);
    let mut summary = CloudWatchSummary {
        source: options
            .groups
            .iter()
            .map(|g| format!("cloudwatch:{g}"))
            .collect::<Vec<_>>()
            .join(", "),
        lake: lake.describe(),
        ..CloudWatchSummary::default()
    };
    lake.clear_staging();
    let recovery = recover(lake).await?;
    summary.recovered = recovery.rolled_back + recovery.rolled_forward;

    let mut batches = Vec::new();
    for group in &options.groups {
        match plan_group(api, lake, options, group, end_ms, run_ms).await {
            Ok((listed, skipped, planned)) => {
                summary.groups += 1;
                summary.streams_listed += listed;
                summary.streams_skipped += skipped;
                summary.streams_read += planned.iter().map(|b| b.streams.len() as u64).sum::<u64>();
                batches.extend(planned);
            }
            Err(e) => summary
                .failures
                .push((format!("cloudwatch:{group}"), e.to_string())),
        }
    }
    progress.start(batches.len() as u64, 0);

    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(options.ingest.threads.max(1))
            .thread_name(|i| format!("flowlake-cpu-{i}"))
            .build()
            .map_err(|e| IngestError::Threads(options.ingest.threads, e.to_string()))?,
    );
    let config = Arc::new(ProcessConfig {
        batch_size: options.ingest.batch_size,
        limits: options.ingest.limits,
        ..ProcessConfig::new(options.ingest.format.clone(), lake.staging_dir())
    });
    let mut results = futures::stream::iter(batches)
        .map(|batch| read_batch(api, lake, batch, options, pool.clone(), config.clone()))
        .buffer_unordered(options.concurrency.max(1));
    while let Some(outcome) = results.next().await {
        for unit in outcome.units {
            progress.object_done(&unit.report);
            summary.units += 1;
            summary.checkpoints += unit.checkpoints;
            summary.events_read += unit.tally.events;
            summary.duplicates += unit.tally.duplicates;
            summary.before_start += unit.tally.before_start;
            summary.counts.add(&unit.report.counts);
            summary.records_written += unit.report.records_written;
            summary.files_written += unit.files;
            summary.bytes_out += unit.bytes_out;
            let room = 100usize.saturating_sub(summary.rejects.len());
            summary.rejects.extend(
                unit.report
                    .first_rejects
                    .iter()
                    .take(room)
                    .map(|r| (unit.report.location.clone(), r.clone())),
            );
        }
        match outcome.error {
            Some((location, UnitError::Process(e @ ProcessError::NothingParses { .. }))) => {
                return Err(IngestError::WrongFormat {
                    location,
                    source: e,
                });
            }
            Some((location, e)) => summary.failures.push((location, e.to_string())),
            None => {}
        }
    }
    drop(results);
    progress.finish();
    let counts = api.counts();
    summary.describe_requests = counts.describe.load(Ordering::Relaxed);
    summary.filter_requests = counts.filter.load(Ordering::Relaxed);
    summary.attempts = counts.attempts.load(Ordering::Relaxed);
    summary.retried = counts.retried.load(Ordering::Relaxed);
    summary.failures.sort();
    summary.elapsed = started.elapsed();
    if !summary.reconciles() {
        return Err(IngestError::ReconcileUnits(format!("{summary:?}")));
    }
    Ok(summary)
}

/// Lists a group's streams and cursors and plans this run's reads: returns
/// (streams listed, streams skipped, batches).
async fn plan_group(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    options: &CloudWatchOptions,
    group: &str,
    end_ms: i64,
    run_ms: i64,
) -> Result<(u64, u64, Vec<Batch>), IngestError> {
    let source_error = |e: SourceError| IngestError::List(format!("cloudwatch:{group}"), e);
    let account = api.group_account(group).await.map_err(source_error)?;
    let identity = format!("cwl:{account}/{}/{group}", api.region());
    let cursor_source = source_key(&identity);
    let mut cursors = load_cursors(lake, &cursor_source).await?;
    let streams = api
        .streams(group, options.stream_prefix.as_deref())
        .await
        .map_err(source_error)?;
    let listed = streams.len() as u64;
    let mut skipped = 0;
    let mut planned = Vec::new();
    for stream in streams {
        let (path, cursor) = match cursors.remove(&stream.name) {
            Some((path, cursor)) => (Some(path), cursor),
            None => (None, StreamCursor::new(&stream.name)),
        };
        let mut start = cursor.resume_from_ms(options.lookback_ms);
        if path.is_none() {
            start = options
                .from_ms
                .unwrap_or(0)
                .max(stream.first_event_ms.unwrap_or(0));
        } else if let Some(from) = options.from_ms {
            start = start.max(from);
        }
        let idle = stream
            .last_event_ms
            .is_none_or(|last| last.saturating_add(LAST_EVENT_LAG_MS) < start);
        if idle || end_ms <= cursor.read_until_ms || end_ms <= start {
            skipped += 1;
            continue;
        }
        planned.push(Planned {
            name: stream.name.clone(),
            read: StreamRead::new(cursor, path, start, options.lookback_ms),
        });
    }
    // Streams with similar starts share a call, so little is read twice.
    planned.sort_by_key(|p| (p.read.start_ms, p.name.clone()));
    let day = chrono::DateTime::from_timestamp_millis(run_ms).map_or_else(
        || "1970/01/01".to_owned(),
        |t| t.format("%Y/%m/%d").to_string(),
    );
    let shard = format!("cwl/{account}/{}/{day}", api.region());
    let mut batches = Vec::new();
    let mut rest = planned;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(MAX_STREAMS_PER_CALL));
        batches.push(Batch {
            group: group.to_owned(),
            identity: identity.clone(),
            shard: shard.clone(),
            cursor_source: cursor_source.clone(),
            index: batches.len(),
            end_ms,
            streams: std::mem::replace(&mut rest, tail),
        });
    }
    Ok((listed, skipped, batches))
}

/// The time slices a batch is read in: each a whole FilterLogEvents
/// pagination, sized to about `checkpoint_every` events (halved after a
/// slice with more, doubled after one with under a quarter), so a backfill
/// commits as it goes and a scheduled run's short window is one slice.
#[derive(Debug)]
struct Slices {
    next_ms: i64,
    end_ms: i64,
    width_ms: i64,
    target: u64,
}

/// The first slice of a long read (a scheduled run's window is shorter).
const FIRST_SLICE_MS: i64 = 6 * 3_600_000;
/// The narrowest slice.
const MIN_SLICE_MS: i64 = 1_000;

impl Slices {
    fn new(start_ms: i64, end_ms: i64, target: u64) -> Slices {
        Slices {
            next_ms: start_ms,
            end_ms,
            width_ms: FIRST_SLICE_MS,
            target: target.max(1),
        }
    }

    fn next_slice(&self) -> Option<(i64, i64)> {
        (self.next_ms < self.end_ms).then(|| {
            let end = self.next_ms.saturating_add(self.width_ms).min(self.end_ms);
            (self.next_ms, end)
        })
    }

    /// Marks a slice read to the end, with `events` returned.
    fn done(&mut self, (_, end): (i64, i64), events: u64) {
        self.next_ms = end;
        if events > self.target {
            self.width_ms = (self.width_ms / 2).max(MIN_SLICE_MS);
        } else if events < self.target / 4 {
            self.width_ms = self.width_ms.saturating_mul(2);
        }
    }

    /// Everything before this has been read.
    fn read_until(&self) -> i64 {
        self.next_ms
    }

    fn finished(&self) -> bool {
        self.next_ms >= self.end_ms
    }
}

/// One committed unit, for the summary.
#[derive(Debug)]
struct UnitDone {
    report: ObjectReport,
    tally: UnitTally,
    checkpoints: u64,
    files: u64,
    bytes_out: u64,
}

/// What a batch did: its committed units, and the error that stopped it.
#[derive(Debug, Default)]
struct BatchOutcome {
    units: Vec<UnitDone>,
    error: Option<(String, UnitError)>,
}

async fn read_batch(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    mut batch: Batch,
    options: &CloudWatchOptions,
    pool: Arc<rayon::ThreadPool>,
    config: Arc<ProcessConfig>,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let names: Vec<String> = batch.streams.iter().map(|s| s.name.clone()).collect();
    let start_ms = batch
        .streams
        .iter()
        .map(|s| s.read.start_ms)
        .min()
        .unwrap_or(0);
    let sources: HashMap<String, (usize, Arc<RecordSource>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let source = Arc::new(RecordSource::stream(Some(&batch.group), n));
            (n.clone(), (i, source))
        })
        .collect();
    let location = format!(
        "cloudwatch:{} ({} streams from {})",
        batch.group,
        names.len(),
        names.first().map(String::as_str).unwrap_or_default()
    );
    let mut slices = Slices::new(start_ms, batch.end_ms, options.checkpoint_every);
    let mut unit_no = 0usize;
    loop {
        let unit = unit_object(
            format!(
                "{}@{}/{}/{}",
                batch.identity, config.now_ms, batch.index, unit_no
            ),
            batch.shard.clone(),
            location.clone(),
        );
        unit_no += 1;
        let object = unit.clone();
        let mut writer = UnitWriter::start(unit, pool.clone(), config.clone());
        let mut tally = UnitTally::default();
        let mut ranges: HashMap<usize, (i64, i64)> = HashMap::new();
        // Whole slices only: a cursor moves to the end of a slice read to
        // the end of its pagination, whatever order the events came in.
        let mut failed = None;
        while let Some(slice) = slices.next_slice() {
            let mut token: Option<String> = None;
            let mut returned = 0u64;
            let mut repeats = 0u32;
            loop {
                let page = match api
                    .filter_page(&batch.group, &names, slice, token.clone())
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        failed = Some(UnitError::Source(e));
                        break;
                    }
                };
                // An empty page may carry a token: only its absence ends the
                // pagination. A server that answers the same token with an
                // empty page again and again would loop for ever; after a
                // few times that counts as the end.
                let repeated = page.events.is_empty() && page.next.is_some() && page.next == token;
                repeats = if repeated { repeats + 1 } else { 0 };
                returned += page.events.len() as u64;
                let mut events = Vec::with_capacity(page.events.len());
                for event in page.events {
                    tally.events += 1;
                    let Some((i, source)) = sources.get(&event.stream) else {
                        // Not a stream asked for: never seen from a real server.
                        tally.before_start += 1;
                        continue;
                    };
                    match batch.streams[*i]
                        .read
                        .offer(event.timestamp_ms, &event.id, slice.1)
                    {
                        Seen::New => {
                            let t = event.timestamp_ms;
                            let range = ranges.entry(*i).or_insert((t, t));
                            *range = (range.0.min(t), range.1.max(t));
                            events.push(Event {
                                source: source.clone(),
                                message: event.message,
                            });
                        }
                        Seen::Duplicate => tally.duplicates += 1,
                        Seen::BeforeStart => tally.before_start += 1,
                    }
                }
                if !writer.send(events).await {
                    break;
                }
                token = if repeats >= MAX_REPEATED_TOKEN {
                    tracing::warn!(group = %batch.group, "The same next token came back {repeats} times with no events; taking it as the end.");
                    None
                } else {
                    page.next
                };
                if token.is_none() {
                    break;
                }
            }
            if failed.is_some() {
                break;
            }
            slices.done(slice, returned);
            if writer.events() >= options.checkpoint_every {
                break;
            }
        }
        if let Some(e) = failed {
            drop(writer);
            outcome.error = Some((location, e));
            break;
        }
        let read_until = slices.read_until();
        let output = match writer.finish().await {
            Ok(output) => output,
            Err(e) => {
                outcome.error = Some((location, e));
                break;
            }
        };
        let mut advances = Vec::new();
        let mut advanced = Vec::new();
        for (i, planned) in batch.streams.iter().enumerate() {
            let Some(cursor) = planned.read.advance(read_until) else {
                continue;
            };
            let (first, last) = ranges.get(&i).copied().unwrap_or((read_until, read_until));
            advances.push(CursorAdvance {
                range: StreamRange {
                    stream: planned.name.clone(),
                    from_ms: first.min(planned.read.start_ms.max(0)),
                    until_ms: read_until.max(last),
                    events: planned.read.new_events,
                },
                cursor,
                replaces: planned.read.committed_path.clone(),
            });
            advanced.push(i);
        }
        match commit_unit(lake, &object, &batch.cursor_source, &output, &advances).await {
            Ok(paths) => {
                for ((i, advance), path) in advanced.iter().zip(advances).zip(paths) {
                    batch.streams[*i].read.committed_as(advance.cursor, path);
                }
                let report = ObjectReport {
                    location: location.clone(),
                    bytes_in: output.bytes_in,
                    counts: output.counts,
                    parquet_rows: 0,
                    records_written: output.rows_written(),
                    first_rejects: output.first_rejects.clone(),
                    error: None,
                };
                outcome.units.push(UnitDone {
                    report,
                    tally,
                    checkpoints: advanced.len() as u64,
                    files: output.files.len() as u64,
                    bytes_out: output.files.iter().map(|f| f.bytes).sum(),
                });
            }
            Err(e) => {
                outcome.error = Some((location, UnitError::Commit(e)));
                break;
            }
        }
        if slices.finished() {
            break;
        }
    }
    outcome
}
