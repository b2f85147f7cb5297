//! One ingest at a time per lake.
//!
//! Recovery rolls back any pending intent it finds, which is only safe when
//! no other ingest is mid-commit. A local lake uses an OS file lock on
//! `_flowlake/lock` (released by the kernel if the process dies, so a killed
//! run never blocks the next). An S3 lake uses a lease object,
//! `_flowlake/lease.json`, changed only by conditional writes on its ETag.
//!
//! # Invariants (S3 lease)
//!
//! Timing: the holder refreshes every `R` (30 s); a lease is stale after
//! `S` (120 s) without a refresh; the holder's own validity is `V = S - S/4`
//! (90 s) after the last refresh it *sent* that S3 accepted. Tests shorten
//! both with `FLOWLAKE_LEASE_REFRESH_SECS` / `FLOWLAKE_LEASE_STALE_SECS`
//! (`4 R <= S` is required). The holder writes its `S` into the lease and a
//! contender uses the larger of its own and the holder's, so two writers
//! configured differently still agree.
//!
//! 1. **One owner.** The lease object names one owner (host, pid and a
//!    per-run nonce). It is created with `If-None-Match: *` and every later
//!    write (refresh, takeover, release) is `If-Match: <ETag last seen>`.
//!    S3 applies conditional writes atomically, so of several writers that
//!    saw the same ETag exactly one succeeds; the others get 412, look
//!    again, and see the winner's fresh lease. Every write bumps a sequence
//!    number in the body, so every write changes the ETag (an unchanged body
//!    would keep its MD5 ETag, and an `If-Match` on it would not notice a
//!    refresh).
//! 2. **Staleness by S3's clock only.** A contender takes a held lease over
//!    only if its `LastModified` (S3's stamp of the holder's last refresh) is
//!    more than `S + 1 s` older than the `LastModified` S3 gives a probe
//!    object (`_flowlake/lease-clock`) the contender writes just then. Both
//!    times come from S3; no client's wall clock is compared with another's
//!    (`written_at` in the body is for people only). The extra second covers
//!    `LastModified`'s truncation to whole seconds. Chosen over "the ETag did
//!    not change for `S` on my monotonic clock" because a run started after
//!    a crash can take over at once instead of watching for `S`; chosen over
//!    the `Date` response header because `object_store` does not expose it.
//! 3. **Fencing.** Every write an ingest makes to the lake (intents, data
//!    files, quarantine, ledger entries, recovery's and retirement's deletes)
//!    goes through [`LakeLock::fence`]: it is refused unless the local
//!    monotonic clock is before the holder's deadline (send time of the last
//!    accepted refresh + `V`), and abandoned if it has not completed by
//!    then. S3 stamped that refresh no earlier than it was sent and a
//!    contender waits `S` of S3's time after the stamp, so the holder stops
//!    writing at least `S/4` (30 s) before anyone can take over, provided
//!    S3's clock and ours run at the same rate (ppm) and S3's front ends
//!    agree to within `S/4 - 1 s`. A failed refresh is retried every `R/4`;
//!    once the deadline passes, or a refresh gets 412 (someone took over),
//!    the lease is lost for good, the run stops, and the binary exits 2
//!    naming the lease.
//! 4. **The commit point is confirmed.** A write can still land after a
//!    takeover if the process is paused (SIGSTOP, a VM freeze) between the
//!    deadline check and the moment the request leaves. For the commit point
//!    (a conditional create: the ledger entry) the fence reads the lease back
//!    after the write: if it still names this run, the entry was applied
//!    before any takeover (S3 reads are strongly consistent and a takeover
//!    rewrites the owner), so the next owner's recovery sees it committed. If
//!    not, the run stops at once (no retirement, no cleanup) and exits 2. The
//!    late entry is then safe in the usual case: it landed after the new
//!    owner loaded its ledger index, so the new owner, which found the intent
//!    uncommitted and rolled its files back, ingests the object again, writes
//!    the same file names and finds the entry already there.
//!
//! **Residual window**, stated precisely: records can be lost only if (a) a
//! writer is suspended for at least `S/4` exactly between a deadline check
//! and sending the request (a few microseconds of CPU, or a request that
//! stays on the wire that long), and (b) a new owner took the lease over
//! meanwhile, and either (c1) that write is a delete of files the new owner
//! has just committed again under the same names, or (c2) it is a ledger
//! entry whose intent the new owner rolled back and the new owner's run does
//! not then ingest that object (another source or filter, the object fails,
//! or the new owner dies first). A late intent or data file only leaves
//! files no committed entry names (flowlake's queries ignore them). Closing
//! (c2) entirely needs recovery to claim the entry's key (a create-only
//! "rolled back" marker) before deleting files; that is the ledger's
//! protocol, noted for it. On a machine whose monotonic clock stops during
//! system suspend (Linux `CLOCK_MONOTONIC`), a suspended holder also resumes
//! believing its lease valid: (4) still catches its next commit.
//!
//! **Release** rewrites the lease as released with `If-Match` on this run's
//! ETag (a released lease is taken at once by the next writer) and never
//! deletes it: not every S3 implementation honours a conditional DELETE, and
//! an unconditional one could delete a lease another writer took over in
//! between. A 412 means someone else holds it: it is left alone. So the
//! lease object stays in `_flowlake/` after the first run.

