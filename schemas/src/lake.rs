//! The lake's layout on disk or in S3, shared by the writer (ingest) and the
//! reader (query) so the two never disagree about a path.
//!
//! ```text
//! <lake>/
//!   flows/                          the table: final Parquet files and nothing else
//!     day=2024-05-25/hour=05/
//!       <source-key>-<version8>-<part>.parquet
//!   _flowlake/                      everything that is not table data
//!     ledger/<shard>/<source-key>.<version-key>.json  one entry per ingested source version
//!     pending/<source-key>.json                intent of an ingest in progress
//!     quarantine/<source-key>-<version-key>.jsonl  rejected lines with reasons
//!     cursors/<source-key>/<stream-key>.<seq>.json how far each append-only stream is read
//!     tmp/                                     local staging before rename
//! ```
//!
//! The ledger is sharded the way sources are listed (for AWS deliveries by
//! account, region and hour of the file-name stamp), so a run that lists one
//! hour of a bucket reads one hour of the ledger, whatever the lake's age.
//!
//! Partitions are Hive-style `day=YYYY-MM-DD/hour=HH` (UTC, from the record's
//! `start`), so Athena, Trino, Spark, DuckDB and DataFusion read the table as
//! it is. Side files never live under `flows/`: several readers glob every
//! file in a partition, and a stray temporary file would break their queries.
//! File names are derived from the source and its version (see
//! [`source_key`], [`file_stem`]), so a retry of the same version overwrites
//! the same files instead of adding new ones, and a new version of an object
//! never overwrites the files of the version still committed.
//!
//! Readers that go through flowlake skip the files a [`PendingIntent`] says
//! are not (or no longer) committed; outside engines reading `flows/`
//! directly may count them during the short window of a commit or after a
//! crash, until the next ingest recovers.

use chrono::{DateTime, Datelike, Timelike};
use serde::{Deserialize, Serialize};
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

    /// The partition of a data file, from its path
    /// (`flows/day=YYYY-MM-DD/hour=HH/<name>`), if it is one.
    pub fn of_file(path: &str) -> Option<Partition> {
        let rest = path.strip_prefix(TABLE_DIR)?.strip_prefix("/day=")?;
        let (day, rest) = rest.split_once("/hour=")?;
        let (hour, _name) = rest.split_once('/')?;
        let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
        let hour: u32 = hour.parse().ok().filter(|h| *h < 24)?;
        let start = date.and_hms_opt(hour, 0, 0)?.and_utc().timestamp_millis();
        Some(Partition::from_millis(start))
    }
}

/// A short, stable key for a source identity (e.g. `s3://bucket/key` or a
/// path relative to the ingested folder): 32 hex digits.
pub fn source_key(identity: &str) -> String {
    format!("{:032x}", xxh3_128(identity.as_bytes()))
}

/// The prefix of every data file of one version of one source:
/// `<source-key>-<first 8 characters of the version key's hash>`. Two
/// versions of a source get different names, so publishing a new version
/// never overwrites the files of the one still committed.
pub fn file_stem(source_key: &str, version_key: &str) -> String {
    let hash = version_key.rsplit('-').next().unwrap_or(version_key);
    let short: String = hash.chars().take(8).collect();
    format!("{source_key}-{short}")
}

/// Path (relative to the lake root) of one data file: `stem` from
/// [`file_stem`], `part` numbering the files of that version.
pub fn data_file_path(partition: Partition, stem: &str, part: u32) -> String {
    format!("{TABLE_DIR}/{}/{stem}-{part:04}.parquet", partition.path())
}

/// The folder of one ledger shard.
pub fn ledger_shard_dir(shard: &str) -> String {
    format!("{LEDGER_DIR}/{shard}/")
}

/// Path of the ledger entry committing one version of one source.
pub fn ledger_path(shard: &str, source_key: &str, version_key: &str) -> String {
    format!("{LEDGER_DIR}/{shard}/{source_key}.{version_key}.json")
}

