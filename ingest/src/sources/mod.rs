//! Where flow records come from. A source lists objects, each with a stable
//! identity and a version, and opens them as bytes; it knows nothing about
//! parsing or the lake.
//!
//! The identity keys the lake's ledger (a re-run skips what is committed) and
//! names the output files (a retry overwrites instead of duplicating); the
//! version (S3 ETag, or size and modification time of a local file) tells a
//! changed object from a done one.

pub mod aws_key;
pub mod dir;
pub mod s3;

use std::io;

use bytes::Bytes;
use tokio::sync::mpsc;

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

/// One input object, as listed.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Stable identity: `aws:<key from AWSLogs/ on>` for objects laid out as
    /// AWS writes them (the same for a bucket and a local copy of it), else
    /// `s3://bucket/key` or `file:<path relative to the ingested folder>`.
    pub identity: String,
    /// Where it is, for messages: a path or an `s3://` URI.
    pub location: String,
    /// Changes when the content may have changed (ETag; size and mtime).
    pub version: String,
    /// Size in bytes as stored.
    pub size: u64,
    /// How to decode it.
    pub kind: ObjectKind,
    /// A time for records that carry none (from AWS's file-name stamp), in ms.
    pub time_hint_ms: Option<i64>,
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
