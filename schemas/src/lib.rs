//! What a flow record is: the field table, formats, the line parser, the
//! lake's schema and layout. No I/O, no async, no AWS: it builds and tests in
//! seconds, and every other flowlake crate agrees with it.
//!
//! ```text
//! header line / LogFormat ──▶ Format ─┐
//!                                     ▼
//! bytes (any chunking) ──▶ parser::Decoder ──▶ RecordBatch (lake schema) + Reject list
//!                                                   │
//!                                    lake::Partition, lake::data_file_path ──▶ writer
//! ```
//!
//! ```
//! use flowlake_schemas::{Decoder, Format};
//!
//! let mut decoder = Decoder::new(Format::default_vpc(), 1, 1024);
//! decoder.decode(b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n");
//! decoder.decode(b"2 123456789010 eni-1235b8ca 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n");
//! decoder.decode(b"2 123456789010 eni-1235b8ca 172.31.9.69 172.31.9.12 49761 ssh 6 20 4249 1418530010 1418530070 REJECT OK\n");
//! decoder.finish();
//! let rows: usize = decoder.take_batches().iter().map(|b| b.num_rows()).sum();
//! let rejects = decoder.take_rejects();
//! assert_eq!(rows, 1);
//! assert_eq!(rejects[0].to_string(), r#"line 3: dstport: "ssh" is not a number"#);
//! assert_eq!(decoder.counts().lines(), 3);
//! ```

pub mod addr;
pub mod ddl;
pub mod derive;
pub mod docs;
pub mod explanations;
pub mod fields;
pub mod format;
pub mod lake;
pub mod normalize;
pub mod parser;
pub mod protocol;
pub mod reject;
pub mod rollup;
pub mod schema;
pub mod source;

pub use fields::{FIELDS, Field, FieldId, ValueKind};
pub use format::{Format, FormatError};
pub use parser::{DEFAULT_BATCH_SIZE, Decoder, LineCounts, LineLimits, TimeBounds};
pub use reject::{Reject, RejectReason};
pub use source::RecordSource;
