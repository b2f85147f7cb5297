//! The sink's write-ahead spool: every accepted request's record lines in
//! a file of their own, written to a temporary name, fsynced, renamed and
//! the folder fsynced, all before the 200 is sent. A crash after the 200
//! loses nothing: the next start finds the segment and flushes it into the
//! lake. A redelivered request id (Firehose retries after a timeout even
//! when the first attempt got through) finds its segment and is not
//! spooled twice.
//!
//! ```text
//! <spool>/<seq:016>.jsonl    {"request_id":…,"received_ms":…,"lines":N}   then N lines
//!                             {"g":<log group>,"s":<stream>,"i":<event id>,"m":<record line>}
//! <spool>/<seq:016>.done     the header of a segment the lake has committed
//! <spool>/*.tmp              a segment being written (removed on open)
//! ```
//!
//! Once the lake has committed a segment, it is replaced by a marker of
//! its header alone (`<seq>.done`), kept for the dedupe window so a
//! redelivery within it is still known after a restart. The flusher's
//! cursor holds the request ids of the last unit it committed, so a
//! segment whose marking a crash interrupted is recognised as committed,
//! never flushed twice (`flush.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::sources::SourceError;

/// One spooled record line and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpooledLine {
    /// CloudWatch Logs log group (subscription envelopes only).
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// CloudWatch Logs log stream (subscription envelopes only).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
    /// The log event's id (subscription envelopes only), for deduplication.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The flow record line.
    #[serde(rename = "m")]
    pub message: String,
}

/// A segment's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentHeader {
    /// The Firehose request id it holds.
    pub request_id: String,
    /// When it was accepted (UTC ms).
    pub received_ms: i64,
    /// Record lines that follow.
    pub lines: u64,
}

/// A segment waiting to be flushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its number (accepted order).
    pub seq: u64,
    /// Its header.
    pub header: SegmentHeader,
    /// Its size on disk.
    pub bytes: u64,
}

/// How much waits to be flushed, for the sink's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Pending segments.
    pub segments: u64,
    /// Their bytes on disk.
    pub bytes: u64,
    /// When the oldest was accepted (UTC ms), if any is pending.
    pub oldest_received_ms: Option<i64>,
}

