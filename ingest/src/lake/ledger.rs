//! The ledger: which version of which source object is in the lake, and
//! which files hold its records.
//!
//! ```text
//! _flowlake/ledger/<shard>/<source-key>.<version-key>.json   create-only: the commit point
//! _flowlake/pending/<source-key>.json                        a commit in progress (PendingIntent)
//! ```
//!
//! # Invariants
//! 1. A ledger entry exists only after every file it names is published and
//!    its quarantine written: it is created last, create-only.
//! 2. File names carry the version (`lake::file_stem`), so publishing one
//!    version never overwrites the files of another.
//! 3. While a pending intent stands for a source, it decides what counts:
//!    before its entry exists the new version's files are not committed
//!    (readers hide them, recovery deletes them, and the old version stays
//!    committed and visible); once it exists the old versions' files and
//!    entries are retired (readers hide them, recovery deletes them).
//! 4. At rest (no intents) every file under `flows/` is named by exactly
//!    one ledger entry, and each source has at most one entry.
//! 5. Compaction (`crate::compact`) moves files of units from their entries
//!    to its own through the same protocol: its intent retires the merged
//!    files once its entry exists, and the entries that named them are then
//!    rewritten without them (archived to `_flowlake/absorbed/` with their
//!    counts once they name no file), so 4 holds again at rest.
//! 6. All entries of a source live in the one shard its source names
//!    (`SourceObject::shard`), so a run reads only the shards of the objects
//!    it lists: the cost of a run follows what it lists, not the lake's age.
//! 7. Every data file `flows/<p>/<name>` has one companion per rollup table,
//!    `<table>/<p>/<name>` (`flowlake_schemas::rollup`), summing exactly its
//!    records. Entries name only data files; intents name the companions
//!    beside them, so companions are published, hidden, recovered and
//!    retired with their data file, and at rest the files of each rollup
//!    table are exactly the companions of the files under `flows/`.
//!
//! Together these give exactly-once: a re-run skips committed versions, a
//! crashed run's partial output is removed and redone, a replaced object's
//! old records stay until the new ones are committed, and a retry of the
//! same version overwrites rather than duplicates.

use std::collections::{BTreeMap, BTreeSet};

use flowlake_schemas::LineCounts;
use flowlake_schemas::lake::{
    LEDGER_DIR, PENDING_DIR, ledger_path, ledger_shard_dir, parse_ledger_path,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::store::{LakeStore, StoreError};
use crate::sources::SourceObject;

/// A published file and what is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the lake root.
    pub path: String,
    /// Records in the file.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// Line counts as stored in the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCounts {
    /// Lines that became records.
    pub records: u64,
    /// Lines quarantined.
    pub rejected: u64,
    /// Header lines.
    pub headers: u64,
    /// Blank lines.
    pub blank: u64,
    /// Rows read from Parquet input.
    pub parquet_rows: u64,
}

impl StoredCounts {
    /// From the decoder's counts plus Parquet rows.
    pub fn new(lines: LineCounts, parquet_rows: u64) -> StoredCounts {
        StoredCounts {
            records: lines.records,
            rejected: lines.rejected,
            headers: lines.headers,
            blank: lines.blank,
            parquet_rows,
        }
    }
}

/// One committed source object version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The source's stable identity.
    pub identity: String,
    /// Where it was read from.
    pub location: String,
    /// The version ingested (ETag; mtime), as the source reported it.
    pub version: String,
    /// Its ledger key (see `SourceObject::version_key`).
    pub version_key: String,
    /// Size of the object as stored, in bytes.
    pub size: u64,
    /// The files holding its records.
    pub files: Vec<FileEntry>,
    /// Its quarantine file, if any line was rejected.
    pub quarantine: Option<String>,
    /// What its lines turned out to be.
    pub counts: StoredCounts,
    /// Bytes read.
    pub bytes_in: u64,
    /// When it was committed (RFC 3339, UTC).
    pub committed_at: String,
    /// For a unit of an append-only source: the streams it read, and how far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamRange>,
}

