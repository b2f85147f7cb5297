//! Only committed data: the files a commit in progress (or one that crashed)
//! has published but not committed, or has superseded but not yet deleted,
//! are hidden from every flowlake query.
//!
//! A pending intent (`flowlake_schemas::lake::PendingIntent`) names both
//! sets; whether its ledger entry exists says which one is not committed.
//! There are pending intents only while an ingest commits or after one died,
//! so a query pays one listing of `_flowlake/pending/` and nothing more on a
//! lake at rest. The files are hidden by wrapping the store the table is
//! listed through, so DataFusion's own listing, pruning and reading stay
//! as they are. Outside engines reading `flows/` directly do not do this and
//! may count those files until the next ingest recovers.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use flowlake_schemas::lake::{PENDING_DIR, PendingIntent};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

use crate::QueryError;

/// The store paths of files that are not committed, given the store the lake
/// lives in and the lake root's path inside it.
pub(crate) async fn uncommitted(
    store: &dyn ObjectStore,
    root: &Path,
) -> Result<HashSet<Path>, QueryError> {
    let lake = |rel: &str| Path::from_iter(root.parts().chain(Path::from(rel).parts()));
    let pending: Vec<ObjectMeta> = store
        .list(Some(&lake(PENDING_DIR)))
        .try_collect()
        .await
        .map_err(|e| QueryError::Lake(format!("listing {PENDING_DIR}: {e}")))?;
    let mut hidden = HashSet::new();
    for meta in pending {
        let bytes = match store.get(&meta.location).await {
            Ok(got) => got.bytes().await,
            // Finished and deleted since the listing: nothing to hide.
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => Err(e),
        }
        .map_err(|e| QueryError::Lake(format!("{}: {e}", meta.location)))?;
        let intent: PendingIntent = serde_json::from_slice(&bytes).map_err(|e| {
            QueryError::Lake(format!("{}: unreadable pending intent: {e}", meta.location))
        })?;
        let committed = match store.head(&lake(&intent.ledger)).await {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => return Err(QueryError::Lake(format!("{}: {e}", intent.ledger))),
        };
        hidden.extend(intent.hidden(committed).into_iter().map(lake));
        tracing::debug!(source = %intent.identity, committed, "Hiding an uncommitted ingest.");
    }
    Ok(hidden)
}

/// Folder listings in flight at once when a window lists folder by folder.
const FOLDER_LISTINGS: usize = 16;

/// A store that does not list the hidden files (and refuses to read them),
/// and lists a table as only the folders of the session's time window.
#[derive(Debug)]
pub(crate) struct CommittedOnly {
    inner: Arc<dyn ObjectStore>,
    hidden: Arc<HashSet<Path>>,
    /// Table folders, each with the only subfolders a listing of it returns.
    windows: Vec<(Path, Arc<Vec<Path>>)>,
}

impl CommittedOnly {
    /// Wraps `inner`, hiding `hidden`.
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, hidden: HashSet<Path>) -> CommittedOnly {
        CommittedOnly {
            inner,
            hidden: Arc::new(hidden),
            windows: Vec::new(),
        }
    }

    /// A listing of `table` lists only `folders` (paths relative to it; see
    /// `window::window_folders`). Called once per table folder.
    pub(crate) fn with_window(mut self, table: Path, folders: &[String]) -> CommittedOnly {
        let folders = folders
            .iter()
            .map(|f| Path::from_iter(table.parts().chain(Path::from(f.as_str()).parts())))
            .collect();
        self.windows.push((table, Arc::new(folders)));
        self
    }
}

impl fmt::Display for CommittedOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommittedOnly({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for CommittedOnly {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if self.hidden.contains(location) {
            return Err(object_store::Error::NotFound {
                path: location.to_string(),
                source: "not committed".into(),
            });
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let hidden = self.hidden.clone();
        let window = self.windows.iter().find(|(table, _)| prefix == Some(table));
        let listed = match window {
            Some((table, folders)) => {
                tracing::debug!(table = %table, folders = folders.len(), "Listing the window's folders only.");
                let inner = self.inner.clone();
                let folders = folders.clone();
                futures::stream::iter((0..folders.len()).map(move |i| {
                    let folder = folders[i].clone();
                    tracing::debug!(folder = %folder, "Listing.");
                    inner.list(Some(&folder)).try_collect::<Vec<_>>()
                }))
                .buffered(FOLDER_LISTINGS)
                .map_ok(|metas| futures::stream::iter(metas.into_iter().map(Ok)))
                .try_flatten()
                .boxed()
            }
            _ => {
                tracing::debug!(prefix = ?prefix.map(Path::as_ref), "Listing.");
                self.inner.list(prefix)
            }
        };
        listed
            .try_filter(move |meta| std::future::ready(!hidden.contains(&meta.location)))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result
            .objects
            .retain(|m| !self.hidden.contains(&m.location));
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
