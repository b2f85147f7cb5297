//! `flowlake report`: the named reports, over an optional time window.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use chrono::Utc;
use clap::Args;
use flowlake_query::time::parse_time;
use flowlake_query::{
    OutputFormat, REPORTS, ReportOptions, TimeRange, disable_rollups, open_session, report_frame,
    run_report, write_batches,
};

use super::Outcome;
use super::output::Output;
use super::sql::threads;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The report to run (see --list).
    name: Option<String>,

    /// List the reports with a one-line description.
    #[arg(long)]
    list: bool,

    /// The lake: a local folder or s3://bucket/prefix.
    #[arg(long, env = "FLOWLAKE_LAKE")]
    lake: Option<String>,

    #[command(flatten)]
    aws: super::lake_args::AwsArgs,

    #[command(flatten)]
    time: TimeArgs,

    #[command(flatten)]
    memory: super::lake_args::MemoryArgs,

    /// Rows to show (0 for all; each report has its own default).
    #[arg(long)]
    limit: Option<usize>,

    /// Rank by this column instead, descending (e.g. `packets`); for
    /// top-talkers, `owner` ranks the owners of the addresses instead of
    /// address pairs (needs the inventory).
    #[arg(long)]
    by: Option<String>,

    /// top-talkers: count each conversation once (the default when the
    /// format has pkt-srcaddr, pkt-dstaddr and flow-direction, or the
    /// inventory gives every interface's role) or every record.
    #[arg(long, value_enum)]
    count: Option<Count>,

    /// Output format: table, csv, json, jsonl or parquet.
    #[arg(long, default_value = "table")]
    format: OutputFormat,

    /// Print where the report reads from (the per-hour rollups or flows,
    /// and why) and its query plan, instead of running it.
    #[arg(long)]
    explain: bool,

    /// Read flows even when the per-hour rollups cover the window.
    #[arg(long)]
    no_rollups: bool,

    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Count {
    /// Each conversation's bytes once (`flows_once`).
    Once,
    /// Every record, as logged.
    All,
}

/// A time window on the records' start time.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct TimeArgs {
    /// Only records starting at or after this time (2024-05-25, 2024-05-25T05:00, RFC 3339, -2h, -7d).
    #[arg(long, allow_hyphen_values = true)]
    from: Option<String>,

    /// Only records starting before this time (same forms as --from).
    #[arg(long, allow_hyphen_values = true)]
    to: Option<String>,
}

impl TimeArgs {
    pub(crate) fn range(&self) -> anyhow::Result<TimeRange> {
        let now = Utc::now();
        Ok(TimeRange {
            from: self
                .from
                .as_deref()
                .map(|t| parse_time(t, now))
                .transpose()?,
            to: self.to.as_deref().map(|t| parse_time(t, now)).transpose()?,
        })
    }
}

pub(crate) async fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    if args.list || args.name.is_none() {
        let width = REPORTS.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let mut out = std::io::stdout();
        for r in REPORTS {
            writeln!(out, "{:width$}  {}", r.name, r.description())?;
        }
        return Ok(Outcome::Done);
    }
    let name = args.name.unwrap_or_default();
    let report = flowlake_query::reports::find(&name)?;
    let Some(lake) = args.lake else {
        bail!("--lake (or FLOWLAKE_LAKE) is required to run a report");
    };
    let lake_args = super::lake_args::LakeArgs {
        lake,
        aws: args.aws,
    };
    let location = lake_args.open_for_query().await?;
    let ctx = open_session(
        &location,
        &args.time.range()?,
        threads(),
        &args.memory.settings(),
    )
    .await?;
    if report.name == "top-talkers" {
        use flowlake_query::context::{CountMode, choose_count, use_count};
        let mode = match args.count {
            Some(Count::Once) => CountMode::Once,
            Some(Count::All) => CountMode::All,
            None => {
                let (mode, warning) = choose_count(&ctx).await?;
                if let Some(w) = warning {
                    eprintln!("warning: {w}");
                }
                mode
            }
        };
        use_count(&ctx, mode).await?;
    } else if args.count.is_some() {
        bail!("--count applies to top-talkers only");
    }
    if args.no_rollups {
        disable_rollups(&ctx);
    }
    let options = ReportOptions {
        limit: args.limit,
        order_by: args.by,
    };
    if args.explain {
        let (df, source) = report_frame(&ctx, report, &options).await?;
        let explained = df.explain(false, false)?;
        let schema = explained.schema().inner().clone();
        let plan = explained.collect().await?;
        let mut out = Output::open(args.output.as_ref())?;
        writeln!(out, "{}: {}", report.name, source.why)?;
        write_batches(&mut out, OutputFormat::Table, &schema, &plan)?;
        out.commit()?;
        return Ok(Outcome::Done);
    }
    let (schema, batches) = run_report(&ctx, report, &options).await?;
    let mut out = Output::open(args.output.as_ref())?;
    write_batches(&mut out, args.format, &schema, &batches)?;
    out.commit()?;
    Ok(Outcome::Done)
}
