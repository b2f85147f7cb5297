//! Compaction: merging a partition's small files into large ones, exactly
//! once, through the one commit protocol (`lake::commit`).
//!
//! The Firehose sink flushes every minute or so and a scheduled CloudWatch
//! Logs read commits whatever arrived since the last run, so their units
//! leave many small files per hour partition; readers pay per file. A
//! compaction commit is an object of its own (`compact:<partition>@<inputs>`,
//! ledger shard `compact/<day>/<hour>`) whose new files hold the rows of the
//! files it merges, and whose entry also names the large files it takes over
//! as they are ([`Takeover`]). Its intent hides the new files until its entry
//! exists and the merged ones after, so a crash at any step leaves either
//! the old files or the new ones counted, never both and never neither;
//! recovery finishes or undoes it like any commit. After the commit the
//! entries that named the moved files are rewritten without them, and a unit
//! entry left with no file is archived out of the ledger (`plan.rs` says
//! which files are candidates, and why objects' files are not).
//!
//! Run it with the lake's lock held; it recovers the lake first.

mod merge;
mod plan;

use std::time::Duration;

use flowlake_schemas::lake::{file_stem, source_key};
use xxhash_rust::xxh3::xxh3_64;

use crate::encode::EncodeError;
use crate::lake::commit::release_empty;
use crate::lake::{
    CommitError, CommitOutcome, CommitRequest, FileEntry, LakeStore, StoreError, Takeover,
    commit_object, recover,
};
use crate::process::ObjectOutput;
use crate::sources::{ObjectKind, SourceObject, VersionRoute};
use plan::{PartitionPlan, compaction_shard};

/// What to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only units committed at least this long ago (later ones may still be
    /// joined by late records of the same hours).
    pub older_than: Duration,
    /// Files are merged up to about this size; files of half of it or more
    /// are left as they are.
    pub target_bytes: u64,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            older_than: Duration::from_secs(3600),
            target_bytes: 128 << 20,
        }
    }
}

/// What a compaction run did. Its rows reconcile: every row read from a
/// merged file is in a new file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactSummary {
    /// Partitions committed.
    pub partitions: u64,
    /// Files merged.
    pub files_merged: u64,
    /// Their bytes.
    pub bytes_merged: u64,
    /// Files written.
    pub files_written: u64,
    /// Their bytes.
    pub bytes_written: u64,
    /// Records moved (read from the merged files and written to the new).
    pub rows: u64,
    /// Large files taken over as they are.
    pub files_adopted: u64,
    /// Ledger entries that gave up files.
    pub entries_released: u64,
    /// Unit entries with no file at all, archived.
    pub empty_entries: u64,
}

/// Why compaction stopped. What was committed before stays committed; the
/// partition in progress is not.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The commit failed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// Writing a staged file failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A file to merge is not readable Parquet of the lake's schema.
    #[error("{path}: cannot compact: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A ledger entry names a file that is not there.
    #[error("{path}: named by {entry} but missing")]
    Missing {
        /// The file.
        path: String,
        /// The entry.
        entry: String,
    },
    /// A ledger entry names a file outside the table's partitions.
    #[error("{entry} names {file}, which is not a data file of a partition")]
    NotData {
        /// The entry.
        entry: String,
        /// The file.
        file: String,
    },
    /// The rows written differ from the rows read (a flowlake bug).
    #[error(
        "{partition}: {read} rows read ({listed} per the ledger) but {written} written; nothing committed"
    )]
    Rows {
        /// The partition.
        partition: String,
        /// Rows read from the inputs.
        read: u64,
        /// Rows the ledger says they hold.
        listed: u64,
        /// Rows in the staged outputs.
        written: u64,
    },
    /// A worker thread died.
    #[error("compaction worker failed: {0}")]
    Join(String),
}

/// Compacts the lake (see the module docs). `now_ms` is the clock the
/// cutoff is taken from.
pub async fn compact(
    lake: &LakeStore,
    options: &CompactOptions,
    now_ms: i64,
) -> Result<CompactSummary, CompactError> {
    // A commit that failed after its commit point (a store error while
    // retiring) leaves its intent; planning around it would merge files it
    // already merged. Finish or undo it first.
    recover(lake).await?;
    let older = i64::try_from(options.older_than.as_millis()).unwrap_or(i64::MAX);
    let plan = plan::plan(lake, now_ms.saturating_sub(older), options.target_bytes).await?;
    let mut summary = CompactSummary::default();
    for entry in &plan.empty_entries {
        release_empty(lake, entry).await?;
        summary.empty_entries += 1;
    }
    for partition in &plan.partitions {
        commit_partition(lake, partition, &mut summary).await?;
    }
    Ok(summary)
}

