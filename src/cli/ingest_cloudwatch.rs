//! `flowlake ingest cloudwatch`: log groups of flow logs into the lake.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use flowlake_ingest::Progress;
use flowlake_ingest::cloudwatch::{CloudWatchOptions, CloudWatchSummary, ingest_cloudwatch};
use flowlake_ingest::sources::cloudwatch::CloudWatchLogs;
use flowlake_query::time::parse_time;

use super::Step;
use super::ingest::{CommonArgs, thousands};
use crate::progress::progress_for_terminal;

#[derive(Debug, Args)]
#[command(after_long_help = "\
CloudWatch Logs does not record which format a log group's flow log writes: \
the events are bare record lines without a header. The default is AWS's \
default (v2) format; for a custom format pass the flow log's LogFormat, as \
`aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat'` prints it, with \
--format. A run in which no event parses stops with an error instead of \
quarantining every event.

Each log stream has a cursor in the lake, committed with the records it \
covers; every run re-reads the --lookback window behind it and skips the \
events it holds, so late events inside the window are written once and \
nothing is written twice. An event that arrives later than the window \
behind the cursor is not read.")]
pub(crate) struct CloudWatchArgs {
    /// A log group to read (repeat for several).
    #[arg(long = "log-group", required = true)]
    groups: Vec<String>,

    /// Only streams whose names start with this (e.g. `eni-0abc`).
    #[arg(long)]
    stream_prefix: Option<String>,

    /// Streams read for the first time start here (2024-05-25, RFC 3339,
    /// -2h, -7d); streams with a cursor continue from it. Default: their
    /// first event (less the look-back window).
    #[arg(long, allow_hyphen_values = true)]
    from: Option<String>,

    /// Read events before this time (default, and at the latest: when the
    /// run starts); the next run continues from there.
    #[arg(long, allow_hyphen_values = true)]
    to: Option<String>,

    /// Window re-read behind each stream's cursor for late events (30m, 1h, 2d).
    #[arg(long, default_value = "1h", value_parser = parse_duration_ms)]
    lookback: i64,

    /// Commit a unit (records and cursors) every this many events, so a
    /// long first read keeps its progress if it is interrupted.
    #[arg(long, default_value_t = 1_000_000)]
    checkpoint_every: u64,

    /// API requests per second, shared by every stream and group
    /// (FilterLogEvents' quota is 5 per account and Region).
    #[arg(long, default_value_t = 5.0, env = "FLOWLAKE_CLOUDWATCH_RPS")]
    requests_per_second: f64,

    /// Batches of up to 100 streams read at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,

    /// The log groups' Region (otherwise `AWS_REGION`, the profile, else us-east-1).
    #[arg(long = "region", id = "log_region")]
    log_region: Option<String>,

    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

/// `30m`, `1h`, `2d`, `90s`, or a number of seconds, as milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit = text.chars().last().filter(char::is_ascii_alphabetic);
    let digits = unit.map_or(text, |u| &text[..text.len() - u.len_utf8()]);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30m, 1h, 2d)"))?;
    let scale = match unit {
        None | Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        Some(u) => return Err(format!("{text:?}: unknown unit {u:?} (use s, m, h, d)")),
    };
    n.checked_mul(scale)
        .filter(|ms| *ms >= 0)
        .ok_or_else(|| format!("{text:?} is out of range"))
}

/// A duration from [`parse_duration_ms`] (never negative).
pub(crate) fn millis(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Runs one CloudWatch Logs ingest; the caller prints its summary.
pub(crate) async fn execute(args: CloudWatchArgs) -> anyhow::Result<Step> {
    let lake = args.common.lake.open_for_ingest().await?;
    let mut settings = args.common.lake.aws.settings();
    if args.log_region.is_some() {
        settings.region = args.log_region.clone();
    }
    if args.requests_per_second.is_nan() || args.requests_per_second <= 0.0 {
        bail!("--requests-per-second must be above 0");
    }
    let api = CloudWatchLogs::new(&settings, args.requests_per_second).await;
    let now = chrono::Utc::now();
    let time = |t: &Option<String>, flag: &str| {
        t.as_deref()
            .map(|t| parse_time(t, now).map(|t| t.timestamp_millis()))
            .transpose()
            .with_context(|| format!("--{flag}"))
    };
    let mut options = CloudWatchOptions::new(args.groups.clone());
    options.stream_prefix = args.stream_prefix.clone();
    options.from_ms = time(&args.from, "from")?;
    options.to_ms = time(&args.to, "to")?;
    options.lookback_ms = args.lookback;
    options.checkpoint_every = args.checkpoint_every.max(1);
    options.concurrency = args.concurrency.max(1);
    options.ingest = args.common.options()?;
    let progress: Arc<dyn Progress> = progress_for_terminal(args.common.quiet || args.common.json);
    let summary = ingest_cloudwatch(&api, &lake, &options, progress).await?;
    Ok(Step::new(
        summary.is_partial(),
        render_summary(&summary),
        summary_json(&summary),
    ))
}

fn render_summary(s: &CloudWatchSummary) -> String {
    let secs = s.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        s.records_written as f64 / secs
    } else {
        0.0
    };
    let n = thousands;
    let mut out = format!("ingested {} → {}\n", s.source, s.lake);
    out.push_str(&format!(
        "  streams  {} listed: {} read, {} with nothing new\n",
        n(s.streams_listed),
        n(s.streams_read),
        n(s.streams_skipped)
    ));
    out.push_str(&format!(
        "  events   {} read = {} records written + {} rejected + {} blank + {} read before (ids in the cursor) + {} before their stream's start\n",
        n(s.events_read),
        n(s.counts.records),
        n(s.counts.rejected),
        n(s.counts.blank),
        n(s.duplicates),
        n(s.before_start)
    ));
    out.push_str(&format!(
        "  commits  {} unit{}, {} stream cursors advanced, {} Parquet files ({:.1} MB)\n",
        n(s.units),
        if s.units == 1 { "" } else { "s" },
        n(s.checkpoints),
        n(s.files_written),
        s.bytes_out as f64 / 1e6
    ));
    out.push_str(&format!(
        "  requests {} FilterLogEvents + {} Describe*, {} attempts ({} throttled or failed, retried)\n",
        n(s.filter_requests),
        n(s.describe_requests),
        n(s.attempts),
        n(s.retried)
    ));
    out.push_str(&format!(
        "  time     {secs:.2} s, {} records/s\n",
        n(rate as u64)
    ));
    if s.recovered > 0 {
        out.push_str(&format!(
            "  recovered {} interrupted commit(s) from an earlier run\n",
            s.recovered
        ));
    }
    for (location, error) in &s.failures {
        out.push_str(&format!("  FAILED   {location}: {error}\n"));
    }
    for (location, reject) in s.rejects.iter().take(10) {
        let stream = reject
            .source
            .as_ref()
            .and_then(|s| s.log_stream.as_deref())
            .unwrap_or_default();
        out.push_str(&format!(
            "  rejected {location} stream {stream}: {reject}\n"
        ));
    }
    if s.counts.rejected > 0 {
        out.push_str(&format!(
            "  {} rejected event(s) are in the quarantine: flowlake sql --lake {} \"SELECT * FROM quarantine\"\n",
            n(s.counts.rejected),
            s.lake
        ));
    }
    out
}

fn summary_json(s: &CloudWatchSummary) -> serde_json::Value {
    serde_json::json!({
        "source": s.source,
        "lake": s.lake,
        "groups": s.groups,
        "streams": {
            "listed": s.streams_listed,
            "read": s.streams_read,
            "skipped": s.streams_skipped,
        },
        "events": {
            "read": s.events_read,
            "records": s.counts.records,
            "rejected": s.counts.rejected,
            "blank": s.counts.blank,
            "duplicates": s.duplicates,
            "before_start": s.before_start,
        },
        "records_written": s.records_written,
        "files_written": s.files_written,
        "bytes_out": s.bytes_out,
        "units": s.units,
        "checkpoints": s.checkpoints,
        "recovered": s.recovered,
        "requests": {
            "filter_log_events": s.filter_requests,
            "describe": s.describe_requests,
            "attempts": s.attempts,
            "retried": s.retried,
        },
        "seconds": s.elapsed.as_secs_f64(),
        "failures": s.failures.iter().map(|(l, e)| serde_json::json!({"source": l, "error": e})).collect::<Vec<_>>(),
        "rejects": s.rejects.iter().map(|(l, r)| serde_json::json!({
            "unit": l,
            "log_stream": r.source.as_ref().and_then(|s| s.log_stream.clone()),
            "line": r.line,
            "kind": r.reason.kind(),
            "reason": r.reason.to_string(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert!(parse_duration_ms("1y").is_err());
        assert!(parse_duration_ms("-1h").is_err());
    }
}
