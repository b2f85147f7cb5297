//! A DataFusion session over the lake: table `flows` (Hive-partitioned
//! Parquet, pruned by `day`/`hour`), the rollups, table `quarantine`
//! (rejected lines), `reject_explanations` once `flowlake explain --save`
//! wrote it (pruned by `day`), and flowlake's SQL functions.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use flowlake_schemas::explanations::{EXPLANATIONS_DIR, explanations_schema};
use flowlake_schemas::lake::{QUARANTINE_DIR, TABLE_DIR};
use flowlake_schemas::rollup::{HOUR_START, ROLLUPS};
use flowlake_schemas::schema::{DAY, HOUR, START_TIME, file_schema};
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use url::Url;

use crate::QueryError;
use crate::committed::{CommittedOnly, uncommitted};
use crate::memory::{MemorySettings, runtime};
use crate::rollups::TableListing;
use crate::udf::register_functions;
use crate::window::window_folders;

/// Where the lake is, as the query engine reaches it.
#[derive(Debug, Clone)]
pub enum LakeLocation {
    /// A local folder.
    Local(PathBuf),
    /// An object store prefix, e.g. `s3://bucket/lake`, with its client.
    Remote {
        /// `s3://bucket/prefix`.
        url: String,
        /// A client rooted at the bucket.
        store: Arc<dyn ObjectStore>,
    },
}

impl LakeLocation {
    pub(crate) fn table_url(&self, dir: &str) -> Result<String, QueryError> {
        match self {
            LakeLocation::Local(root) => {
                let path = root.join(dir);
                std::fs::create_dir_all(&path)
                    .map_err(|e| QueryError::Lake(format!("{}: {e}", path.display())))?;
                let path = path
                    .canonicalize()
                    .map_err(|e| QueryError::Lake(format!("{}: {e}", path.display())))?;
                Ok(Url::from_directory_path(&path)
                    .map_err(|()| QueryError::Lake(path.display().to_string()))?
                    .to_string())
            }
            LakeLocation::Remote { url, .. } => Ok(format!("{}/{dir}/", url.trim_end_matches('/'))),
        }
    }
}

impl LakeLocation {
    /// The store holding the lake, the URL it is registered under, and the
    /// lake root's path inside it.
    fn store(&self) -> Result<(Url, Arc<dyn ObjectStore>, StorePath), QueryError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| QueryError::Lake(format!("{what}: {e}"));
        match self {
            LakeLocation::Local(root) => {
                std::fs::create_dir_all(root).map_err(|e| bad(&root.display().to_string(), &e))?;
                let root = root
                    .canonicalize()
                    .map_err(|e| bad(&root.display().to_string(), &e))?;
                let path = StorePath::from_filesystem_path(&root)
                    .map_err(|e| bad(&root.display().to_string(), &e))?;
                let url = Url::parse("file://").map_err(|e| bad("file://", &e))?;
                Ok((url, Arc::new(LocalFileSystem::new()), path))
            }
            LakeLocation::Remote { url, store } => {
                let parsed = Url::parse(url).map_err(|e| bad(url, &e))?;
                let root = Url::parse(&format!(
                    "{}://{}",
                    parsed.scheme(),
                    parsed.host_str().unwrap_or_default()
                ))
                .map_err(|e| bad(url, &e))?;
                let prefix = StorePath::from(parsed.path().trim_matches('/'));
                Ok((root, store.clone(), prefix))
            }
        }
    }
}