async fn commit_partition(
    lake: &LakeStore,
    plan: &PartitionPlan,
    summary: &mut CompactSummary,
) -> Result<(), CompactError> {
    let inputs: Vec<&str> = plan
        .merge
        .iter()
        .flatten()
        .chain(&plan.adopt)
        .map(|c| c.file.path.as_str())
        .collect();
    if inputs.is_empty() {
        return Ok(());
    }
    let identity = format!(
        "compact:{}@{:016x}",
        plan.partition.path(),
        xxh3_64(inputs.join("\n").as_bytes())
    );
    let object = SourceObject {
        shard: compaction_shard(plan.partition),
        location: format!(
            "compaction of {} files in flows/{}",
            inputs.len(),
            plan.partition.path()
        ),
        version: "compaction".to_owned(),
        route: VersionRoute::Compaction,
        size: plan.merge.iter().flatten().map(|c| c.file.bytes).sum(),
        kind: ObjectKind::Parquet,
        time_hint_ms: Some(plan.partition.start_millis()),
        source: None,
        identity,
    };
    let key = source_key(&object.identity);
    let stem = file_stem(&key, &object.version_key());
    let staging = lake.staging_dir();
    let mut output = ObjectOutput {
        bytes_in: object.size,
        ..ObjectOutput::default()
    };
    let (mut read, mut listed) = (0, 0);
    for (part, group) in plan.merge.iter().enumerate() {
        let part = u32::try_from(part).unwrap_or(u32::MAX);
        let merged = merge::merge_group(
            lake,
            group,
            (&staging, &stem, part),
            plan.partition.start_millis(),
        )
        .await;
        let (files, rows) = match merged {
            Ok(done) => done,
            Err(e) => {
                output.discard();
                return Err(e);
            }
        };
        output.files.extend(files);
        read += rows;
        listed += group.iter().map(|c| c.file.rows).sum::<u64>();
    }
    output.parquet_rows = read;
    let written = output.rows_written();
    if read != written || read != listed {
        output.discard();
        return Err(CompactError::Rows {
            partition: plan.partition.path(),
            read,
            listed,
            written,
        });
    }
    let merged: Vec<String> = plan
        .merge
        .iter()
        .flatten()
        .map(|c| c.file.path.clone())
        .collect();
    let adopted: Vec<FileEntry> = plan.adopt.iter().map(|c| c.file.clone()).collect();
    let entries = plan.entries();
    let committed = commit_object(
        lake,
        CommitRequest {
            object: &object,
            source_key: &key,
            old_entries: &[],
            output: &output,
            cursors: &[],
            old_cursors: &[],
            streams: &[],
            takeover: Takeover {
                entries: &entries,
                retired: &merged,
                adopted: &adopted,
            },
        },
    )
    .await;
    match committed {
        Ok(CommitOutcome::Committed) => {}
        // The identity names its inputs, and the run holds the lock over a
        // recovered lake: only a writer that lost its lease gets here.
        Ok(CommitOutcome::AlreadyCommitted) => {
            return Err(CommitError::Conflict {
                path: object.location,
            }
            .into());
        }
        Err(e) => {
            output.discard();
            return Err(e.into());
        }
    }
    tracing::info!(
        partition = %plan.partition.path(),
        merged = merged.len(),
        adopted = adopted.len(),
        rows = written,
        entries = entries.len(),
        "Compacted a partition."
    );
    summary.partitions += 1;
    summary.files_merged += merged.len() as u64;
    summary.bytes_merged += object.size;
    summary.files_written += output.files.len() as u64;
    summary.bytes_written += output.files.iter().map(|f| f.bytes).sum::<u64>();
    summary.rows += written;
    summary.files_adopted += adopted.len() as u64;
    summary.entries_released += entries.len() as u64;
    Ok(())
}
