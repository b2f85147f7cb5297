//! Times as users type them on the command line: `2024-05-25`,
//! `2024-05-25T05:00`, RFC 3339, Unix seconds, or relative to now (`-2h`,
//! `-30m`, `-7d`, `now`). All UTC. The clock is passed in, so tests and
//! scheduled runs are reproducible.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use crate::QueryError;

/// Parses `text` as a UTC time; relative forms count back from `now`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, QueryError> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(rel) = t.strip_prefix('-')
        && let Some(unit) = rel.chars().last()
        && let Ok(n) = rel[..rel.len() - unit.len_utf8()].parse::<i64>()
    {
        let d = match unit {
            's' => Duration::seconds(n),
            'm' => Duration::minutes(n),
            'h' => Duration::hours(n),
            'd' => Duration::days(n),
            'w' => Duration::weeks(n),
            _ => return Err(bad(t)),
        };
        return Ok(now - d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(secs) = t.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0).ok_or_else(|| bad(t));
    }
    Err(bad(t))
}

fn bad(text: &str) -> QueryError {
    QueryError::Time(format!(
        "cannot read {text:?} as a time: use 2024-05-25, 2024-05-25T05:00, RFC 3339, Unix seconds, now, or -2h / -7d"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let now = DateTime::parse_from_rfc3339("2024-05-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let p = |s| parse_time(s, now).unwrap().to_rfc3339();
        assert_eq!(p("2024-05-25"), "2024-05-25T00:00:00+00:00");
        assert_eq!(p("2024-05-25T05:30"), "2024-05-25T05:30:00+00:00");
        assert_eq!(p("2024-05-25T05:30:00+02:00"), "2024-05-25T03:30:00+00:00");
        assert_eq!(p("-2h"), "2024-05-25T10:00:00+00:00");
        assert_eq!(p("-1d"), "2024-05-24T12:00:00+00:00");
        assert_eq!(p("1716613200"), "2024-05-25T05:00:00+00:00");
        assert!(parse_time("yesterday", now).is_err());
    }
}
