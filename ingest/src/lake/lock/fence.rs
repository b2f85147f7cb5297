//! The object store an ingest writes an S3 lake through: reads pass
//! straight on; every write is refused once the lease's deadline has passed
//! and abandoned if it has not completed by then; a conditional write (the
//! commit point) is confirmed by reading the lease back. See invariants 3
//! and 4 in `lock.rs`.
//!
//! Test hook: `FLOWLAKE_TEST_STOP_AT_COMMIT=<n>` makes the process stop
//! itself (SIGSTOP, through `kill`) at the n-th conditional write, after its
//! deadline check and just before the request is sent: the worst place for
//! a pause. The end-to-end test then lets another writer take over and
//! sends SIGCONT. Unset, it costs one load of a `OnceLock`.

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};

use super::{LeaseGuard, LockError};

/// An [`ObjectStore`] whose writes are fenced by the lake lease.
#[derive(Debug)]
pub(super) struct FencedStore {
    inner: Arc<dyn ObjectStore>,
    guard: LeaseGuard,
}

impl FencedStore {
    pub(super) fn new(inner: Arc<dyn ObjectStore>, guard: LeaseGuard) -> FencedStore {
        FencedStore { inner, guard }
    }
}

fn fenced(e: LockError) -> object_store::Error {
    object_store::Error::Generic {
        store: "lake lease",
        source: Box::new(e),
    }
}

/// Runs one write if the lease allows it and gives up on it at the deadline.
async fn within_lease<T>(guard: &LeaseGuard, write: impl Future<Output = Result<T>>) -> Result<T> {
    let Some(deadline) = guard.deadline().map_err(fenced)? else {
        return write.await;
    };
    tokio::select! {
        biased;
        _ = tokio::time::sleep_until(deadline.into()) => Err(fenced(expired(guard))),
        result = async {
            // Checked again right before sending: the task may have waited
            // for a worker thread since the check above.
            if Instant::now() >= deadline {
                return Err(fenced(expired(guard)));
            }
            write.await
        } => result,
    }
}

fn expired(guard: &LeaseGuard) -> LockError {
    match guard.check() {
        Err(e) => e,
        // Refreshed meanwhile, but this write was already too late.
        Ok(()) => LockError::Config(
            "a lake write did not finish before the lease deadline; it was abandoned".into(),
        ),
    }
}

/// The test hook (module docs).
fn stop_here_for_test() {
    static TARGET: OnceLock<Option<u64>> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        std::env::var("FLOWLAKE_TEST_STOP_AT_COMMIT")
            .ok()?
            .parse()
            .ok()
    });
    if let Some(n) = target
        && COUNT.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        let pid = std::process::id().to_string();
        eprintln!("flowlake: stopping at commit #{n} (FLOWLAKE_TEST_STOP_AT_COMMIT)");
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status();
    }
}

impl fmt::Display for FencedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (writes fenced by the lake lease)", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FencedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let conditional = !matches!(opts.mode, PutMode::Overwrite);
        let result = within_lease(&self.guard, async {
            if conditional {
                stop_here_for_test();
            }
            self.inner.put_opts(location, payload, opts).await
        })
        .await?;
        if conditional {
            self.guard.confirm().await.map_err(fenced)?;
        }
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload =
            within_lease(&self.guard, self.inner.put_multipart_opts(location, opts)).await?;
        Ok(Box::new(FencedUpload {
            inner: upload,
            guard: self.guard.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let guard = self.guard.clone();
        let checked = locations
            .map(move |location| {
                guard.check().map_err(fenced)?;
                location
            })
            .boxed();
        let deletes = self.inner.delete_stream(checked);
        // Each answer must come before the deadline; after it, one error ends the stream.
        let guard = self.guard.clone();
        futures::stream::unfold(Some((deletes, guard)), |state| async move {
            let (mut deletes, guard) = state?;
            let item = match guard.deadline() {
                Err(e) => Some(Err(fenced(e))),
                Ok(None) => deletes.next().await,
                Ok(Some(deadline)) => tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(deadline.into()) => Some(Err(fenced(expired(&guard)))),
                    item = deletes.next() => item,
                },
            }?;
            let next = if item.is_err() && guard.check().is_err() {
                None
            } else {
                Some((deletes, guard))
            };
            Some((item, next))
        })
        .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        within_lease(&self.guard, self.inner.copy_opts(from, to, options)).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        within_lease(&self.guard, self.inner.rename_opts(from, to, options)).await
    }
}

/// A multipart upload whose parts and completion are fenced too.
#[derive(Debug)]
struct FencedUpload {
    inner: Box<dyn MultipartUpload>,
    guard: LeaseGuard,
}

#[async_trait]
impl MultipartUpload for FencedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if let Err(e) = self.guard.check() {
            return Box::pin(futures::future::ready(Err(fenced(e))));
        }
        let part = self.inner.put_part(data);
        let guard = self.guard.clone();
        Box::pin(async move { within_lease(&guard, part).await })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        within_lease(&self.guard, self.inner.complete()).await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}
