//! Where flow records come from. A source lists objects, each with a stable
//! identity and a version, and opens them as bytes; it knows nothing about
//! parsing or the lake.
//!
//! The identity keys the lake's ledger (a re-run skips what is committed) and
//! names the output files (a retry overwrites instead of duplicating); the
//! version (S3 ETag, or size and modification time of a local file) tells a
//! changed object from a done one.
//!
//! # Identity rule
//! - An object named as AWS names flow-log deliveries
//!   (`<account>_vpcflowlogs_<region>_<fl-id>_<stamp>_<hash>.log.gz`) is
//!   `aws:<file name>`, wherever it lies: any bucket, prefix or key layout,
//!   a local copy, reached from any folder. AWS writes such objects once and
//!   never changes them, so the same name and size is the same object,
//!   whatever its route (a bucket and a local copy of it), mtime or ETag; a
//!   different size is a new version that replaces the old one.
//! - Any other local file is `file:<absolute path, symlinks resolved>`, the
//!   same from any folder it is reached from. A copy elsewhere is another object.
//! - Any other S3 object is `s3://bucket/key`.

pub mod aws_key;
pub mod cloudwatch;
pub mod dir;
pub mod firehose;
pub mod s3;

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use flowlake_schemas::RecordSource;
use flowlake_schemas::lake::source_key;
use tokio::sync::mpsc;
use xxhash_rust::xxh3::xxh3_64;

use aws_key::DeliveryName;

/// How an object's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// Gzip-compressed flow-log text (`.log.gz`), the S3 default.
    GzipText,
    /// Plain flow-log text (`.log`, `.txt`).
    Text,
    /// AWS's Parquet delivery (`.log.parquet`, `.parquet`).
    Parquet,
}

impl ObjectKind {
    /// The kind implied by a file or key name, if it looks like flow logs.
    pub fn from_name(name: &str) -> Option<ObjectKind> {
        if name.ends_with(".gz") {
            Some(ObjectKind::GzipText)
        } else if name.ends_with(".parquet") {
            Some(ObjectKind::Parquet)
        } else if name.ends_with(".log") || name.ends_with(".txt") {
            Some(ObjectKind::Text)
        } else {
            None
        }
    }
}

/// How a source tells versions of an object apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRoute {
    /// An S3 ETag.
    ETag,
    /// A local file's size and modification time.
    Modified,
    /// A unit of an append-only source: written once, never replaced.
    Unit,
    /// The output of a compaction: files it merged or took over from units.
    Compaction,
}

impl VersionRoute {
    /// The first character of its version keys.
    pub(crate) fn tag(self) -> char {
        match self {
            VersionRoute::ETag => 'e',
            VersionRoute::Modified => 'm',
            VersionRoute::Unit => 'u',
            VersionRoute::Compaction => 'c',
        }
    }
}

/// One input object, as listed.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Stable identity; see the module docs for the rule.
    pub identity: String,
    /// The ledger shard its entry lives in (see [`locate`]).
    pub shard: String,
    /// Where it is, for messages: a path or an `s3://` URI.
    pub location: String,
    /// Changes when the content may have changed (ETag; mtime).
    pub version: String,
    /// What kind of version that is.
    pub route: VersionRoute,
    /// Size in bytes as stored.
    pub size: u64,
    /// How to decode it.
    pub kind: ObjectKind,
    /// A time for records that carry none (from AWS's file-name stamp), in ms.
    pub time_hint_ms: Option<i64>,
    /// Source columns of every record in it (a CloudWatch export file's
    /// stream, from its key; see [`export_stream`]).
    pub source: Option<Arc<RecordSource>>,
}

impl SourceObject {
    /// The version's key in the ledger: `<route><size>-<hash of version>`,
    /// e.g. `e5120-9f1c…`. The size is kept readable so that the same AWS
    /// delivery reached by another route (ETag against mtime) is recognised
    /// from the ledger's listing alone, without reading any entry.
    pub fn version_key(&self) -> String {
        format!(
            "{}{}-{:016x}",
            self.route.tag(),
            self.size,
            xxh3_64(self.version.as_bytes())
        )
    }

