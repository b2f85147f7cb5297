//! `flowlake ingest dir|s3`: sources into the lake, with a summary whose
//! counts reconcile.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use flowlake_ingest::sources::s3::{KeyFilter, S3Source};
use flowlake_ingest::{DirSource, IngestOptions, IngestSummary, Progress, Source, ingest};
use flowlake_query::time::parse_time;
use flowlake_schemas::Format;

use super::lake_args::LakeArgs;
use super::{Outcome, Step};
use crate::progress::progress_for_terminal;

#[derive(Debug, Subcommand)]
pub(crate) enum IngestCommand {
    /// A local folder laid out as AWS writes flow logs to S3 (or any tree of
    /// .log.gz, .log and .log.parquet files).
    Dir(DirArgs),
    /// A flow-log bucket: s3://bucket/[prefix], incrementally (only new or
    /// changed objects are read).
    S3(S3Args),
    /// CloudWatch Logs log groups of flow logs, each stream continuing from
    /// its cursor in the lake.
    Cloudwatch(super::ingest_cloudwatch::CloudWatchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct S3Args {
    /// Where AWS delivers the flow logs: s3://bucket/[prefix] (the part
    /// before AWSLogs/, or deeper to narrow by hand).
    url: String,

    /// Only this account (repeat for several; default: every account found).
    #[arg(long = "account")]
    accounts: Vec<String>,

    /// Only this Region's flow logs (repeat for several; default: every Region found).
    #[arg(long = "region")]
    regions: Vec<String>,

    #[command(flatten)]
    window: WindowArgs,

    /// Objects fetched at once (default: 4 per thread).
    #[arg(long, env = "FLOWLAKE_CONCURRENCY")]
    concurrency: Option<usize>,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// The folder (or a single file) to ingest.
    path: PathBuf,

    #[command(flatten)]
    window: WindowArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// The time window of a run over AWS deliveries, by the stamps in their
/// keys and file names: a scheduled run reads (and looks up in the ledger)
/// only the recent hours.
#[derive(Debug, Args)]
pub(crate) struct WindowArgs {
    /// Only AWS deliveries for records from this time on (2024-05-25, RFC
    /// 3339, -2h, -7d), by the time in their keys and file names; files not
    /// named as AWS names deliveries are always read.
    #[arg(long, allow_hyphen_values = true)]
    from: Option<String>,

    /// Only AWS deliveries for records before this time.
    #[arg(long, allow_hyphen_values = true)]
    to: Option<String>,
}

impl WindowArgs {
    fn filter(&self) -> anyhow::Result<KeyFilter> {
        let now = chrono::Utc::now();
        let time = |t: &Option<String>| t.as_deref().map(|t| parse_time(t, now)).transpose();
        Ok(KeyFilter {
            from: time(&self.from)?,
            to: time(&self.to)?,
            ..KeyFilter::default()
        })
    }
}

/// Flags every ingest takes.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,

    /// Worker threads for parsing and encoding (default: all cores).
    #[arg(long, env = "FLOWLAKE_THREADS")]
    pub(crate) threads: Option<usize>,

    /// Format of lines that come before any header line: `default`,
    /// `tgw-default`, a LogFormat string (`${version} ${srcaddr} ...`) or a
    /// header line. S3 text objects carry their own header and need nothing.
    #[arg(long, default_value = "default")]
    pub(crate) format: String,

    /// Print the summary as JSON (for scripts and monitoring).
    #[arg(long)]
    pub(crate) json: bool,

    /// Hide the progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// Limits that bound memory and output per object whatever the input holds
/// (defaults: `flowlake_ingest::process`'s constants, far above anything
/// AWS writes).
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Longest line accepted (bytes; K/M/G suffixes, powers of 1024); a
    /// longer line is quarantined as `line_too_long` [default: 64K].
    #[arg(long, env = "FLOWLAKE_MAX_LINE_BYTES", value_parser = parse_size)]
    pub(crate) max_line_bytes: Option<u64>,

    /// Bytes one gzip object may inflate to; past it the object fails by
    /// name and the run goes on [default: 16G].
    #[arg(long, env = "FLOWLAKE_MAX_DECOMPRESSED_BYTES", value_parser = parse_size)]
    pub(crate) max_decompressed_bytes: Option<u64>,

    /// Times its compressed size a gzip object may inflate to (judged past
    /// 64 MiB of output); past it the object fails [default: 500].
    #[arg(long, env = "FLOWLAKE_MAX_DECOMPRESSION_RATIO")]
    pub(crate) max_decompression_ratio: Option<u64>,

    /// Hours with an open Parquet file per object segment; past it the least
    /// recently written file is finished (more, smaller files) [default: 32].
    #[arg(long, env = "FLOWLAKE_MAX_OPEN_PARTITIONS")]
    pub(crate) max_open_partitions: Option<usize>,

    /// Memory the per-hour rollup sums of one object segment may hold;
    /// past it they are written out as partial rows (more rows, the same
    /// sums) [default: 32M].
    #[arg(long, env = "FLOWLAKE_MAX_ROLLUP_BYTES", value_parser = parse_size)]
    pub(crate) max_rollup_bytes: Option<u64>,

    /// Objects up to this size are held in memory whole and parsed in
    /// parallel; larger ones are streamed [default: 128M].
    #[arg(long, env = "FLOWLAKE_MAX_WHOLE_BYTES", value_parser = parse_size)]
    pub(crate) max_whole_bytes: Option<u64>,
}

impl LimitArgs {
    fn apply(&self, limits: &mut flowlake_ingest::Limits) {
        let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = self.max_line_bytes {
            limits.max_line_bytes = to_usize(v).max(1);
        }
        if let Some(v) = self.max_decompressed_bytes {
            limits.max_decompressed_bytes = v;
        }
        if let Some(v) = self.max_decompression_ratio {
            limits.max_decompression_ratio = v.max(1);
        }
        if let Some(v) = self.max_open_partitions {
            limits.max_open_partitions = v.max(1);
        }
        if let Some(v) = self.max_rollup_bytes {
            limits.max_rollup_bytes = to_usize(v);
        }
        if let Some(v) = self.max_whole_bytes {
            limits.max_whole_bytes = to_usize(v);
        }
    }
}

/// A size in bytes: `1048576`, `64K`, `128M`, `16G` (or `KiB`, `MiB`, `GiB`).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let number: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 65536, 64K, 128M, 16G)"))?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use K, M, G)")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

impl CommonArgs {
    pub(crate) fn options(&self) -> anyhow::Result<IngestOptions> {
        let mut options = IngestOptions::default();
        if let Some(threads) = self.threads {
            options.threads = threads.max(1);
            options.concurrency = 2 * threads.max(1);
        }
        options.format =
            Format::parse(&self.format).with_context(|| format!("--format {:?}", self.format))?;
        self.limits.apply(&mut options.limits);
        Ok(options)
    }
}

pub(crate) async fn run(command: IngestCommand) -> anyhow::Result<Outcome> {
    let json = command.json();
    Ok(execute(command).await?.print(json))
}

impl IngestCommand {
    /// Whether `--json` was asked for.
    fn json(&self) -> bool {
        match self {
            IngestCommand::Dir(a) => a.common.json,
            IngestCommand::S3(a) => a.common.json,
            IngestCommand::Cloudwatch(a) => a.common.json,
        }
    }
}

/// Runs one ingest; the caller prints its summary.
pub(crate) async fn execute(command: IngestCommand) -> anyhow::Result<Step> {
    match command {
        IngestCommand::Dir(args) => {
            let lake = args.common.lake.open_for_ingest().await?;
            let source = DirSource::new(&args.path, lake.local_root().map(PathBuf::from))
                .with_window(args.window.filter()?)
                .with_max_whole_bytes(args.common.options()?.limits.max_whole_bytes);
            run_source(&source, &lake, &args.common, None).await
        }
        IngestCommand::S3(args) => {
            let lake = args.common.lake.open_for_ingest().await?;
            let filter = KeyFilter {
                accounts: args.accounts.clone(),
                regions: args.regions.clone(),
                ..args.window.filter()?
            };
            let source = S3Source::new(&args.url, &args.common.lake.aws.settings(), filter)
                .await
                .with_context(|| format!("opening {}", args.url))?
                .with_max_whole_bytes(args.common.options()?.limits.max_whole_bytes);
            let concurrency = args
                .concurrency
                .unwrap_or_else(|| 4 * args.common.options().map_or(1, |o| o.threads));
            run_source(&source, &lake, &args.common, Some(concurrency)).await
        }
        IngestCommand::Cloudwatch(args) => super::ingest_cloudwatch::execute(args).await,
    }
}

/// Runs one ingest of a listed source.
async fn run_source(
    source: &dyn Source,
    lake: &flowlake_ingest::LakeStore,
    common: &CommonArgs,
    concurrency: Option<usize>,
) -> anyhow::Result<Step> {
    let mut options = common.options()?;
    if let Some(c) = concurrency {
        options.concurrency = c.max(1);
    }
    let progress: Arc<dyn Progress> = progress_for_terminal(common.quiet || common.json);
    let summary = ingest(source, lake, &options, progress).await?;
    Ok(Step::new(
        summary.is_partial(),
        render_summary(&summary),
        summary_json(&summary),
    ))
}

pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The human summary printed after an ingest.
pub(crate) fn render_summary(s: &IngestSummary) -> String {
    let secs = s.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        s.records_written as f64 / secs
    } else {
        0.0
    };
    let mut out = format!("ingested {} → {}\n", s.source, s.lake);
    out.push_str(&format!(
        "  objects  {} listed: {} ingested ({} replaced a changed object), {} already in the lake, {} failed{}\n",
        thousands(s.listed),
        thousands(s.ingested),
        thousands(s.replaced),
        thousands(s.already_done),
        thousands(s.failed),
        if s.duplicates > 0 {
            format!(", {} listed twice", thousands(s.duplicates))
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "  lines    {} read = {} records written + {} rejected + {} headers + {} blank\n",
        thousands(s.counts.lines()),
        thousands(s.counts.records),
        thousands(s.counts.rejected),
        thousands(s.counts.headers),
        thousands(s.counts.blank),
    ));
    if s.parquet_rows > 0 {
        out.push_str(&format!(
            "  parquet  {} rows from Parquet objects\n",
            thousands(s.parquet_rows)
        ));
    }
    out.push_str(&format!(
        "  bytes    {} read, {} of Parquet in {} files\n",
        megabytes(s.bytes_in),
        megabytes(s.bytes_out),
        thousands(s.files_written)
    ));
    out.push_str(&format!(
        "  time     {secs:.2} s, {} records/s\n",
        thousands(rate as u64)
    ));
    if s.recovered > 0 {
        out.push_str(&format!(
            "  recovered {} interrupted object(s) from an earlier run\n",
            s.recovered
        ));
    }
    for (location, error) in &s.failures {
        out.push_str(&format!("  FAILED   {location}: {error}\n"));
    }
    if s.counts.rejected > 0 {
        for (location, reject) in s.rejects.iter().take(10) {
            out.push_str(&format!("  rejected {location}: {reject}\n"));
        }
        out.push_str(&format!(
            "  {} rejected line(s) are in the quarantine: flowlake sql --lake {} \"SELECT * FROM quarantine\"\n",
            thousands(s.counts.rejected),
            s.lake
        ));
    }
    out
}

/// The summary as JSON, for scripts.
pub(crate) fn summary_json(s: &IngestSummary) -> serde_json::Value {
    serde_json::json!({
        "source": s.source,
        "lake": s.lake,
        "objects": {
            "listed": s.listed,
            "ingested": s.ingested,
            "replaced": s.replaced,
            "already_done": s.already_done,
            "duplicates": s.duplicates,
            "failed": s.failed,
            "recovered": s.recovered,
        },
        "lines": {
            "read": s.counts.lines(),
            "records": s.counts.records,
            "rejected": s.counts.rejected,
            "headers": s.counts.headers,
            "blank": s.counts.blank,
        },
        "parquet_rows": s.parquet_rows,
        "records_written": s.records_written,
        "files_written": s.files_written,
        "bytes_in": s.bytes_in,
        "bytes_out": s.bytes_out,
        "seconds": s.elapsed.as_secs_f64(),
        "failures": s.failures.iter().map(|(l, e)| serde_json::json!({"object": l, "error": e})).collect::<Vec<_>>(),
        "rejects": s.rejects.iter().map(|(l, r)| serde_json::json!({"object": l, "line": r.line, "kind": r.reason.kind(), "reason": r.reason.to_string()})).collect::<Vec<_>>(),
    })
}
