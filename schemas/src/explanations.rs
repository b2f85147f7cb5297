//! The `reject_explanations` table: what `flowlake explain --save` writes
//! and what the query session and reports read, defined once here.
//!
//! ```text
//! reject_explanations/day=YYYY-MM-DD/part-0.parquet   one object per UTC day of the records' start
//! ```
//!
//! A day's object is replaced whole by each save (the lake store's atomic
//! put), so it is a function of that day's flows and the inventory at the
//! time of the save (`explained_at`); nothing else names it, and a re-run
//! writes the same rows again instead of adding to them. A day without
//! REJECTs has no object.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::DateTime;

/// The table's folder and its SQL name.
pub const EXPLANATIONS_DIR: &str = "reject_explanations";

/// The one partition column (not repeated inside the files).
pub const EXPLANATIONS_DAY: &str = "day";

/// The columns of spec/network-context.md §2.7: the flow key, the
/// explanation's fields, then `summary` (the one-line form) and
/// `explained_at` (when the save ran, RFC 3339: a reader sees how stale a
/// day is; later ingests of that day show only after the next save).
pub fn explanations_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use DataType::{Boolean, Int64, Utf8};
            let fields = [
                ("interface_id", Utf8),
                ("start", Int64),
                ("end", Int64),
                ("srcaddr", Utf8),
                ("dstaddr", Utf8),
                ("srcport", Int64),
                ("dstport", Int64),
                ("protocol", Int64),
                ("flow_direction", Utf8),
                ("verdict", Utf8),
                ("code", Utf8),
                ("confidence", Utf8),
                ("direction", Utf8),
                ("packet_kind", Utf8),
                ("sg_ids", Utf8),
                ("sg_result", Utf8),
                ("acl_id", Utf8),
                ("acl_result", Utf8),
                ("acl_rule_number", Int64),
                ("rule_text", Utf8),
                ("nearest_rule", Utf8),
                ("owner", Utf8),
                ("bpa", Utf8),
                ("snapshot_at", Utf8),
                ("snapshot_age_s", Int64),
                ("config_gap", Boolean),
                ("flags", Utf8),
                ("hints", Utf8),
                ("summary", Utf8),
                ("explained_at", Utf8),
            ];
            Arc::new(Schema::new(
                fields
                    .into_iter()
                    .map(|(n, t)| Field::new(n, t, true))
                    .collect::<Vec<_>>(),
            ))
        })
        .clone()
}

/// The UTC day (`YYYY-MM-DD`) of a record starting at `start` (Unix
/// seconds): the day partition its explanation is saved in, the same day
/// as its `flows` partition.
pub fn explanation_day(start: i64) -> Option<String> {
    DateTime::from_timestamp(start, 0).map(|t| t.format("%Y-%m-%d").to_string())
}

/// The object holding one day's explanations, relative to the lake root.
pub fn explanation_day_path(day: &str) -> String {
    format!("{EXPLANATIONS_DIR}/{EXPLANATIONS_DAY}={day}/part-0.parquet")
}

/// The day of a saved object, from its path relative to the lake root
/// (`reject_explanations/day=YYYY-MM-DD/<file>.parquet`), if it is one.
pub fn day_of_explanation_path(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix(EXPLANATIONS_DIR)?
        .strip_prefix('/')?
        .strip_prefix(EXPLANATIONS_DAY)?
        .strip_prefix('=')?;
    let (day, name) = rest.split_once('/')?;
    let valid = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok()
        && name.ends_with(".parquet")
        && !name.contains('/');
    valid.then_some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_path_reads_back_as_its_day() {
        let day = explanation_day(1_795_169_100);
        assert_eq!(day.as_deref(), Some("2026-11-20"));
        let path = explanation_day_path("2026-11-20");
        assert_eq!(path, "reject_explanations/day=2026-11-20/part-0.parquet");
        assert_eq!(day_of_explanation_path(&path), Some("2026-11-20"));
    }

    #[test]
    fn other_paths_are_not_days() {
        for path in [
            "flows/day=2026-11-20/hour=10/x.parquet",
            "reject_explanations/day=2026-13-40/part-0.parquet",
            "reject_explanations/day=2026-11-20/part-0.parquet.tmp",
            "reject_explanations/day=2026-11-20/sub/part-0.parquet",
            "reject_explanations/part-0.parquet",
        ] {
            assert_eq!(day_of_explanation_path(path), None, "{path}");
        }
    }

    #[test]
    fn midnight_belongs_to_the_day_it_starts() {
        assert_eq!(
            explanation_day(1_795_132_800).as_deref(),
            Some("2026-11-20")
        );
        assert_eq!(
            explanation_day(1_795_132_799).as_deref(),
            Some("2026-11-19")
        );
    }

    #[test]
    fn the_partition_column_is_not_a_file_column() {
        assert!(
            explanations_schema()
                .field_with_name(EXPLANATIONS_DAY)
                .is_err()
        );
    }
}
