//! The inventory in the lake, through the lake's own atomic writes:
//!
//! ```text
//! inventory/raw/<snapshot>/<n>-<file>.json   the files as imported (re-derivable)
//! inventory/snapshots/<captured>-<id>.json   metadata; created last: the commit point
//! inventory/tables/<table>/part-0.parquet    flat tables, rebuilt from every snapshot
//! ```
//!
//! Invariants: a snapshot is visible once its metadata file exists, and
//! every raw file it names exists by then; the tables are derived and can
//! always be rebuilt from the raw files (`rebuild_tables`); imports hold
//! the inventory lock, so two never rebuild at once.

use bytes::Bytes;
use flowlake_ingest::LakeStore;
use flowlake_ingest::lake::lock::{LockScope, with_lock};
use flowlake_ingest::lake::{Created, LockError, StoreError};
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};

use crate::inventory::{Inventory, RawFile, Snapshot};
use crate::parse::{ParseError, SnapshotContent};
use crate::tables;

/// Where the inventory lives in the lake.
pub const INVENTORY_DIR: &str = "inventory";
/// Snapshot metadata files.
pub const SNAPSHOTS_DIR: &str = "inventory/snapshots";
/// The flat tables, one folder each.
pub const TABLES_DIR: &str = "inventory/tables";

/// Why an import or a load failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The inventory lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A file is not inventory JSON.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A metadata file is not what flowlake writes.
    #[error("{0}: unreadable snapshot metadata: {1}")]
    Corrupt(String, String),
    /// Building or writing a table.
    #[error("table {0}: {1}")]
    Table(&'static str, String),
}

/// Capture metadata the CLI output does not carry (§1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// Capture time, Unix seconds.
    pub captured_at: i64,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
}

/// What one import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The snapshot's id.
    pub snapshot_id: String,
    /// False when the same files were imported before.
    pub new: bool,
    /// Objects read, by kind.
    pub objects: std::collections::BTreeMap<String, usize>,
    /// Files skipped or incomplete.
    pub warnings: Vec<String>,
    /// Rows written per table.
    pub tables: std::collections::BTreeMap<String, usize>,
}

