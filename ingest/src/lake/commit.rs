//! Making one object's output visible exactly once, and cleaning up after a
//! run that died half-way. The invariants are in `ledger.rs`; this file is
//! the protocol that keeps them:
//!
//! ```text
//! commit:  1 write the pending intent (new files, old versions to retire)
//!          2 publish the new files (names carry the version: no old file is touched)
//!          3 write the quarantine file, and the new cursors (append-only sources)
//!          4 create the ledger entry (create-only: the commit point)
//!          5 retire: delete old versions' files, quarantine and superseded
//!            cursors, then their entries; compaction: rewrite the entries
//!            whose files it took over without them (archived once empty)
//!          6 delete the intent
//! recover: for each intent left by a dead run:
//!          entry exists → finish steps 5 and 6 (roll forward)
//!          otherwise    → delete the new files and quarantine only (roll back);
//!                         the old version stays committed and visible, and the
//!                         changed object is ingested again like any other
//! ```
//!
//! A reader that goes through flowlake applies the same rule to an intent it
//! finds (`PendingIntent::hidden`), so it counts only committed records at
//! every instant of this protocol.

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use flowlake_schemas::lake::{absorbed_path, ledger_path, pending_path, quarantine_path};
use flowlake_schemas::rollup::with_companions;

use super::crashpoint::reached;
use super::ledger::{
    FileEntry, LedgerEntry, PendingIntent, StoredCounts, StreamRange, pending_sources,
};
use super::store::{Created, LakeStore, StoreError};
use crate::process::ObjectOutput;
use crate::sources::{SourceObject, VersionRoute};

/// Why a commit or recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another writer committed the same unit first (only possible when the
    /// lease was lost): this run's output is not what that entry names.
    #[error("{path}: already committed by another writer")]
    Conflict {
        /// The ledger entry.
        path: String,
    },
    /// A ledger or intent file is not what flowlake writes.
    #[error("{path}: unreadable ledger file: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// The parse error.
        message: String,
    },
}

/// A lake metadata file's bytes (plain structs of strings and numbers).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Bytes {
    // Serialising plain structs of strings and numbers cannot fail.
    Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_default())
}

async fn read_json<T: serde::de::DeserializeOwned>(
    lake: &LakeStore,
    path: &str,
) -> Result<Option<T>, CommitError> {
    match lake.get(path).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CommitError::Corrupt {
                path: path.to_owned(),
                message: e.to_string(),
            }),
    }
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// This run committed it.
    Committed,
    /// Someone else committed the same version first; our identical files
    /// replaced theirs.
    AlreadyCommitted,
}

/// What to commit: one processed version of one source object.
#[derive(Debug)]
pub struct CommitRequest<'a> {
    /// The object as listed.
    pub object: &'a SourceObject,
    /// Its source key (`lake::source_key` of the identity).
    pub source_key: &'a str,
    /// Ledger paths of the versions it replaces.
    pub old_entries: &'a [String],
    /// The staged output.
    pub output: &'a ObjectOutput,
    /// Append-only sources: the cursors this commit advances, as (path,
    /// contents), and the cursor files they supersede. Empty for objects.
    pub cursors: &'a [(String, Bytes)],
    /// See `cursors`.
    pub old_cursors: &'a [String],
    /// Append-only sources: what each stream read contributed, for the entry.
    pub streams: &'a [StreamRange],
    /// Compaction: committed files this commit takes over. Empty otherwise.
    pub takeover: Takeover<'a>,
}

/// Files of committed entries that a compaction or prune commit takes over:
/// merged into its new files, named by its entry as they are, or dropped.
/// After the commit point the entries are rewritten without them, so at rest
/// every data file is still named by exactly one entry. An entry left with
/// no file: a unit's is archived to `_flowlake/absorbed/` (its cursors say
/// what was read), a compaction's is deleted, and an object's stays, empty,
/// so the object is not ingested again.
#[derive(Debug, Default, Clone, Copy)]
pub struct Takeover<'a> {
    /// Ledger paths of the entries the files belong to.
    pub entries: &'a [String],
    /// Files merged into the new files (compaction) or dropped (prune):
    /// hidden once committed, then deleted.
    pub retired: &'a [String],
    /// Files the new entry names as they are (already large enough).
    pub adopted: &'a [FileEntry],
}

