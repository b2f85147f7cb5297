//! Network context for flow logs: the VPC's configuration over time, and
//! what it says about records — why a REJECT happened, whose an address
//! is, which records of one conversation to count.
//!
//! ```text
//! describe-* JSON ──▶ parse ──▶ SnapshotContent ─┐
//! AWS Config items ─▶ config_import (per instant) ┤
//!                                                ├─▶ Inventory (timelines, §1.5) ──▶ World as of t
//! lake: inventory/raw + snapshots ◀── store ─────┘                                    │
//!                                     tables (Parquet, SQL) ◀── tables                  ▼
//!                                               explain (matcher, verdict) · owner (classify)
//! ```
//!
//! ```
//! use flowlake_context::timeline::{Observation, Timeline, Certainty};
//! let t = Timeline::from_observations(vec![
//!     Observation { at: 0, content: Some("v1"), event: false },
//!     Observation { at: 100, content: Some("v2"), event: false },
//! ]).unwrap();
//! assert_eq!(t.as_of(50).certainty, Certainty::Gap);
//! assert_eq!(t.as_of(100).version.content, Some("v2"));
//! ```

pub mod config_import;
pub mod explain;
pub mod inventory;
pub mod matcher;
pub mod model;
pub mod owner;
pub mod parse;
pub mod proto;
pub mod store;
pub mod tables;
pub mod timeline;
pub mod who;
pub mod world;

pub use inventory::{Inventory, Snapshot};
