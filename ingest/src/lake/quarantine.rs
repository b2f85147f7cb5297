//! The quarantine: rejected lines, kept with the object and line they came
//! from and why, as JSON Lines under `_flowlake/quarantine/` (one file per
//! object version) so `jq`, DuckDB or flowlake's SQL can read them.

use bytes::Bytes;
use flowlake_schemas::Reject;
use serde::Serialize;

use crate::sources::SourceObject;

/// One quarantined line as stored.
#[derive(Debug, Serialize)]
struct QuarantinedLine<'a> {
    source: &'a str,
    identity: &'a str,
    line: u64,
    kind: &'static str,
    reason: String,
    raw: &'a str,
}

/// The quarantine file's content for one object's rejects.
pub fn render_quarantine(object: &SourceObject, rejects: &[Reject]) -> Bytes {
    let mut out = Vec::with_capacity(rejects.len() * 160);
    for reject in rejects {
        let line = QuarantinedLine {
            source: &object.location,
            identity: &object.identity,
            line: reject.line,
            kind: reject.reason.kind(),
            reason: reject.reason.to_string(),
            raw: &reject.raw,
        };
        // Plain strings and numbers always serialise.
        if serde_json::to_writer(&mut out, &line).is_ok() {
            out.push(b'\n');
        }
    }
    Bytes::from(out)
}
