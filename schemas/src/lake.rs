//! The lake's layout on disk or in S3, shared by the writer (ingest) and the
//! reader (query) so the two never disagree about a path.
//!
//! ```text
//! <lake>/
//!   flows/                          the table: final Parquet files and nothing else
//!     day=2024-05-25/hour=05/
//!       <source-key>-<part>.parquet
//!   _flowlake/                      everything that is not table data
//!     ledger/<source-key>/<version-key>.json   one entry per ingested source version
//!     pending/<source-key>.json                intent of an ingest in progress
//!     quarantine/<source-key>-<version-key>.jsonl  rejected lines with reasons
//!     tmp/                                     local staging before rename
//! ```
//!
//! Partitions are Hive-style `day=YYYY-MM-DD/hour=HH` (UTC, from the record's
//! `start`), so Athena, Trino, Spark, DuckDB and DataFusion read the table as
//! it is. Side files never live under `flows/`: several readers glob every
//! file in a partition, and a stray temporary file would break their queries.
//! File names are derived from the source (see [`source_key`]), so a retry
//! overwrites the same files instead of adding new ones.

use chrono::{DateTime, Datelike, Timelike};
use xxhash_rust::xxh3::xxh3_128;

/// The table folder inside the lake.
pub const TABLE_DIR: &str = "flows";
/// flowlake's own folder inside the lake (never read as table data).
pub const META_DIR: &str = "_flowlake";
/// Committed ingests: one JSON entry per source object version.
pub const LEDGER_DIR: &str = "_flowlake/ledger";
/// Ingests that published files but have not committed yet.
pub const PENDING_DIR: &str = "_flowlake/pending";
/// Rejected lines, one JSON Lines file per source object version.
pub const QUARANTINE_DIR: &str = "_flowlake/quarantine";
/// Local staging for files before they are renamed into `flows/`.
pub const TMP_DIR: &str = "_flowlake/tmp";

/// One hour of one day (UTC): the unit the table is partitioned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// Hours since the Unix epoch.
    hours: i64,
}

impl Partition {
    /// The partition holding a UTC time in milliseconds.
    pub fn from_millis(millis: i64) -> Partition {
        Partition {
            hours: millis.div_euclid(3_600_000),
        }
    }

    /// The partition's first millisecond.
    pub fn start_millis(&self) -> i64 {
        self.hours * 3_600_000
    }

    /// `YYYY-MM-DD`, the `day` partition value.
    pub fn day(&self) -> String {
        match DateTime::from_timestamp_millis(self.start_millis()) {
            Some(t) => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
            None => "1970-01-01".to_owned(),
        }
    }

    /// `HH`, the `hour` partition value.
    pub fn hour(&self) -> String {
        match DateTime::from_timestamp_millis(self.start_millis()) {
            Some(t) => format!("{:02}", t.hour()),
            None => "00".to_owned(),
        }
    }

    /// `day=YYYY-MM-DD/hour=HH`, relative to the table folder.
    pub fn path(&self) -> String {
        format!("day={}/hour={}", self.day(), self.hour())
    }
}

/// A short, stable key for a source identity (e.g. `s3://bucket/key` or a
/// path relative to the ingested folder): 32 hex digits.
pub fn source_key(identity: &str) -> String {
    format!("{:032x}", xxh3_128(identity.as_bytes()))
}

/// Path (relative to the lake root) of one data file of one source.
pub fn data_file_path(partition: Partition, source_key: &str, part: u32) -> String {
    format!(
        "{TABLE_DIR}/{}/{source_key}-{part:04}.parquet",
        partition.path()
    )
}

/// Path of the ledger entry committing one version of one source.
pub fn ledger_path(source_key: &str, version_key: &str) -> String {
    format!("{LEDGER_DIR}/{source_key}/{version_key}.json")
}

/// Path of the intent file of an ingest in progress.
pub fn pending_path(source_key: &str) -> String {
    format!("{PENDING_DIR}/{source_key}.json")
}

/// Path of the quarantine file of one version of one source.
pub fn quarantine_path(source_key: &str, version_key: &str) -> String {
    format!("{QUARANTINE_DIR}/{source_key}-{version_key}.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_utc_hours() {
        let p = Partition::from_millis(1_716_613_200_000); // 2024-05-25T05:00:00Z
        assert_eq!(p.path(), "day=2024-05-25/hour=05");
        assert_eq!(Partition::from_millis(1_716_616_799_999), p);
        assert_ne!(Partition::from_millis(1_716_616_800_000), p);
        assert_eq!(Partition::from_millis(0).path(), "day=1970-01-01/hour=00");
    }

    #[test]
    fn names_are_stable_and_outside_the_table_for_side_files() {
        let key = source_key("s3://bucket/AWSLogs/1/vpcflowlogs/x.log.gz");
        assert_eq!(
            key,
            source_key("s3://bucket/AWSLogs/1/vpcflowlogs/x.log.gz")
        );
        assert_ne!(
            key,
            source_key("s3://bucket/AWSLogs/1/vpcflowlogs/y.log.gz")
        );
        assert_eq!(key.len(), 32);
        let p = Partition::from_millis(0);
        assert!(data_file_path(p, &key, 3).starts_with("flows/day=1970-01-01/hour=00/"));
        for side in [
            ledger_path(&key, "v"),
            pending_path(&key),
            quarantine_path(&key, "v"),
        ] {
            assert!(!side.starts_with(TABLE_DIR), "{side}");
        }
    }
}
