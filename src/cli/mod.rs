//! The command line: one module per subcommand, all clap derive.

mod alerts;
mod compact;
mod dashboard;
mod ddl;
mod demo;
mod explain;
mod flight_sql;
mod generate;
mod ingest;
mod ingest_cloudwatch;
mod inventory;
mod job;
mod lake_args;
mod output;
mod prune;
mod report;
mod schema;
mod serve;
mod sql;
mod who;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// VPC and Transit Gateway flow logs into a Parquet lake, answered with SQL.
#[derive(Debug, Parser)]
#[command(name = "flowlake", version, about, long_about = None)]
pub(crate) struct Cli {
    /// More log output (-v info, -vv debug); `FLOWLAKE_LOG` sets a filter.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest flow logs into the lake, exactly once.
    #[command(subcommand)]
    Ingest(ingest::IngestCommand),
    /// The scheduled job: ingest every configured source, compact, check
    /// the alert rules (`--config flowlake.toml`).
    Run(job::RunArgs),
    /// Run SQL over the lake (interactive prompt without a query).
    Sql(sql::SqlArgs),
    /// Run a named report (`--list` shows them).
    Report(report::ReportArgs),
    /// Write synthetic flow logs laid out as AWS delivers them to S3.
    Generate(generate::GenerateArgs),
    /// Generate a sample, ingest it into a local lake, show the answers.
    Demo(demo::DemoArgs),
    /// Print DDL for Athena, Trino, Spark or DuckDB over the lake.
    Ddl(ddl::DdlArgs),
    /// Print the lake's columns.
    Schema(schema::SchemaArgs),
    /// Alert rules on rejected traffic: check them, or validate a rule file.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Merge small files of append-only sources into large ones, exactly once.
    Compact(compact::CompactArgs),
    /// Retention: drop whole hour partitions older than --older-than.
    Prune(prune::PruneArgs),
    /// Dashboards: render them into a self-contained HTML file, or list them.
    #[command(subcommand)]
    Dashboard(dashboard::DashboardCommand),
    /// Run a long-lived server: the Firehose endpoint, live dashboards, or
    /// Flight SQL.
    #[command(subcommand)]
    Serve(serve::ServeCommand),
    /// The network's configuration over time (describe-* JSON), for explain and who.
    #[command(subcommand)]
    Inventory(inventory::InventoryCommand),
    /// Why rejected records were rejected: security group, network ACL,
    /// Block Public Access, a reply, after close, as of each record's time.
    Explain(explain::ExplainArgs),
    /// Whose address or interface it is, as of a time.
    Who(who::WhoArgs),
}

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything worked.
    Done,
    /// Something was skipped or quarantined (exit code 1).
    Partial,
    /// An alert fires (exit code 1, for a scheduler to act on).
    Alerting,
}

/// What a command that changes the lake did: how it ended, and its
/// summary for people and for machines, so `flowlake run` can collect the
/// steps it runs and the commands themselves print one or the other.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) outcome: Outcome,
    pub(crate) text: String,
    pub(crate) json: serde_json::Value,
}

impl Step {
    /// A step whose outcome follows from whether anything was partial.
    pub(crate) fn new(partial: bool, text: String, json: serde_json::Value) -> Step {
        Step {
            outcome: if partial {
                Outcome::Partial
            } else {
                Outcome::Done
            },
            text,
            json,
        }
    }

    /// Prints the summary (JSON or text) and returns the outcome.
    pub(crate) fn print(self, json: bool) -> Outcome {
        if json {
            println!("{}", self.json);
        } else {
            print!("{}", self.text);
        }
        self.outcome
    }
}

pub(crate) fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,aws_config=error",
        1 => "info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("FLOWLAKE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // No colour codes in logs that go to a file, journald or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Few blocking threads: each one that allocates gets its own glibc
    // malloc arena, and arenas keep freed memory, so a large pool makes peak
    // memory creep up with the number of objects ingested.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flowlake-io")
        .max_blocking_threads(8)
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Ingest(command) => ingest::run(command).await,
            Command::Run(args) => job::run(args).await,
            Command::Sql(args) => sql::run(args).await,
            Command::Report(args) => report::run(args).await,
            Command::Generate(args) => generate::run(args),
            Command::Demo(args) => demo::run(args).await,
            Command::Ddl(args) => ddl::run(args),
            Command::Schema(args) => schema::run(args),
            Command::Alerts(command) => alerts::run(command).await,
            Command::Compact(args) => compact::run(args).await,
            Command::Prune(args) => prune::run(args).await,
            Command::Dashboard(command) => dashboard::run(command).await,
            Command::Serve(command) => serve::run(command).await,
            Command::Inventory(command) => inventory::run(command).await,
            Command::Explain(args) => explain::run(args).await,
            Command::Who(args) => who::run(args).await,
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn times_back_from_now_parse_as_values_not_flags() {
        use clap::Parser;
        for args in [
            &[
                "flowlake", "ingest", "s3", "s3://b", "--lake", "l", "--from", "-1d",
            ][..],
            &[
                "flowlake", "ingest", "dir", "d", "--lake", "l", "--to", "-2h",
            ],
            &[
                "flowlake",
                "ingest",
                "cloudwatch",
                "--log-group",
                "g",
                "--lake",
                "l",
                "--from",
                "-7d",
            ],
            &[
                "flowlake", "report", "summary", "--lake", "l", "--from", "-2h", "--to", "-1h",
            ],
        ] {
            if let Err(e) = super::Cli::try_parse_from(args) {
                panic!("{args:?}: {e}");
            }
        }
    }
}
