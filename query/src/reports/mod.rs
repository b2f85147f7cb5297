//! Named reports: one SQL file each, over table `flows`, in SQL that Athena,
//! Trino, DuckDB and Spark also run (no flowlake-only functions: they read
//! derived columns stored at ingest). To add one, write `<name>.sql` here
//! (first comment line = description) and add a row to [`REPORTS`].
//!
//! A report may also have `<name>.rollup.sql`: the same question over the
//! per-hour rollup tables, which answers a month in a fraction of the time.
//! It runs when [`crate::rollups::rollup_source`] says the rollups cover
//! the window, and must give the same rows as `<name>.sql` (a test runs
//! both in DuckDB over the same lake and compares them).
//!
//! A report over a table only some lakes have (`reject_explanations`,
//! written by `flowlake explain --save`) names it in [`Report::needs`], and
//! fails with the way to get it instead of "table not found".

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::prelude::{DataFrame, SessionContext, col};

use crate::QueryError;
use crate::rollups::{Source, rollup_source};

/// A named report.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// The name users type.
    pub name: &'static str,
    /// The SQL (no LIMIT: the runner applies one).
    pub sql: &'static str,
    /// The same question over the rollup tables, if it can be asked there.
    pub rollup_sql: Option<&'static str>,
    /// Rows shown unless `--limit` says otherwise.
    pub default_limit: usize,
    /// A table the report reads that a lake has only once something wrote
    /// it, if any.
    pub needs: Option<Needs>,
    /// Other groupings of the same question, chosen with `--by <name>`
    /// (`--by` with any other name re-ranks by that column).
    pub by: &'static [Grouping],
}

/// A report's question grouped another way (`top-talkers --by owner`).
#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    /// What follows `--by`.
    pub name: &'static str,
    /// Its SQL (flows only: no rollup form).
    pub sql: &'static str,
    /// What it reads that only some lakes have.
    pub needs: Option<Needs>,
}

/// An optional table a report reads, and the command that writes it.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The table's name in the session.
    pub table: &'static str,
    /// What to run to get it.
    pub how: &'static str,
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
        rollup_sql: Some(include_str!("summary.rollup.sql")),
        default_limit: 100,
        needs: None,
        by: &[],
    },
    Report {
        name: "top-sources",
        sql: include_str!("top-sources.sql"),
        rollup_sql: Some(include_str!("top-sources.rollup.sql")),
        default_limit: 20,
        needs: None,
        by: &[],
    },
    Report {
        name: "top-destinations",
        sql: include_str!("top-destinations.sql"),
        rollup_sql: Some(include_str!("top-destinations.rollup.sql")),
        default_limit: 20,
        needs: None,
        by: &[],
    },
    Report {
        name: "top-pairs",
        sql: include_str!("top-pairs.sql"),
        rollup_sql: Some(include_str!("top-pairs.rollup.sql")),
        default_limit: 20,
        needs: None,
        by: &[],
    },
    Report {
        name: "top-talkers",
        sql: include_str!("top-talkers.sql"),
        rollup_sql: None,
        default_limit: 20,
        needs: None,
        by: &[Grouping {
            name: "owner",
            sql: include_str!("top-talkers-by-owner.sql"),
            needs: Some(Needs {
                table: crate::context::TALKERS_ENRICHED,
                how: "flowlake inventory import",
            }),
        }],
    },
    Report {
        name: "rejected-sources",
        sql: include_str!("rejected-sources.sql"),
        rollup_sql: Some(include_str!("rejected-sources.rollup.sql")),
        default_limit: 20,
        needs: None,
        by: &[],
    },
    Report {
        name: "rejected-ports",
        sql: include_str!("rejected-ports.sql"),
        rollup_sql: Some(include_str!("rejected-ports.rollup.sql")),
        default_limit: 20,
        needs: None,
        by: &[],
    },
    Report {
        name: "ssh-rdp-external",
        sql: include_str!("ssh-rdp-external.sql"),
        rollup_sql: Some(include_str!("ssh-rdp-external.rollup.sql")),
        default_limit: 50,
        needs: None,
        by: &[],
    },
    Report {
        name: "interfaces",
        sql: include_str!("interfaces.sql"),
        rollup_sql: Some(include_str!("interfaces.rollup.sql")),
        default_limit: 50,
        needs: None,
        by: &[],
    },
    Report {
        name: "log-status",
        sql: include_str!("log-status.sql"),
        rollup_sql: Some(include_str!("log-status.rollup.sql")),
        default_limit: 50,
        needs: None,
        by: &[],
    },
    Report {
        name: "top-rejecting-controls",
        sql: include_str!("top-rejecting-controls.sql"),
        rollup_sql: None,
        default_limit: 20,
        needs: Some(Needs {
            table: flowlake_schemas::explanations::EXPLANATIONS_DIR,
            how: "flowlake explain --save",
        }),
        by: &[],
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

/// The SQL a report runs on this session, and where it reads from.
pub async fn report_sql(
    ctx: &SessionContext,
    report: &Report,
) -> Result<(&'static str, Source), QueryError> {
    let Some(rollup_sql) = report.rollup_sql else {
        let why = format!("reads flows: {} has no rollup form", report.name);
        return Ok((
            report.sql,
            Source {
                rollups: false,
                why,
            },
        ));
    };
    let source = rollup_source(ctx, rollup_sql).await?;
    Ok((
        if source.rollups {
            rollup_sql
        } else {
            report.sql
        },
        source,
    ))
}

/// The report as a DataFrame (ranked and limited as `options` say), and
/// where it reads from: for `--explain`, and for [`run_report`].
pub async fn report_frame(
    ctx: &SessionContext,
    report: &Report,
    options: &ReportOptions,
) -> Result<(DataFrame, Source), QueryError> {
    let grouping = options
        .order_by
        .as_deref()
        .and_then(|by| report.by.iter().find(|g| g.name == by));
    let needs = grouping.map_or(report.needs, |g| g.needs);
    if let Some(needs) = needs
        && !ctx.table_exist(needs.table)?
    {
        return Err(QueryError::MissingTable {
            report: report.name,
            table: needs.table,
            how: needs.how,
        });
    }
    let (sql, source) = match grouping {
        Some(g) => (
            g.sql,
            Source {
                rollups: false,
                why: format!(
                    "reads flows: {} --by {} has no rollup form",
                    report.name, g.name
                ),
            },
        ),
        None => report_sql(ctx, report).await?,
    };
    tracing::debug!(report = report.name, why = %source.why, "Report source.");
    let mut df = ctx.sql(sql).await?;
    if let (None, Some(column)) = (grouping, &options.order_by) {
        df = df.sort(vec![col(column.as_str()).sort(false, false)])?;
    }
    let limit = options.limit.unwrap_or(report.default_limit);
    if limit > 0 {
        df = df.limit(0, Some(limit))?;
    }
    Ok((df, source))
}

/// Runs a report on a session from `open_session` (time range applied there).
pub async fn run_report(
    ctx: &SessionContext,
    report: &Report,
    options: &ReportOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
    let (df, _) = report_frame(ctx, report, options).await?;
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
            let by = r.by.iter().map(|g| g.sql);
            for sql in std::iter::once(r.sql).chain(r.rollup_sql).chain(by) {
                assert!(!sql.to_uppercase().contains("LIMIT"), "{}", r.name);
            }
        }
        assert!(find("nope").is_err());
    }
}