mod fence;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use object_store::path::Path as StorePath;
use object_store::{
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::store::{LakeStore, StoreError};

const LOCK_PATH: &str = "_flowlake/lock";
const LEASE_PATH: &str = "_flowlake/lease.json";

/// What a lock guards. The writer's lock is held for as long as anything
/// writes the lake (a Firehose sink holds it for its lifetime); other
/// bookkeeping that must not run twice at once, such as alert state, has a
/// lock of its own, so it runs beside a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// The lake's data, ledger and cursors.
    Writer,
    /// The alert state (`_flowlake/alerts/`).
    Alerts,
    /// The network inventory (`inventory/`).
    Inventory,
    /// The saved explanations (`reject_explanations/`): two saves must not
    /// interleave their replacements and deletions of days. Apart from the
    /// inventory's lock, so a long save does not hold up an import (a save
    /// reads the inventory through its commit point, the snapshot files).
    Explanations,
}

impl LockScope {
    /// (local lock file, S3 lease object).
    fn paths(self) -> (&'static str, &'static str) {
        match self {
            LockScope::Writer => (LOCK_PATH, LEASE_PATH),
            LockScope::Alerts => ("_flowlake/alerts/lock", "_flowlake/alerts/lease.json"),
            LockScope::Inventory => ("_flowlake/inventory/lock", "_flowlake/inventory/lease.json"),
            LockScope::Explanations => (
                "_flowlake/explanations/lock",
                "_flowlake/explanations/lease.json",
            ),
        }
    }

    /// What takes this lock, for the message a contender gets.
    fn holder(self) -> &'static str {
        match self {
            LockScope::Writer => "ingest",
            LockScope::Alerts => "alert evaluation",
            LockScope::Inventory => "inventory import",
            LockScope::Explanations => "explain --save",
        }
    }
}
/// Written by a contender to learn S3's current time (its `LastModified`).
const CLOCK_PATH: &str = "_flowlake/lease-clock";
/// Conditional writes tried before giving up on a contended lease.
const ATTEMPTS: usize = 4;

