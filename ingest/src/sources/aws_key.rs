//! Facts AWS encodes in the keys it writes flow logs under
//! (`shared/spec/formats.md` §3.1):
//!
//! ```text
//! [prefix/]AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<file>
//! [prefix/]AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/month=MM/day=DD/[hour=HH/]<file>
//! <file> = <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
//! ```

use chrono::NaiveDateTime;

/// The part of a key from `AWSLogs/` on, if there is one: the same for an
/// object in any bucket and for a local copy of it.
pub fn canonical_key(key: &str) -> Option<&str> {
    if key.starts_with("AWSLogs/") {
        return Some(key);
    }
    key.find("/AWSLogs/").map(|i| &key[i + 1..])
}

/// The `YYYYMMDDTHHmmZ` stamp in an AWS flow-log file name, in ms. AWS says the
/// file holds records whose `end` falls in the five minutes from that stamp.
pub fn file_time_ms(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let mut parts = name.rsplit('_');
    let _hash = parts.next()?;
    let stamp = parts.next()?;
    let t = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").ok()?;
    Some(t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys_and_stamps() {
        let key = "logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz";
        assert_eq!(canonical_key(key).unwrap(), &key[5..]);
        assert_eq!(canonical_key(&key[5..]).unwrap(), &key[5..]);
        assert_eq!(canonical_key("other/file.log.gz"), None);
        assert_eq!(file_time_ms(key), Some(1_529_511_600_000));
        assert_eq!(file_time_ms("x/plain.log"), None);
    }
}