/// The part of one stream that a unit of an append-only source read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    /// The stream's name (a log stream).
    pub stream: String,
    /// Events with timestamps from here (UTC ms) ...
    pub from_ms: i64,
    /// ... to before here were read.
    pub until_ms: i64,
    /// Events written to the lake from it (new, not skipped as already read).
    pub events: u64,
}

pub use flowlake_schemas::lake::PendingIntent;

/// Shards beyond which one listing of the whole ledger is cheaper than one
/// listing per shard (a LIST returns up to 1,000 keys a request).
const WHOLE_LEDGER_SHARDS: usize = 64;

/// Parallel shard listings.
const LIST_CONCURRENCY: usize = 16;

/// What the ledger says of a listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// This version (or the same AWS delivery by another route) is committed.
    Done,
    /// Not committed; these entries (paths) hold earlier versions, to retire.
    Todo {
        /// Ledger paths of the versions it replaces (empty for a new object).
        old_entries: Vec<String>,
    },
}

/// The committed versions of the sources in the shards a run lists.
#[derive(Debug, Default, Clone)]
pub struct LedgerIndex {
    /// Committed version keys per (shard, source key).
    committed: BTreeMap<(String, String), BTreeSet<String>>,
}

impl LedgerIndex {
    /// Lists the given shards (or the whole ledger, when that takes fewer requests).
    pub async fn load(
        lake: &LakeStore,
        shards: &BTreeSet<String>,
    ) -> Result<LedgerIndex, StoreError> {
        let mut index = LedgerIndex::default();
        let listings: Vec<Vec<String>> = if shards.len() > WHOLE_LEDGER_SHARDS {
            vec![lake.list(LEDGER_DIR).await?]
        } else {
            futures::stream::iter(shards.iter().map(|s| ledger_shard_dir(s)))
                .map(|dir| async move { lake.list(&dir).await })
                .buffer_unordered(LIST_CONCURRENCY)
                .try_collect()
                .await?
        };
        for path in listings.iter().flatten() {
            if let Some((shard, source, version)) = parse_ledger_path(path) {
                index.insert(shard, source, version);
            }
        }
        Ok(index)
    }

    /// Records a committed version.
    pub fn insert(&mut self, shard: &str, source_key: &str, version_key: &str) {
        self.committed
            .entry((shard.to_owned(), source_key.to_owned()))
            .or_default()
            .insert(version_key.to_owned());
    }

    /// Whether `object` (whose source key is `source_key`) needs ingesting,
    /// and which committed versions it would replace.
    pub fn lookup(&self, object: &SourceObject, source_key: &str) -> Lookup {
        let version_key = object.version_key();
        let Some(versions) = self
            .committed
            .get(&(object.shard.clone(), source_key.to_owned()))
        else {
            return Lookup::Todo {
                old_entries: Vec::new(),
            };
        };
        if versions.contains(&version_key) || versions.iter().any(|v| object.same_delivery(v)) {
            return Lookup::Done;
        }
        Lookup::Todo {
            old_entries: versions
                .iter()
                .map(|v| ledger_path(&object.shard, source_key, v))
                .collect(),
        }
    }

    /// Number of committed source objects in the listed shards.
    pub fn len(&self) -> usize {
        self.committed.len()
    }

    /// True when nothing is committed in the listed shards.
    pub fn is_empty(&self) -> bool {
        self.committed.is_empty()
    }
}

/// Source keys with a pending intent.
pub async fn pending_sources(lake: &LakeStore) -> Result<Vec<String>, StoreError> {
    Ok(lake
        .list(PENDING_DIR)
        .await?
        .iter()
        .filter_map(|path| path.rsplit('/').next()?.strip_suffix(".json"))
        .map(str::to_owned)
        .collect())
}
