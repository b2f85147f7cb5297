//! A local folder laid out as AWS writes flow logs to S3 (or any tree of
//! `.log.gz`, `.log` and `.log.parquet` files): the demo's and the
//! benchmark's source, and a way to ingest a bucket copied with `aws s3 sync`.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;

/// Bytes per chunk when a large file is streamed.
const STREAM_CHUNK: usize = 1 << 20;

/// Chunks read ahead of the parser when streaming.
const STREAM_READ_AHEAD: usize = 4;

use super::aws_key::{canonical_key, file_time_ms};
use super::{Body, ObjectKind, Source, SourceError, SourceObject};

/// Every flow-log file under a folder.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
    exclude: Option<PathBuf>,
    /// Files up to this size are read whole; larger ones are streamed.
    max_whole_bytes: u64,
}

impl DirSource {
    /// A source over `root`, skipping `exclude` (the lake, if it lives inside).
    pub fn new(root: impl Into<PathBuf>, exclude: Option<PathBuf>) -> DirSource {
        DirSource {
            root: root.into(),
            exclude: exclude.and_then(|p| p.canonicalize().ok()),
            max_whole_bytes: crate::process::DEFAULT_MAX_WHOLE_BYTES as u64,
        }
    }

    /// Reads files up to `bytes` whole (fast, parsed in parallel) and
    /// streams larger ones, so one huge file never sits in memory.
    pub fn with_max_whole_bytes(mut self, bytes: usize) -> DirSource {
        self.max_whole_bytes = bytes as u64;
        self
    }

    fn walk(&self, dir: &Path, out: &mut Vec<SourceObject>) -> Result<(), SourceError> {
        let io_err = |source| SourceError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .collect::<Result<_, _>>()
            .map_err(io_err)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "_flowlake" {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|source| SourceError::Io {
                path: path.display().to_string(),
                source,
            })?;
            if meta.is_dir() {
                if self.exclude.is_some() && path.canonicalize().ok() == self.exclude {
                    continue;
                }
                self.walk(&path, out)?;
                continue;
            }
            let Some(kind) = ObjectKind::from_name(&name) else {
                continue;
            };
            let relative = path
                .strip_prefix(&self.root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let identity = match canonical_key(&relative) {
                Some(key) => format!("aws:{key}"),
                None => format!("file:{relative}"),
            };
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push(SourceObject {
                identity,
                location: path.display().to_string(),
                version: format!("size={};mtime={mtime}", meta.len()),
                size: meta.len(),
                kind,
                time_hint_ms: file_time_ms(&relative),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Source for DirSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn list(&self) -> Result<Vec<SourceObject>, SourceError> {
        let this = self.clone();
        let root_meta = std::fs::metadata(&self.root).map_err(|source| SourceError::Io {
            path: self.root.display().to_string(),
            source,
        })?;
        if root_meta.is_file() {
            // A single file: list its folder and keep just it.
            let parent = self.root.parent().unwrap_or(Path::new(".")).to_owned();
            let single = DirSource::new(parent, None);
            let mut all = Vec::new();
            single.walk(&single.root, &mut all)?;
            let wanted = self.root.canonicalize().ok();
            all.retain(|o| Path::new(&o.location).canonicalize().ok() == wanted);
            return Ok(all);
        }
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            this.walk(&this.root, &mut out)?;
            Ok(out)
        })
        .await
        .map_err(|e| SourceError::Io {
            path: self.root.display().to_string(),
            source: std::io::Error::other(e),
        })?
    }

    /// Small files (and Parquet, which needs its footer first) are read
    /// whole; text and gzip files above the whole-object limit are streamed
    /// in 1 MiB chunks through a bounded channel, as S3 bodies are.
    async fn open(&self, object: &SourceObject) -> Result<Body, SourceError> {
        let path = object.location.clone();
        let io = |source| SourceError::Io {
            path: object.location.clone(),
            source,
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        if size <= self.max_whole_bytes || object.kind == ObjectKind::Parquet {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            file.read_to_end(&mut bytes).await.map_err(io)?;
            return Ok(Body::Whole(Bytes::from(bytes)));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_READ_AHEAD);
        tokio::spawn(async move {
            loop {
                let mut chunk = BytesMut::with_capacity(STREAM_CHUNK);
                let read = loop {
                    match file.read_buf(&mut chunk).await {
                        Ok(0) => break Ok(()),
                        Ok(_) if chunk.len() < STREAM_CHUNK => continue,
                        Ok(_) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                let done = chunk.is_empty();
                let message = match read {
                    Ok(()) if done => return,
                    Ok(()) => Ok(chunk.freeze()),
                    Err(e) => Err(std::io::Error::new(e.kind(), format!("{path}: {e}"))),
                };
                let failed = message.is_err();
                if tx.send(message).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Body::Stream(rx))
    }
}
