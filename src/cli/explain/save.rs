//! `explain --save`: the explanations into the lake as the table
//! `reject_explanations`, one object per UTC day of the records' start
//! (`flowlake_schemas::explanations`).
//!
//! Each day's object is replaced whole by the lake store's publish (local:
//! rename; S3: one PUT or a multipart upload, which completes atomically),
//! so a reader sees a day's old rows or its new ones, and a re-run is
//! idempotent without a manifest: a day's object is a function of that
//! day's flows and the inventory. What follows from that:
//!
//! - The window is widened to whole UTC days ([`whole_days`]): a window that
//!   cut a day would replace the whole day with part of it. For the same
//!   reason `--where` is refused ([`check_args`]).
//! - `--silent-drops` is refused too: those are ACCEPTed records, not
//!   REJECTs, and do not belong in this table (nor does the spec define one
//!   for them); `explain --silent-drops --format parquet` writes them to a
//!   file.
//! - The query orders by start, so days arrive in order: one day is staged
//!   at a time (one Parquet writer, a batch at a time) in the staging
//!   folder's `explanations/` and published when the next day begins.
//! - A day in the window (every day, without a window) that holds an object
//!   but has no REJECTs now ends with **no object**: it is deleted, rather
//!   than replaced by an empty file, so that "no object" means "no REJECTs"
//!   whatever the day's history (a deterministic function again), and
//!   quiet days cost readers no file to open.
//! - Every row carries `explained_at`, the run's time: records ingested for
//!   a day after its save are not in the table until the next save.
//! - Saves hold the explanations lock (`LockScope::Explanations`), so two
//!   never interleave their days; an ingest or an inventory import may run
//!   beside a save (each day then reflects what the query read).
//!
//! A crash leaves every day either as it was or replaced, and perhaps
//! stale days not yet deleted; the next save finishes the job.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, DurationRound, Utc};
use flowlake_context::explain::{Explainer, Explanation};
use flowlake_ingest::LakeStore;
use flowlake_ingest::encode::lake_properties;
use flowlake_ingest::lake::lock::{LockScope, with_lock};
use flowlake_query::{SessionContext, TimeRange, batch_stream};
use flowlake_schemas::explanations::{
    EXPLANATIONS_DIR, day_of_explanation_path, explanation_day, explanation_day_path,
    explanations_schema,
};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use super::columns::ExplanationColumns;
use super::records::{Record, records};

/// Rows per row group: bounds what the writer buffers before it encodes.
const ROW_GROUP_ROWS: usize = 65_536;

/// Refuses the flags a save cannot honour, with the reason.
pub(super) fn check_args(filter: Option<&str>, silent_drops: bool) -> anyhow::Result<()> {
    if filter.is_some() {
        bail!(
            "--where cannot be used with --save: a save replaces each day's explanations \
             whole, so a filtered save would drop the rest of the day; save without --where \
             and filter when reading (flowlake sql \"SELECT ... FROM reject_explanations WHERE ...\")"
        );
    }
    if silent_drops {
        bail!(
            "--silent-drops cannot be used with --save: silent drops are accepted records, \
             not REJECTs, and are not part of reject_explanations; write them to a file with \
             --format parquet --output FILE"
        );
    }
    Ok(())
}

/// The window widened to whole UTC days, saying so when that changes it.
pub(super) fn whole_days(range: TimeRange) -> TimeRange {
    let day = Duration::days(1);
    let floor = |t: DateTime<Utc>| t.duration_trunc(day).unwrap_or(t);
    let ceil = |t: DateTime<Utc>| {
        let f = floor(t);
        if f == t { t } else { f + day }
    };
    let wide = TimeRange {
        from: range.from.map(floor),
        to: range.to.map(ceil),
    };
    if (wide.from, wide.to) != (range.from, range.to) {
        let show = |t: Option<DateTime<Utc>>| t.map_or("(open)".to_owned(), |t| t.to_rfc3339());
        tracing::warn!(
            from = %show(wide.from),
            to = %show(wide.to),
            "--save widened --from/--to to whole UTC days: each day's explanations are replaced whole."
        );
    }
    wide
}

/// What a save did.
#[derive(Debug, Default)]
pub(super) struct Saved {
    /// Rows written per day.
    pub(super) days: BTreeMap<String, u64>,
    /// Days whose earlier object was deleted (no REJECTs now).
    pub(super) emptied: Vec<String>,
    /// REJECTs without a start time: no day to file them under.
    pub(super) undated: u64,
}

impl Saved {
    /// One line for standard output.
    pub(super) fn render(&self) -> String {
        let rows: u64 = self.days.values().sum();
        let days: Vec<String> = self.days.iter().map(|(d, n)| format!("{d}: {n}")).collect();
        let mut line = format!(
            "{EXPLANATIONS_DIR}: {rows} rows in {} days ({}); {} days emptied",
            self.days.len(),
            days.join(", "),
            self.emptied.len()
        );
        if self.undated > 0 {
            line.push_str(&format!(
                "; {} REJECTs without a start time not saved",
                self.undated
            ));
        }
        line
    }
}

