//! One ingest at a time per lake.
//!
//! Recovery rolls back any pending intent it finds, which is only safe when
//! no other ingest is mid-commit. A local lake uses an OS file lock on
//! `_flowlake/lock` (released by the kernel if the process dies, so a killed
//! run never blocks the next). An S3 lake uses a lease object created
//! create-only and refreshed every 30 s; a lease not refreshed for 2 minutes
//! belongs to a dead run and is taken over.

use std::fs::File;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::store::{Created, LakeStore, StoreError};

const LOCK_PATH: &str = "_flowlake/lock";
const LEASE_PATH: &str = "_flowlake/lease.json";
const LEASE_REFRESH: Duration = Duration::from_secs(30);
const LEASE_STALE_SECS: i64 = 120;

/// Why the lake could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another ingest holds it.
    #[error("another flowlake ingest is writing to this lake ({0}); wait for it to finish")]
    Busy(String),
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    owner: String,
    refreshed_at: i64,
}

/// Held for the whole ingest; released on drop (local) or by [`LakeLock::release`].
#[derive(Debug)]
pub enum LakeLock {
    /// The locked file (the OS lock lives as long as the handle).
    Local(File),
    /// The lease refresher task.
    Remote {
        /// The lake.
        lake: LakeStore,
        /// Refreshes the lease until aborted.
        refresher: JoinHandle<()>,
    },
}

fn owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

fn lease_bytes() -> Bytes {
    let lease = Lease {
        owner: owner(),
        refreshed_at: Utc::now().timestamp(),
    };
    Bytes::from(serde_json::to_vec(&lease).unwrap_or_default())
}

impl LakeLock {
    /// Takes the lake's lock or says who holds it.
    pub async fn acquire(lake: &LakeStore) -> Result<LakeLock, LockError> {
        if let Some(root) = lake.local_root() {
            let path = root.join(LOCK_PATH);
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|source| StoreError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
            return match file.try_lock() {
                Ok(()) => Ok(LakeLock::Local(file)),
                Err(_) => Err(LockError::Busy(path.display().to_string())),
            };
        }
        for _ in 0..2 {
            if lake.put_create(LEASE_PATH, lease_bytes()).await? == Created::New {
                let refresher_lake = lake.clone();
                let refresher = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(LEASE_REFRESH).await;
                        if let Err(e) = refresher_lake.put(LEASE_PATH, lease_bytes()).await {
                            tracing::warn!(error = %e, "Could not refresh the lake lease.");
                        }
                    }
                });
                return Ok(LakeLock::Remote {
                    lake: lake.clone(),
                    refresher,
                });
            }
            let current = lake.get(LEASE_PATH).await?;
            let lease: Option<Lease> = current.and_then(|b| serde_json::from_slice(&b).ok());
            match lease {
                Some(l) if Utc::now().timestamp() - l.refreshed_at < LEASE_STALE_SECS => {
                    return Err(LockError::Busy(format!("lease held by {}", l.owner)));
                }
                _ => {
                    tracing::warn!("Taking over a stale lake lease left by a dead run.");
                    lake.delete(LEASE_PATH).await?;
                }
            }
        }
        Err(LockError::Busy("lease contended".into()))
    }

    /// Releases the lock (for S3, deletes the lease).
    pub async fn release(self) -> Result<(), StoreError> {
        match self {
            LakeLock::Local(file) => {
                let _ = file.unlock();
                Ok(())
            }
            LakeLock::Remote { lake, refresher } => {
                refresher.abort();
                lake.delete(LEASE_PATH).await
            }
        }
    }
}
