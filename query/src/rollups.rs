//! Whether a question may be answered from the per-hour rollup tables
//! instead of `flows` (see `flowlake_schemas::rollup`), and why not.
//!
//! A rollup gives exactly the answer `flows` gives when two things hold:
//! the window is whole hours (a rollup row covers an hour), and every data
//! file in the window has its companion in every rollup table. Files
//! written before flowlake wrote rollups have none; rather than answer
//! from part of the data, the question then goes to `flows`. The check
//! lists the window's folders of each table through the session's store
//! (so uncommitted files are left out as in every query) and compares the
//! file names, which companions share with their data file.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::prelude::SessionContext;
use flowlake_schemas::lake::TABLE_DIR;
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
    /// The coverage check's answer, once made: a session's window and lake
    /// do not change, and a dashboard asks once per page and per dashboard.
    covered: Mutex<Option<Source>>,
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
            covered: Mutex::new(None),
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

/// Whether this session's questions may read the rollup tables.
pub async fn rollup_source(ctx: &SessionContext) -> Result<Source, QueryError> {
    let Some(listing) = ctx.state().config().get_extension::<TableListing>() else {
        return flows("reads flows: the session has no lake listing".to_owned());
    };
    if !listing.enabled.load(Ordering::Relaxed) {
        return flows("reads flows: rollups turned off (--no-rollups)".to_owned());
    }
    let cached = listing.covered.lock().ok().and_then(|c| c.clone());
    if let Some(source) = cached {
        return Ok(source);
    }
    let source = check_coverage(&listing).await?;
    if let Ok(mut covered) = listing.covered.lock() {
        *covered = Some(source.clone());
    }
    Ok(source)
}

/// Whether the window is whole hours and every data file in it has its
/// companions: the listings behind [`rollup_source`].
async fn check_coverage(listing: &TableListing) -> Result<Source, QueryError> {
    if !listing.range.is_hour_aligned() {
        return flows(
            "reads flows: the window does not start and end on whole hours, and rollups sum whole hours"
                .to_owned(),
        );
    }
    let data = listing.files(TABLE_DIR).await?;
    let mut names = Vec::new();
    for (dir, _) in listing.tables.iter().filter(|(d, _)| d != TABLE_DIR) {
        let companions = listing.files(dir).await?;
        let missing = data.iter().filter(|f| !companions.contains(*f)).count();
        if missing > 0 {
            return flows(format!(
                "reads flows: {missing} of {} data files in the window have no {dir} companion (written before flowlake wrote rollups)",
                data.len()
            ));
        }
        names.push(dir.as_str());
    }
    Ok(Source {
        rollups: true,
        why: format!(
            "reads the per-hour rollups ({}): all {} data files in the window are summarised there",
            names.join(", "),
            data.len()
        ),
    })
}
