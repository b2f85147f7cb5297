//! Where a record came from, beyond the flow log's own fields: the
//! CloudWatch Logs group and stream it was read from. Sources that know
//! them (CloudWatch Logs, a Firehose subscription envelope, the key of a
//! CloudWatch export file) hand them to the parser with
//! [`Decoder::set_source`](crate::Decoder::set_source); they become the
//! lake's `log_group` and `log_stream` columns and travel with rejected
//! lines into the quarantine.

/// The source columns of the records that follow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RecordSource {
    /// CloudWatch Logs log group.
    pub log_group: Option<String>,
    /// CloudWatch Logs log stream (one per network interface for VPC flow logs).
    pub log_stream: Option<String>,
}

impl RecordSource {
    /// A group and stream.
    pub fn stream(log_group: Option<&str>, log_stream: &str) -> RecordSource {
        RecordSource {
            log_group: log_group.map(str::to_owned),
            log_stream: Some(log_stream.to_owned()),
        }
    }
}

/// The length of a CloudWatch export line's leading timestamp and the
/// spaces after it (`2025-02-25T12:25:04.000Z `), or 0 when the line does
/// not start with one. CloudWatch's export to S3 writes each event as its
/// ISO 8601 UTC timestamp, a space and the message; no flow-log field looks
/// like that, so the parser drops it wherever it appears.
#[inline]
pub fn export_timestamp_len(line: &[u8]) -> usize {
    if line.len() < 21
        || line[4] != b'-'
        || line[7] != b'-'
        || line[10] != b'T'
        || line[13] != b':'
        || !line[..4].iter().all(u8::is_ascii_digit)
    {
        return 0;
    }
    let Some(space) = memchr::memchr(b' ', line) else {
        return 0;
    };
    let stamp = &line[..space];
    if !matches!(stamp.last(), Some(b'Z')) {
        return 0;
    }
    let mut end = space;
    while line.get(end) == Some(&b' ') {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_prefix_is_recognised_and_nothing_else() {
        let line = b"2025-02-25T12:25:04.000Z i-085c7a43a498c2f5d eni-0416a1c81c87ab9c9 -";
        assert_eq!(export_timestamp_len(line), 25);
        assert_eq!(export_timestamp_len(b"2025-02-25T12:25:04Z 2 123"), 21);
        assert_eq!(
            export_timestamp_len(b"2 123456789010 eni-1235b8ca 172.31.16.139"),
            0
        );
        assert_eq!(
            export_timestamp_len(b"2025-02-25T12:25:04.000+01:00 2 1"),
            0
        );
        assert_eq!(export_timestamp_len(b"2025-02-25T12:25:04.000Z"), 0);
    }
}
