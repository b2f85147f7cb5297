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
//! resume_from_ms`), or a window before its first event (or `--from`) when
//! it has no cursor, up to the run's end time (`--to`, never later than
//! the time the run started: a cursor in the future would skip what
//! arrives until then). A stream whose cursor is already past the end, or
//! whose latest event (padded by an hour, as `lastEventTimestamp` lags) is
//! before its start, is not read. An event arriving later than the
//! look-back window behind the cursor has a timestamp before the next
//! read's start and is not read (the summary cannot see it).
//!
//! Streams are read in batches of up to 100 whose starts are within a
//! slice of each other, so a stream far behind does not drag the others
//! back. Cursors of streams the group no longer lists are retired (a
//! recreated stream of the same name is new data, read from its start).

mod batch;
mod plan;
mod slices;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flowlake_schemas::{LineCounts, Reject};
use futures::StreamExt;

use crate::lake::{LakeStore, recover};
use crate::pipeline::JobError;
use crate::pipeline::{
    IngestError, IngestOptions, MAX_SUMMARY_REJECTS, ObjectReport, Progress, cpu_pool,
    process_config, under_lock,
};
use crate::process::ProcessError;
use crate::sources::cloudwatch::CloudWatchLogs;
use crate::sources::error_chain;
use batch::read_batch;
use plan::plan_group;

/// How a CloudWatch Logs ingest runs.
#[derive(Debug, Clone)]
pub struct CloudWatchOptions {
    /// Log groups to read.
    pub groups: Vec<String>,
    /// Only streams whose names start with this.
    pub stream_prefix: Option<String>,
    /// Streams read for the first time start here (UTC ms; default: a
    /// look-back window before their first event).
    pub from_ms: Option<i64>,
    /// Events before this (UTC ms) are read; default and latest: when the
    /// run started.
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
    let end_ms = match options.to_ms {
        Some(to) if to > run_ms => {
            tracing::warn!(
                "--to is in the future: reading up to now, so that no cursor skips what arrives until then."
            );
            run_ms
        }
        Some(to) => to,
        None => run_ms,
    };
    // A group named twice is read once.
    let mut groups: Vec<&String> = Vec::new();
    for group in &options.groups {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let mut summary = CloudWatchSummary {
        source: groups
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
    for group in groups {
        match plan_group(api, lake, options, group, (end_ms, run_ms)).await {
            Ok(plan) => {
                summary.groups += 1;
                summary.streams_listed += plan.listed;
                summary.streams_skipped += plan.skipped;
                summary.streams_read += plan
                    .batches
                    .iter()
                    .map(|b| b.streams.len() as u64)
                    .sum::<u64>();
                batches.extend(plan.batches);
            }
            Err(e) => summary
                .failures
                .push((format!("cloudwatch:{group}"), error_chain(&e))),
        }
    }
    progress.start(batches.len() as u64, 0);

    let pool = cpu_pool(options.ingest.threads)?;
    let config = process_config(&options.ingest, lake);
    let mut results = futures::stream::iter(batches)
        .map(|batch| read_batch(api, lake, batch, options, pool.clone(), config.clone()))
        .buffer_unordered(options.concurrency.max(1));
    while let Some(outcome) = results.next().await {
        let mut report = ObjectReport {
            location: outcome.location.clone(),
            bytes_in: 0,
            counts: LineCounts::default(),
            parquet_rows: 0,
            records_written: 0,
            first_rejects: Vec::new(),
            error: outcome.error.as_ref().map(|e| error_chain(e)),
        };
        for unit in outcome.units {
            summary.units += 1;
            summary.checkpoints += unit.checkpoints;
            summary.events_read += unit.tally.events;
            summary.duplicates += unit.tally.duplicates;
            summary.before_start += unit.tally.before_start;
            summary.counts.add(&unit.counts);
            summary.records_written += unit.records_written;
            summary.files_written += unit.files;
            summary.bytes_out += unit.bytes_out;
            report.bytes_in += unit.bytes_in;
            report.counts.add(&unit.counts);
            report.records_written += unit.records_written;
            let room = MAX_SUMMARY_REJECTS.saturating_sub(summary.rejects.len());
            summary.rejects.extend(
                unit.first_rejects
                    .iter()
                    .take(room)
                    .map(|r| (outcome.location.clone(), r.clone())),
            );
        }
        progress.object_done(&report);
        match outcome.error {
            Some(JobError::Process(e @ ProcessError::NothingParses { .. })) => {
                return Err(IngestError::WrongFormat {
                    location: outcome.location,
                    source: e,
                });
            }
            Some(e) => summary.failures.push((outcome.location, error_chain(&e))),
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
