//! `flowlake compact`: merge the small files of append-only sources
//! (Firehose flushes, CloudWatch Logs reads) into large ones, exactly once.

use clap::Args;
use flowlake_ingest::compact::{CompactOptions, CompactSummary, compact};
use flowlake_ingest::pipeline::{IngestError, under_lock_recovered};

use super::ingest::parse_size;
use super::ingest_cloudwatch::{millis, parse_duration_ms};
use super::lake_args::LakeArgs;
use super::{Outcome, Step};

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Only files committed at least this long ago (`0s` for all): later
    /// ones may still be joined by late records of the same hours.
    #[arg(long, default_value = "1h", value_parser = parse_duration_ms)]
    older_than: i64,

    /// Merge files into files of up to about this size; files of half of it
    /// or more are left as they are.
    #[arg(long, default_value = "128M", value_parser = parse_size)]
    target_size: u64,

    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: CompactArgs) -> anyhow::Result<Outcome> {
    let json = args.json;
    Ok(execute(args).await?.print(json))
}

/// Runs one compaction; the caller prints its summary.
pub(crate) async fn execute(args: CompactArgs) -> anyhow::Result<Step> {
    let lake = args.lake.open_existing().await?;
    let options = CompactOptions {
        older_than: millis(args.older_than),
        target_bytes: args.target_size.max(1),
    };
    let summary = under_lock_recovered(&lake, |fenced| async move {
        let now = chrono::Utc::now().timestamp_millis();
        compact(&fenced, &options, now)
            .await
            .map_err(IngestError::from)
    })
    .await?;
    Ok(Step::new(
        false,
        render(&summary),
        serde_json::to_value(&summary)?,
    ))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn render(s: &CompactSummary) -> String {
    if s.partitions == 0 && s.empty_entries == 0 {
        return "Nothing to compact.\n".to_owned();
    }
    let mut out = format!(
        "Compacted {} partitions: {} files ({}) merged into {} ({}), {} records; {} large files taken over as they are.\n",
        s.partitions,
        s.files_merged,
        mib(s.bytes_merged),
        s.files_written,
        mib(s.bytes_written),
        s.rows,
        s.files_adopted,
    );
    out.push_str(&format!(
        "{} ledger entries gave up files; {} empty unit entries archived.\n",
        s.entries_released, s.empty_entries
    ));
    out
}
