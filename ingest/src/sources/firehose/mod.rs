//! Amazon Data Firehose as a source: the HTTP endpoint delivery protocol
//! (`shared/spec/formats.md` §5.3) and the two payloads flow logs reach it
//! in (§5.1 direct records, §5.2 CloudWatch Logs subscription envelopes).

pub mod flush;
pub mod metrics;
pub mod models;
pub mod protocol;
mod recent;
pub mod records;
pub mod serve;
pub mod spool;
pub mod tls;
