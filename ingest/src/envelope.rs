//! CloudWatch Logs subscription envelopes: what a log group's subscription
//! filter sends on (to Firehose, Kinesis or Lambda). Each payload is gzip
//! (possibly several gzip members back to back) of one or more JSON
//! envelopes (possibly concatenated):
//!
//! ```json
//! {"messageType":"DATA_MESSAGE","owner":"647604195155","logGroup":"VPCFlowLogGroup",
//!  "logStream":"eni-0c19436730cc350ae-all","subscriptionFilters":["flowlogstest"],
//!  "logEvents":[{"id":"3797…","timestamp":1702918083000,"message":"2 647604195155 eni-… OK"}]}
//! ```
//!
//! `DATA_MESSAGE` envelopes carry events; `CONTROL_MESSAGE` ones only check
//! that the destination is reachable, and are counted and skipped
//! (`shared/spec/formats.md` §5.2). Decoding is bounded: a payload that
//! inflates past the given limit fails by name instead of filling memory.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One log event of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogEvent {
    /// Unique per event within the log group (a 56-digit decimal on AWS).
    pub id: String,
    /// The event's time (UTC ms; for flow logs the record's start).
    pub timestamp: i64,
    /// The record line.
    pub message: String,
}

/// One envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    pub message_type: String,
    /// The account the log data came from.
    #[serde(default)]
    pub owner: String,
    /// The log group.
    #[serde(default)]
    pub log_group: String,
    /// The log stream (for VPC flow logs, one per interface).
    #[serde(default)]
    pub log_stream: String,
    /// The events.
    #[serde(default)]
    pub log_events: Vec<LogEvent>,
}

impl Envelope {
    /// True for a reachability check that carries no data.
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

/// Why a payload is not envelopes.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The gzip stream is corrupt or truncated.
    #[error("not a valid gzip stream: {0}")]
    Gzip(std::io::Error),
    /// It inflates past the limit.
    #[error("inflates to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The JSON is not envelopes.
    #[error("not CloudWatch Logs envelopes: {0}")]
    Json(serde_json::Error),
}

/// Decodes a gzip payload of envelopes, inflating at most `max_bytes`.
pub fn decode(payload: &[u8], max_bytes: u64) -> Result<Vec<Envelope>, EnvelopeError> {
    let mut text = Vec::new();
    MultiGzDecoder::new(payload)
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(EnvelopeError::Gzip)?;
    if text.len() as u64 > max_bytes {
        return Err(EnvelopeError::TooLarge { limit: max_bytes });
    }
    serde_json::Deserializer::from_slice(&text)
        .into_iter::<Envelope>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(EnvelopeError::Json)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    fn samples() -> Vec<String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/samples/real-cwl-subscription-payloads.jsonl"
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn real_envelopes_decode_data_and_control() {
        let lines = samples();
        let one = decode(&gzip(&lines[0]), 1 << 20).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].log_stream, "eni-0c19436730cc350ae-all");
        assert_eq!(one[0].log_events[0].timestamp, 1_702_918_083_000);
        assert!(one[0].log_events[0].message.starts_with("2 647604195155 "));
        let control = decode(&gzip(&lines[3]), 1 << 20).unwrap();
        assert!(control[0].is_control());
    }

    #[test]
    fn concatenated_members_and_envelopes_all_count() {
        let lines = samples();
        // Two gzip members, the second holding two envelopes back to back.
        let mut payload = gzip(&lines[0]);
        payload.extend(gzip(&format!("{}\n{}", lines[1], lines[2])));
        let all = decode(&payload, 1 << 20).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].log_group, "network-logs");
    }

    #[test]
    fn bombs_and_garbage_fail_by_name() {
        let big = gzip(&" ".repeat(10_000));
        assert!(matches!(
            decode(&big, 1000),
            Err(EnvelopeError::TooLarge { limit: 1000 })
        ));
        assert!(matches!(
            decode(b"not gzip", 1000),
            Err(EnvelopeError::Gzip(_))
        ));
        assert!(matches!(
            decode(&gzip("{\"nope\":1}"), 1000),
            Err(EnvelopeError::Json(_))
        ));
    }
}