fn digest(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One snapshot to import: its capture, the files that hold it, what they
/// say, and what identifies its content, so that importing it again (the
/// same files, or the same Config items reached through another envelope)
/// is a no-op.
#[derive(Debug, Clone)]
pub struct SnapshotInput {
    /// When, which account and region.
    pub capture: Capture,
    /// `cli` (describe-* listings) or `config` (AWS Config changes).
    pub source: &'static str,
    /// Each file's name and bytes, kept as the raw JSON.
    pub files: Vec<(String, Vec<u8>)>,
    /// What the files say, read once where the snapshot is built.
    pub content: SnapshotContent,
    /// What the snapshot id is derived from, beside the capture.
    pub identity: Vec<String>,
}

impl SnapshotInput {
    /// describe-* output, read and identified by its files' digests. Config
    /// items are refused: they carry their own times, which the capture
    /// metadata given for describe-* output would misplace.
    pub fn cli(
        capture: Capture,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<SnapshotInput, ParseError> {
        let mut content = SnapshotContent::default();
        for (name, bytes) in &files {
            content.add_file(name, bytes)?;
            if !content.changes.is_empty() || content.skipped_items > 0 {
                return Err(ParseError {
                    file: name.clone(),
                    message: "holds AWS Config configuration items: import it with `flowlake inventory import-config`".to_owned(),
                });
            }
        }
        content.settle_prefix_list_versions();
        let mut identity: Vec<String> = files.iter().map(|(_, b)| digest(b)).collect();
        identity.sort();
        Ok(SnapshotInput {
            capture,
            source: "cli",
            files,
            content,
            identity,
        })
    }

    fn id(&self) -> String {
        let c = &self.capture;
        digest(
            format!(
                "{}|{}|{}|{}|{}",
                c.captured_at,
                c.account,
                c.region,
                self.source,
                self.identity.join(",")
            )
            .as_bytes(),
        )
    }
}

/// Stores the snapshots not already in the lake and rebuilds the tables
/// once.
pub async fn import_all(
    lake: &LakeStore,
    inputs: Vec<SnapshotInput>,
) -> Result<Vec<ImportSummary>, StoreFailure> {
    with_lock(lake, LockScope::Inventory, move |lake| async move {
        let mut summaries = Vec::with_capacity(inputs.len());
        for input in inputs {
            summaries.push(store_snapshot(&lake, input).await?);
        }
        let tables = rebuild_tables(&lake).await?;
        for s in &mut summaries {
            s.tables = tables.clone();
        }
        Ok(summaries)
    })
    .await
}

/// Writes one snapshot's raw files, then its metadata (the commit point);
/// a snapshot already committed is left as it is.
async fn store_snapshot(
    lake: &LakeStore,
    input: SnapshotInput,
) -> Result<ImportSummary, StoreFailure> {
    let id = input.id();
    let capture = input.capture;
    let meta_path = format!("{SNAPSHOTS_DIR}/{:012}-{id}.json", capture.captured_at);
    let mut summary = ImportSummary {
        snapshot_id: id.clone(),
        new: false,
        objects: object_counts(&input.content),
        warnings: input.content.warnings,
        tables: Default::default(),
    };
    if lake.get(&meta_path).await?.is_some() {
        return Ok(summary);
    }
    let mut raw = Vec::new();
    for (i, (name, bytes)) in input.files.into_iter().enumerate() {
        let path = format!("{INVENTORY_DIR}/raw/{id}/{i:03}-{}", safe_name(&name));
        let file_digest = digest(&bytes);
        lake.put(&path, Bytes::from(bytes)).await?;
        raw.push(RawFile {
            name,
            path,
            digest: file_digest,
        });
    }
    let meta = Snapshot {
        id,
        captured_at: capture.captured_at,
        account: capture.account,
        region: capture.region,
        source: input.source.to_owned(),
        files: raw,
    };
    let bytes = Bytes::from(serde_json::to_vec_pretty(&meta).unwrap_or_default());
    summary.new = lake.put_create(&meta_path, bytes).await? == Created::New;
    Ok(summary)
}

fn object_counts(content: &SnapshotContent) -> std::collections::BTreeMap<String, usize> {
    let mut objects = std::collections::BTreeMap::new();
    for (kind, n) in [
        ("network_interfaces", content.enis.len()),
        ("security_groups", content.groups.len()),
        ("network_acls", content.acls.len()),
        ("subnets", content.subnets.len()),
        ("route_tables", content.route_tables.len()),
        ("prefix_lists", content.prefix_lists.len()),
        ("prefix_list_entries", content.prefix_list_entries.len()),
        ("bpa_exclusions", content.bpa_exclusions.len()),
        ("deleted", deletions(content)),
    ] {
        if n > 0 {
            objects.insert(kind.to_owned(), n);
        }
    }
    objects
}

fn deletions(content: &SnapshotContent) -> usize {
    content
        .changes
        .values()
        .filter(|c| c.kind == crate::parse::config::ChangeKind::Deleted)
        .count()
}

/// Every snapshot in the lake with what its raw files say.
pub async fn load_snapshots(
    lake: &LakeStore,
) -> Result<Vec<(Snapshot, SnapshotContent)>, StoreFailure> {
    let mut out = Vec::new();
    for path in lake.list(SNAPSHOTS_DIR).await? {
        if !path.ends_with(".json") {
            continue;
        }
        let Some(bytes) = lake.get(&path).await? else {
            continue;
        };
        let meta: Snapshot = serde_json::from_slice(&bytes)
            .map_err(|e| StoreFailure::Corrupt(path.clone(), e.to_string()))?;
        let mut content = SnapshotContent::default();
        for file in &meta.files {
            let bytes = lake
                .get(&file.path)
                .await?
                .ok_or_else(|| StoreFailure::Corrupt(file.path.clone(), "missing".to_owned()))?;
            content.add_file(&file.name, &bytes)?;
        }
        content.settle_prefix_list_versions();
        out.push((meta, content));
    }
    Ok(out)
}

/// The inventory over time, from the lake (empty when none was imported).
pub async fn load(lake: &LakeStore) -> Result<Inventory, StoreFailure> {
    Ok(Inventory::build(load_snapshots(lake).await?))
}

/// Rewrites every table from the snapshots; returns rows per table.
pub async fn rebuild_tables(
    lake: &LakeStore,
) -> Result<std::collections::BTreeMap<String, usize>, StoreFailure> {
    let inventory = load(lake).await?;
    let built =
        tables::build(&inventory).map_err(|e| StoreFailure::Table("inventory", e.to_string()))?;
    let mut rows = std::collections::BTreeMap::new();
    for table in built {
        let staged = write_parquet(lake, &table)?;
        lake.publish(
            &staged,
            &format!("{TABLES_DIR}/{}/part-0.parquet", table.name),
        )
        .await?;
        rows.insert(table.name.to_owned(), table.batch.num_rows());
    }
    Ok(rows)
}

fn write_parquet(
    lake: &LakeStore,
    table: &tables::Table,
) -> Result<std::path::PathBuf, StoreFailure> {
    let fail = |e: &dyn std::fmt::Display| StoreFailure::Table(table.name, e.to_string());
    let dir = lake.staging_dir();
    let file = tempfile::Builder::new()
        .prefix("inventory-")
        .suffix(".parquet")
        .tempfile_in(&dir)
        .map_err(|e| fail(&e))?;
    let mut writer = ArrowWriter::try_new(
        file.as_file().try_clone().map_err(|e| fail(&e))?,
        table.batch.schema(),
        Some(flowlake_ingest::encode::lake_properties().build()),
    )
    .map_err(|e| fail(&e))?;
    writer.write(&table.batch).map_err(|e| fail(&e))?;
    // Made durable by the publish that follows.
    writer.close().map_err(|e| fail(&e))?;
    let (_, path) = file.keep().map_err(|e| fail(&e.error))?;
    Ok(path)
}