/// The (shard, source key, version key) of a ledger entry's path, if it is one.
pub fn parse_ledger_path(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix(LEDGER_DIR)?.strip_prefix('/')?;
    let (shard, name) = rest.rsplit_once('/')?;
    let (source, version) = name.strip_suffix(".json")?.split_once('.')?;
    Some((shard, source, version))
}

/// Where a ledger entry goes once compaction has taken over all its files:
/// out of the ledger (so runs no longer list it) but kept, with its counts,
/// as the record of what was read.
pub const ABSORBED_DIR: &str = "_flowlake/absorbed";

/// The archived copy of the ledger entry at `ledger` (see [`ABSORBED_DIR`]).
pub fn absorbed_path(ledger: &str) -> String {
    let rest = ledger.strip_prefix(LEDGER_DIR).unwrap_or(ledger);
    format!("{ABSORBED_DIR}{rest}")
}

/// Path of the intent file of an ingest in progress.
pub fn pending_path(source_key: &str) -> String {
    format!("{PENDING_DIR}/{source_key}.json")
}

/// Path of the quarantine file of one version of one source.
pub fn quarantine_path(source_key: &str, version_key: &str) -> String {
    format!("{QUARANTINE_DIR}/{source_key}-{version_key}.jsonl")
}

/// The intent of a commit in progress, stored at [`pending_path`] before
/// any file is published and deleted after the commit is complete. It is
/// the one record of which published files are not (or no longer)
/// committed, so ingest recovers from it and query hides what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    /// The source's stable identity.
    pub identity: String,
    /// The version being committed, as its ledger key.
    pub version_key: String,
    /// The ledger entry whose creation commits this intent.
    pub ledger: String,
    /// Files about to be published.
    pub new_files: Vec<String>,
    /// The quarantine file about to be written, if any.
    pub quarantine: Option<String>,
    /// Ledger entries of earlier versions, retired after the commit.
    pub old_entries: Vec<String>,
    /// Files of earlier versions, deleted after the commit.
    pub old_files: Vec<String>,
    /// Quarantine files of earlier versions, deleted after the commit.
    pub old_quarantine: Vec<String>,
    /// Cursor files about to be written (append-only sources: how far each
    /// stream is read once this commits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cursors: Vec<String>,
    /// Cursor files they supersede, deleted after the commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub old_cursors: Vec<String>,
    /// Compaction: ledger entries some of whose files this commit takes
    /// over (merged into `new_files`, or named as they are by the new
    /// entry). After the commit each is rewritten without them, or archived
    /// once it names no file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_from: Vec<String>,
}

impl PendingIntent {
    /// The files a reader must not count while this intent stands: before
    /// the commit point the new version's, after it the old versions'.
    pub fn hidden(&self, committed: bool) -> Vec<&str> {
        let new: Vec<&str> = self
            .new_files
            .iter()
            .chain(&self.quarantine)
            .chain(&self.cursors)
            .map(String::as_str)
            .collect();
        if committed {
            self.old_files
                .iter()
                .chain(&self.old_quarantine)
                .chain(&self.old_cursors)
                .map(String::as_str)
                .filter(|f| !new.contains(f))
                .collect()
        } else {
            new
        }
    }
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
        let file = data_file_path(p, "stem", 2);
        assert_eq!(Partition::of_file(&file), Some(p));
        for not_data in [
            "flows/day=2024-05-25/x.parquet",
            "flows/day=2024-05-25/hour=24/x.parquet",
            "_flowlake/ledger/day=2024-05-25/hour=05/x",
        ] {
            assert_eq!(Partition::of_file(not_data), None, "{not_data}");
        }
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
        let entry = ledger_path("aws/1/us-east-1/2024/05/25/05", &key, "e12-00ff");
        assert_eq!(
            parse_ledger_path(&entry),
            Some(("aws/1/us-east-1/2024/05/25/05", key.as_str(), "e12-00ff"))
        );
        assert_ne!(
            file_stem(&key, "e12-00ff11aa"),
            file_stem(&key, "e12-00ff11ab0")
        );
        for side in [entry, pending_path(&key), quarantine_path(&key, "v")] {
            assert!(!side.starts_with(TABLE_DIR), "{side}");
        }
    }
}
