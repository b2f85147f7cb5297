//! The ledger: which version of which source object is in the lake, and
//! which files hold its records.
//!
//! # Invariants
//! 1. A ledger entry `_flowlake/ledger/<source>/<version>.json` exists only
//!    after every file it names is published (it is written last, create-only).
//! 2. While a pending intent `_flowlake/pending/<source>.json` exists, the
//!    source counts as not ingested, whatever the ledger says; the next run
//!    rolls the intent back (or forward, if its entry was committed) before
//!    doing anything else.
//! 3. At rest (no pending intents) every file under `flows/` is named by
//!    exactly one ledger entry, and each source has at most one entry.
//!
//! Together these give exactly-once: a re-run skips committed sources, a
//! crashed run's partial output is removed and redone, and file names are
//! derived from the source so redoing overwrites rather than duplicates.

use std::collections::{BTreeMap, BTreeSet};

use flowlake_schemas::LineCounts;
use flowlake_schemas::lake::{LEDGER_DIR, PENDING_DIR};
use serde::{Deserialize, Serialize};

use super::store::{LakeStore, StoreError};

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
    /// The version ingested (ETag; size and mtime).
    pub version: String,
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
}

/// The intent of an ingest in progress, written before any file is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    /// The source's stable identity.
    pub identity: String,
    /// The version being ingested, as its ledger key.
    pub version_key: String,
    /// Files about to be published.
    pub new_files: Vec<String>,
    /// The quarantine file about to be written, if any.
    pub quarantine: Option<String>,
    /// Ledger entries (version keys) of earlier versions, to retire.
    pub old_versions: Vec<String>,
    /// Files of earlier versions, to delete.
    pub old_files: Vec<String>,
    /// Quarantine files of earlier versions, to delete.
    pub old_quarantine: Vec<String>,
}

/// What the ledger holds, as listed at the start of a run (keys only: no
/// entry is read until it is needed).
#[derive(Debug, Default, Clone)]
pub struct LedgerIndex {
    /// Committed version keys per source key.
    pub committed: BTreeMap<String, BTreeSet<String>>,
    /// Source keys with a pending intent.
    pub pending: BTreeSet<String>,
}

impl LedgerIndex {
    /// Lists the ledger and pending folders.
    pub async fn load(lake: &LakeStore) -> Result<LedgerIndex, StoreError> {
        let mut index = LedgerIndex::default();
        for path in lake.list(LEDGER_DIR).await? {
            let Some(rest) = path
                .strip_prefix(LEDGER_DIR)
                .map(|r| r.trim_start_matches('/'))
            else {
                continue;
            };
            if let Some((source, version)) = rest.split_once('/')
                && let Some(version) = version.strip_suffix(".json")
            {
                index
                    .committed
                    .entry(source.to_owned())
                    .or_default()
                    .insert(version.to_owned());
            }
        }
        for path in lake.list(PENDING_DIR).await? {
            if let Some(name) = path.rsplit('/').next()
                && let Some(source) = name.strip_suffix(".json")
            {
                index.pending.insert(source.to_owned());
            }
        }
        Ok(index)
    }

    /// True when this version of this source is committed and not pending.
    pub fn is_done(&self, source_key: &str, version_key: &str) -> bool {
        !self.pending.contains(source_key)
            && self
                .committed
                .get(source_key)
                .is_some_and(|v| v.contains(version_key))
    }

    /// Committed versions of a source other than `version_key`.
    pub fn other_versions(&self, source_key: &str, version_key: &str) -> Vec<String> {
        self.committed
            .get(source_key)
            .map(|v| v.iter().filter(|k| *k != version_key).cloned().collect())
            .unwrap_or_default()
    }

    /// Number of committed source objects.
    pub fn len(&self) -> usize {
        self.committed.len()
    }

    /// True when nothing is committed.
    pub fn is_empty(&self) -> bool {
        self.committed.is_empty()
    }
}
