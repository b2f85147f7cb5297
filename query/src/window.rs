//! The partition folders a time window can touch, so that a query over an
//! hour of a year-long lake lists one folder instead of every file.
//!
//! DataFusion's listing table lists everything under `flows/` and only then
//! filters files by their `day`/`hour` values. A window (`--from`/`--to`,
//! an alert's lookback) is a range, so without help every query would list
//! the whole table: on S3 a year of hourly folders is thousands of list requests
//! before the first byte is read. The session's store lists only the
//! folders computed here, and the window's condition still filters rows.
//!
//! A record lives in the hour of its `start`, so a record inside the window
//! is in one of the window's hour folders. Records with no time of their own
//! are filed under their object's hour, but no window condition matches a
//! null `start_time`, so they are never needed.

use chrono::{DateTime, Duration, DurationRound, Utc};
use flowlake_schemas::lake::Partition;

/// Windows up to this many hours are listed hour folder by hour folder.
const MAX_HOUR_FOLDERS: i64 = 7 * 24;
/// Windows up to this many days are listed day folder by day folder; longer
/// ones list the whole table (one recursive listing is then cheaper).
const MAX_DAY_FOLDERS: i64 = 92;

/// The folders under `flows/` (`day=…` or `day=…/hour=…`) that can hold a
/// record starting in `[from, to)`, or `None` when the window is open at
/// either end (a lake may hold records from any time, even later than this
/// host's clock) or too long to be worth listing folder by folder.
pub(crate) fn window_folders(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<Vec<String>> {
    let (from, to) = (from?, to?);
    let starts = |step: Duration, most: i64| -> Option<Vec<Partition>> {
        let mut t = from.duration_trunc(step).ok()?;
        let mut out = Vec::new();
        while t < to {
            if out.len() as i64 >= most {
                return None;
            }
            out.push(Partition::from_millis(t.timestamp_millis()));
            t += step;
        }
        Some(out)
    };
    if let Some(hours) = starts(Duration::hours(1), MAX_HOUR_FOLDERS) {
        return Some(hours.iter().map(Partition::path).collect());
    }
    let days = starts(Duration::days(1), MAX_DAY_FOLDERS)?;
    Some(days.iter().map(|p| format!("day={}", p.day())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn an_hour_is_one_folder_and_a_partial_hour_rounds_out() {
        assert_eq!(
            window_folders(
                Some(at("2024-05-25T13:00:00Z")),
                Some(at("2024-05-25T14:00:00Z"))
            ),
            Some(vec!["day=2024-05-25/hour=13".to_owned()])
        );
        assert_eq!(
            window_folders(
                Some(at("2024-05-25T23:30:00Z")),
                Some(at("2024-05-26T00:00:01Z"))
            ),
            Some(vec![
                "day=2024-05-25/hour=23".to_owned(),
                "day=2024-05-26/hour=00".to_owned()
            ])
        );
    }

    #[test]
    fn long_windows_list_days_then_everything() {
        let month = window_folders(
            Some(at("2024-05-01T06:00:00Z")),
            Some(at("2024-06-01T00:00:00Z")),
        );
        let month = month.unwrap_or_default();
        assert_eq!(month.len(), 31);
        assert_eq!(month[0], "day=2024-05-01");
        assert_eq!(month[30], "day=2024-05-31");
        assert_eq!(
            window_folders(
                Some(at("2024-01-01T00:00:00Z")),
                Some(at("2024-06-01T00:00:00Z"))
            ),
            None
        );
        assert_eq!(window_folders(None, Some(at("2024-06-01T00:00:00Z"))), None);
    }

    #[test]
    fn a_fraction_of_a_second_past_the_hour_lists_that_hour() {
        let folders = window_folders(
            Some(at("2024-05-25T13:00:00Z")),
            Some(at("2024-05-25T14:00:00.300Z")),
        );
        assert_eq!(
            folders,
            Some(vec![
                "day=2024-05-25/hour=13".to_owned(),
                "day=2024-05-25/hour=14".to_owned()
            ])
        );
        let days = window_folders(
            Some(at("2024-05-01T00:00:00Z")),
            Some(at("2024-06-01T00:00:00.5Z")),
        )
        .unwrap_or_default();
        assert_eq!(days.last().map(String::as_str), Some("day=2024-06-01"));
    }

    #[test]
    fn an_open_end_lists_everything_and_an_empty_window_nothing() {
        assert_eq!(window_folders(Some(at("2024-05-25T09:00:00Z")), None), None);
        let t = at("2024-05-25T09:00:00Z");
        assert_eq!(window_folders(Some(t), Some(t)), Some(Vec::new()));
    }
}
