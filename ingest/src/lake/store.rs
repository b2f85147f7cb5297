//! The lake's storage: a local folder or an S3 prefix, behind the few
//! operations the commit protocol needs.
//!
//! Local: files are staged under `_flowlake/tmp/` and renamed into place
//! (same file system, atomic), and a create-only write is a hard link that
//! fails if the target exists. S3 (through `object_store`): a PUT is atomic,
//! so files are uploaded to their final key, and a create-only write is a
//! conditional PUT (`If-None-Match: *`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use flowlake_schemas::lake::TMP_DIR;

use crate::aws::{AwsSettings, SdkCredentials};

/// Where the lake lives and how to reach it.
#[derive(Debug, Clone)]
pub enum LakeStore {
    /// A local folder.
    Local {
        /// The lake root.
        root: PathBuf,
    },
    /// An object store (S3) prefix.
    Remote {
        /// The store, rooted at the bucket.
        store: Arc<dyn ObjectStore>,
        /// The lake root inside the bucket (no leading or trailing `/`).
        prefix: String,
        /// `s3://bucket/prefix`, for messages and for the query engine.
        url: String,
        /// Local staging folder for files before upload.
        staging: PathBuf,
    },
}

/// Why a lake operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Local I/O.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Object store failure.
    #[error("{0}")]
    Remote(#[from] object_store::Error),
    /// The location is not something flowlake can use.
    #[error("unsupported lake location {0:?}: use a local path or s3://bucket/prefix")]
    Location(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Result of a create-only write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// This call created it.
    New,
    /// It was there already (another writer, or an earlier run, committed it).
    AlreadyExists,
}

impl LakeStore {
    /// Opens a lake location: `s3://bucket/prefix` or a local path (created if missing).
    pub async fn open(location: &str, aws: &AwsSettings) -> Result<LakeStore, StoreError> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Location(location.to_owned()));
            }
            let store = s3_store(bucket, aws).await?;
            let staging =
                std::env::temp_dir().join(format!("flowlake-staging-{}", std::process::id()));
            std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
            let prefix = prefix.trim_matches('/').to_owned();
            let url = if prefix.is_empty() {
                format!("s3://{bucket}")
            } else {
                format!("s3://{bucket}/{prefix}")
            };
            return Ok(LakeStore::Remote {
                store,
                prefix,
                url,
                staging,
            });
        }
        if location.contains("://") {
            return Err(StoreError::Location(location.to_owned()));
        }
        let root = PathBuf::from(location);
        let tmp = root.join(TMP_DIR);
        std::fs::create_dir_all(&tmp).map_err(io_error(&tmp))?;
        let root = root.canonicalize().map_err(io_error(&root))?;
        Ok(LakeStore::Local { root })
    }

    /// The lake as a URL or path, for messages.
    pub fn describe(&self) -> String {
        match self {
            LakeStore::Local { root } => root.display().to_string(),
            LakeStore::Remote { url, .. } => url.clone(),
        }
    }

    /// The local root, for a local lake.
    pub fn local_root(&self) -> Option<&Path> {
        match self {
            LakeStore::Local { root } => Some(root),
            LakeStore::Remote { .. } => None,
        }
    }

    /// Removes staged files a dead run left behind. Call with the lake lock
    /// held: no ledger entry or intent ever names a staged file.
    pub fn clear_staging(&self) {
        let dir = self.staging_dir();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Where encoders stage files before [`LakeStore::publish`].
    pub fn staging_dir(&self) -> PathBuf {
        match self {
            LakeStore::Local { root } => root.join(TMP_DIR),
            LakeStore::Remote { staging, .. } => staging.clone(),
        }
    }

    fn key(&self, path: &str) -> StorePath {
        match self {
            LakeStore::Remote { prefix, .. } if !prefix.is_empty() => {
                StorePath::from(format!("{prefix}/{path}"))
            }
            _ => StorePath::from(path),
        }
    }

    /// Moves a staged file to `dest` (relative to the lake root), replacing
    /// any file there. Readers see the old file or the new one, never a part.
    ///
    /// Local: the file is made durable here (fsync, rename, fsync of the
    /// folder), on the blocking pool, so the writers that staged it never
    /// wait on the disk and a commit point that follows can rely on it.
    /// S3: uploaded; the staged copy needs no fsync.
    pub async fn publish(&self, staged: &Path, dest: &str) -> Result<(), StoreError> {
        match self {
            LakeStore::Local { root } => {
                let target = root.join(dest);
                let staged = staged.to_owned();
                tokio::task::spawn_blocking(move || publish_local(&staged, &target))
                    .await
                    .map_err(|e| StoreError::Io {
                        path: dest.to_owned(),
                        source: std::io::Error::other(e),
                    })?
            }
            LakeStore::Remote { store, .. } => {
                let key = self.key(dest);
                let mut file = tokio::fs::File::open(staged)
                    .await
                    .map_err(io_error(staged))?;
                let size = file.metadata().await.map_err(io_error(staged))?.len();
                if size <= 16 << 20 {
                    let mut buf = Vec::with_capacity(size as usize);
                    file.read_to_end(&mut buf).await.map_err(io_error(staged))?;
                    store.put(&key, PutPayload::from(buf)).await?;
                } else {
                    let upload = store.put_multipart(&key).await?;
                    let mut writer = WriteMultipart::new(upload);
                    let mut buf = vec![0u8; 8 << 20];
                    loop {
                        let n = file.read(&mut buf).await.map_err(io_error(staged))?;
                        if n == 0 {
                            break;
                        }
                        writer.wait_for_capacity(4).await?;
                        writer.write(&buf[..n]);
                    }
                    writer.finish().await?;
                }
                let _ = std::fs::remove_file(staged);
                Ok(())
            }
        }
    }

    /// Writes a small file atomically, replacing what is there.
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<(), StoreError> {
        match self {
            LakeStore::Local { root } => {
                let (staged, target) = stage_local(root, path, &bytes)?;
                std::fs::rename(&staged, &target).map_err(io_error(&target))?;
                // Durable before the commit point that may depend on it (an
                // intent, a cursor).
                sync_dir(target.parent());
                Ok(())
            }
            LakeStore::Remote { store, .. } => {
                store.put(&self.key(path), PutPayload::from(bytes)).await?;
                Ok(())
            }
        }
    }

    /// Writes a small file only if none exists at `path`: the commit point.
    pub async fn put_create(&self, path: &str, bytes: Bytes) -> Result<Created, StoreError> {
        match self {
            LakeStore::Local { root } => {
                let (staged, target) = stage_local(root, path, &bytes)?;
                let linked = std::fs::hard_link(&staged, &target);
                let _ = std::fs::remove_file(&staged);
                match linked {
                    Ok(()) => {
                        sync_dir(target.parent());
                        Ok(Created::New)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Ok(Created::AlreadyExists)
                    }
                    Err(e) => Err(io_error(&target)(e)),
                }
            }
            LakeStore::Remote { store, .. } => {
                let options = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                match store
                    .put_opts(&self.key(path), PutPayload::from(bytes), options)
                    .await
                {
                    Ok(_) => Ok(Created::New),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::AlreadyExists),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Reads a small file; `None` if it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            LakeStore::Local { root } => {
                let target = root.join(path);
                match std::fs::read(&target) {
                    Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_error(&target)(e)),
                }
            }
            LakeStore::Remote { store, .. } => match store.get(&self.key(path)).await {
                Ok(result) => Ok(Some(result.bytes().await?)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Deletes a file; a missing file is not an error.
    pub async fn delete(&self, path: &str) -> Result<(), StoreError> {
        match self {
            LakeStore::Local { root } => {
                let target = root.join(path);
                match std::fs::remove_file(&target) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_error(&target)(e)),
                }
            }
            LakeStore::Remote { store, .. } => match store.delete(&self.key(path)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// The object store and the key of `path` in it, for a lake on S3;
    /// `None` for a local lake. The S3 lease (`lock.rs`) needs conditional
    /// writes and object metadata that the small API above does not expose.
    pub(crate) fn object_store(&self, path: &str) -> Option<(Arc<dyn ObjectStore>, StorePath)> {
        match self {
            LakeStore::Local { .. } => None,
            LakeStore::Remote { store, .. } => Some((store.clone(), self.key(path))),
        }
    }

    /// The same lake reached through `wrap(store)` (for S3; a local lake is
    /// returned unchanged). The ingest run writes through a store wrapped
    /// by the lease, so no write leaves after the lease may have expired.
    pub(crate) fn with_object_store(
        &self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> LakeStore {
        match self {
            LakeStore::Local { .. } => self.clone(),
            LakeStore::Remote {
                store,
                prefix,
                url,
                staging,
            } => LakeStore::Remote {
                store: wrap(store.clone()),
                prefix: prefix.clone(),
                url: url.clone(),
                staging: staging.clone(),
            },
        }
    }

    /// Every file under `dir` (relative to the lake root), as paths relative
    /// to the lake root, sorted.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        match self {
            LakeStore::Local { root } => {
                let base = root.join(dir);
                if base.exists() {
                    walk_local(root, &base, &mut out)?;
                }
            }
            LakeStore::Remote { store, prefix, .. } => {
                let key = self.key(dir);
                let strip = if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                };
                let mut listing = store.list(Some(&key));
                while let Some(meta) = listing.try_next().await? {
                    let full = meta.location.to_string();
                    out.push(full.strip_prefix(&strip).unwrap_or(&full).to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn walk_local(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        if entry.file_type().map_err(io_error(&path))?.is_dir() {
            walk_local(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Writes bytes to a fresh, fsynced file under the lake's tmp folder and
/// makes sure the target's folder exists; returns (staged, target).
fn stage_local(root: &Path, path: &str, bytes: &[u8]) -> Result<(PathBuf, PathBuf), StoreError> {
    let target = root.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let dir = root.join(TMP_DIR);
    let mut file = tempfile::Builder::new()
        .prefix("meta-")
        .tempfile_in(&dir)
        .map_err(io_error(&dir))?;
    file.write_all(bytes).map_err(io_error(&dir))?;
    file.as_file().sync_all().map_err(io_error(&dir))?;
    let (_, staged) = file.keep().map_err(|e| io_error(&dir)(e.error))?;
    Ok((staged, target))
}

/// Local [`LakeStore::publish`]: fsync the staged file, rename it into
/// place, fsync the folder.
fn publish_local(staged: &Path, target: &Path) -> Result<(), StoreError> {
    std::fs::File::open(staged)
        .and_then(|f| f.sync_all())
        .map_err(io_error(staged))?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    std::fs::rename(staged, target).map_err(io_error(target))?;
    sync_dir(target.parent());
    Ok(())
}

/// Makes a rename or link in `dir` durable (best effort; not all file systems allow it).
fn sync_dir(dir: Option<&Path>) {
    if let Some(dir) = dir
        && let Ok(handle) = std::fs::File::open(dir)
    {
        let _ = handle.sync_all();
    }
}

async fn s3_store(bucket: &str, aws: &AwsSettings) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let config = aws.load().await;
    let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
    if let Some(region) = config.region() {
        builder = builder.with_region(region.as_ref());
    }
    if let Some(endpoint) = aws.endpoint() {
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint);
    }
    builder = builder.with_virtual_hosted_style_request(!aws.force_path_style);
    if let Some(credentials) = SdkCredentials::new(&config) {
        builder = builder.with_credentials(Arc::new(credentials));
    }
    Ok(Arc::new(builder.build()?))
}
