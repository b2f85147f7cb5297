//! Drives one source into the lake: lock, recover, list, skip what is done,
//! process the rest in parallel, commit each object, count everything.
//!
//! Objects flow through a bounded number of concurrent tasks. Each task opens
//! its object (async I/O), processes it on the CPU pool (blocking), then
//! commits it (async I/O). A failed object is reported and skipped; nothing
//! of it reaches the lake, and the rest of the run goes on.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowlake_schemas::lake::{file_stem, source_key};
use flowlake_schemas::{Format, LineCounts, Reject};
use futures::StreamExt;

use crate::lake::ledger::Lookup;
use crate::lake::lock::{LockScope, with_lock};
use crate::lake::{
    CommitError, CommitOutcome, CommitRequest, LakeStore, LedgerIndex, LockError, StoreError,
    Takeover, commit_object, recover,
};
use crate::process::{
    Limits, ObjectOutput, ProcessConfig, ProcessError, process_stream, process_whole,
};
use crate::sources::{Body, Source, SourceError, SourceObject};

/// Rejected lines kept in a summary (all of them are in the quarantine).
pub(crate) const MAX_SUMMARY_REJECTS: usize = 100;

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// CPU threads for parsing and encoding.
    pub threads: usize,
    /// Objects in flight at once (opened, processing or committing).
    pub concurrency: usize,
    /// Format of lines before any header line.
    pub format: Format,
    /// Rows per Arrow batch.
    pub batch_size: usize,
    /// Attempts per object for retryable failures (dropped connections, throttling).
    pub attempts: u32,
    /// Memory and size limits per object (see [`Limits`]).
    pub limits: Limits,
}

impl Default for IngestOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        IngestOptions {
            threads,
            // Two objects per CPU thread: one computing while the other
            // waits on reads, fsyncs and renames.
            concurrency: 2 * threads,
            format: Format::default_vpc(),
            batch_size: flowlake_schemas::DEFAULT_BATCH_SIZE,
            attempts: 4,
            limits: Limits::default(),
        }
    }
}

/// One object's fate, reported to [`Progress`] and kept in the summary.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    /// Where it was read from.
    pub location: String,
    /// Bytes read.
    pub bytes_in: u64,
    /// Line counts.
    pub counts: LineCounts,
    /// Rows from Parquet input.
    pub parquet_rows: u64,
    /// Records written to the lake.
    pub records_written: u64,
    /// The first few rejected lines.
    pub first_rejects: Vec<Reject>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Receives progress as objects finish (a progress bar, log lines, nothing).
pub trait Progress: Send + Sync {
    /// The work is known: objects to process and their total size.
    fn start(&self, objects: u64, bytes: u64);
    /// One object is done (committed or failed).
    fn object_done(&self, report: &ObjectReport);
    /// All done.
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64, _: u64) {}
    fn object_done(&self, _: &ObjectReport) {}
    fn finish(&self) {}
}

/// Everything an ingest did. Reconciles: `lines = records + rejected +
/// headers + blank`, and `records + parquet_rows = records_written`.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    /// The source, described.
    pub source: String,
    /// The lake, described.
    pub lake: String,
    /// Objects the source listed.
    pub listed: u64,
    /// Listed objects already in the lake at this version.
    pub already_done: u64,
    /// Listed twice under the same identity (counted once).
    pub duplicates: u64,
    /// Objects committed by this run.
    pub ingested: u64,
    /// Of those, new versions of objects ingested before (old records replaced).
    pub replaced: u64,
    /// Objects that failed (reported, nothing committed).
    pub failed: u64,
    /// Interrupted earlier runs cleaned up.
    pub recovered: u64,
    /// Line counts over ingested objects.
    pub counts: LineCounts,
    /// Rows read from Parquet input objects.
    pub parquet_rows: u64,
    /// Records written to the lake.
    pub records_written: u64,
    /// Parquet files written.
    pub files_written: u64,
    /// Bytes read from the source by this run.
    pub bytes_in: u64,
    /// Bytes of Parquet written.
    pub bytes_out: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Failed objects and why.
    pub failures: Vec<(String, String)>,
    /// The first rejected lines of each object (at most 5 each, 100 in all), with the object.
    pub rejects: Vec<(String, Reject)>,
}

