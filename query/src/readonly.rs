//! The one read-only gate for SQL that reaches flowlake from outside the
//! command line: the dashboard server's SQL box, the Flight SQL endpoint and
//! alert rules.
//!
//! DataFusion plans any SQL it supports, including `COPY … TO` (writes local
//! files), `CREATE EXTERNAL TABLE` (reads any file the process can read),
//! `SET` (changes the session for everyone sharing it) and DML. A query here
//! passes three checks before it runs:
//!
//! 1. Parsed with DataFusion's parser: exactly one statement, and it is a
//!    query (`SELECT`, `WITH`, `VALUES`, `EXPLAIN` of a query, `SHOW`/
//!    `DESCRIBE`, which become queries of `information_schema`).
//! 2. Every relation it names (CTEs aside) is a table or view already
//!    registered in the session (`flows`, the rollups, `quarantine`, `information_schema`):
//!    no file paths, URLs or table functions.
//! 3. The logical plan has no DDL, DML, `COPY` or statement node, checked by
//!    DataFusion's own [`SQLOptions`] (belt and braces for 1).

use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;

use crate::QueryError;

/// Plans `sql` if it only reads the lake, or says why not.
pub async fn plan_read_only(ctx: &SessionContext, sql: &str) -> Result<LogicalPlan, QueryError> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    if let Some(kind) = refused_kind(&statement) {
        return Err(QueryError::NotReadOnly(format!(
            "{kind} is refused: this endpoint is read-only and runs only queries (SELECT, WITH, VALUES, EXPLAIN, SHOW)"
        )));
    }
    for reference in state.resolve_table_references(&statement)? {
        if !ctx.table_exist(reference.clone())? {
            return Err(QueryError::NotReadOnly(format!(
                "`{reference}` is not a table of the lake: only the lake's tables (flows, the rollups such as traffic_hourly, quarantine, ...) and information_schema can be read here (no file paths, URLs or table functions)"
            )));
        }
    }
    let plan = state.statement_to_plan(statement).await?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|e| QueryError::NotReadOnly(format!("{e}: this endpoint is read-only")))?;
    Ok(plan)
}

/// [`plan_read_only`], ready to run or to stream.
pub async fn read_only_frame(ctx: &SessionContext, sql: &str) -> Result<DataFrame, QueryError> {
    let plan = plan_read_only(ctx, sql).await?;
    Ok(ctx.execute_logical_plan(plan).await?)
}

/// [`read_only_frame`], collected with its schema (as [`crate::run_sql`]).
pub async fn run_read_only(
    ctx: &SessionContext,
    sql: &str,
) -> Result<(arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>), QueryError> {
    let frame = read_only_frame(ctx, sql).await?;
    let schema = frame.schema().inner().clone();
    let batches = frame
        .collect()
        .await
        .map_err(|e| crate::explain_failure(ctx, e))?;
    Ok((schema, batches))
}

/// What kind of statement `statement` is, when it is not a query.
fn refused_kind(statement: &DfStatement) -> Option<String> {
    match statement {
        DfStatement::Statement(inner) => refused_sql_kind(inner),
        DfStatement::Explain(explain) => refused_kind(&explain.statement),
        DfStatement::CreateExternalTable(_) => Some("CREATE EXTERNAL TABLE".to_owned()),
        DfStatement::CopyTo(_) => Some("COPY".to_owned()),
        DfStatement::Reset(_) => Some("RESET".to_owned()),
    }
}

fn refused_sql_kind(statement: &Statement) -> Option<String> {
    match statement {
        Statement::Query(_)
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ExplainTable { .. } => None,
        Statement::Explain {
            statement: inner, ..
        } => refused_sql_kind(inner),
        other => Some(statement_keywords(&other.to_string())),
    }
}

/// The leading keywords of a statement as SQL text (`INSERT`, `CREATE
/// TABLE`, `SET`), for the error message.
fn statement_keywords(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    let take = match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("CREATE" | "DROP" | "ALTER") => {
            if words
                .get(1)
                .is_some_and(|w| w.eq_ignore_ascii_case("OR") || w.eq_ignore_ascii_case("EXTERNAL"))
            {
                3
            } else {
                2
            }
        }
        _ => 1,
    };
    words
        .iter()
        .take(take)
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;

    use super::*;

    fn session() -> SessionContext {
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_information_schema(true),
        );
        let schema = Arc::new(Schema::new(vec![Field::new(
            "bytes",
            DataType::Int64,
            true,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
        ctx.register_table("flows", Arc::new(table)).unwrap();
        ctx
    }

    async fn refusal(sql: &str) -> String {
        match plan_read_only(&session(), sql).await {
            Err(QueryError::NotReadOnly(message)) => message,
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn queries_of_the_lake_run() {
        let ctx = session();
        for sql in [
            "SELECT SUM(bytes) FROM flows",
            "WITH t AS (SELECT bytes FROM flows) SELECT * FROM t",
            "EXPLAIN SELECT * FROM flows",
            "SELECT table_name FROM information_schema.tables",
            "SHOW TABLES",
            "VALUES (1)",
        ] {
            let frame = read_only_frame(&ctx, sql).await;
            assert!(frame.is_ok(), "{sql}: {frame:?}");
        }
        let batches = read_only_frame(&ctx, "SELECT SUM(bytes) AS b FROM flows")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let sum = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(sum, 6);
    }

    #[tokio::test]
    async fn writes_settings_and_files_are_refused() {
        for (sql, says) in [
            ("INSERT INTO flows VALUES (4)", "INSERT"),
            ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            (
                "CREATE OR REPLACE VIEW flows AS SELECT 1",
                "CREATE OR REPLACE",
            ),
            ("DROP TABLE flows", "DROP TABLE"),
            ("DELETE FROM flows", "DELETE"),
            (
                "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
                "CREATE EXTERNAL TABLE",
            ),
            ("COPY flows TO '/tmp/out.parquet'", "COPY"),
            ("COPY (SELECT 1) TO '/tmp/out.csv'", "COPY"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("EXPLAIN COPY flows TO '/tmp/x.csv'", "COPY"),
            ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
            ("SELECT * FROM 'file:///etc/hosts'", "/etc/hosts"),
            ("SELECT * FROM generate_series(1, 3)", "generate_series"),
            ("SELECT * FROM nope", "nope"),
            (
                "SELECT * FROM flows WHERE bytes IN (SELECT * FROM '/etc/passwd')",
                "/etc/passwd",
            ),
        ] {
            let message = refusal(sql).await;
            assert!(message.contains(says), "{sql}: {message}");
        }
    }

    #[tokio::test]
    async fn more_than_one_statement_is_refused() {
        let result = plan_read_only(&session(), "SELECT 1; DROP TABLE flows").await;
        assert!(result.is_err());
    }
}
