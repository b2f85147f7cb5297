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

use super::aws_key::file_time_ms;
use super::s3::KeyFilter;
use super::{
    Body, ObjectKind, Source, SourceError, SourceObject, VersionRoute, export_stream, locate,
};

/// Every flow-log file under a folder.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
    exclude: Option<PathBuf>,
    window: KeyFilter,
    /// Files up to this size are read whole; larger ones are streamed.
    max_whole_bytes: u64,
}

impl DirSource {
    /// A source over `root`, skipping `exclude` (the lake, if it lives inside).
    pub fn new(root: impl Into<PathBuf>, exclude: Option<PathBuf>) -> DirSource {
        DirSource {
            root: root.into(),
            exclude: exclude.and_then(|p| p.canonicalize().ok()),
            window: KeyFilter::default(),
            max_whole_bytes: crate::process::DEFAULT_MAX_WHOLE_BYTES as u64,
        }
    }

    /// Reads files up to `bytes` whole (fast, parsed in parallel) and
    /// streams larger ones, so one huge file never sits in memory.
    pub fn with_max_whole_bytes(mut self, bytes: usize) -> DirSource {
        self.max_whole_bytes = bytes as u64;
        self
    }

    /// Keeps only AWS deliveries whose file-name stamp may hold records in
    /// `window`'s time range (other files are always kept), so a scheduled
    /// run over a synced folder reads, and looks up in the ledger, only the
    /// recent hours.
    pub fn with_window(mut self, window: KeyFilter) -> DirSource {
        self.window = window;
        self
    }

    /// Lists `dir`, whose path with symlinks resolved is `real`; resolving
    /// each folder once (and only symlinked entries again) keeps listing a
    /// large tree at one `stat` per file.
    fn walk(
        &self,
        dir: &Path,
        real: &Path,
        out: &mut Vec<SourceObject>,
    ) -> Result<(), SourceError> {
        let io_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| SourceError::Io { path, source }
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .collect::<Result<_, _>>()
            .map_err(io_err(dir))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "_flowlake" {
                continue;
            }
            // The entry's own type needs no `stat` (the folder listing
            // carries it); only symlinks are followed to what they point at.
            let file_type = entry.file_type().map_err(io_err(&path))?;
            let (is_dir, real_path) = if file_type.is_symlink() {
                let target = path.canonicalize().map_err(io_err(&path))?;
                (target.is_dir(), target)
            } else {
                (file_type.is_dir(), real.join(entry.file_name()))
            };
            if is_dir {
                if self.exclude.as_deref() != Some(real_path.as_path()) {
                    self.walk(&path, &real_path, out)?;
                }
                continue;
            }
            let Some(kind) = ObjectKind::from_name(&name) else {
                continue;
            };
            let absolute = real_path.to_string_lossy().replace('\\', "/");
            let time_hint_ms = file_time_ms(&absolute);
            // Out of the window: skipped before its `stat`, so a scheduled
            // run over a large synced tree costs a folder listing per day.
            if !self.window.keeps_stamp(time_hint_ms) {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
            let (identity, shard) = locate(&absolute, format!("file:{absolute}"));
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push(SourceObject {
                identity,
                shard,
                location: path.display().to_string(),
                version: format!("mtime={mtime}"),
                route: VersionRoute::Modified,
                size: meta.len(),
                kind,
                time_hint_ms,
                source: export_stream(&absolute),
            });
        }
        Ok(())
    }

    fn list_blocking(&self) -> Result<Vec<SourceObject>, SourceError> {
        let io_err = |source| SourceError::Io {
            path: self.root.display().to_string(),
            source,
        };
        let real = self.root.canonicalize().map_err(io_err)?;
        let mut out = Vec::new();
        if std::fs::metadata(&real).map_err(io_err)?.is_file() {
            // A single file: list its folder and keep just it.
            let parent = real.parent().unwrap_or(Path::new("/"));
            self.walk(parent, parent, &mut out)?;
            out.retain(|o| Path::new(&o.location) == real);
        } else {
            self.walk(&self.root, &real, &mut out)?;
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Source for DirSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn list(&self) -> Result<Vec<SourceObject>, SourceError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.list_blocking())
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