impl IngestSummary {
    /// True when every line and object is accounted for.
    pub fn reconciles(&self) -> bool {
        self.counts.records + self.parquet_rows == self.records_written
            && self.listed == self.already_done + self.duplicates + self.ingested + self.failed
    }

    /// True when something was skipped or quarantined (exit code 1).
    pub fn is_partial(&self) -> bool {
        self.failed > 0 || self.counts.rejected > 0
    }
}

/// Why an ingest could not run at all (per-object failures are not errors).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Listing the source failed. The cause names the path or key, which is
    /// more precise than the source's description kept here for callers.
    #[error("cannot list the source")]
    List(String, #[source] SourceError),
    /// The lake is locked or unreachable.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Reading the ledger or recovering failed.
    #[error("reading the lake's ledger: {0}")]
    Ledger(#[from] CommitError),
    /// Lake storage failed outside a single object's commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread pool could not start.
    #[error("starting {0} worker threads: {1}")]
    Threads(usize, String),
    /// The counts did not reconcile: a bug, reported rather than hidden.
    #[error("counts do not reconcile (a flowlake bug): {0:?}")]
    Reconcile(Box<IngestSummary>),
    /// The counts of an append-only source's run did not reconcile (a bug).
    #[error("counts do not reconcile (a flowlake bug): {0}")]
    ReconcileUnits(String),
    /// A unit of an append-only source (a spool flush) failed outside a
    /// run that could report it and go on.
    #[error(transparent)]
    Unit(#[from] JobError),
    /// Compaction failed (what it committed before stays).
    #[error("compacting: {0}")]
    Compact(#[from] crate::compact::CompactError),
    /// Retention failed (partitions dropped before stay dropped).
    #[error("pruning: {0}")]
    Prune(#[from] crate::prune::PruneError),
    /// A server could not listen.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Nothing in an append-only source parses: the wrong `--format`.
    #[error("{location}: {source}")]
    WrongFormat {
        /// The log group (or sink) being read.
        location: String,
        /// What did not parse.
        source: ProcessError,
    },
}

struct Job {
    object: SourceObject,
    source_key: String,
    old_entries: Vec<String>,
}

enum JobResult {
    Done {
        report: ObjectReport,
        replaced: bool,
        files: u64,
        bytes_out: u64,
    },
    Failed(ObjectReport),
}

/// Ingests everything new in `source` into `lake`.
pub async fn ingest(
    source: &dyn Source,
    lake: &LakeStore,
    options: &IngestOptions,
    progress: Arc<dyn Progress>,
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    under_lock(lake, |fenced| async move {
        ingest_locked(source, &fenced, options, progress, started).await
    })
    .await
}

/// The pool parsing and encoding run on: `--threads` bounds the CPU work.
pub(crate) fn cpu_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, IngestError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("flowlake-cpu-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| IngestError::Threads(threads, e.to_string()))
}

/// What processing needs from a run's options, staging in `lake`.
pub(crate) fn process_config(options: &IngestOptions, lake: &LakeStore) -> Arc<ProcessConfig> {
    Arc::new(ProcessConfig {
        batch_size: options.batch_size,
        limits: options.limits,
        ..ProcessConfig::new(options.format.clone(), lake.staging_dir())
    })
}

/// Runs `run` holding the lake's writer lock, on a store that writes
/// through the lock's fence: on S3 no write leaves once the lease may have
/// expired, and a lost lease ends the run (lock.rs). Every source's ingest
/// runs this way.
pub async fn under_lock<T, F, Fut>(lake: &LakeStore, run: F) -> Result<T, IngestError>
where
    F: FnOnce(LakeStore) -> Fut,
    Fut: std::future::Future<Output = Result<T, IngestError>>,
{
    with_lock(lake, LockScope::Writer, run).await
}

/// [`under_lock`] on a lake recovered first (staging cleared, interrupted
/// commits finished or undone): how maintenance (compaction, retention)
/// starts.
pub async fn under_lock_recovered<T, F, Fut>(lake: &LakeStore, run: F) -> Result<T, IngestError>
where
    F: FnOnce(LakeStore) -> Fut,
    Fut: std::future::Future<Output = Result<T, IngestError>>,
{
    under_lock(lake, |fenced| async move {
        fenced.clear_staging();
        recover(&fenced).await?;
        run(fenced).await
    })
    .await
}

async fn ingest_locked(
    source: &dyn Source,
    lake: &LakeStore,
    options: &IngestOptions,
    progress: Arc<dyn Progress>,
    started: Instant,
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary {
        source: source.describe(),
        lake: lake.describe(),
        ..IngestSummary::default()
    };
    lake.clear_staging();
    let recovery = recover(lake).await?;
    summary.recovered = recovery.rolled_back + recovery.rolled_forward;

    let objects = source
        .list()
        .await
        .map_err(|e| IngestError::List(source.describe(), e))?;
    summary.listed = objects.len() as u64;
    let shards: BTreeSet<String> = objects.iter().map(|o| o.shard.clone()).collect();
    let index = LedgerIndex::load(lake, &shards).await?;
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for object in objects {
        if !seen.insert(object.identity.clone()) {
            tracing::warn!(object = %object.location, "Same object listed twice; ingesting it once.");
            summary.duplicates += 1;
            continue;
        }
        let source_key = source_key(&object.identity);
        match index.lookup(&object, &source_key) {
            Lookup::Done => summary.already_done += 1,
            Lookup::Todo { old_entries } => jobs.push(Job {
                object,
                source_key,
                old_entries,
            }),
        }
    }
    progress.start(jobs.len() as u64, jobs.iter().map(|j| j.object.size).sum());

    let pool = cpu_pool(options.threads)?;
    let config = process_config(options, lake);
    // Fetches run `concurrency` deep, but only as many whole objects as the
    // pool has threads are inflated and parsed at once: each holds its
    // decompressed text (up to --max-whole-bytes), and more in flight than
    // threads to work on them only costs memory.
    let whole = Arc::new(tokio::sync::Semaphore::new(
        pool.current_num_threads().max(1),
    ));

    let mut results = futures::stream::iter(jobs)
        .map(|job| {
            run_job(
                source,
                lake,
                job,
                (pool.clone(), whole.clone()),
                config.clone(),
                options.attempts,
            )
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some(result) = results.next().await {
        match result {
            JobResult::Done {
                report,
                replaced,
                files,
                bytes_out,
            } => {
                progress.object_done(&report);
                summary.ingested += 1;
                summary.replaced += u64::from(replaced);
                summary.counts.add(&report.counts);
                summary.parquet_rows += report.parquet_rows;
                summary.records_written += report.records_written;
                summary.files_written += files;
                summary.bytes_in += report.bytes_in;
                summary.bytes_out += bytes_out;
                let room = MAX_SUMMARY_REJECTS.saturating_sub(summary.rejects.len());
                summary.rejects.extend(
                    report
                        .first_rejects
                        .into_iter()
                        .take(room)
                        .map(|r| (report.location.clone(), r)),
                );
            }
            JobResult::Failed(report) => {
                progress.object_done(&report);
                summary.failed += 1;
                summary.failures.push((
                    report.location.clone(),
                    report.error.clone().unwrap_or_default(),
                ));
            }
        }
    }
    progress.finish();
    summary.failures.sort();
    summary.elapsed = started.elapsed();
    if !summary.reconciles() {
        return Err(IngestError::Reconcile(Box::new(summary)));
    }
    Ok(summary)
}

/// Why one object (or one unit of an append-only source) failed; nothing
/// of it is committed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The source failed (after its retries).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Parsing or encoding failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The commit failed.
    #[error("committing: {0}")]
    Commit(#[from] CommitError),
    /// The worker thread died.
    #[error("worker thread failed: {0}")]
    Join(String),
}

impl JobError {
    fn is_retryable(&self) -> bool {
        match self {
            JobError::Source(e) => e.is_retryable(),
            JobError::Process(e) => e.is_retryable(),
            JobError::Commit(_) | JobError::Join(_) => false,
        }
    }
}

/// The CPU pool, and the permits for whole objects in process on it.
type Workers = (Arc<rayon::ThreadPool>, Arc<tokio::sync::Semaphore>);

async fn run_job(
    source: &dyn Source,
    lake: &LakeStore,
    job: Job,
    workers: Workers,
    config: Arc<ProcessConfig>,
    attempts: u32,
) -> JobResult {
    let mut attempt = 0;
    let output = loop {
        attempt += 1;
        match process_job(source, &job, workers.clone(), config.clone()).await {
            Ok(output) => break Ok(output),
            Err(e) if e.is_retryable() && attempt < attempts => {
                let delay = Duration::from_millis(200 * 2u64.pow(attempt - 1));
                tracing::warn!(object = %job.object.location, attempt, error = %e, "Retrying object.");
                tokio::time::sleep(delay).await;
            }
            Err(e) => break Err(e),
        }
    };
    let mut report = ObjectReport {
        location: job.object.location.clone(),
        bytes_in: 0,
        counts: LineCounts::default(),
        parquet_rows: 0,
        records_written: 0,
        first_rejects: Vec::new(),
        error: None,
    };
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            tracing::warn!(object = %job.object.location, error = %e, "Object skipped.");
            report.error = Some(e.to_string());
            return JobResult::Failed(report);
        }
    };
    for reject in &output.first_rejects {
        tracing::warn!(object = %job.object.location, line = reject.line, reason = %reject.reason, "Line quarantined.");
    }
    let more = output
        .counts
        .rejected
        .saturating_sub(output.first_rejects.len() as u64);
    if more > 0 {
        tracing::warn!(object = %job.object.location, more, "More lines quarantined.");
    }
    let committed = commit_object(
        lake,
        CommitRequest {
            object: &job.object,
            source_key: &job.source_key,
            old_entries: &job.old_entries,
            output: &output,
            cursors: &[],
            old_cursors: &[],
            streams: &[],
            takeover: Takeover::default(),
        },
    )
    .await;
    if let Err(e) = committed {
        tracing::warn!(object = %job.object.location, error = %e, "Object not committed.");
        output.discard();
        report.error = Some(JobError::from(e).to_string());
        return JobResult::Failed(report);
    }
    if let Ok(CommitOutcome::AlreadyCommitted) = committed {
        tracing::info!(object = %job.object.location, "Another writer committed this object first.");
    }
    report.bytes_in = output.bytes_in;
    report.counts = output.counts;
    report.parquet_rows = output.parquet_rows;
    report.records_written = output.rows_written();
    report.first_rejects = output.first_rejects;
    JobResult::Done {
        report,
        replaced: !job.old_entries.is_empty(),
        files: output.files.len() as u64,
        bytes_out: output.files.iter().map(|f| f.bytes).sum(),
    }
}

async fn process_job(
    source: &dyn Source,
    job: &Job,
    (pool, whole): Workers,
    config: Arc<ProcessConfig>,
) -> Result<ObjectOutput, JobError> {
    let body = source.open(&job.object).await?;
    let object = job.object.clone();
    let key = file_stem(&job.source_key, &job.object.version_key());
    let permit = match body {
        Body::Whole(_) => Some(
            whole
                .acquire_owned()
                .await
                .map_err(|e| JobError::Join(e.to_string()))?,
        ),
        Body::Stream(_) => None,
    };
    let handle = tokio::task::spawn_blocking(move || match body {
        Body::Whole(bytes) => {
            let _permit = permit;
            process_whole(&object, &key, bytes, &config, &pool)
        }
        // Reading and gunzip on this blocking thread; parsing and encoding
        // on the pool, so --threads bounds that work and no pool thread
        // ever waits on the network.
        Body::Stream(chunks) => process_stream(&object, &key, chunks, &config, &pool),
    });
    let result = handle.await.map_err(|e| JobError::Join(e.to_string()))?;
    Ok(result?)
}
