//! Running a dashboard's panels against a session: the time window and its
//! step, then each panel's SQL through the read-only guard, into rows of
//! cells the renderer draws.

use std::time::{Duration, Instant};

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, Utc};
use flowlake_query::{SessionContext, rollup_source, run_read_only};

use crate::DashboardError;
use crate::definition::{Chart, Dashboard, Panel};

/// The time a page covers and the step of its time series.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Inclusive start (the lake's first record when not given).
    pub from: DateTime<Utc>,
    /// Exclusive end (just past the lake's last record when not given).
    pub to: DateTime<Utc>,
    /// Time-series step in seconds.
    pub bucket_seconds: i64,
}

/// About this many points per time series: enough to see a spike, few
/// enough that a month of data draws in a handful of SVG paths.
const TARGET_POINTS: i64 = 150;

/// Steps a series may use: flow logs aggregate over 1 or 10 minutes, so
/// nothing finer than a minute.
const STEPS: &[i64] = &[
    60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 604_800,
];

impl Window {
    /// A window from `from` to `to` with a step that gives about
    /// [`TARGET_POINTS`] points.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Window {
        let span = (to - from).num_seconds().max(60);
        let wanted = span / TARGET_POINTS;
        let bucket_seconds = STEPS
            .iter()
            .copied()
            .find(|s| *s >= wanted)
            .unwrap_or(604_800);
        Window {
            from,
            to,
            bucket_seconds,
        }
    }

    /// Whether `panel` may read rollups in this window: a time series only
    /// if its step is whole hours (a rollup row is one hour).
    fn whole_hours(&self, panel: &Panel) -> bool {
        panel.chart != Chart::Timeseries || self.bucket_seconds % 3_600 == 0
    }

    /// Fills in what the user left open from the lake's first and last
    /// record (`None` when the window holds no records at all).
    pub async fn resolve(
        ctx: &SessionContext,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Option<Window>, DashboardError> {
        if let (Some(from), Some(to)) = (from, to) {
            return Ok(Some(Window::new(from, to)));
        }
        // The rollups know the first and last start of every hour: a
        // month's bounds from thousands of rows instead of every record.
        let from_rollup = "SELECT MIN(first_start), MAX(last_start) FROM traffic_hourly";
        let covered = rollup_source(ctx, from_rollup)
            .await
            .is_ok_and(|s| s.rollups);
        let sql = if covered {
            from_rollup
        } else {
            "SELECT MIN(start_time), MAX(start_time) FROM flows"
        };
        let rows = query_rows(ctx, sql).await.map_err(DashboardError::Lake)?;
        let (first, last) = match rows.rows.first().map(Vec::as_slice) {
            Some([Cell::Time(first), Cell::Time(last)]) => (*first, *last),
            _ => return Ok(None),
        };
        let from = from.unwrap_or(first);
        let to = to.unwrap_or(last + chrono::Duration::seconds(1));
        Ok(Some(Window::new(from, to.max(from))))
    }
}

/// One value of a result, as the renderer needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A number, and its exact text (integers past 2^53 stay exact there).
    Number(f64, String),
    /// A point in time (UTC).
    Time(DateTime<Utc>),
    /// Anything else, as text.
    Text(String),
}

/// A panel's result: column names and rows.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// The rows; each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// A panel after it ran: its rows, or the error to show in its place.
#[derive(Debug)]
pub struct PanelResult {
    /// The panel.
    pub panel: Panel,
    /// Rows, or why there are none.
    pub outcome: Result<Rows, String>,
    /// How long its query took.
    pub elapsed: Duration,
    /// The SQL that ran, placeholders filled.
    pub sql: String,
    /// Whether it read the per-hour rollups (else `flows`).
    pub from_rollups: bool,
}

/// A dashboard after its panels ran.
#[derive(Debug)]
pub struct DashboardResult {
    /// The definition.
    pub dashboard: Dashboard,
    /// One result per panel, in order.
    pub panels: Vec<PanelResult>,
}

/// Runs every panel of `dashboard` in `window`, one after another (each
/// query already uses every core). A failing panel shows its error; the
/// others still draw.
pub async fn run_dashboard(
    ctx: &SessionContext,
    dashboard: &Dashboard,
    window: &Window,
) -> DashboardResult {
    let mut panels = Vec::with_capacity(dashboard.panels.len());
    for panel in &dashboard.panels {
        let started = Instant::now();
        let rollup_sql = (panel.rollup_sql.is_some() && window.whole_hours(panel))
            .then(|| bind(panel, window, true));
        let from_rollups = match &rollup_sql {
            Some(sql) => match rollup_source(ctx, sql).await {
                Ok(source) => source.rollups,
                Err(e) => {
                    tracing::warn!(error = %e, "Could not tell whether the rollups cover the window; reading flows.");
                    false
                }
            },
            None => false,
        };
        let sql = match rollup_sql {
            Some(sql) if from_rollups => sql,
            _ => bind(panel, window, false),
        };
        let outcome = query_rows(ctx, &sql).await;
        let elapsed = started.elapsed();
        if let Err(e) = &outcome {
            tracing::warn!(dashboard = %dashboard.name, panel = %panel.id, error = %e, "Panel failed.");
        }
        tracing::info!(dashboard = %dashboard.name, panel = %panel.id, ms = elapsed.as_millis() as u64, "Panel ran.");
        panels.push(PanelResult {
            panel: panel.clone(),
            outcome,
            elapsed,
            sql,
            from_rollups,
        });
    }
    DashboardResult {
        dashboard: dashboard.clone(),
        panels,
    }
}

