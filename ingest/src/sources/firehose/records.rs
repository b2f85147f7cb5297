//! What a Firehose record holds, detected per record: a CloudWatch Logs
//! subscription payload (gzip of envelopes; its events keep their log group
//! and stream, and their ids for deduplication), or flow records delivered
//! directly (`{"message":"<record>"}` plus a newline, several per record
//! when Firehose aggregates them; bare lines too).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flowlake_schemas::RecordSource;

use crate::envelope::{self, EnvelopeError, GZIP_MAGIC};

/// A record's flow-record lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordLines {
    /// (where it came from, event id if any, the record line).
    pub lines: Vec<(Option<Arc<RecordSource>>, Option<String>, String)>,
    /// CONTROL_MESSAGE envelopes, acknowledged and skipped.
    pub control_messages: u64,
}

/// Why a record cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// `data` is not base64.
    #[error("record {index}: data is not base64: {source}")]
    Base64 {
        /// The record's position in the request, from 0.
        index: usize,
        /// The decoder's complaint.
        source: base64::DecodeError,
    },
    /// A gzip record is not CloudWatch Logs envelopes.
    #[error("record {index}: {source}")]
    Envelope {
        /// The record's position in the request, from 0.
        index: usize,
        /// What is wrong with it.
        source: EnvelopeError,
    },
}

/// Decodes record `index` of a request (`data` as sent, base64), inflating
/// a gzip payload to at most `max_inflated` bytes.
pub fn decode_record(
    index: usize,
    data: &str,
    max_inflated: u64,
) -> Result<RecordLines, RecordError> {
    let bytes = BASE64
        .decode(data.as_bytes())
        .map_err(|source| RecordError::Base64 { index, source })?;
    let mut out = RecordLines::default();
    if bytes.starts_with(&GZIP_MAGIC) {
        let envelopes = envelope::decode(&bytes, max_inflated)
            .map_err(|source| RecordError::Envelope { index, source })?;
        for e in envelopes {
            if e.is_control() {
                out.control_messages += 1;
                continue;
            }
            let source = Arc::new(RecordSource::stream(Some(&e.log_group), &e.log_stream));
            out.lines.extend(
                e.log_events
                    .into_iter()
                    .map(|ev| (Some(source.clone()), Some(ev.id), ev.message)),
            );
        }
        return Ok(out);
    }
    // Valid UTF-8 is the rule: check it in one pass (from_utf8_lossy walks
    // it in chunks, several times slower), repair only when it is not.
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(&bytes),
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        out.lines.push((None, None, direct_message(line)));
    }
    Ok(out)
}

/// The record line of one directly delivered line: the `message` of a
/// `{"message": …}` wrapper, or the line itself (a line that is JSON but
/// not that wrapper is kept as it is, to be quarantined as a bad record).
fn direct_message(line: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Wrapped<'a> {
        // Borrowed unless the JSON escapes something: one allocation a line.
        #[serde(borrow)]
        message: std::borrow::Cow<'a, str>,
    }
    if line.trim_start().starts_with('{')
        && let Ok(w) = serde_json::from_str::<Wrapped<'_>>(line)
    {
        let message = w.message.trim_end_matches(['\n', '\r']);
        return message.to_owned();
    }
    line.to_owned()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        BASE64.encode(bytes)
    }

    #[test]
    fn direct_records_wrapped_or_bare() {
        let real = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/samples/real-firehose-direct-record.txt"
        ))
        .unwrap();
        let two = format!(
            "{}\n2 1 eni-1 - - - - - - - 1 2 - NODATA\n\n",
            real.trim_end()
        );
        let lines = decode_record(0, &b64(two.as_bytes()), 1 << 20).unwrap();
        assert_eq!(lines.lines.len(), 2);
        assert_eq!(
            lines.lines[0].2,
            "2 428961148399 eni-0e0bf7be352692297 - - - - - - - 1671029698 1671029728 - NODATA"
        );
        assert_eq!(lines.lines[1].2, "2 1 eni-1 - - - - - - - 1 2 - NODATA");
        assert!(lines.lines.iter().all(|l| l.0.is_none() && l.1.is_none()));
        let trailing = b64(br#"{"message":"2 1 eni-1 - - - - - - - 1 2 - NODATA\n"}"#);
        assert_eq!(
            decode_record(0, &trailing, 100).unwrap().lines[0].2,
            "2 1 eni-1 - - - - - - - 1 2 - NODATA"
        );
    }

    #[test]
    fn subscription_records_keep_group_stream_and_ids_and_skip_control() {
        let samples = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/samples/real-cwl-subscription-payloads.jsonl"
        ))
        .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(samples.as_bytes()).unwrap();
        let lines = decode_record(3, &b64(&gz.finish().unwrap()), 1 << 20).unwrap();
        assert_eq!(lines.control_messages, 1);
        let (source, id, message) = &lines.lines[0];
        let source = source.as_ref().unwrap();
        assert_eq!(source.log_group.as_deref(), Some("VPCFlowLogGroup"));
        assert_eq!(
            source.log_stream.as_deref(),
            Some("eni-0c19436730cc350ae-all")
        );
        assert_eq!(
            id.as_deref(),
            Some("37976342262953223179038144714945888722564951965555163136")
        );
        assert!(message.ends_with("ACCEPT OK"));
    }

    #[test]
    fn bad_records_name_their_position() {
        let e = decode_record(7, "!!!", 100).unwrap_err();
        assert!(
            e.to_string().starts_with("record 7: data is not base64"),
            "{e}"
        );
        let e = decode_record(2, &b64(&[0x1f, 0x8b, 0, 1]), 100).unwrap_err();
        assert!(
            e.to_string().starts_with("record 2: not a valid gzip"),
            "{e}"
        );
    }
}
