//! `flowlake prune`: retention, whole hour partitions at a time, exactly once.

use clap::Args;
use flowlake_ingest::lake::LockError;
use flowlake_ingest::lake::lock::{LockScope, with_lock};
use flowlake_ingest::pipeline::{IngestError, under_lock_recovered};
use flowlake_ingest::prune::{PruneSummary, prune, prune_explanations};

use super::ingest::thousands;
use super::ingest_cloudwatch::{millis, parse_duration_ms};
use super::lake_args::LakeArgs;
use super::{Outcome, Step};

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Drop every hour partition that ended at least this long ago (`90d`).
    #[arg(long, value_parser = parse_duration_ms)]
    older_than: i64,

    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: PruneArgs) -> anyhow::Result<Outcome> {
    let json = args.json;
    Ok(execute(args).await?.print(json))
}

/// Runs one prune; the caller prints its summary.
pub(crate) async fn execute(args: PruneArgs) -> anyhow::Result<Step> {
    let lake = args.lake.open_existing().await?;
    let older_than = millis(args.older_than);
    let now = chrono::Utc::now().timestamp_millis();
    let mut summary = under_lock_recovered(&lake, |fenced| async move {
        prune(&fenced, older_than, now)
            .await
            .map_err(IngestError::from)
    })
    .await?;
    // The explanations of what is gone, under their own lock, as saves
    // take it. A save running now keeps them until the next prune: the
    // flows are pruned, and that is not an error.
    let explanations = with_lock(&lake, LockScope::Explanations, |fenced| async move {
        prune_explanations(&fenced, older_than, now)
            .await
            .map_err(IngestError::from)
    })
    .await;
    summary.explanation_days = match explanations {
        Ok(days) => days,
        Err(IngestError::Lock(e @ LockError::Busy { .. })) => {
            tracing::warn!(error = %e, "Saved explanations left for the next prune.");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Step::new(
        false,
        render(&summary),
        serde_json::to_value(&summary)?,
    ))
}

fn render(s: &PruneSummary) -> String {
    let mut text = render_flows(s);
    if let (Some(first), Some(last)) = (s.explanation_days.first(), s.explanation_days.last()) {
        text.push_str(&format!(
            "Deleted the saved explanations of {} days ({first} .. {last}).\n",
            s.explanation_days.len()
        ));
    }
    text
}

fn render_flows(s: &PruneSummary) -> String {
    match (s.partitions.first(), s.partitions.last()) {
        (Some(first), Some(last)) => format!(
            "Dropped {} partitions ({first} .. {last}): {} files, {} records, {:.1} MiB.\n",
            s.partitions.len(),
            thousands(s.files),
            thousands(s.records),
            s.bytes as f64 / f64::from(1 << 20)
        ),
        _ => "Nothing to prune.\n".to_owned(),
    }
}
