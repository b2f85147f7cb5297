//! Facts AWS encodes in the keys it writes flow logs under
//! (`shared/spec/formats.md` §3.1):
//!
//! ```text
//! [prefix/]AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<file>
//! [prefix/]AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/month=MM/day=DD/[hour=HH/]<file>
//! <file> = <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
//! ```
//!
//! The file name alone names a delivery: it carries the account, the
//! region, the flow log and a five-minute stamp, and a hash that tells apart
//! the files of one stamp. So the name, not the path, is a delivered
//! object's identity: the same in any bucket, under any prefix, in either
//! key layout, and in a local copy reached from any folder.

use chrono::NaiveDateTime;

/// A file name AWS gave a flow-log delivery, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryName<'a> {
    /// The whole file name, e.g. `1234…_vpcflowlogs_us-east-1_fl-1a_20180620T1620Z_fe12.log.gz`.
    pub name: &'a str,
    /// The 12-digit account.
    pub account: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The `YYYYMMDDTHHmmZ` stamp.
    pub stamp: NaiveDateTime,
}

impl<'a> DeliveryName<'a> {
    /// Parses the last component of a key or path, if it is named the way AWS
    /// names flow-log deliveries (VPC or Transit Gateway; text or Parquet).
    pub fn parse(key: &'a str) -> Option<DeliveryName<'a>> {
        let name = key.rsplit(['/', '\\']).next()?;
        let base = name.split('.').next()?;
        let mut parts = base.split('_');
        let account = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let flow_log = parts.next()?;
        let stamp = parts.next()?;
        let hash = parts.next()?;
        let ok = account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && service.ends_with("flowlogs")
            && region.contains('-')
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && flow_log.starts_with("fl-")
            && !hash.is_empty()
            && hash.bytes().all(|b| b.is_ascii_alphanumeric())
            && parts.next().is_none();
        if !ok {
            return None;
        }
        let stamp = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").ok()?;
        Some(DeliveryName {
            name,
            account,
            region,
            stamp,
        })
    }

    /// The object's identity: `aws:<file name>`.
    pub fn identity(&self) -> String {
        format!("aws:{}", self.name)
    }

    /// The ledger shard: account, region and the stamp's UTC hour, so that
    /// listing an hour of the bucket reads an hour of the ledger.
    pub fn shard(&self) -> String {
        format!(
            "aws/{}/{}/{}",
            self.account,
            self.region,
            self.stamp.format("%Y/%m/%d/%H")
        )
    }
}

/// The part of a key from `AWSLogs/` on, if there is one.
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

    const KEY: &str = "logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz";

    #[test]
    fn canonical_keys_and_stamps() {
        assert_eq!(canonical_key(KEY).unwrap(), &KEY[5..]);
        assert_eq!(canonical_key(&KEY[5..]).unwrap(), &KEY[5..]);
        assert_eq!(canonical_key("other/file.log.gz"), None);
        assert_eq!(file_time_ms(KEY), Some(1_529_511_600_000));
        assert_eq!(file_time_ms("x/plain.log"), None);
    }

    #[test]
    fn a_delivery_is_known_by_its_name_wherever_it_lies() {
        let hive = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz";
        let copied = "/home/me/copy/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz";
        let names: Vec<_> = [KEY, hive, copied]
            .iter()
            .map(|k| DeliveryName::parse(k).unwrap())
            .collect();
        assert!(names.iter().all(|n| n.identity() == names[0].identity()));
        assert_eq!(names[0].shard(), "aws/123456789012/us-east-1/2018/06/20/16");
        let tgw = "123456789012_transitgatewayflowlogs_eu-west-1_fl-0abc_20240525T0500Z_0a1b2c3d.log.parquet";
        assert_eq!(DeliveryName::parse(tgw).unwrap().region, "eu-west-1");
        for other in [
            "000000.gz",
            "flows.log.gz",
            "12345678901_vpcflowlogs_us-east-1_fl-1_20180620T1620Z_fe.log.gz",
            "123456789012_vpcflowlogs_us-east-1_fl-1_2018-06-20_fe.log.gz",
            "123456789012_vpcflowlogs_us-east-1_fl-1_20180620T1620Z_fe_extra.log.gz",
        ] {
            assert_eq!(DeliveryName::parse(other), None, "{other}");
        }
    }
}
