//! The quarantine: rejected lines, kept with the object and line they came
//! from and why, as JSON Lines under `_flowlake/quarantine/` (one file per
//! object version) so `jq`, DuckDB or flowlake's SQL can read them.
//!
//! Written as lines are rejected, to a staged file beside the staged Parquet
//! files, so an object with millions of bad lines costs disk, not memory.
//! Each parallel segment writes its own part; [`concat`] joins them in line
//! order into the one file the commit publishes.
//!
//! Each line of the file is one JSON object with the fields `source`,
//! `identity`, `line`, `kind`, `reason` and `raw`, and `log_group` and
//! `log_stream` when the line came from CloudWatch Logs. `raw` holds at most
//! [`MAX_RAW_LINE`](flowlake_schemas::reject::MAX_RAW_LINE) bytes of the
//! line (an over-long line is cut; its `reason` gives its full length).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flowlake_schemas::Reject;
use serde::Serialize;

use crate::encode::EncodeError;
use crate::sources::SourceObject;

/// Rejected lines kept in memory per object, for the summary and the log.
pub const FIRST_REJECTS: usize = 5;

/// One quarantined line as stored.
#[derive(Debug, Serialize)]
struct QuarantinedLine<'a> {
    source: &'a str,
    identity: &'a str,
    line: u64,
    kind: &'static str,
    reason: String,
    raw: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_stream: Option<&'a str>,
}

/// A finished quarantine file on local disk, waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedQuarantine {
    /// Where it is now.
    pub staged: PathBuf,
    /// Rejected lines in it.
    pub lines: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Appends one quarantined line (JSON and a newline) to `out`.
fn render_line(out: &mut Vec<u8>, source: &str, identity: &str, reject: &Reject) {
    let line = QuarantinedLine {
        source,
        identity,
        line: reject.line,
        kind: reject.reason.kind(),
        reason: reject.reason.to_string(),
        raw: &reject.raw,
        log_group: reject.source.as_ref().and_then(|s| s.log_group.as_deref()),
        log_stream: reject.source.as_ref().and_then(|s| s.log_stream.as_deref()),
    };
    // Plain strings and numbers always serialise.
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
}

/// Writes one segment's rejected lines to a staged file as they come. The
/// file is created on the first reject; a writer dropped unfinished (the
/// object failed) removes it.
#[derive(Debug)]
pub struct QuarantineWriter {
    path: PathBuf,
    source: String,
    identity: String,
    file: Option<BufWriter<File>>,
    scratch: Vec<u8>,
    lines: u64,
    bytes: u64,
    first: Vec<Reject>,
}

impl QuarantineWriter {
    /// A writer for `object`'s rejects, staging them at `path`.
    pub fn new(path: PathBuf, object: &SourceObject) -> QuarantineWriter {
        QuarantineWriter {
            path,
            source: object.location.clone(),
            identity: object.identity.clone(),
            file: None,
            scratch: Vec::new(),
            lines: 0,
            bytes: 0,
            first: Vec::new(),
        }
    }

    /// Appends rejected lines (in line order, after those written before).
    pub fn write(&mut self, rejects: Vec<Reject>) -> Result<(), EncodeError> {
        if rejects.is_empty() {
            return Ok(());
        }
        let io = |source| EncodeError::Io {
            path: self.path.clone(),
            source,
        };
        if self.file.is_none() {
            let file = File::create(&self.path).map_err(io)?;
            self.file = Some(BufWriter::with_capacity(256 << 10, file));
        }
        self.scratch.clear();
        for reject in &rejects {
            render_line(&mut self.scratch, &self.source, &self.identity, reject);
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(&self.scratch).map_err(io)?;
        }
        self.lines += rejects.len() as u64;
        self.bytes += self.scratch.len() as u64;
        let room = FIRST_REJECTS.saturating_sub(self.first.len());
        self.first.extend(rejects.into_iter().take(room));
        // One huge batch of rejects must not keep its buffer for the rest
        // of the object.
        self.scratch.shrink_to(1 << 20);
        Ok(())
    }

    /// The first rejected lines written so far.
    pub fn first(&self) -> &[Reject] {
        &self.first
    }

