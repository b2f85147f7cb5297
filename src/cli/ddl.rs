//! `flowlake ddl`: DDL so other engines read the lake as it is.

use clap::{Args, ValueEnum};
use flowlake_schemas::ddl::{Engine, create_rollup_tables, create_table};

use super::Outcome;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EngineArg {
    Athena,
    Trino,
    Spark,
    Duckdb,
}

#[derive(Debug, Args)]
pub(crate) struct DdlArgs {
    /// The engine to write DDL for.
    #[arg(long, value_enum, default_value = "athena")]
    engine: EngineArg,

    /// The lake's location as that engine sees it (s3://bucket/prefix, or a path for DuckDB).
    #[arg(long, env = "FLOWLAKE_LAKE")]
    lake: String,

    /// Table name to create.
    #[arg(long, default_value = "flows")]
    table: String,

    /// Also create the per-hour rollup tables (traffic_hourly,
    /// talkers_hourly, sources_hourly, destinations_hourly, ports_hourly)
    /// under their own names.
    #[arg(long)]
    rollups: bool,
}

pub(crate) fn run(args: DdlArgs) -> anyhow::Result<Outcome> {
    let engine = match args.engine {
        EngineArg::Athena => Engine::Athena,
        EngineArg::Trino => Engine::Trino,
        EngineArg::Spark => Engine::Spark,
        EngineArg::Duckdb => Engine::DuckDb,
    };
    println!("{}", create_table(engine, &args.table, &args.lake));
    if args.rollups {
        println!("\n{}", create_rollup_tables(engine, &args.lake));
    }
    Ok(Outcome::Done)
}
