//! Retention: dropping whole hour partitions older than a cutoff, exactly
//! once, through the one commit protocol (`lake::commit`).
//!
//! A prune of one partition is a commit (`prune:<partition>`, ledger shard
//! `prune/<day>/<hour>`) that adds no file and retires every file of the
//! partition ([`Takeover::retired`]): its intent hides them from flowlake's
//! queries from its commit point on, then they are deleted and the entries
//! that named them are rewritten without them. An object's entry stays, with
//! its counts, even once it names no file, so a later run that lists the
//! object again knows it was ingested and does not bring it back; a unit's
//! is archived, as compaction does.
//!
//! Finding the entries costs one read of the whole ledger: prune runs
//! rarely (daily at most), and entries are not indexed by partition.
//!
//! Saved explanations (`reject_explanations/day=…`) are derived from the
//! flows they explain and not in the ledger: [`prune_explanations`] deletes
//! the object of every day that ended before the same cutoff, under the
//! explanations lock, once all of the day's hours are gone (the day the
//! cutoff falls in keeps its explanations until the next prune after it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use flowlake_schemas::explanations::{EXPLANATIONS_DIR, day_of_explanation_path};
use flowlake_schemas::lake::{LEDGER_DIR, Partition, TABLE_DIR, parse_ledger_path, source_key};
use futures::TryStreamExt;
use serde::Serialize;

use crate::lake::commit::read_entries;
use crate::lake::{
    CommitError, CommitOutcome, CommitRequest, LakeStore, StoreError, Takeover, commit_object,
};
use crate::process::ObjectOutput;
use crate::sources::{ObjectKind, SourceObject, VersionRoute};

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneSummary {
    /// Partitions dropped, oldest first (`day=…/hour=…`).
    pub partitions: Vec<String>,
    /// Data files deleted.
    pub files: u64,
    /// Records in them.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Days of saved explanations deleted, oldest first (`YYYY-MM-DD`).
    pub explanation_days: Vec<String>,
}

/// Why a prune stopped (partitions dropped before stay dropped).
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The commit failed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// A data file no ledger entry names (the lake is not at rest, or was
    /// written by something else): dropping it would not be recorded.
    #[error("{0}: no ledger entry names this file; run an ingest to recover the lake first")]
    Unowned(String),
}

/// Files of one partition and the entries naming them.
#[derive(Debug, Default)]
struct Doomed {
    files: BTreeSet<String>,
    entries: BTreeSet<String>,
    records: u64,
    bytes: u64,
}

/// Drops every partition whose hour ended at least `older_than` before
/// `now_ms`. Run with the lake's lock held and the lake recovered.
pub async fn prune(
    lake: &LakeStore,
    older_than: Duration,
    now_ms: i64,
) -> Result<PruneSummary, PruneError> {
    let cutoff = cutoff(older_than, now_ms);
    let old = |p: Partition| p.start_millis() + 3_600_000 <= cutoff;
    let mut doomed: BTreeMap<Partition, Doomed> = BTreeMap::new();
    for path in lake.list(&format!("{TABLE_DIR}/")).await? {
        if !path.ends_with(".parquet") {
            continue; // not table data (an editor's or a sync tool's file)
        }
        if let Some(p) = Partition::of_file(&path).filter(|p| old(*p)) {
            doomed.entry(p).or_default().files.insert(path);
        }
    }
    if doomed.is_empty() {
        return Ok(PruneSummary::default());
    }
    let entries: Vec<String> = lake
        .list(LEDGER_DIR)
        .await?
        .into_iter()
        .filter(|p| parse_ledger_path(p).is_some())
        .collect();
    let read = read_entries(lake, entries);
    futures::pin_mut!(read);
    let mut named = BTreeSet::new();
    while let Some((path, entry)) = read.try_next().await? {
        for file in entry.files {
            let Some(d) = Partition::of_file(&file.path).and_then(|p| doomed.get_mut(&p)) else {
                continue;
            };
            d.entries.insert(path.clone());
            d.records += file.rows;
            d.bytes += file.bytes;
            // Retired even if missing, so its entry stops naming it.
            d.files.insert(file.path.clone());
            named.insert(file.path);
        }
    }
    let mut summary = PruneSummary::default();
    for (partition, d) in doomed {
        if let Some(unowned) = d.files.iter().find(|f| !named.contains(*f)) {
            return Err(PruneError::Unowned(unowned.clone()));
        }
        commit_prune(lake, partition, &d).await?;
        summary.partitions.push(partition.path());
        summary.files += d.files.len() as u64;
        summary.records += d.records;
        summary.bytes += d.bytes;
    }
    Ok(summary)
}

/// The time before which data is dropped.
fn cutoff(older_than: Duration, now_ms: i64) -> i64 {
    let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(age)
}

/// Deletes the saved explanations of every UTC day that ended at least
/// `older_than` before `now_ms`, and returns those days, oldest first. Run
/// with the explanations lock held (`LockScope::Explanations`).
pub async fn prune_explanations(
    lake: &LakeStore,
    older_than: Duration,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let cutoff = cutoff(older_than, now_ms);
    let ended = |day: &str| {
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .is_some_and(|end| end.and_utc().timestamp_millis() <= cutoff)
    };
    let mut days = BTreeSet::new();
    for path in lake.list(&format!("{EXPLANATIONS_DIR}/")).await? {
        let Some(day) = day_of_explanation_path(&path).filter(|d| ended(d)) else {
            continue;
        };
        lake.delete(&path).await?;
        days.insert(day.to_owned());
    }
    Ok(days.into_iter().collect())
}

async fn commit_prune(
    lake: &LakeStore,
    partition: Partition,
    d: &Doomed,
) -> Result<(), PruneError> {
    let object = SourceObject {
        identity: format!("prune:{}", partition.path()),
        shard: format!("prune/{}/{}", partition.day(), partition.hour()),
        location: format!("retention of flows/{}", partition.path()),
        version: "prune".to_owned(),
        route: VersionRoute::Compaction,
        size: d.bytes,
        kind: ObjectKind::Parquet,
        time_hint_ms: Some(partition.start_millis()),
        source: None,
    };
    let files: Vec<String> = d.files.iter().cloned().collect();
    let entries: Vec<String> = d.entries.iter().cloned().collect();
    let committed = commit_object(
        lake,
        CommitRequest {
            object: &object,
            source_key: &source_key(&object.identity),
            old_entries: &[],
            output: &ObjectOutput::default(),
            cursors: &[],
            old_cursors: &[],
            streams: &[],
            takeover: Takeover {
                entries: &entries,
                retired: &files,
                adopted: &[],
            },
        },
    )
    .await?;
    if committed == CommitOutcome::AlreadyCommitted {
        // The same files (same size) were pruned before by a writer that
        // lost its lease; what it left is retired now.
        tracing::info!(partition = %partition.path(), "Pruned a partition again.");
    }
    Ok(())
}