/// Why the lake could not be locked, or stopped being ours.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock of `scope`.
    #[error(
        "another flowlake {} is writing to this lake ({detail}); wait for it to finish",
        scope.holder()
    )]
    Busy {
        /// Whose lock it is (the message names what takes it).
        scope: LockScope,
        /// The lock file, or the lease and who holds it.
        detail: String,
    },
    /// The lease expired or was taken over while this run held it.
    #[error(
        "lost the lake lease on {lake}: {reason}; this run stopped writing to the lake \
         (the next run ingests whatever it did not commit)"
    )]
    Lost {
        /// The lake.
        lake: String,
        /// What happened.
        reason: String,
    },
    /// The lease timing settings are unusable.
    #[error("{0}")]
    Config(String),
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<object_store::Error> for LockError {
    fn from(e: object_store::Error) -> Self {
        LockError::Store(StoreError::Remote(e))
    }
}

/// How often an S3 lease is refreshed and when it counts as abandoned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeaseTiming {
    /// Time between refreshes.
    pub refresh: Duration,
    /// Time without a refresh (by S3's clock) after which others take over.
    pub stale: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            refresh: Duration::from_secs(30),
            stale: Duration::from_secs(120),
        }
    }
}

impl LeaseTiming {
    /// Checked timing: the holder must get at least a few refreshes in
    /// before its own deadline (`4 * refresh <= stale`).
    pub fn new(refresh: Duration, stale: Duration) -> Result<LeaseTiming, LockError> {
        if refresh.is_zero() || refresh * 4 > stale {
            return Err(LockError::Config(format!(
                "lease timing: the refresh interval ({:?}) must be above zero and at most a \
                 quarter of the stale limit ({:?})",
                refresh, stale
            )));
        }
        Ok(LeaseTiming { refresh, stale })
    }

    /// The defaults, or `FLOWLAKE_LEASE_REFRESH_SECS` and
    /// `FLOWLAKE_LEASE_STALE_SECS` (seconds, fractions allowed; meant for
    /// tests, which cannot wait two minutes for a lease to go stale).
    pub fn from_env() -> Result<LeaseTiming, LockError> {
        let default = LeaseTiming::default();
        let read = |name: &str, default: Duration| -> Result<Duration, LockError> {
            match std::env::var(name) {
                Err(_) => Ok(default),
                Ok(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                    .ok_or_else(|| {
                        LockError::Config(format!("{name}={text:?} is not a number of seconds"))
                    }),
            }
        };
        LeaseTiming::new(
            read("FLOWLAKE_LEASE_REFRESH_SECS", default.refresh)?,
            read("FLOWLAKE_LEASE_STALE_SECS", default.stale)?,
        )
    }

    /// How long after a refresh was sent the holder still writes.
    fn validity(&self) -> Duration {
        self.stale - self.stale / 4
    }
}

/// The lease object's body. Only `owner`, `seq` and `released` decide
/// anything; `written_at` (the writer's wall clock) is for people.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lease {
    owner: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    stale_secs: Option<f64>,
    #[serde(default)]
    released: bool,
    #[serde(default)]
    written_at: Option<String>,
}

impl Lease {
    fn bytes(&self) -> PutPayload {
        // A struct of strings and numbers always serialises.
        PutPayload::from(Bytes::from(serde_json::to_vec(self).unwrap_or_default()))
    }
}

/// The lease as read: its body (if flowlake can read it) and S3's metadata.
#[derive(Debug)]
struct Seen {
    lease: Option<Lease>,
    meta: ObjectMeta,
}

impl Seen {
    fn owner(&self) -> &str {
        self.lease
            .as_ref()
            .map_or("an unreadable lease", |l| &l.owner)
    }

    fn version(&self) -> UpdateVersion {
        UpdateVersion {
            e_tag: self.meta.e_tag.clone(),
            version: None,
        }
    }
}