/// What [`Spool::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Spooled as this segment.
    New(u64),
    /// The request id is already spooled (as this segment): nothing written.
    Duplicate(u64),
}

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Disk I/O.
    #[error("spool {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A segment is not what the spool writes.
    #[error("spool segment {path}: {message}")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The spool folder and what is in it.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    pending: BTreeMap<u64, Segment>,
    /// Committed segments' markers: seq → received time.
    done: BTreeMap<u64, i64>,
    /// Bytes of the pending segments.
    pending_bytes: u64,
    by_request: HashMap<String, u64>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Spool {
    /// Opens (creating) the spool at `dir`: removes half-written segments
    /// and reads every complete one's header.
    pub fn open(dir: &Path) -> Result<Spool, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut state = State::default();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.ends_with(".tmp") {
                std::fs::remove_file(&path).map_err(io(&path))?;
                continue;
            }
            let (seq, done) = match (name.strip_suffix(".jsonl"), name.strip_suffix(".done")) {
                (Some(n), _) => (n.parse::<u64>().ok(), false),
                (_, Some(n)) => (n.parse::<u64>().ok(), true),
                _ => (None, false),
            };
            let Some(seq) = seq else { continue };
            let header = read_header(&path)?;
            let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
            state.by_request.insert(header.request_id.clone(), seq);
            if done {
                state.done.insert(seq, header.received_ms);
            } else {
                state.pending_bytes += bytes;
                state.pending.insert(seq, Segment { seq, header, bytes });
            }
            state.next = state.next.max(seq + 1);
        }
        Ok(Spool {
            dir: dir.to_owned(),
            state: Mutex::new(state),
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016}.jsonl"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a request's lines durably (returns once they are on disk),
    /// unless its request id is already spooled. Blocking: call it from a
    /// blocking task.
    pub fn append(
        &self,
        request_id: &str,
        received_ms: i64,
        lines: &[SpooledLine],
    ) -> Result<Appended, SpoolError> {
        let seq = {
            let mut state = self.lock();
            if let Some(seq) = state.by_request.get(request_id) {
                return Ok(Appended::Duplicate(*seq));
            }
            let seq = state.next;
            state.next += 1;
            // Claimed now, so a concurrent redelivery waits for nothing and
            // is a duplicate; released below if the write fails.
            state.by_request.insert(request_id.to_owned(), seq);
            seq
        };
        let header = SegmentHeader {
            request_id: request_id.to_owned(),
            received_ms,
            lines: lines.len() as u64,
        };
        match self.write_segment(seq, &header, lines) {
            Ok(bytes) => {
                let mut state = self.lock();
                state.pending_bytes += bytes;
                state.pending.insert(seq, Segment { seq, header, bytes });
                Ok(Appended::New(seq))
            }
            Err(e) => {
                self.lock().by_request.remove(request_id);
                Err(e)
            }
        }
    }

    fn write_segment(
        &self,
        seq: u64,
        header: &SegmentHeader,
        lines: &[SpooledLine],
    ) -> Result<u64, SpoolError> {
        let path = self.path(seq);
        let tmp = path.with_extension("tmp");
        let written = (|| {
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            serde_json::to_writer(&mut out, header)?;
            out.write_all(b"\n")?;
            for line in lines {
                serde_json::to_writer(&mut out, line)?;
                out.write_all(b"\n")?;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            let bytes = file.metadata()?.len();
            std::fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()?;
            Ok::<u64, std::io::Error>(bytes)
        })();
        written.map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            SpoolError::Io { path, source }
        })
    }

    /// Bytes waiting to be flushed (kept as segments come and go, so a
    /// request need not walk the spool to ask).
    pub fn pending_bytes(&self) -> u64 {
        self.lock().pending_bytes
    }

    /// The spool's depth, without copying the segment list (a metrics
    /// scrape asks for it).
    pub fn depth(&self) -> Depth {
        let state = self.lock();
        Depth {
            segments: state.pending.len() as u64,
            bytes: state.pending_bytes,
            oldest_received_ms: state.pending.values().map(|s| s.header.received_ms).min(),
        }
    }

    /// Segments waiting to be flushed, oldest first.
    pub fn pending(&self) -> Vec<Segment> {
        self.lock().pending.values().cloned().collect()
    }

    /// The lines of a pending segment.
    pub fn read(&self, seq: u64) -> Result<Vec<SpooledLine>, SpoolError> {
        let path = self.path(seq);
        // Read whole and split in place: no String per line before parsing.
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let mut lines = bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty());
        let header: SegmentHeader = parse_slice(&path, lines.next())?;
        let mut out = Vec::with_capacity(usize::try_from(header.lines).unwrap_or(0).min(1 << 20));
        for line in lines {
            out.push(parse_slice(&path, Some(line))?);
        }
        if out.len() as u64 != header.lines {
            return Err(SpoolError::Corrupt {
                path,
                message: format!("{} lines, the header says {}", out.len(), header.lines),
            });
        }
        Ok(out)
    }

    /// Marks segments committed by the lake: each becomes a marker of its
    /// header alone, which keeps its request id known for the dedupe window.
    pub fn mark_flushed(&self, seqs: &[u64]) -> Result<(), SpoolError> {
        for &seq in seqs {
            let Some(segment) = self.lock().pending.get(&seq).cloned() else {
                continue;
            };
            let path = self.path(seq);
            let done = path.with_extension("done");
            let tmp = path.with_extension("tmp");
            let written = (|| {
                let mut file = File::create(&tmp)?;
                serde_json::to_writer(&mut file, &segment.header)?;
                file.write_all(b"\n")?;
                file.sync_all()?;
                std::fs::rename(&tmp, &done)?;
                std::fs::remove_file(&path)?;
                File::open(&self.dir)?.sync_all()
            })();
            written.map_err(io(&path))?;
            let mut state = self.lock();
            if state.pending.remove(&seq).is_some() {
                state.pending_bytes -= segment.bytes;
            }
            state.done.insert(seq, segment.header.received_ms);
        }
        Ok(())
    }

    /// Forgets committed segments received before `before_ms` (the dedupe
    /// window): their markers go, and a redelivery of one is new again.
    pub fn expire(&self, before_ms: i64) -> Result<(), SpoolError> {
        let old: Vec<u64> = self
            .lock()
            .done
            .iter()
            .filter(|(_, at)| **at < before_ms)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in old {
            let path = self.path(seq).with_extension("done");
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
            let mut state = self.lock();
            state.done.remove(&seq);
            state.by_request.retain(|_, s| *s != seq);
        }
        Ok(())
    }
}