    /// Flushes and syncs the file; `None` when nothing was rejected. Also
    /// returns the first few rejects.
    pub fn finish(mut self) -> Result<(Option<StagedQuarantine>, Vec<Reject>), EncodeError> {
        let first = std::mem::take(&mut self.first);
        let Some(file) = self.file.take() else {
            return Ok((None, first));
        };
        let io = |source| EncodeError::Io {
            path: self.path.clone(),
            source,
        };
        // Flushed only: `LakeStore::publish` makes it durable.
        if let Err(e) = file.into_inner().map_err(|e| e.into_error()) {
            let _ = std::fs::remove_file(&self.path);
            return Err(io(e));
        }
        let staged = StagedQuarantine {
            staged: std::mem::take(&mut self.path),
            lines: self.lines,
            bytes: self.bytes,
        };
        Ok((Some(staged), first))
    }
}

impl Drop for QuarantineWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Joins segment parts (in line order) into one staged file at `dest`,
/// streaming through a small buffer; the parts are removed. A single part is
/// renamed, not copied.
pub fn concat(
    parts: Vec<StagedQuarantine>,
    dest: &Path,
) -> Result<Option<StagedQuarantine>, EncodeError> {
    let io = |source| EncodeError::Io {
        path: dest.to_owned(),
        source,
    };
    let result = match parts.as_slice() {
        [] => return Ok(None),
        [one] => std::fs::rename(&one.staged, dest).map_err(io),
        many => (|| {
            let mut out = BufWriter::with_capacity(1 << 20, File::create(dest)?);
            for part in many {
                io::copy(&mut File::open(&part.staged)?, &mut out)?;
            }
            out.into_inner().map_err(|e| e.into_error())?;
            Ok(())
        })()
        .map_err(io),
    };
    for part in &parts {
        let _ = std::fs::remove_file(&part.staged);
    }
    if let Err(e) = result {
        let _ = std::fs::remove_file(dest);
        return Err(e);
    }
    Ok(Some(StagedQuarantine {
        staged: dest.to_owned(),
        lines: parts.iter().map(|p| p.lines).sum(),
        bytes: parts.iter().map(|p| p.bytes).sum(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ObjectKind;
    use flowlake_schemas::RejectReason;

    fn object() -> SourceObject {
        SourceObject {
            identity: "aws:1/x.log.gz".into(),
            shard: "other/00".into(),
            location: "/data/x.log.gz".into(),
            version: "v".into(),
            route: crate::sources::VersionRoute::Modified,
            size: 1,
            kind: ObjectKind::GzipText,
            time_hint_ms: None,
            source: None,
        }
    }

    fn reject(line: u64) -> Reject {
        Reject {
            line,
            reason: RejectReason::InvalidUtf8,
            raw: format!("raw {line}"),
            source: None,
        }
    }

    #[test]
    fn parts_join_in_order_and_the_format_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, lines) in [[1, 2], [7, 9]].iter().enumerate() {
            let mut w = QuarantineWriter::new(dir.path().join(format!("p{i}")), &object());
            w.write(lines.iter().map(|&l| reject(l)).collect()).unwrap();
            let (staged, first) = w.finish().unwrap();
            assert_eq!(first.len(), 2);
            parts.push(staged.unwrap());
        }
        let joined = concat(parts, &dir.path().join("all")).unwrap().unwrap();
        let text = std::fs::read_to_string(&joined.staged).unwrap();
        assert_eq!((joined.lines, joined.bytes), (4, text.len() as u64));
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            r#"{"source":"/data/x.log.gz","identity":"aws:1/x.log.gz","line":1,"kind":"invalid_utf8","reason":"line is not valid UTF-8","raw":"raw 1"}"#
        );
        let lines: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(lines, [1, 2, 7, 9]);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "parts removed"
        );
    }

    #[test]
    fn nothing_rejected_is_no_file_and_a_dropped_writer_leaves_none() {
        let dir = tempfile::tempdir().unwrap();
        let w = QuarantineWriter::new(dir.path().join("q"), &object());
        assert!(w.finish().unwrap().0.is_none());
        let mut w = QuarantineWriter::new(dir.path().join("q"), &object());
        w.write(vec![reject(1)]).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
