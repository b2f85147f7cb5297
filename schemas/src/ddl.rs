//! DDL that lets other engines read the lake as it is: Athena (Hive DDL with
//! partition projection, so no `MSCK REPAIR` is needed), Trino's Hive
//! connector, Spark SQL and DuckDB.
//!
//! Generated from the field table, so it always matches what the writer
//! writes. Partition values are declared as strings (`hour=05` would lose its
//! leading zero as an integer in Spark).

use arrow::datatypes::{DataType, Schema};

use crate::lake::TABLE_DIR;
use crate::rollup::ROLLUPS;
use crate::schema::{DAY, HOUR, file_schema};

/// Engines flowlake can print DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Amazon Athena (Hive DDL, partition projection on `day` and `hour`).
    Athena,
    /// Trino with the Hive connector.
    Trino,
    /// Spark SQL.
    Spark,
    /// DuckDB (a view over `read_parquet` with Hive partitioning).
    DuckDb,
}

fn hive_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int32 => "int",
        DataType::Int64 => "bigint",
        DataType::Boolean => "boolean",
        DataType::Timestamp(..) => "timestamp",
        _ => "string",
    }
}

fn trino_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int32 => "integer",
        DataType::Int64 => "bigint",
        DataType::Boolean => "boolean",
        DataType::Timestamp(..) => "timestamp(3)",
        _ => "varchar",
    }
}

/// `CREATE` statement(s) for a table named `table` over the lake at
/// `location` (an `s3://` URI for Athena/Trino/Spark, a path or URI for DuckDB).
pub fn create_table(engine: Engine, table: &str, location: &str) -> String {
    create_folder_table(engine, table, location, TABLE_DIR, &file_schema())
}

/// `CREATE` statements for the per-hour rollup tables (see
/// `crate::rollup`), each under its own name, over the lake at `location`.
pub fn create_rollup_tables(engine: Engine, location: &str) -> String {
    ROLLUPS
        .iter()
        .map(|t| {
            format!(
                "-- {}: {}\n{}",
                t.name,
                t.doc,
                create_folder_table(engine, t.name, location, t.name, &t.schema())
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `CREATE` statement(s) for table `table` over the Hive-partitioned
/// folder `folder` of the lake, whose files have `schema`.
fn create_folder_table(
    engine: Engine,
    table: &str,
    location: &str,
    folder: &str,
    schema: &Schema,
) -> String {
    let location = location.trim_end_matches('/');
    match engine {
        Engine::Athena | Engine::Spark => {
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type())))
                .collect();
            let mut ddl = format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{}\n)\nPARTITIONED BY (`{DAY}` string, `{HOUR}` string)\nSTORED AS PARQUET\nLOCATION '{location}/{folder}/'",
                columns.join(",\n")
            );
            if engine == Engine::Athena {
                ddl.push_str(&format!(
                    "\nTBLPROPERTIES (\n  'projection.enabled' = 'true',\n  'projection.{DAY}.type' = 'date',\n  'projection.{DAY}.format' = 'yyyy-MM-dd',\n  'projection.{DAY}.range' = '2015-01-01,NOW',\n  'projection.{DAY}.interval' = '1',\n  'projection.{DAY}.interval.unit' = 'DAYS',\n  'projection.{HOUR}.type' = 'integer',\n  'projection.{HOUR}.range' = '0,23',\n  'projection.{HOUR}.digits' = '2',\n  'storage.location.template' = '{location}/{folder}/{DAY}=${{{DAY}}}/{HOUR}=${{{HOUR}}}/'\n);"
                ));
            } else {
                ddl.push_str(";\nMSCK REPAIR TABLE `");
                ddl.push_str(table);
                ddl.push_str("`;");
            }
            ddl
        }
        Engine::Trino => {
            let mut columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("  \"{}\" {}", f.name(), trino_type(f.data_type())))
                .collect();
            columns.push(format!("  \"{DAY}\" varchar"));
            columns.push(format!("  \"{HOUR}\" varchar"));
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)\nWITH (\n  format = 'PARQUET',\n  partitioned_by = ARRAY['{DAY}', '{HOUR}'],\n  external_location = '{location}/{folder}/'\n);\nCALL system.sync_partition_metadata(current_schema, '{table}', 'ADD');",
                columns.join(",\n")
            )
        }
        Engine::DuckDb => format!(
            "CREATE OR REPLACE VIEW {table} AS\n  SELECT * FROM read_parquet('{location}/{folder}/*/*/*.parquet', hive_partitioning = true, hive_types = {{'{DAY}': VARCHAR, '{HOUR}': VARCHAR}});"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_ddl_quotes_reserved_words_and_projects_partitions() {
        let ddl = create_table(Engine::Athena, "flows", "s3://bucket/lake/");
        assert!(ddl.contains("`end` bigint"));
        assert!(ddl.contains("`protocol` int"));
        assert!(ddl.contains("`start_time` timestamp"));
        assert!(ddl.contains("LOCATION 's3://bucket/lake/flows/'"));
        assert!(ddl.contains(
            "'storage.location.template' = 's3://bucket/lake/flows/day=${day}/hour=${hour}/'"
        ));
    }

    #[test]
    fn duckdb_view_keeps_partition_values_as_text() {
        let ddl = create_table(Engine::DuckDb, "flows", "/tmp/lake");
        assert!(ddl.contains("'/tmp/lake/flows/*/*/*.parquet'"));
        assert!(ddl.contains("'hour': VARCHAR"));
    }
}