async fn read_lease(store: &dyn ObjectStore, key: &StorePath) -> Result<Option<Seen>, LockError> {
    match store.get(key).await {
        Ok(result) => {
            let meta = result.meta.clone();
            let bytes = result.bytes().await?;
            Ok(Some(Seen {
                lease: serde_json::from_slice(&bytes).ok(),
                meta,
            }))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// S3's current time: the `LastModified` of an object written just now.
async fn server_now(store: &dyn ObjectStore, key: &StorePath) -> Result<DateTime<Utc>, LockError> {
    store.put(key, PutPayload::from_static(b"clock")).await?;
    Ok(store.head(key).await?.last_modified)
}

fn new_owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}:{}:{nonce:x}", std::process::id())
}

fn lock_state<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the holder knows about its lease.
#[derive(Debug)]
struct Held {
    e_tag: String,
    seq: u64,
    /// No write may leave after this instant.
    deadline: Instant,
    /// Why the lease is gone, once it is (final).
    lost: Option<String>,
    /// The last refresh failure, for the message if the deadline passes.
    last_error: Option<String>,
}

/// The lease shared by the refresher, the fence and [`LeaseGuard`]s.
#[derive(Debug)]
struct Lessee {
    lake: String,
    store: Arc<dyn ObjectStore>,
    key: StorePath,
    owner: String,
    timing: LeaseTiming,
    held: Mutex<Held>,
    lost_tx: watch::Sender<bool>,
}

impl Lessee {
    fn lease(&self, seq: u64, released: bool) -> Lease {
        Lease {
            owner: self.owner.clone(),
            seq,
            stale_secs: Some(self.timing.stale.as_secs_f64()),
            released,
            written_at: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }

    fn lost_error(&self, reason: &str) -> LockError {
        LockError::Lost {
            lake: self.lake.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Marks the lease lost (the first reason wins) and wakes the run.
    fn lose(&self, reason: String) -> LockError {
        let reason = {
            let mut held = lock_state(&self.held);
            held.lost.get_or_insert(reason).clone()
        };
        self.lost_tx.send_replace(true);
        self.lost_error(&reason)
    }

    /// The deadline if the lease is still ours by the local clock.
    fn check(&self) -> Result<Instant, LockError> {
        let expired = {
            let held = lock_state(&self.held);
            if let Some(reason) = &held.lost {
                return Err(self.lost_error(reason));
            }
            if Instant::now() < held.deadline {
                return Ok(held.deadline);
            }
            match &held.last_error {
                Some(e) => format!(
                    "it could not be refreshed within {:?} (last error: {e})",
                    self.timing.validity()
                ),
                None => format!(
                    "no refresh succeeded within {:?} (was the process suspended?)",
                    self.timing.validity()
                ),
            }
        };
        Err(self.lose(expired))
    }

    /// Reads the lease back: still ours, or lost.
    async fn confirm(&self) -> Result<(), LockError> {
        match read_lease(self.store.as_ref(), &self.key).await {
            Ok(Some(seen))
                if seen
                    .lease
                    .as_ref()
                    .is_some_and(|l| l.owner == self.owner && !l.released) =>
            {
                Ok(())
            }
            Ok(Some(seen)) => Err(self.lose(format!(
                "another writer ({}) took it over while this run was writing",
                seen.owner()
            ))),
            Ok(None) => {
                Err(self.lose("the lease object was deleted while this run held it".into()))
            }
            Err(e) => Err(self.lose(format!("could not read it back after a commit: {e}"))),
        }
    }

    /// One refresh: `Ok(true)` refreshed, `Ok(false)` failed for now (retry),
    /// `Err` lost.
    async fn refresh(&self) -> Result<bool, LockError> {
        let (e_tag, seq) = {
            let held = lock_state(&self.held);
            (held.e_tag.clone(), held.seq + 1)
        };
        let sent = Instant::now();
        let options = PutOptions {
            mode: PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag),
                version: None,
            }),
            ..PutOptions::default()
        };
        let result = self
            .store
            .put_opts(&self.key, self.lease(seq, false).bytes(), options)
            .await;
        let e_tag = match result {
            Ok(put) => match put.e_tag {
                Some(tag) => Some(tag),
                None => self.store.head(&self.key).await.ok().and_then(|m| m.e_tag),
            },
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => {
                // Either someone took it over, or an earlier attempt of this
                // very request was applied and its answer lost: look.
                match read_lease(self.store.as_ref(), &self.key).await {
                    Ok(Some(seen))
                        if seen.lease.as_ref().is_some_and(|l| {
                            l.owner == self.owner && l.seq == seq && !l.released
                        }) =>
                    {
                        seen.meta.e_tag
                    }
                    Ok(Some(seen)) => {
                        return Err(
                            self.lose(format!("another writer ({}) took it over", seen.owner()))
                        );
                    }
                    Ok(None) => {
                        return Err(
                            self.lose("the lease object was deleted while this run held it".into())
                        );
                    }
                    Err(e) => {
                        lock_state(&self.held).last_error = Some(e.to_string());
                        return Ok(false);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Could not refresh the lake lease.");
                lock_state(&self.held).last_error = Some(e.to_string());
                return Ok(false);
            }
        };
        let Some(e_tag) = e_tag else {
            lock_state(&self.held).last_error = Some("S3 returned no ETag".into());
            return Ok(false);
        };
        let mut held = lock_state(&self.held);
        held.e_tag = e_tag;
        held.seq = seq;
        held.last_error = None;
        if held.lost.is_none() {
            held.deadline = held.deadline.max(sent + self.timing.validity());
        }
        Ok(true)
    }
}

async fn refresh_loop(lessee: Arc<Lessee>, stop: Arc<Notify>) {
    let mut wait = lessee.timing.refresh;
    loop {
        let Ok(deadline) = lessee.check() else {
            return;
        };
        tokio::select! {
            _ = stop.notified() => return,
            _ = tokio::time::sleep(wait) => {}
            // Wake at the deadline too, so a run stops promptly when refreshes fail.
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
        if lessee.check().is_err() {
            return;
        }
        match lessee.refresh().await {
            Ok(true) => wait = lessee.timing.refresh,
            Ok(false) => wait = lessee.timing.refresh / 4,
            Err(e) => {
                tracing::warn!(error = %e, "Lost the lake lease.");
                return;
            }
        }
    }
}

/// What a commit path asks before writing: is the lake still ours?
/// Cheap to clone; for a local lake it always answers yes.
#[derive(Debug, Clone)]
pub struct LeaseGuard(Option<Arc<Lessee>>);

impl LeaseGuard {
    /// `Ok` while this run may write to the lake (local clock, no I/O).
    pub fn check(&self) -> Result<(), LockError> {
        self.deadline().map(|_| ())
    }

    /// The instant after which no write may leave (`None`: local lake).
    fn deadline(&self) -> Result<Option<Instant>, LockError> {
        self.0.as_ref().map(|l| l.check()).transpose()
    }

    /// After a commit-point write: reads the lease back and fails (marking
    /// it lost) unless it still names this run (invariant 4).
    pub async fn confirm(&self) -> Result<(), LockError> {
        match &self.0 {
            None => Ok(()),
            Some(lessee) => lessee.confirm().await,
        }
    }

    /// Completes when the lease is lost (never for a local lake), with why.
    pub async fn lost(&self) -> LockError {
        let Some(lessee) = &self.0 else {
            return std::future::pending().await;
        };
        let mut rx = lessee.lost_tx.subscribe();
        loop {
            if let Err(e) = lessee.check() {
                return e;
            }
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return std::future::pending().await;
                    }
                }
                // Expiry is noticed by `check`, which nothing may call.
                _ = tokio::time::sleep(lessee.timing.refresh / 4) => {}
            }
        }
    }
}

/// Runs `run` holding the lock of `scope`, on a store that writes through
/// the lock's fence: on S3 no write leaves once the lease may have expired,
/// and a lost lease ends the run.
pub async fn with_lock<T, E, F, Fut>(lake: &LakeStore, scope: LockScope, run: F) -> Result<T, E>
where
    E: From<LockError> + From<StoreError>,
    F: FnOnce(LakeStore) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let lock = LakeLock::acquire_scope(lake, scope).await?;
    let fenced = lock.fence(lake);
    let guard = lock.guard();
    let result = tokio::select! {
        result = run(fenced) => result,
        lost = guard.lost() => Err(lost.into()),
    };
    let result = guard.check().map_err(E::from).and(result);
    lock.release().await?;
    result
}

