//! Named reports: one SQL file each, over table `flows`, in SQL that Athena,
//! Trino, DuckDB and Spark also run (no flowlake-only functions: they read
//! derived columns stored at ingest). To add one, write `<name>.sql` here
//! (first comment line = description) and add a row to [`REPORTS`].

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::prelude::{SessionContext, col};

use crate::QueryError;

/// A named report.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// The name users type.
    pub name: &'static str,
    /// The SQL (no LIMIT: the runner applies one).
    pub sql: &'static str,
    /// Rows shown unless `--limit` says otherwise.
    pub default_limit: usize,
}

impl Report {
    /// The one-line description: the SQL file's first comment line.
    pub fn description(&self) -> &'static str {
        self.sql
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("--"))
            .map_or("", str::trim)
    }
}

/// Every report, in the order `--list` shows them.
pub const REPORTS: &[Report] = &[
    Report {
        name: "summary",
        sql: include_str!("summary.sql"),
        default_limit: 100,
    },
    Report {
        name: "top-sources",
        sql: include_str!("top-sources.sql"),
        default_limit: 20,
    },
    Report {
        name: "top-destinations",
        sql: include_str!("top-destinations.sql"),
        default_limit: 20,
    },
    Report {
        name: "top-pairs",
        sql: include_str!("top-pairs.sql"),
        default_limit: 20,
    },
    Report {
        name: "top-talkers",
        sql: include_str!("top-talkers.sql"),
        default_limit: 20,
    },
    Report {
        name: "rejected-sources",
        sql: include_str!("rejected-sources.sql"),
        default_limit: 20,
    },
    Report {
        name: "rejected-ports",
        sql: include_str!("rejected-ports.sql"),
        default_limit: 20,
    },
    Report {
        name: "ssh-rdp-external",
        sql: include_str!("ssh-rdp-external.sql"),
        default_limit: 50,
    },
    Report {
        name: "interfaces",
        sql: include_str!("interfaces.sql"),
        default_limit: 50,
    },
    Report {
        name: "log-status",
        sql: include_str!("log-status.sql"),
        default_limit: 50,
    },
];

/// Finds a report by name.
pub fn find(name: &str) -> Result<&'static Report, QueryError> {
    REPORTS
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| QueryError::UnknownReport(name.to_owned()))
}

/// How to run a report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Rows to return (the report's default if `None`; 0 for all).
    pub limit: Option<usize>,
    /// Re-rank by this column, descending (e.g. `packets` for top talkers).
    pub order_by: Option<String>,
}

/// Runs a report on a session from `open_session` (time range applied there).
pub async fn run_report(
    ctx: &SessionContext,
    report: &Report,
    options: &ReportOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
    let mut df = ctx.sql(report.sql).await?;
    if let Some(column) = &options.order_by {
        df = df.sort(vec![col(column.as_str()).sort(false, false)])?;
    }
    let limit = options.limit.unwrap_or(report.default_limit);
    if limit > 0 {
        df = df.limit(0, Some(limit))?;
    }
    let schema: SchemaRef = df.schema().inner().clone();
    let batches = df
        .collect()
        .await
        .map_err(|e| crate::explain_failure(ctx, e))?;
    Ok((schema, batches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_has_a_description_and_no_limit() {
        for r in REPORTS {
            assert!(!r.description().is_empty(), "{}", r.name);
            assert!(!r.sql.to_uppercase().contains("LIMIT"), "{}", r.name);
        }
        assert!(find("nope").is_err());
    }
}
