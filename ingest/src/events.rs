//! The events of append-only sources (CloudWatch Logs, the Firehose
//! spool) to staged Parquet: the same parser and writer as objects
//! (`process.rs`), fed one event per line with its source columns.

use std::sync::Arc;

use flowlake_schemas::{Format, RecordSource};

use crate::process::{DECODE_CHUNK, ObjectOutput, ProcessConfig, ProcessError, TextToParquet};
use crate::sources::SourceObject;

/// One event of an append-only source: a record line and where it came from.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its source columns (log group and stream).
    pub source: Arc<RecordSource>,
    /// The message: one flow record, without a newline.
    pub message: String,
}

/// Events after which a unit whose every event was rejected stops the run.
pub const GIVE_UP_AFTER_EVENTS: u64 = 1000;

/// A unit smaller than this whose every event was rejected also stops it
/// (fewer rejects are quarantined like any bad line).
const GIVE_UP_MIN_EVENTS: u64 = 10;

/// Processes the events of one unit of an append-only source (CloudWatch
/// Logs, a Firehose spool), arriving in pages over a channel. Each event is
/// one line, whatever it holds: newlines inside a message become spaces, and
/// header lines are not recognised (a message that looks like one is a
/// rejected line, never a change of format). With `check_format` (for
/// streams that have never given a record), stops with
/// [`ProcessError::NothingParses`] when no event parses (see
/// [`GIVE_UP_AFTER_EVENTS`]); `bytes_in` counts message bytes.
pub fn process_events(
    unit: &SourceObject,
    source_key: &str,
    pages: impl Iterator<Item = Vec<Event>>,
    config: &ProcessConfig,
    check_format: bool,
) -> Result<ObjectOutput, ProcessError> {
    let mut parse = TextToParquet::new(unit, source_key, (config.format.clone(), 1, 0, 1), config);
    parse.decoder.recognise_headers(false);
    let mut text: Vec<u8> = Vec::with_capacity(DECODE_CHUNK + 4096);
    let mut current: Option<Arc<RecordSource>> = None;
    let mut checked = !check_format;
    let mut bytes_in = 0u64;
    for page in pages {
        for event in page {
            bytes_in += event.message.len() as u64;
            let same = current
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, &event.source));
            if !same || text.len() >= DECODE_CHUNK {
                parse.feed(&text)?;
                text.clear();
                if !same {
                    parse.decoder.set_source(Some(event.source.clone()));
                    current = Some(event.source);
                }
            }
            let start = text.len();
            text.extend_from_slice(event.message.as_bytes());
            for b in &mut text[start..] {
                if *b == b'\n' || *b == b'\r' {
                    *b = b' ';
                }
            }
            text.push(b'\n');
        }
        if !checked {
            checked = nothing_parses(&parse, GIVE_UP_AFTER_EVENTS, &config.format)?;
        }
    }
    parse.feed(&text)?;
    if !checked {
        nothing_parses(&parse, GIVE_UP_MIN_EVENTS, &config.format)?;
    }
    let mut output = parse.finish()?;
    output.bytes_in = bytes_in;
    Ok(output)
}

/// After at least `events` lines: `Err` when none parsed, `Ok(true)`
/// when some did (no need to look again), `Ok(false)` when too few
/// lines have been seen to tell.
fn nothing_parses(
    parse: &TextToParquet,
    events: u64,
    format: &Format,
) -> Result<bool, ProcessError> {
    let counts = parse.decoder.counts();
    if counts.records > 0 {
        return Ok(true);
    }
    if counts.rejected < events || counts.rejected < counts.lines() {
        return Ok(false);
    }
    Err(ProcessError::NothingParses {
        events: counts.rejected,
        fields: format.len(),
        format: format.to_log_format(),
        example: parse
            .quarantine
            .first()
            .first()
            .map(|r| format!("{}: {}", r.reason, r.raw))
            .unwrap_or_default(),
    })
}