/// Publishes one processed object and commits it. See the module docs.
pub async fn commit_object(
    lake: &LakeStore,
    request: CommitRequest<'_>,
) -> Result<CommitOutcome, CommitError> {
    let CommitRequest {
        object,
        source_key,
        old_entries,
        output,
        cursors,
        old_cursors,
        streams,
        takeover,
    } = request;
    let version_key = object.version_key();
    // Files go with their rollup companions: published, hidden and deleted
    // together (see `flowlake_schemas::rollup`).
    let mut old_files = takeover.retired.to_vec();
    let mut old_quarantine = Vec::new();
    for old in old_entries {
        if let Some(entry) = read_json::<LedgerEntry>(lake, old).await? {
            old_files.extend(entry.files.into_iter().map(|f| f.path));
            old_quarantine.extend(entry.quarantine);
        }
    }
    let quarantine = output
        .quarantine
        .is_some()
        .then(|| quarantine_path(source_key, &version_key));
    let ledger = ledger_path(&object.shard, source_key, &version_key);
    let intent = PendingIntent {
        identity: object.identity.clone(),
        version_key: version_key.clone(),
        ledger: ledger.clone(),
        new_files: output
            .files
            .iter()
            .flat_map(|f| f.companions.iter().chain(std::iter::once(f)))
            .map(|f| f.dest.clone())
            .collect(),
        quarantine: quarantine.clone(),
        old_entries: old_entries.to_vec(),
        old_files: with_companions(&old_files),
        old_quarantine,
        cursors: cursors.iter().map(|(path, _)| path.clone()).collect(),
        old_cursors: old_cursors.to_vec(),
        moved_from: takeover.entries.to_vec(),
    };
    let pending = pending_path(source_key);
    lake.put(&pending, to_json(&intent)).await?;
    reached("intent");

    for file in &output.files {
        // Companions first: a data file an outside engine can see has them.
        for companion in &file.companions {
            lake.publish(&companion.staged, &companion.dest).await?;
        }
        lake.publish(&file.staged, &file.dest).await?;
        reached("publish");
    }
    if let (Some(path), Some(staged)) = (&quarantine, &output.quarantine) {
        lake.publish(&staged.staged, path).await?;
        reached("quarantine");
    }
    for (path, bytes) in cursors {
        lake.put(path, bytes.clone()).await?;
        reached("cursor");
    }

    let entry = LedgerEntry {
        identity: object.identity.clone(),
        location: object.location.clone(),
        version: object.version.clone(),
        version_key,
        size: object.size,
        files: output
            .files
            .iter()
            .map(|f| FileEntry {
                path: f.dest.clone(),
                rows: f.rows,
                bytes: f.bytes,
            })
            .chain(takeover.adopted.iter().cloned())
            .collect(),
        quarantine,
        counts: StoredCounts::new(output.counts, output.parquet_rows),
        bytes_in: output.bytes_in,
        committed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        streams: streams.to_vec(),
    };
    let created = lake.put_create(&ledger, to_json(&entry)).await?;
    reached("ledger");

    retire(lake, &intent).await?;
    lake.delete(&pending).await?;
    reached("cleanup");
    Ok(match created {
        Created::New => CommitOutcome::Committed,
        Created::AlreadyExists => CommitOutcome::AlreadyCommitted,
    })
}

