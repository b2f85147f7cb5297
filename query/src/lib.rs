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
pub mod context;
pub mod memory;
pub mod output;
pub mod readonly;
pub mod reports;
pub mod rollups;
pub mod session;
pub mod stream;
pub mod time;
pub mod udf;
mod window;

pub use memory::{ByteSize, MemorySettings};
pub use output::{OutputFormat, write_batches};
pub use readonly::{plan_read_only, read_only_frame, run_read_only};
pub use reports::{Needs, REPORTS, Report, ReportOptions, report_frame, run_report};
pub use rollups::{Source, disable_rollups, rollup_source};
pub use session::{LakeLocation, TimeRange, open_session};
pub use stream::{ParquetStream, batch_stream, for_each_batch};

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
    /// A report reads a table this lake does not have yet.
    #[error(
        "report {report} reads table {table}, which this lake does not have: run `{how}` first"
    )]
    MissingTable {
        /// The report.
        report: &'static str,
        /// The table it reads.
        table: &'static str,
        /// The command that writes the table.
        how: &'static str,
    },
    /// No report by that name.
    #[error("no report named {0:?}; `flowlake report --list` shows them")]
    UnknownReport(String),
    /// A statement that would write, change the session or read files
    /// outside the lake, refused by [`readonly`].
    #[error("{0}")]
    NotReadOnly(String),
    /// A time could not be parsed.
    #[error("{0}")]
    Time(String),
    /// The query needed more memory than the session's pool holds, in an
    /// operator that cannot spill (or could not spill enough).
    #[error(
        "the query needs more memory than {limit} allows: raise --memory-limit (or FLOWLAKE_MEMORY_LIMIT), or narrow the data with --from/--to ({detail})"
    )]
    MemoryLimit {
        /// The limit, as the user would write it.
        limit: String,
        /// DataFusion's account: who asked for how much.
        detail: String,
    },
    /// Spill files outgrew the space allowed for them.
    #[error(
        "the query's spill files outgrew the space allowed for them: narrow the data with --from/--to, or raise --memory-limit so less is spilled ({detail})"
    )]
    SpillLimit {
        /// DataFusion's account.
        detail: String,
    },
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
    let batches = df.collect().await.map_err(|e| explain_failure(ctx, e))?;
    Ok((schema, batches))
}

/// A failed execution as the user should see it: running out of the
/// session's memory names the limit (see [`memory::explain`]).
pub(crate) fn explain_failure(
    ctx: &SessionContext,
    error: datafusion::error::DataFusionError,
) -> QueryError {
    let limit = match ctx.runtime_env().memory_pool.memory_limit() {
        datafusion::execution::memory_pool::MemoryLimit::Finite(n) => Some(ByteSize(n as u64)),
        _ => None,
    };
    memory::explain(error, limit)
}
