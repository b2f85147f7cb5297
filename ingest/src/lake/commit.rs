//! Making one object's output visible exactly once, and cleaning up after a
//! run that died half-way. The invariants are in `ledger.rs`; this file is
//! the protocol that keeps them:
//!
//! ```text
//! commit:  1 write pending intent (new files, old versions to retire)
//!          2 publish new files (rename / PUT; same names replace old ones)
//!          3 delete old versions' files that were not replaced
//!          4 write the quarantine file
//!          5 create the ledger entry (create-only: the commit point)
//!          6 delete old ledger entries, then the intent
//! recover: for each intent left by a dead run:
//!          entry committed → finish steps 3 and 6 (roll forward)
//!          otherwise       → delete everything the intent names, new and old,
//!                            and the old entries (roll back; the source is
//!                            then ingested again like a new one)
//! ```

use std::collections::BTreeSet;

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use flowlake_schemas::lake::{ledger_path, pending_path, quarantine_path};

use super::crashpoint::reached;
use super::ledger::{FileEntry, LedgerEntry, LedgerIndex, PendingIntent, StoredCounts};
use super::store::{Created, LakeStore, StoreError};
use crate::process::ObjectOutput;
use crate::sources::SourceObject;

/// Why a commit or recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A ledger or intent file is not what flowlake writes.
    #[error("{path}: unreadable ledger file: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// The parse error.
        message: String,
    },
}

fn to_json<T: serde::Serialize>(value: &T) -> Bytes {
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

/// Publishes one processed object and commits it. See the module docs.
pub async fn commit_object(
    lake: &LakeStore,
    object: &SourceObject,
    source_key: &str,
    version_key: &str,
    old_versions: &[String],
    output: &ObjectOutput,
) -> Result<CommitOutcome, CommitError> {
    let mut old_files = Vec::new();
    let mut old_quarantine = Vec::new();
    for old in old_versions {
        if let Some(entry) = read_json::<LedgerEntry>(lake, &ledger_path(source_key, old)).await? {
            old_files.extend(entry.files.into_iter().map(|f| f.path));
            old_quarantine.extend(entry.quarantine);
        }
    }
    let quarantine = output
        .quarantine
        .is_some()
        .then(|| quarantine_path(source_key, version_key));
    let new_files: Vec<String> = output.files.iter().map(|f| f.dest.clone()).collect();
    let intent = PendingIntent {
        identity: object.identity.clone(),
        version_key: version_key.to_owned(),
        new_files: new_files.clone(),
        quarantine: quarantine.clone(),
        old_versions: old_versions.to_vec(),
        old_files: old_files.clone(),
        old_quarantine: old_quarantine.clone(),
    };
    lake.put(&pending_path(source_key), to_json(&intent))
        .await?;
    reached("intent");

    for file in &output.files {
        lake.publish(&file.staged, &file.dest).await?;
        reached("publish");
    }
    let replaced: BTreeSet<&String> = new_files.iter().collect();
    for old in old_files.iter().filter(|f| !replaced.contains(f)) {
        lake.delete(old).await?;
        reached("delete-old");
    }
    for old in old_quarantine
        .iter()
        .filter(|q| Some(*q) != quarantine.as_ref())
    {
        lake.delete(old).await?;
    }
    if let (Some(path), Some(staged)) = (&quarantine, &output.quarantine) {
        lake.publish(&staged.staged, path).await?;
        reached("quarantine");
    }

    let entry = LedgerEntry {
        identity: object.identity.clone(),
        location: object.location.clone(),
        version: object.version.clone(),
        files: output
            .files
            .iter()
            .map(|f| FileEntry {
                path: f.dest.clone(),
                rows: f.rows,
                bytes: f.bytes,
            })
            .collect(),
        quarantine,
        counts: StoredCounts::new(output.counts, output.parquet_rows),
        bytes_in: output.bytes_in,
        committed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let created = lake
        .put_create(&ledger_path(source_key, version_key), to_json(&entry))
        .await?;
    reached("ledger");

    for old in old_versions {
        lake.delete(&ledger_path(source_key, old)).await?;
    }
    lake.delete(&pending_path(source_key)).await?;
    reached("cleanup");
    Ok(match created {
        Created::New => CommitOutcome::Committed,
        Created::AlreadyExists => CommitOutcome::AlreadyCommitted,
    })
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
pub async fn recover(lake: &LakeStore, index: &mut LedgerIndex) -> Result<Recovery, CommitError> {
    let mut recovery = Recovery::default();
    for source_key in index.pending.clone() {
        let path = pending_path(&source_key);
        let Some(intent) = read_json::<PendingIntent>(lake, &path).await? else {
            index.pending.remove(&source_key);
            continue;
        };
        let committed = index
            .committed
            .get(&source_key)
            .is_some_and(|v| v.contains(&intent.version_key));
        let keep: BTreeSet<&String> = if committed {
            intent.new_files.iter().chain(&intent.quarantine).collect()
        } else {
            BTreeSet::new()
        };
        let mut doomed: Vec<&String> = intent
            .old_files
            .iter()
            .chain(&intent.old_quarantine)
            .collect();
        if !committed {
            doomed.extend(intent.new_files.iter().chain(&intent.quarantine));
        }
        for file in doomed.into_iter().filter(|f| !keep.contains(f)) {
            lake.delete(file).await?;
        }
        for old in &intent.old_versions {
            lake.delete(&ledger_path(&source_key, old)).await?;
        }
        let versions = index.committed.entry(source_key.clone()).or_default();
        versions.retain(|v| committed && *v == intent.version_key);
        if versions.is_empty() {
            index.committed.remove(&source_key);
        }
        lake.delete(&path).await?;
        index.pending.remove(&source_key);
        if committed {
            recovery.rolled_forward += 1;
        } else {
            recovery.rolled_back += 1;
        }
        tracing::info!(source = %intent.identity, committed, "Recovered an interrupted ingest.");
    }
    Ok(recovery)
}

/// Reads a committed ledger entry.
pub async fn read_entry(
    lake: &LakeStore,
    source_key: &str,
    version_key: &str,
) -> Result<Option<LedgerEntry>, CommitError> {
    read_json(lake, &ledger_path(source_key, version_key)).await
}
