//! Units of append-only sources: what a CloudWatch Logs read (and the
//! Firehose sink's spool) commits.
//!
//! An S3 object is listed whole, with an identity and a version, and a new
//! version replaces the old. A log stream only grows: each run reads what
//! is new in many streams, and the records it writes never replace earlier
//! ones. Such a run commits *units*: a unit holds the records of a range of
//! events of one or more streams (with their source columns), is written
//! once under an identity of its own (route `u`, never replaced), and
//! advances the cursor of each stream it read (`lake::cursor`). A unit goes
//! through the same commit protocol as an object (`lake::commit`): the
//! cursors are published with the data files and the ledger entry, so a
//! stream's cursor moves exactly when the records it covers become
//! committed.

use std::sync::Arc;

use flowlake_schemas::lake::{file_stem, source_key};
use tokio::sync::mpsc;

use crate::events::{Event, process_events};
use crate::lake::commit::to_json;
use crate::lake::cursor::{StreamCursor, cursor_path};
use crate::lake::{
    CommitError, CommitOutcome, CommitRequest, LakeStore, StreamRange, Takeover, commit_object,
};
use crate::pipeline::JobError;
use crate::process::{ObjectOutput, ProcessConfig, ProcessError};
use crate::sources::{ObjectKind, SourceObject, VersionRoute};

/// Pages of events queued for the parser per unit (each up to 10,000 events).
const QUEUED_PAGES: usize = 4;

/// The [`SourceObject`] a unit is committed as: `identity` must be unique
/// to the unit (it is never replaced), `shard` is its ledger folder.
pub fn unit_object(identity: String, shard: String, location: String) -> SourceObject {
    SourceObject {
        identity,
        shard,
        location,
        version: "unit".to_owned(),
        route: VersionRoute::Unit,
        size: 0,
        kind: ObjectKind::Text,
        time_hint_ms: None,
        source: None,
    }
}

/// Parses and encodes one unit's events on the CPU pool as they are sent
/// (`check_format`: see [`process_events`]).
#[derive(Debug)]
pub struct UnitWriter {
    tx: Option<mpsc::Sender<Vec<Event>>>,
    handle: tokio::task::JoinHandle<Result<ObjectOutput, ProcessError>>,
    events: u64,
}

impl UnitWriter {
    /// Starts writing the unit `object`.
    pub fn start(
        object: SourceObject,
        pool: Arc<rayon::ThreadPool>,
        config: Arc<ProcessConfig>,
        check_format: bool,
    ) -> UnitWriter {
        let stem = file_stem(&source_key(&object.identity), &object.version_key());
        let (tx, mut rx) = mpsc::channel::<Vec<Event>>(QUEUED_PAGES);
        let unit = object;
        let handle = tokio::task::spawn_blocking(move || {
            pool.install(|| {
                let pages = std::iter::from_fn(|| rx.blocking_recv());
                process_events(&unit, &stem, pages, &config, check_format)
            })
        });
        UnitWriter {
            tx: Some(tx),
            handle,
            events: 0,
        }
    }

    /// Events sent so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Queues events for the parser. An error means the parser stopped;
    /// [`UnitWriter::finish`] says why.
    pub async fn send(&mut self, events: Vec<Event>) -> bool {
        self.events += events.len() as u64;
        match &self.tx {
            Some(tx) if !events.is_empty() => tx.send(events).await.is_ok(),
            Some(_) => true,
            None => false,
        }
    }

    /// Ends the unit: the staged output, ready to commit.
    pub async fn finish(mut self) -> Result<ObjectOutput, JobError> {
        drop(self.tx.take());
        let output = (&mut self.handle)
            .await
            .map_err(|e| JobError::Join(e.to_string()))??;
        Ok(output)
    }
}

/// A stream's cursor to commit with a unit, and the file it replaces.
#[derive(Debug, Clone)]
pub struct CursorAdvance {
    /// The new cursor.
    pub cursor: StreamCursor,
    /// The committed cursor file it supersedes, if any.
    pub replaces: Option<String>,
    /// What the unit read of the stream, for the ledger entry.
    pub range: StreamRange,
}

/// Commits a finished unit with the cursors it advances, retiring also the
/// cursor files in `retired` (streams that no longer exist); returns each
/// new cursor's path, in the order given. On failure the staged files are
/// removed and nothing of the unit is committed.
pub async fn commit_unit(
    lake: &LakeStore,
    object: &SourceObject,
    cursor_source: &str,
    output: &ObjectOutput,
    (advances, retired): (&[CursorAdvance], &[String]),
) -> Result<Vec<String>, CommitError> {
    let mut cursors = Vec::with_capacity(advances.len());
    for a in advances {
        let path = cursor_path(cursor_source, &a.cursor.stream, a.cursor.seq);
        cursors.push((path, to_json(&a.cursor)));
    }
    let old: Vec<String> = advances
        .iter()
        .filter_map(|a| a.replaces.clone())
        .chain(retired.iter().cloned())
        .collect();
    let ranges: Vec<StreamRange> = advances.iter().map(|a| a.range.clone()).collect();
    let committed = commit_object(
        lake,
        CommitRequest {
            object,
            source_key: &source_key(&object.identity),
            old_entries: &[],
            output,
            cursors: &cursors,
            old_cursors: &old,
            streams: &ranges,
            takeover: Takeover::default(),
        },
    )
    .await;
    match committed {
        Ok(CommitOutcome::Committed) => Ok(cursors.into_iter().map(|(path, _)| path).collect()),
        // Unit identities are unique to a run, so only a writer that lost
        // its lease can get here; its files are not the ones committed.
        Ok(CommitOutcome::AlreadyCommitted) => Err(CommitError::Conflict {
            path: object.location.clone(),
        }),
        Err(e) => {
            output.discard();
            Err(e)
        }
    }
}