    /// True when a committed version key stands for the same content as this
    /// object: only for AWS deliveries, which AWS writes once and never
    /// changes, so the same name and size is the same object whatever its
    /// route, mtime or ETag (copies differ in both: `cp`, SSE-KMS, multipart).
    pub fn same_delivery(&self, committed_key: &str) -> bool {
        if !self.identity.starts_with("aws:") {
            return false;
        }
        let size = committed_key
            .get(1..)
            .and_then(|rest| rest.split('-').next())
            .unwrap_or_default();
        size == self.size.to_string()
    }
}

/// The identity and ledger shard of an object: an AWS delivery is known by its
/// file name and sharded by account, region and hour; anything else keeps
/// `fallback` as its identity and goes to one of 256 shards by its hash.
pub fn locate(key_or_path: &str, fallback: String) -> (String, String) {
    match DeliveryName::parse(key_or_path) {
        Some(name) => (name.identity(), name.shard()),
        None => {
            let shard = format!("other/{}", &source_key(&fallback)[..2]);
            (fallback, shard)
        }
    }
}

/// The log stream of a CloudWatch Logs export object, from its key:
/// `CreateExportTask` writes `<prefix>/<task-id>/<log-stream>/000000.gz`
/// (numbered parts), whose lines are `<ISO 8601 timestamp> <message>`. The
/// log group is not in the key, so it stays null.
pub fn export_stream(key_or_path: &str) -> Option<Arc<RecordSource>> {
    let mut parts = key_or_path.rsplit('/');
    let name = parts.next()?;
    let stream = parts.next()?;
    let task = parts.next()?;
    let numbered = name
        .strip_suffix(".gz")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    // Task ids are UUIDs (`3a2c8e8f-…`, 36 characters with four dashes).
    let is_task = task.len() == 36 && task.bytes().filter(|&b| b == b'-').count() == 4;
    (numbered && is_task && !stream.is_empty())
        .then(|| Arc::new(RecordSource::stream(None, stream)))
}

/// An error and its causes on one line (`a: b: c`), skipping a cause whose
/// text its parent already shows: SDK errors nest the useful part deep.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

/// An opened object: whole in memory, or arriving in chunks.
#[derive(Debug)]
pub enum Body {
    /// The whole object (local files).
    Whole(Bytes),
    /// Chunks as they arrive (S3); an `Err` ends the stream.
    Stream(mpsc::Receiver<io::Result<Bytes>>),
}

/// Why a source could not list or open.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Local I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A remote service said no, or could not be reached.
    #[error("{location}: {message}")]
    Remote {
        /// What was being read.
        location: String,
        /// What went wrong, as the service or SDK put it.
        message: String,
        /// Worth trying again (throttling, 5xx, dropped connection).
        retryable: bool,
    },
}

impl SourceError {
    /// True for failures that a retry may cure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SourceError::Remote {
                retryable: true,
                ..
            }
        )
    }
}

/// A place flow-log objects are read from.
#[async_trait::async_trait]
pub trait Source: Send + Sync + std::fmt::Debug {
    /// A short description for the summary, e.g. `./logs` or `s3://bucket/prefix`.
    fn describe(&self) -> String;

    /// Every object to consider, in a stable order.
    async fn list(&self) -> Result<Vec<SourceObject>, SourceError>;

    /// Opens an object listed by [`Source::list`].
    async fn open(&self, object: &SourceObject) -> Result<Body, SourceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_keys_name_their_stream() {
        let key =
            "exports/0c5a1b7c-3d4e-4f60-8a9b-0123456789ab/eni-0416a1c81c87ab9c9-all/000000.gz";
        let source = export_stream(key).unwrap();
        assert_eq!(
            source.log_stream.as_deref(),
            Some("eni-0416a1c81c87ab9c9-all")
        );
        assert!(source.log_group.is_none());
        assert!(export_stream("AWSLogs/1/vpcflowlogs/us-east-1/2024/05/25/x.log.gz").is_none());
        assert!(export_stream("a/b/000000.gz").is_none());
    }
}