/// Held for the whole ingest; released on drop (local) or by [`LakeLock::release`].
#[derive(Debug)]
pub enum LakeLock {
    /// The locked file (the OS lock lives as long as the handle).
    Local(File),
    /// A held S3 lease and its refresher.
    Remote(RemoteLease),
}

/// An S3 lease this run holds.
#[derive(Debug)]
pub struct RemoteLease {
    lessee: Arc<Lessee>,
    stop: Arc<Notify>,
    refresher: JoinHandle<()>,
}

impl LakeLock {
    /// Takes the lake's lock or says who holds it (lease timing from the
    /// environment, see [`LeaseTiming::from_env`]).
    pub async fn acquire(lake: &LakeStore) -> Result<LakeLock, LockError> {
        LakeLock::acquire_scope(lake, LockScope::Writer).await
    }

    /// Takes the lock of `scope` (see [`LakeLock::acquire`]).
    pub async fn acquire_scope(lake: &LakeStore, scope: LockScope) -> Result<LakeLock, LockError> {
        let (lock_path, _) = scope.paths();
        if let Some(root) = lake.local_root() {
            let path = root.join(lock_path);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
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
                Err(_) => Err(LockError::Busy {
                    scope,
                    detail: path.display().to_string(),
                }),
            };
        }
        LakeLock::acquire_lease(lake, scope, LeaseTiming::from_env()?).await
    }

    /// Takes an S3 lake's lease with the given timing (see the module docs).
    pub async fn acquire_with(
        lake: &LakeStore,
        timing: LeaseTiming,
    ) -> Result<LakeLock, LockError> {
        LakeLock::acquire_lease(lake, LockScope::Writer, timing).await
    }

    async fn acquire_lease(
        lake: &LakeStore,
        scope: LockScope,
        timing: LeaseTiming,
    ) -> Result<LakeLock, LockError> {
        let (_, lease_path) = scope.paths();
        let (Some((store, key)), Some((_, clock))) =
            (lake.object_store(lease_path), lake.object_store(CLOCK_PATH))
        else {
            return Err(LockError::Config(format!(
                "{}: a lease is only for a lake on S3",
                lake.describe()
            )));
        };
        let owner = new_owner();
        let lease = Lease {
            owner: owner.clone(),
            seq: 0,
            stale_secs: Some(timing.stale.as_secs_f64()),
            released: false,
            written_at: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
        };
        let where_ = format!("{}/{lease_path}", lake.describe());
        for _ in 0..ATTEMPTS {
            let seen = read_lease(store.as_ref(), &key).await?;
            let mode = match &seen {
                None => PutMode::Create,
                Some(s) if s.lease.as_ref().is_some_and(|l| l.released) => {
                    PutMode::Update(s.version())
                }
                Some(s) => {
                    let now = server_now(store.as_ref(), &clock).await?;
                    let age = (now - s.meta.last_modified).to_std().unwrap_or_default();
                    let theirs = s
                        .lease
                        .as_ref()
                        .and_then(|l| l.stale_secs)
                        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                        .unwrap_or_default();
                    let limit = timing.stale.max(theirs) + Duration::from_secs(1);
                    if age <= limit {
                        return Err(LockError::Busy {
                            scope,
                            detail: format!(
                                "lease {where_} held by {}, last refreshed {} s ago by S3's \
                                 clock; it is taken over after {} s without a refresh",
                                s.owner(),
                                age.as_secs(),
                                limit.as_secs()
                            ),
                        });
                    }
                    tracing::warn!(
                        owner = s.owner(),
                        age_secs = age.as_secs(),
                        "Taking over a stale lake lease."
                    );
                    PutMode::Update(s.version())
                }
            };
            let sent = Instant::now();
            let options = PutOptions {
                mode,
                ..PutOptions::default()
            };
            let e_tag = match store.put_opts(&key, lease.bytes(), options).await {
                Ok(put) => match put.e_tag {
                    Some(tag) => Some(tag),
                    None => store.head(&key).await?.e_tag,
                },
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. }
                    | object_store::Error::NotFound { .. },
                ) => {
                    // Someone else moved first, or our own write was applied
                    // and its answer lost (then the lease names us).
                    match read_lease(store.as_ref(), &key).await? {
                        Some(s) if s.lease.as_ref().is_some_and(|l| l.owner == owner) => {
                            s.meta.e_tag
                        }
                        _ => continue,
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let Some(e_tag) = e_tag else {
                return Err(LockError::Config(format!(
                    "{where_}: the S3 server returned no ETag, which the lease needs"
                )));
            };
            let lessee = Arc::new(Lessee {
                lake: lake.describe(),
                store,
                key,
                owner,
                timing,
                held: Mutex::new(Held {
                    e_tag,
                    seq: 0,
                    deadline: sent + timing.validity(),
                    lost: None,
                    last_error: None,
                }),
                lost_tx: watch::Sender::new(false),
            });
            let stop = Arc::new(Notify::new());
            let refresher = tokio::spawn(refresh_loop(lessee.clone(), stop.clone()));
            return Ok(LakeLock::Remote(RemoteLease {
                lessee,
                stop,
                refresher,
            }));
        }
        Err(LockError::Busy {
            scope,
            detail: format!(
                "lease {where_} changed hands {ATTEMPTS} times while this run tried to take it"
            ),
        })
    }

    /// What the commit path checks before writing (see [`LeaseGuard`]).
    pub fn guard(&self) -> LeaseGuard {
        match self {
            LakeLock::Local(_) => LeaseGuard(None),
            LakeLock::Remote(remote) => LeaseGuard(Some(remote.lessee.clone())),
        }
    }

    /// `lake` as the holder must write to it: on S3 every write is checked
    /// against the lease and the commit point confirmed (invariants 3, 4).
    pub fn fence(&self, lake: &LakeStore) -> LakeStore {
        let guard = self.guard();
        lake.with_object_store(|inner| Arc::new(fence::FencedStore::new(inner, guard)))
    }

    /// Releases the lock. For S3: stops refreshing and marks the lease
    /// released if it is still ours; never deletes it (module docs).
    pub async fn release(self) -> Result<(), StoreError> {
        match self {
            LakeLock::Local(file) => {
                let _ = file.unlock();
                Ok(())
            }
            LakeLock::Remote(remote) => {
                remote.stop.notify_one();
                let _ = remote.refresher.await;
                let lessee = remote.lessee;
                let (e_tag, seq, lost) = {
                    let held = lock_state(&lessee.held);
                    (held.e_tag.clone(), held.seq + 1, held.lost.clone())
                };
                if let Some(reason) = lost {
                    tracing::warn!(reason, "Lake lease already lost; nothing to release.");
                    return Ok(());
                }
                let options = PutOptions {
                    mode: PutMode::Update(UpdateVersion {
                        e_tag: Some(e_tag),
                        version: None,
                    }),
                    ..PutOptions::default()
                };
                match lessee
                    .store
                    .put_opts(&lessee.key, lessee.lease(seq, true).bytes(), options)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(
                        object_store::Error::Precondition { .. }
                        | object_store::Error::NotFound { .. },
                    ) => {
                        tracing::warn!(
                            "The lake lease changed hands before release; left as it is."
                        );
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}
