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

/// Parses the files (nothing is written if one is unreadable), stores them
/// as one snapshot and rebuilds the tables.
pub async fn import(
    lake: &LakeStore,
    capture: &Capture,
    source: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Result<ImportSummary, StoreFailure> {
    let mut content = SnapshotContent::default();
    for (name, bytes) in &files {
        content.add_file(name, bytes)?;
    }
    content.settle_prefix_list_versions();
    let mut ids: Vec<String> = files.iter().map(|(_, b)| digest(b)).collect();
    ids.sort();
    let id = digest(
        format!(
            "{}|{}|{}|{source}|{}",
            capture.captured_at,
            capture.account,
            capture.region,
            ids.join(",")
        )
        .as_bytes(),
    );
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
    ] {
        if n > 0 {
            objects.insert(kind.to_owned(), n);
        }
    }
    let warnings = content.warnings.clone();
    let capture = capture.clone();
    let source = source.to_owned();
    with_lock(lake, LockScope::Inventory, move |lake| async move {
        let mut raw = Vec::new();
        for (i, (name, bytes)) in files.into_iter().enumerate() {
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
            id: id.clone(),
            captured_at: capture.captured_at,
            account: capture.account.clone(),
            region: capture.region.clone(),
            source: source.clone(),
            files: raw,
        };
        let meta_path = format!("{SNAPSHOTS_DIR}/{:012}-{id}.json", capture.captured_at);
        let bytes = Bytes::from(serde_json::to_vec_pretty(&meta).unwrap_or_default());
        let new = lake.put_create(&meta_path, bytes).await? == Created::New;
        let tables = rebuild_tables(&lake).await?;
        Ok(ImportSummary {
            snapshot_id: id,
            new,
            objects,
            warnings,
            tables,
        })
    })
    .await
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
