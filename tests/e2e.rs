//! End-to-end tests: the real `flowlake` binary against real files, a real S3
//! server and independent readers (DuckDB, pyarrow, a plain-Python parser).
//! One test target (STYLE.md); each module is one area.
//!
//! Tests that need Python (`FLOWLAKE_TEST_PYTHON`, set up by `.ci/run`) skip
//! with a message when it is missing, and fail instead when `CI` is set, so
//! CI can never pass by skipping.

// A panic in a test is a failed test: unwrap freely here.
#![allow(clippy::unwrap_used)]

#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/harness_raw.rs"]
mod harness_raw;
#[path = "e2e/harness_s3.rs"]
mod harness_s3;

#[path = "e2e/bad_input.rs"]
mod bad_input;
#[path = "e2e/cloudwatch.rs"]
mod cloudwatch;
#[path = "e2e/commit_model.rs"]
mod commit_model;
#[path = "e2e/compact.rs"]
mod compact;
#[path = "e2e/context_config.rs"]
mod context_config;
#[path = "e2e/context_explain.rs"]
mod context_explain;
#[path = "e2e/context_explain_save.rs"]
mod context_explain_save;
#[path = "e2e/context_explain_save_races.rs"]
mod context_explain_save_races;
#[path = "e2e/context_harness.rs"]
mod context_harness;
#[path = "e2e/context_inventory.rs"]
mod context_inventory;
#[path = "e2e/context_matcher.rs"]
mod context_matcher;
#[path = "e2e/context_once.rs"]
mod context_once;
#[path = "e2e/dashboards.rs"]
mod dashboards;
#[path = "e2e/exactly_once.rs"]
mod exactly_once;
#[path = "e2e/firehose.rs"]
mod firehose;
#[path = "e2e/firehose_crash.rs"]
mod firehose_crash;
#[path = "e2e/firehose_harness.rs"]
mod firehose_harness;
#[path = "e2e/firehose_tls.rs"]
mod firehose_tls;
#[path = "e2e/flight_sql.rs"]
mod flight_sql;
#[path = "e2e/formats.rs"]
mod formats;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/identity.rs"]
mod identity;
#[path = "e2e/ingest_dir.rs"]
mod ingest_dir;
#[path = "e2e/job.rs"]
mod job;
#[path = "e2e/lease.rs"]
mod lease;
#[path = "e2e/prune.rs"]
mod prune;
#[path = "e2e/query.rs"]
mod query;
#[path = "e2e/query_memory.rs"]
mod query_memory;
#[path = "e2e/s3.rs"]
mod s3;
