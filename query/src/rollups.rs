//! Whether a question may be answered from the per-hour rollup tables
//! instead of `flows` (see `flowlake_schemas::rollup`), and why not.
//!
//! A rollup gives exactly the answer `flows` gives when two things hold:
//! the window is whole hours (a rollup row covers an hour), and every data
//! file in the window has its companion in each rollup table the question
//! reads. Files written before flowlake wrote a table have none there;
//! rather than answer from part of the data, such a question goes to
//! `flows`, while questions over the tables those files do have still
//! read the rollups. The check
//! lists the window's folders of each table through the session's store
//! (so uncommitted files are left out as in every query) and compares the
//! file names, which companions share with their data file.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::prelude::SessionContext;
use flowlake_schemas::lake::TABLE_DIR;
use flowlake_schemas::rollup::ROLLUPS;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use crate::QueryError;
use crate::session::TimeRange;

/// What a session needs to decide: its store, its tables' folders and its
/// window. Kept as a session extension by `open_session`.
#[derive(Debug)]
pub struct TableListing {
    store: Arc<dyn ObjectStore>,
    tables: Vec<(String, Path)>,
    range: TimeRange,
    enabled: AtomicBool,
    /// Each rollup table's coverage, once checked: a session's window and
    /// lake do not change, and a dashboard asks once per panel.
    covered: Mutex<HashMap<String, Coverage>>,
    /// The window's data files, listed once for all tables.
    data: Mutex<Option<Arc<HashSet<String>>>>,
}

impl TableListing {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        tables: Vec<(String, Path)>,
        range: TimeRange,
    ) -> TableListing {
        TableListing {
            store,
            tables,
            range,
            enabled: AtomicBool::new(true),
            covered: Mutex::new(HashMap::new()),
            data: Mutex::new(None),
        }
    }

    /// The Parquet files of table folder `dir` in the window, by their
    /// path inside the folder.
    async fn files(&self, dir: &str) -> Result<HashSet<String>, QueryError> {
        let Some((_, path)) = self.tables.iter().find(|(d, _)| d == dir) else {
            return Ok(HashSet::new());
        };
        let prefix = format!("{path}/");
        let metas: Vec<_> = self
            .store
            .list(Some(path))
            .try_collect()
            .await
            .map_err(|e| QueryError::Lake(format!("listing {dir}/: {e}")))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let location = m.location.to_string();
                let rest = location.strip_prefix(&prefix)?;
                rest.ends_with(".parquet").then(|| rest.to_owned())
            })
            .collect())
    }
}

/// Where a question was answered from, and why, for `--explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Whether the rollup tables may be used.
    pub rollups: bool,
    /// One line saying why (or why not).
    pub why: String,
}

/// The answer "read flows", and why.
fn flows(why: String) -> Result<Source, QueryError> {
    Ok(Source {
        rollups: false,
        why,
    })
}

/// Makes [`rollup_source`] answer `flows` for this session (`--no-rollups`).
pub fn disable_rollups(ctx: &SessionContext) {
    if let Some(listing) = ctx.state().config().get_extension::<TableListing>() {
        listing.enabled.store(false, Ordering::Relaxed);
    }
}

/// Whether `sql`, a question written over rollup tables, may be answered
/// by this session: the window must be whole hours and every data file in
/// it must have its companion in each rollup table `sql` names. Only the
/// tables the question reads are checked, so a lake written before a table
/// existed still answers from the tables it has.
pub async fn rollup_source(ctx: &SessionContext, sql: &str) -> Result<Source, QueryError> {
    let Some(listing) = ctx.state().config().get_extension::<TableListing>() else {
        return flows("reads flows: the session has no lake listing".to_owned());
    };
    if !listing.enabled.load(Ordering::Relaxed) {
        return flows("reads flows: rollups turned off (--no-rollups)".to_owned());
    }
    if !listing.range.is_hour_aligned() {
        return flows(
            "reads flows: the window does not start and end on whole hours, and rollups sum whole hours"
                .to_owned(),
        );
    }
    let tables = tables_read(ctx, sql)?;
    if tables.is_empty() {
        return flows("reads flows: the question reads no rollup table".to_owned());
    }
    let mut files = 0;
    for table in &tables {
        let Coverage {
            missing,
            data_files,
        } = listing.coverage(table).await?;
        if missing > 0 {
            return flows(format!(
                "reads flows: {missing} of {data_files} data files in the window have no {table} companion (written before flowlake wrote that table)"
            ));
        }
        files = data_files;
    }
    Ok(Source {
        rollups: true,
        why: format!(
            "reads the per-hour rollups ({}): all {files} data files in the window are summarised there",
            tables.join(", "),
        ),
    })
}

/// The rollup tables `sql` reads, in [`ROLLUPS`] order, as DataFusion's
/// parser resolves its table references (so names in comments, strings or
/// CTEs do not count).
fn tables_read(ctx: &SessionContext, sql: &str) -> Result<Vec<&'static str>, QueryError> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    let names: HashSet<String> = state
        .resolve_table_references(&statement)?
        .iter()
        .map(|r| r.table().to_owned())
        .collect();
    Ok(ROLLUPS
        .iter()
        .map(|t| t.name)
        .filter(|name| names.contains(*name))
        .collect())
}

/// How far one rollup table summarises the window's data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Coverage {
    /// Data files without a companion in the table.
    missing: usize,
    /// Data files in the window.
    data_files: usize,
}

impl TableListing {
    /// [`Coverage`] of rollup table `table`, listed once per session.
    async fn coverage(&self, table: &str) -> Result<Coverage, QueryError> {
        if let Some(known) = self.covered.lock().ok().and_then(|c| c.get(table).copied()) {
            return Ok(known);
        }
        let data = self.data_files().await?;
        let companions = self.files(table).await?;
        let coverage = Coverage {
            missing: data.iter().filter(|f| !companions.contains(*f)).count(),
            data_files: data.len(),
        };
        if let Ok(mut covered) = self.covered.lock() {
            covered.insert(table.to_owned(), coverage);
        }
        Ok(coverage)
    }

    /// The window's `flows` files, listed on first use.
    async fn data_files(&self) -> Result<Arc<HashSet<String>>, QueryError> {
        if let Some(data) = self.data.lock().ok().and_then(|d| d.clone()) {
            return Ok(data);
        }
        let data = Arc::new(self.files(TABLE_DIR).await?);
        if let Ok(mut cached) = self.data.lock() {
            *cached = Some(data.clone());
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_the_tables_a_question_reads() {
        let ctx = SessionContext::new();
        assert_eq!(
            tables_read(
                &ctx,
                "SELECT srcaddr FROM sources_hourly JOIN traffic_hourly USING (hour_start)"
            )
            .unwrap(),
            vec!["traffic_hourly", "sources_hourly"]
        );
        let unrelated = "-- not talkers_hourly\nWITH ports_hourly AS (SELECT 1 AS x)\n\
                         SELECT 'talkers_hourly' FROM my_talkers_hourly, ports_hourly";
        assert!(tables_read(&ctx, unrelated).unwrap().is_empty());
    }
}