/// Step 5: deletes what the committed intent supersedes, files before
/// entries, so a crash here leaves the intent to finish the job.
async fn retire(lake: &LakeStore, intent: &PendingIntent) -> Result<(), CommitError> {
    for file in intent.hidden(true) {
        lake.delete(file).await?;
        reached("retire");
    }
    for old in intent.old_entries.iter().filter(|e| **e != intent.ledger) {
        lake.delete(old).await?;
        reached("retire");
    }
    if !intent.moved_from.is_empty() {
        let taken: Vec<String> = match read_json::<LedgerEntry>(lake, &intent.ledger).await? {
            Some(entry) => entry.files.into_iter().map(|f| f.path).collect(),
            None => Vec::new(),
        };
        for path in &intent.moved_from {
            let gone = |file: &str| intent.old_files.iter().chain(&taken).any(|f| f == file);
            release_files(lake, path, gone).await?;
            reached("retire");
        }
    }
    Ok(())
}

/// Archives the unit entry at `path` out of the ledger if it names no file
/// (a read that found nothing new). Nothing counted changes, so no intent is
/// needed: a crash leaves it in the ledger, or archived, or both (the next
/// run archives it again).
pub(crate) async fn release_empty(lake: &LakeStore, path: &str) -> Result<(), CommitError> {
    release_files(lake, path, |_| false).await
}

/// Rewrites the entry at `path` without the files `gone` says were taken
/// over; an entry left with no file is released as [`Takeover`] says.
/// Idempotent, so recovery can run it again.
async fn release_files(
    lake: &LakeStore,
    path: &str,
    gone: impl Fn(&str) -> bool,
) -> Result<(), CommitError> {
    let Some(mut entry) = read_json::<LedgerEntry>(lake, path).await? else {
        return Ok(());
    };
    let before = entry.files.len();
    entry.files.retain(|f| !gone(&f.path));
    let changed = entry.files.len() != before;
    let route = |r: VersionRoute| entry.version_key.starts_with(r.tag());
    if !entry.files.is_empty() || !(route(VersionRoute::Unit) || route(VersionRoute::Compaction)) {
        if changed {
            lake.put(path, to_json(&entry)).await?;
        }
        return Ok(());
    }
    if route(VersionRoute::Unit) {
        lake.put(&absorbed_path(path), to_json(&entry)).await?;
    }
    lake.delete(path).await?;
    Ok(())
}

/// What recovery found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Intents whose entry was committed: cleanup finished.
    pub rolled_forward: u64,
    /// Intents not committed: their output removed, to be ingested again.
    pub rolled_back: u64,
}

/// Resolves every pending intent left by a run that died. Run with the lake
/// lock held, before listing what is done.
pub async fn recover(lake: &LakeStore) -> Result<Recovery, CommitError> {
    let mut recovery = Recovery::default();
    for source_key in pending_sources(lake).await? {
        let path = pending_path(&source_key);
        let Some(intent) = read_json::<PendingIntent>(lake, &path).await? else {
            continue;
        };
        let committed = lake.get(&intent.ledger).await?.is_some();
        if committed {
            retire(lake, &intent).await?;
            recovery.rolled_forward += 1;
        } else {
            for file in intent.hidden(false) {
                lake.delete(file).await?;
            }
            recovery.rolled_back += 1;
        }
        lake.delete(&path).await?;
        reached("recover");
        tracing::info!(source = %intent.identity, committed, "Recovered an interrupted ingest.");
    }
    Ok(recovery)
}

/// Ledger reads in flight in [`read_entries`].
const READ_CONCURRENCY: usize = 16;

/// The entries at `paths`, read several at a time, in order; an entry gone
/// since it was listed is left out.
pub fn read_entries(
    lake: &LakeStore,
    paths: Vec<String>,
) -> impl futures::Stream<Item = Result<(String, LedgerEntry), CommitError>> + '_ {
    use futures::StreamExt;
    futures::stream::iter(paths)
        .map(move |path| async move { Ok(read_entry(lake, &path).await?.map(|e| (path, e))) })
        .buffered(READ_CONCURRENCY)
        .filter_map(|read: Result<Option<(String, LedgerEntry)>, CommitError>| async move {
            read.transpose()
        })
}

/// Reads a committed ledger entry by its path.
pub async fn read_entry(
    lake: &LakeStore,
    ledger: &str,
) -> Result<Option<LedgerEntry>, CommitError> {
    read_json(lake, ledger).await
}
