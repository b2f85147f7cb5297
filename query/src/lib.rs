//! SQL over the flowlake lake with DataFusion: the `flows` table, network
//! functions, named reports and result output.
//!
//! ```text
//! lake (flows/day=…/hour=…/*.parquet) ──▶ session::open_session ──▶ SessionContext
//!                                                  │ flows, quarantine, functions
//!                           ad-hoc SQL ◀───────────┤
//!                 reports::REPORTS (.sql) ◀────────┘──▶ output::write (table, csv, json, parquet)
//! ```
//!
//! Query never calls ingest: the two meet only at the lake, whose layout is
//! defined in `flowlake_schemas::lake`.

mod committed;
pub mod output;
pub mod reports;
pub mod session;
pub mod time;
pub mod udf;

pub use output::{OutputFormat, write_batches};
pub use reports::{REPORTS, Report, ReportOptions, run_report};
pub use session::{LakeLocation, TimeRange, open_session};

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// DataFusion rejected or failed the query.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while formatting output.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet output failed.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// The lake location is unusable.
    #[error("lake: {0}")]
    Lake(String),
    /// No report by that name.
    #[error("no report named {0:?}; `flowlake report --list` shows them")]
    UnknownReport(String),
    /// A time could not be parsed.
    #[error("{0}")]
    Time(String),
}

pub use datafusion::prelude::SessionContext;

/// Runs one SQL statement and collects its result with the result's schema
/// (kept even when there are no rows, so output can print a header).
pub async fn run_sql(
    ctx: &SessionContext,
    sql: &str,
) -> Result<(arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>), QueryError> {
    let df = ctx.sql(sql).await?;
    let schema = df.schema().inner().clone();
    Ok((schema, df.collect().await?))
}
