//! The lake as ingest sees it: storage, the ledger, the commit protocol, the
//! quarantine and the writer's lock.

pub mod commit;
pub mod crashpoint;
pub mod cursor;
pub mod ledger;
pub mod lock;
pub mod quarantine;
pub mod store;

pub use commit::{
    CommitError, CommitOutcome, CommitRequest, Recovery, Takeover, commit_object, recover,
};
pub use ledger::{FileEntry, LedgerEntry, LedgerIndex, StreamRange};
pub use lock::{LakeLock, LockError};
pub use store::{Created, LakeStore, StoreError};