/// A spool failure as the source failure a run reports.
impl From<SpoolError> for SourceError {
    fn from(e: SpoolError) -> SourceError {
        match e {
            SpoolError::Io { path, source } => SourceError::Io {
                path: path.display().to_string(),
                source,
            },
            SpoolError::Corrupt { path, message } => SourceError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(message),
            },
        }
    }
}

fn read_header(path: &Path) -> Result<SegmentHeader, SpoolError> {
    let file = File::open(path).map_err(io(path))?;
    parse(path, BufReader::new(file).lines().next())
}

fn parse_slice<T: serde::de::DeserializeOwned>(
    path: &Path,
    line: Option<&[u8]>,
) -> Result<T, SpoolError> {
    let corrupt = |message: String| SpoolError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let line = line.ok_or_else(|| corrupt("empty".to_owned()))?;
    serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    line: Option<std::io::Result<String>>,
) -> Result<T, SpoolError> {
    let corrupt = |message: String| SpoolError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let line = line
        .ok_or_else(|| corrupt("empty".to_owned()))?
        .map_err(io(path))?;
    serde_json::from_str(&line).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: &str, id: Option<&str>) -> SpooledLine {
        SpooledLine {
            log_group: id.map(|_| "g".to_owned()),
            log_stream: id.map(|_| "eni-1-all".to_owned()),
            event_id: id.map(str::to_owned),
            message: message.to_owned(),
        }
    }

    #[test]
    fn appends_are_durable_deduplicated_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let lines = vec![line("2 1 eni-1 …", None), line("2 2 eni-2 …", Some("37"))];
        assert_eq!(spool.append("req-a", 10, &lines).unwrap(), Appended::New(0));
        assert_eq!(
            spool.append("req-a", 11, &lines).unwrap(),
            Appended::Duplicate(0)
        );
        assert_eq!(spool.append("req-b", 12, &[]).unwrap(), Appended::New(1));
        // A half-written segment of a process that died is not a segment.
        std::fs::write(dir.path().join("0000000000000002.tmp"), "{").unwrap();
        drop(spool);

        let spool = Spool::open(dir.path()).unwrap();
        let pending = spool.pending();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].header.request_id, "req-a");
        assert_eq!(spool.read(0).unwrap(), lines);
        assert_eq!(
            spool.append("req-b", 13, &[]).unwrap(),
            Appended::Duplicate(1)
        );
        assert_eq!(spool.append("req-c", 14, &[]).unwrap(), Appended::New(2));
        assert!(!dir.path().join("0000000000000002.tmp").exists());

        // Committed segments stay known, across a restart, until they expire.
        let third = spool.pending()[2].bytes;
        let depth = spool.depth();
        assert_eq!((depth.segments, depth.oldest_received_ms), (3, Some(10)));
        assert_eq!(depth.bytes, spool.pending_bytes());
        spool.mark_flushed(&[0, 1]).unwrap();
        assert_eq!(spool.pending().len(), 1);
        assert_eq!(spool.pending_bytes(), third);
        drop(spool);
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.pending().len(), 1);
        assert_eq!(
            spool.append("req-a", 15, &[]).unwrap(),
            Appended::Duplicate(0)
        );
        spool.expire(11).unwrap();
        assert_eq!(spool.append("req-a", 16, &[]).unwrap(), Appended::New(3));
        assert_eq!(
            spool.append("req-b", 17, &[]).unwrap(),
            Appended::Duplicate(1)
        );
    }

    #[test]
    fn a_damaged_segment_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.append("r", 1, &[line("x", None)]).unwrap();
        let path = dir.path().join("0000000000000000.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.lines().next().unwrap()).unwrap();
        let e = spool.read(0).unwrap_err();
        assert!(e.to_string().contains("0 lines, the header says 1"), "{e}");
    }
}