/// The panel's SQL (its rollup form if `rollups`) with its placeholders filled.
pub fn bind(panel: &Panel, window: &Window, rollups: bool) -> String {
    let sql = match (&panel.rollup_sql, rollups) {
        (Some(sql), true) => sql,
        _ => &panel.sql,
    };
    sql.replace("{bucket}", &format!("'{} seconds'", window.bucket_seconds))
        .replace("{bucket_seconds}", &window.bucket_seconds.to_string())
}

/// Runs read-only `sql` into rows (the dashboard server's SQL box too).
pub async fn query_rows(ctx: &SessionContext, sql: &str) -> Result<Rows, String> {
    let (schema, batches) = run_read_only(ctx, sql).await.map_err(|e| e.to_string())?;
    let mut rows = Rows {
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        rows: Vec::new(),
    };
    for batch in &batches {
        append(&mut rows, batch).map_err(|e| e.to_string())?;
    }
    Ok(rows)
}

fn append(rows: &mut Rows, batch: &RecordBatch) -> Result<(), arrow::error::ArrowError> {
    let options = FormatOptions::default().with_null("");
    let mut columns: Vec<Vec<Cell>> = Vec::with_capacity(batch.num_columns());
    for array in batch.columns() {
        let text = ArrayFormatter::try_new(array.as_ref(), &options)?;
        let cells = match array.data_type() {
            t if t.is_numeric() => {
                let floats = cast(array, &DataType::Float64)?;
                let floats = floats
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| arrow::error::ArrowError::CastError("to f64".into()))?;
                (0..array.len())
                    .map(|i| {
                        if array.is_null(i) {
                            Cell::Null
                        } else {
                            Cell::Number(floats.value(i), text.value(i).to_string())
                        }
                    })
                    .collect()
            }
            DataType::Timestamp(_, _) => {
                let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                let micros = cast(&micros, &DataType::Int64)?;
                let micros = micros
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| arrow::error::ArrowError::CastError("to i64".into()))?;
                (0..array.len())
                    .map(|i| {
                        if array.is_null(i) {
                            Cell::Null
                        } else {
                            DateTime::from_timestamp_micros(micros.value(i))
                                .map_or(Cell::Null, Cell::Time)
                        }
                    })
                    .collect()
            }
            _ => (0..array.len())
                .map(|i| {
                    if array.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Text(text.value(i).to_string())
                    }
                })
                .collect(),
        };
        columns.push(cells);
    }
    for i in 0..batch.num_rows() {
        rows.rows
            .push(columns.iter().map(|c| c[i].clone()).collect());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in panel's SQL plans and runs against the real lake
    /// schema (an empty lake), through the read-only guard.
    #[tokio::test]
    async fn every_built_in_panel_runs_on_an_empty_lake() {
        let dir = tempfile::tempdir().unwrap();
        let lake = flowlake_query::LakeLocation::Local(dir.path().to_path_buf());
        let memory = flowlake_query::MemorySettings {
            limit: flowlake_query::ByteSize(256 << 20),
            spill_dir: None,
        };
        let ctx = flowlake_query::open_session(&lake, &Default::default(), 1, &memory)
            .await
            .unwrap();
        assert!(Window::resolve(&ctx, None, None).await.unwrap().is_none());
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let window = Window::new(t("2024-05-25T00:00:00Z"), t("2024-05-26T00:00:00Z"));
        for dashboard in crate::definition::built_in().unwrap() {
            let result = run_dashboard(&ctx, &dashboard, &window).await;
            for panel in result.panels {
                let rows = panel
                    .outcome
                    .unwrap_or_else(|e| panic!("{}/{}: {e}", dashboard.name, panel.panel.id));
                let needs: &[&str] = match panel.panel.chart {
                    crate::Chart::Timeseries => &["time", "series", "value"],
                    crate::Chart::Bars => &["label", "value"],
                    _ => &[],
                };
                for column in needs {
                    assert!(
                        rows.column(column).is_some(),
                        "{}: {column}",
                        panel.panel.id
                    );
                }
            }
        }
    }

    #[test]
    fn steps_give_about_150_points() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let day = Window::new(t("2024-05-25T00:00:00Z"), t("2024-05-26T00:00:00Z"));
        assert_eq!(day.bucket_seconds, 600);
        let month = Window::new(t("2024-05-01T00:00:00Z"), t("2024-06-01T00:00:00Z"));
        assert_eq!(month.bucket_seconds, 21_600);
        let minute = Window::new(t("2024-05-25T00:00:00Z"), t("2024-05-25T00:01:00Z"));
        assert_eq!(minute.bucket_seconds, 60);
    }
}