/// Runs `sql` (the REJECT query over the widened `range`) and saves every
/// record's explanation, day by day, under the explanations lock.
pub(super) async fn save(
    lake: &LakeStore,
    ctx: &SessionContext,
    sql: &str,
    explainer: &mut Explainer<'_>,
    range: TimeRange,
    run_at: String,
) -> anyhow::Result<Saved> {
    with_lock(lake, LockScope::Explanations, |lake| async move {
        let staging = lake.staging_dir().join("explanations");
        // Only a dead save leaves files here, and saves hold the lock.
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("creating {}", staging.display()))?;
        let mut days = DayWriter {
            lake: &lake,
            staging,
            columns: ExplanationColumns::new(run_at),
            open: None,
            saved: Saved::default(),
        };
        let (_, mut batches) = batch_stream(ctx, sql).await?;
        while let Some(batch) = batches.next().await {
            for r in records(&batch?)? {
                let Some(day) = r.start.and_then(explanation_day) else {
                    days.saved.undated += 1;
                    continue;
                };
                let e = explainer.explain(&r.input);
                days.push(day, &r, &e).await?;
            }
            days.end_batch()?;
        }
        days.close().await?;
        let mut saved = days.saved;
        if saved.undated > 0 {
            tracing::warn!(
                records = saved.undated,
                "REJECTs without a start time are in no day and were not saved."
            );
        }
        saved.emptied = clear_other_objects(&lake, &range, &saved.days).await?;
        Ok(saved)
    })
    .await
}

/// Deletes every object in the window's days (every day, without a
/// window) that this save did not write: the objects of days that have no
/// REJECTs now, and any stray file beside a day's own object. Returns the
/// days left without an object.
async fn clear_other_objects(
    lake: &LakeStore,
    range: &TimeRange,
    written: &BTreeMap<String, u64>,
) -> anyhow::Result<Vec<String>> {
    let day_of = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let (from, to) = (range.from.map(day_of), range.to.map(day_of));
    let in_window = |day: &str| {
        from.as_deref().is_none_or(|f| day >= f) && to.as_deref().is_none_or(|t| day < t)
    };
    let mut emptied = Vec::new();
    for path in lake.list(EXPLANATIONS_DIR).await? {
        let Some(day) = day_of_explanation_path(&path) else {
            continue;
        };
        let ours = written.contains_key(day) && path == explanation_day_path(day);
        if in_window(day) && !ours {
            lake.delete(&path).await?;
            if !written.contains_key(day) {
                tracing::info!(
                    day,
                    "Deleted the saved explanations of a day without REJECTs now."
                );
                emptied.push(day.to_owned());
            }
        }
    }
    emptied.dedup();
    Ok(emptied)
}

/// The day being written: its staged file and writer.
struct OpenDay {
    day: String,
    staged: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

/// Writes days one after another: rows go to the open day's writer a batch
/// at a time, and a day is published when the next begins.
struct DayWriter<'a> {
    lake: &'a LakeStore,
    staging: PathBuf,
    columns: ExplanationColumns,
    open: Option<OpenDay>,
    saved: Saved,
}

impl DayWriter<'_> {
    async fn push(&mut self, day: String, r: &Record, e: &Explanation) -> anyhow::Result<()> {
        if self.open.as_ref().is_none_or(|o| o.day != day) {
            self.close().await?;
            if self.saved.days.contains_key(&day) {
                // Publishing it again would replace the rows written first.
                bail!("the explain query returned day {day} twice (its rows are not in order)");
            }
            self.open = Some(start_day(&self.staging, day)?);
        }
        self.columns.push(r, e)?;
        if let Some(open) = &mut self.open {
            open.rows += 1;
        }
        Ok(())
    }

    /// Hands the rows built so far to the open day's writer.
    fn end_batch(&mut self) -> anyhow::Result<()> {
        if let Some(open) = &mut self.open
            && self.columns.rows > 0
        {
            open.writer.write(&self.columns.finish()?)?;
        }
        Ok(())
    }

    /// Finishes the open day's file and publishes it over the day's object.
    async fn close(&mut self) -> anyhow::Result<()> {
        self.end_batch()?;
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        // Flushed only: publish makes the staged file durable (local) or
        // uploads it (S3).
        drop(open.writer.into_inner()?);
        let dest = explanation_day_path(&open.day);
        self.lake.publish(&open.staged, &dest).await?;
        tracing::info!(day = %open.day, rows = open.rows, "Saved a day of explanations.");
        flowlake_ingest::lake::crashpoint::reached("explain-day-saved");
        self.saved.days.insert(open.day, open.rows);
        Ok(())
    }
}

/// A new staged file for `day` in `staging`, with its writer.
fn start_day(staging: &Path, day: String) -> anyhow::Result<OpenDay> {
    let file = tempfile::Builder::new()
        .prefix(&format!("{day}-"))
        .suffix(".parquet")
        .tempfile_in(staging)
        .with_context(|| format!("staging in {}", staging.display()))?;
    let (file, staged) = file.keep().map_err(|e| e.error)?;
    let props = lake_properties()
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let writer = ArrowWriter::try_new(file, explanations_schema(), Some(props))?;
    Ok(OpenDay {
        day,
        staged,
        writer,
        rows: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn windows_widen_to_whole_days_and_whole_days_stay() {
        let cut = TimeRange {
            from: at("2026-11-20T10:00:00Z"),
            to: at("2026-11-20T10:10:00Z"),
        };
        let wide = whole_days(cut);
        assert_eq!(wide.from, at("2026-11-20T00:00:00Z"));
        assert_eq!(wide.to, at("2026-11-21T00:00:00Z"));
        let again = whole_days(wide);
        assert_eq!((again.from, again.to), (wide.from, wide.to));
        let open = whole_days(TimeRange {
            from: None,
            to: at("2026-11-21T00:00:00.5Z"),
        });
        assert_eq!((open.from, open.to), (None, at("2026-11-22T00:00:00Z")));
    }
}
