//! Which key prefixes to list, so a run reads only the accounts, Regions and
//! days it was asked for, in both key layouts AWS writes
//! (`shared/spec/formats.md` §3.1):
//!
//! ```text
//! plain: <base>AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]
//! Hive:  <base>AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/month=MM/day=DD/[hour=HH/]
//! ```
//!
//! Accounts and Regions not given are discovered with delimiter listings;
//! days come from the time range. A prefix with no `AWSLogs/` under it (a
//! CloudWatch Logs export) is listed in full. A base prefix that already reaches inside
//! `AWSLogs/` is listed as it is.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// What to read from a flow-log bucket.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// Accounts to read (all when empty).
    pub accounts: Vec<String>,
    /// Regions to read (all when empty).
    pub regions: Vec<String>,
    /// Objects from this time on (by key date and file-name stamp).
    pub from: Option<DateTime<Utc>>,
    /// Objects before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Most days a time range may enumerate before listing whole Regions instead.
const MAX_DAYS: i64 = 3660;

/// Slack around the range when filtering by a file's name stamp: a file
/// holds records whose `end` falls in its 5 minutes, and `start` can be up
/// to an aggregation interval (10 min) earlier.
const STAMP_SLACK: Duration = Duration::hours(1);

impl KeyFilter {
    /// Day prefixes (plain and Hive forms) for the range, or `None` for all days.
    pub fn day_prefixes(&self) -> Option<Vec<(String, String)>> {
        let (from, to) = (self.from?, self.to.unwrap_or_else(Utc::now));
        let first = (from - STAMP_SLACK).date_naive();
        let last = (to + STAMP_SLACK).date_naive();
        if (last - first).num_days() > MAX_DAYS || last < first {
            return None;
        }
        let mut days = Vec::new();
        let mut day: NaiveDate = first;
        while day <= last {
            days.push((
                format!("{:04}/{:02}/{:02}/", day.year(), day.month(), day.day()),
                format!(
                    "year={:04}/month={:02}/day={:02}/",
                    day.year(),
                    day.month(),
                    day.day()
                ),
            ));
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        Some(days)
    }

    /// True when an object with this file-name time (ms) may hold records in range.
    pub fn keeps_stamp(&self, stamp_ms: Option<i64>) -> bool {
        let Some(ms) = stamp_ms else { return true };
        let Some(t) = DateTime::from_timestamp_millis(ms) else {
            return true;
        };
        self.from.is_none_or(|f| t >= f - STAMP_SLACK)
            && self.to.is_none_or(|to| t < to + STAMP_SLACK)
    }
}

/// The account part of a child prefix under `AWSLogs/`: `123/` or `aws-account-id=123/`.
pub fn service_prefix(account_dir: &str) -> String {
    if account_dir.starts_with("aws-account-id=") {
        format!("{account_dir}aws-service=vpcflowlogs/")
    } else {
        format!("{account_dir}vpcflowlogs/")
    }
}

/// Both layouts' account folders for an account id.
pub fn account_dirs(account: &str) -> [String; 2] {
    [format!("{account}/"), format!("aws-account-id={account}/")]
}

/// The Region folder under a service prefix, in the layout of that prefix.
pub fn region_dir(service_prefix: &str, region: &str) -> String {
    if service_prefix.ends_with("aws-service=vpcflowlogs/") {
        format!("{service_prefix}aws-region={region}/")
    } else {
        format!("{service_prefix}{region}/")
    }
}

/// The day folder under a Region prefix, in that prefix's layout.
pub fn day_dir(region_prefix: &str, day: &(String, String)) -> String {
    if region_prefix.contains("/aws-region=") {
        format!("{region_prefix}{}", day.1)
    } else {
        format!("{region_prefix}{}", day.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn layouts() {
        assert_eq!(service_prefix("123/"), "123/vpcflowlogs/");
        assert_eq!(
            service_prefix("aws-account-id=123/"),
            "aws-account-id=123/aws-service=vpcflowlogs/"
        );
        assert_eq!(
            region_dir("AWSLogs/123/vpcflowlogs/", "us-east-1"),
            "AWSLogs/123/vpcflowlogs/us-east-1/"
        );
        let hive = region_dir(
            "AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/",
            "eu-west-1",
        );
        assert_eq!(
            hive,
            "AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=eu-west-1/"
        );
        let day = (
            "2024/05/25/".to_owned(),
            "year=2024/month=05/day=25/".to_owned(),
        );
        assert!(day_dir(&hive, &day).ends_with("aws-region=eu-west-1/year=2024/month=05/day=25/"));
    }

    #[test]
    fn days_cover_the_range_with_slack() {
        let f = KeyFilter {
            from: Some(t("2024-05-25T00:30:00Z")),
            to: Some(t("2024-05-26T12:00:00Z")),
            ..KeyFilter::default()
        };
        let days: Vec<String> = f.day_prefixes().unwrap().into_iter().map(|d| d.0).collect();
        assert_eq!(days, ["2024/05/24/", "2024/05/25/", "2024/05/26/"]);
        assert!(f.keeps_stamp(Some(t("2024-05-24T23:45:00Z").timestamp_millis())));
        assert!(!f.keeps_stamp(Some(t("2024-05-24T22:00:00Z").timestamp_millis())));
        assert!(f.keeps_stamp(None));
        assert!(KeyFilter::default().day_prefixes().is_none());
    }
}
