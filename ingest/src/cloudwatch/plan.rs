//! Planning a group's run: its account, its streams and their cursors, and
//! the batches they are read in.

use flowlake_schemas::lake::source_key;

use super::CloudWatchOptions;
use super::slices::FIRST_SLICE_MS;
use crate::lake::LakeStore;
use crate::lake::cursor::{StreamCursor, load_cursors};
use crate::pipeline::IngestError;
use crate::sources::SourceError;
use crate::sources::cloudwatch::{CloudWatchLogs, MAX_STREAMS_PER_CALL};

/// `lastEventTimestamp` is eventually consistent ("typically less than an
/// hour"): a stream is skipped only if its latest event is this much
/// before where its read would start.
const LAST_EVENT_LAG_MS: i64 = 3_600_000;

/// One stream to read in this run, from `start_ms`.
#[derive(Debug)]
pub(super) struct Planned {
    /// Its committed cursor (new for a stream never read).
    pub(super) cursor: StreamCursor,
    /// The cursor's file, if it has one.
    pub(super) path: Option<String>,
    /// Where this run's read starts (UTC ms).
    pub(super) start_ms: i64,
}

/// A batch of streams of one group, read with one FilterLogEvents
/// pagination per time slice and committed as units.
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) group: String,
    /// The group's identity, `cwl:<account>/<region>/<group>`.
    pub(super) identity: String,
    /// Ledger shard of its units: `cwl/<account>/<region>/YYYY/MM/DD`.
    pub(super) shard: String,
    /// The source key its cursors are filed under.
    pub(super) cursor_source: String,
    pub(super) index: usize,
    pub(super) end_ms: i64,
    pub(super) streams: Vec<Planned>,
    /// Cursor files of streams the group no longer has, retired with this
    /// batch's first unit.
    pub(super) retire: Vec<String>,
}

/// A group's plan.
#[derive(Debug)]
pub(super) struct GroupPlan {
    pub(super) listed: u64,
    pub(super) skipped: u64,
    pub(super) batches: Vec<Batch>,
}

/// Lists a group's streams and cursors and plans this run's reads.
pub(super) async fn plan_group(
    api: &CloudWatchLogs,
    lake: &LakeStore,
    options: &CloudWatchOptions,
    group: &str,
    (end_ms, run_ms): (i64, i64),
) -> Result<GroupPlan, IngestError> {
    let source_error = |e: SourceError| IngestError::List(format!("cloudwatch:{group}"), e);
    let account = api.group_account(group).await.map_err(source_error)?;
    let identity = format!("cwl:{account}/{}/{group}", api.region());
    let cursor_source = source_key(&identity);
    let mut cursors = load_cursors(lake, &cursor_source).await?;
    let streams = api
        .streams(group, options.stream_prefix.as_deref())
        .await
        .map_err(source_error)?;
    let listed = streams.len() as u64;
    let mut skipped = 0;
    let mut planned = Vec::new();
    for stream in streams {
        let (path, cursor) = match cursors.remove(&stream.name) {
            Some((path, cursor)) => (Some(path), cursor),
            None => (None, StreamCursor::new(&stream.name)),
        };
        let start = match (&path, options.from_ms) {
            (Some(_), _) => cursor.resume_from_ms(options.lookback_ms),
            (None, Some(from)) => from,
            // A window before the first event: it may not be the oldest
            // for long (late events).
            (None, None) => stream
                .first_event_ms
                .unwrap_or(0)
                .saturating_sub(options.lookback_ms)
                .max(0),
        };
        let idle = stream
            .last_event_ms
            .is_none_or(|last| last.saturating_add(LAST_EVENT_LAG_MS) < start);
        if idle || end_ms <= cursor.read_until_ms || end_ms <= start {
            skipped += 1;
            continue;
        }
        planned.push(Planned {
            cursor,
            path,
            start_ms: start,
        });
    }
    // Whatever cursors are left belong to streams the group no longer has
    // (only known when every stream was listed).
    let retire: Vec<String> = if options.stream_prefix.is_none() {
        let mut paths: Vec<String> = cursors.into_values().map(|(path, _)| path).collect();
        paths.sort();
        paths
    } else {
        Vec::new()
    };
    let day = chrono::DateTime::from_timestamp_millis(run_ms).map_or_else(
        || "1970/01/01".to_owned(),
        |t| t.format("%Y/%m/%d").to_string(),
    );
    let shard = format!("cwl/{account}/{}/{day}", api.region());
    // Streams with similar starts share a call; one far behind the others
    // gets a batch of its own rather than dragging them back.
    planned.sort_by(|a, b| (a.start_ms, &a.cursor.stream).cmp(&(b.start_ms, &b.cursor.stream)));
    let mut batches: Vec<Batch> = Vec::new();
    for stream in planned {
        let joins = batches.last().is_some_and(|b| {
            b.streams.len() < MAX_STREAMS_PER_CALL
                && stream.start_ms - b.streams[0].start_ms <= FIRST_SLICE_MS
        });
        if !joins {
            batches.push(Batch {
                group: group.to_owned(),
                identity: identity.clone(),
                shard: shard.clone(),
                cursor_source: cursor_source.clone(),
                index: batches.len(),
                end_ms,
                streams: Vec::new(),
                retire: Vec::new(),
            });
        }
        if let Some(batch) = batches.last_mut() {
            batch.streams.push(stream);
        }
    }
    if let Some(first) = batches.first_mut() {
        first.retire = retire;
    }
    Ok(GroupPlan {
        listed,
        skipped,
        batches,
    })
}
