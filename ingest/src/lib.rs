//! Flow-log sources into the flowlake lake, exactly once.
//!
//! ```text
//! Source (dir, S3) ─list─▶ SourceObject ─open─▶ Body ─▶ process (gunzip, parse, encode; CPU pool)
//!                                                          │ staged Parquet + rejects + counts
//!                                                          ▼
//!                                   lake::commit_object (intent → publish → ledger entry)
//! ```
//!
//! [`pipeline::ingest`] drives it and returns an [`IngestSummary`] whose
//! counts reconcile: every line read is a record written, a rejected line
//! (quarantined with its reason), a header or a blank line. The lake's
//! ledger makes re-runs and runs after a crash leave every record exactly
//! once (see [`lake::ledger`] for the invariants).

pub mod aws;
pub mod cloudwatch;
pub mod compact;
pub mod encode;
pub mod envelope;
pub mod events;
pub mod gunzip;
pub mod lake;
pub mod limits;
pub mod pipeline;
pub mod process;
pub mod prune;
pub mod rollup;
pub mod sample;
pub mod segment;
pub mod sources;
pub mod units;
mod waves;

pub use lake::LakeStore;
pub use pipeline::{
    IngestError, IngestOptions, IngestSummary, NoProgress, ObjectReport, Progress, ingest,
};
pub use process::Limits;
pub use sources::dir::DirSource;
pub use sources::{Source, SourceObject};