/// A time window on `start_time`, applied to `flows` with partition pruning.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// The SQL condition on `flows`, or `None` for all time. Compares the
    /// partition columns too, so whole days and hours outside the window are
    /// never read.
    pub fn condition(&self) -> Option<String> {
        self.condition_on(START_TIME)
    }

    /// The same window on the time column `time` of any table partitioned
    /// like `flows` (a rollup's `hour_start`).
    pub fn condition_on(&self, time: &str) -> Option<String> {
        let bound = |t: DateTime<Utc>, after: bool| {
            let (day, hour) = (t.format("%Y-%m-%d"), t.format("%H"));
            let (strict, hour_op, time_op) = if after {
                (">", ">=", ">=")
            } else {
                ("<", "<=", "<")
            };
            format!(
                "({DAY} {strict} '{day}' OR ({DAY} = '{day}' AND {HOUR} {hour_op} '{hour}')) AND {time} {time_op} TIMESTAMP '{}'",
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            )
        };
        self.bounds(bound)
    }

    /// The same window on a table partitioned by `day` alone whose time
    /// column `time` holds Unix seconds (`reject_explanations."start"`).
    pub fn condition_on_day_seconds(&self, time: &str) -> Option<String> {
        let bound = |t: DateTime<Utc>, after: bool| {
            let (day, millis) = (t.format("%Y-%m-%d"), t.timestamp_millis());
            if after {
                format!("{DAY} >= '{day}' AND {time} * 1000 >= {millis}")
            } else {
                format!("{DAY} <= '{day}' AND {time} * 1000 < {millis}")
            }
        };
        self.bounds(bound)
    }

    /// `bound(t, is_from)` for each end given, joined by AND; `None` for all time.
    fn bounds(&self, bound: impl Fn(DateTime<Utc>, bool) -> String) -> Option<String> {
        let parts: Vec<String> = [
            self.from.map(|t| bound(t, true)),
            self.to.map(|t| bound(t, false)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }

    /// Whether both ends (where given) fall on whole hours, so that a
    /// rollup's hours select exactly the records `flows` selects.
    pub fn is_hour_aligned(&self) -> bool {
        [self.from, self.to]
            .into_iter()
            .flatten()
            .all(|t| t.timestamp_millis().rem_euclid(3_600_000) == 0)
    }
}

/// The partition columns of `flows` and the rollups.
const DAY_HOUR: &[&str] = &[DAY, HOUR];

/// Registers the Hive-partitioned Parquet folder `dir` (partitioned by the
/// text columns `partitions`) as table `name`, as a view through
/// `condition` (the session's window) when there is one.
async fn register_partitioned(
    ctx: &SessionContext,
    lake: &LakeLocation,
    (dir, partitions): (&str, &[&str]),
    name: &str,
    schema: SchemaRef,
    condition: Option<String>,
) -> Result<(), QueryError> {
    let url = ListingTableUrl::parse(lake.table_url(dir)?)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(
            partitions
                .iter()
                .map(|p| ((*p).to_owned(), DataType::Utf8))
                .collect(),
        );
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    let table = Arc::new(ListingTable::try_new(config)?);
    match condition {
        None => {
            ctx.register_table(name, table)?;
        }
        Some(condition) => {
            ctx.register_table(format!("{name}_unfiltered"), table)?;
            ctx.sql(&format!(
                "CREATE VIEW {name} AS SELECT * FROM {name}_unfiltered WHERE {condition}"
            ))
            .await?;
        }
    }
    Ok(())
}

/// Opens a session with `flows`, the rollup tables, `quarantine`, the saved
/// explanations (when there are any) and the functions registered,
/// its operators held to `memory` (spilling to disk beyond it).
pub async fn open_session(
    lake: &LakeLocation,
    range: &TimeRange,
    threads: usize,
    memory: &MemorySettings,
) -> Result<SessionContext, QueryError> {
    let (store_url, store, root) = lake.store()?;
    let hidden = uncommitted(store.as_ref(), &root).await?;
    let folders = window_folders(range.from, range.to);
    let table_path =
        |dir: &str| StorePath::from_iter(root.parts().chain(StorePath::from(dir).parts()));
    let explanations = table_path(EXPLANATIONS_DIR);
    let has_explanations = has_files(store.as_ref(), &explanations).await?;
    let tables: Vec<(String, StorePath)> = std::iter::once(TABLE_DIR)
        .chain(ROLLUPS.iter().map(|t| t.name))
        .map(|dir| (dir.to_owned(), table_path(dir)))
        .collect();
    let mut view = CommittedOnly::new(store, hidden);
    if let Some(folders) = &folders {
        for (_, path) in &tables {
            view = view.with_window(path.clone(), folders);
        }
        // The same window's folders, as days: the table has no hours.
        let mut days: Vec<String> = folders
            .iter()
            .filter_map(|f| f.split('/').next().map(str::to_owned))
            .collect();
        days.dedup();
        view = view.with_window(explanations, &days);
    }
    let view = Arc::new(view);
    let listing = TableListing::new(view.clone(), tables, *range);
    let config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_information_schema(true)
        .with_extension(Arc::new(listing));
    let ctx = SessionContext::new_with_config_rt(config, runtime(memory)?);
    ctx.register_object_store(&store_url, view);
    register_functions(&ctx);

    let flows = range.condition();
    register_partitioned(
        &ctx,
        lake,
        (TABLE_DIR, DAY_HOUR),
        "flows",
        file_schema(),
        flows,
    )
    .await?;
    for table in ROLLUPS {
        let condition = range.condition_on(HOUR_START);
        register_partitioned(
            &ctx,
            lake,
            (table.name, DAY_HOUR),
            table.name,
            table.schema(),
            condition,
        )
        .await?;
    }
    // Written by `flowlake explain --save`; absent until the first save.
    if has_explanations {
        register_partitioned(
            &ctx,
            lake,
            (EXPLANATIONS_DIR, &[DAY]),
            EXPLANATIONS_DIR,
            explanations_schema(),
            range.condition_on_day_seconds("\"start\""),
        )
        .await?;
    }

    let quarantine_url = ListingTableUrl::parse(lake.table_url(QUARANTINE_DIR)?)?;
    let options =
        ListingOptions::new(Arc::new(JsonFormat::default())).with_file_extension(".jsonl");
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, true),
        Field::new("identity", DataType::Utf8, true),
        Field::new("line", DataType::Int64, true),
        Field::new("kind", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, true),
        Field::new("raw", DataType::Utf8, true),
        Field::new("log_group", DataType::Utf8, true),
        Field::new("log_stream", DataType::Utf8, true),
    ]));
    let config = ListingTableConfig::new(quarantine_url)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table("quarantine", Arc::new(ListingTable::try_new(config)?))?;
    crate::context::register(&ctx, lake).await?;
    Ok(ctx)
}

/// Whether the folder `dir` of `store` holds any file (a missing folder
/// holds none): checked before registering an optional table, because
/// registering a local folder creates it.
async fn has_files(store: &dyn ObjectStore, dir: &StorePath) -> Result<bool, QueryError> {
    match store.list(Some(dir)).next().await {
        None | Some(Err(object_store::Error::NotFound { .. })) => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(e)) => Err(QueryError::Lake(format!("listing {dir}: {e}"))),
    }
}
