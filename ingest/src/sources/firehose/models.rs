//! The wire JSON of Firehose's HTTP endpoint delivery protocol v1.0.
//!
//! ```json
//! request:  {"requestId":"ed4acda5-…","timestamp":1578090901599,"records":[{"data":"aGVsbG8="}]}
//! response: {"requestId":"ed4acda5-…","timestamp":1578090903599}
//!           {"requestId":"…","timestamp":1578090903599,"errorMessage":"…"}   (every non-200)
//! ```
//!
//! Only 200 is success; 413 is permanent (not retried); every other status
//! is retried by Firehose. `requestId` (the same as the
//! `X-Amz-Firehose-Request-Id` header) and an integer `timestamp` are in
//! every response.

use serde::{Deserialize, Serialize};

/// Longest `errorMessage` Firehose accepts.
pub const MAX_ERROR_MESSAGE: usize = 8192;

/// A delivery request's body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRequest {
    /// The request id (same as the header; the same across retries).
    pub request_id: String,
    /// When Firehose sent it (ms); informational.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// 1–10,000 records (empty `data` allowed).
    pub records: Vec<Record>,
}

/// One record: base64 of up to 1,024,000 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Record {
    /// Base64 of the record's bytes.
    #[serde(default)]
    pub data: String,
}

/// Every response's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// The request's id, echoed.
    pub request_id: String,
    /// When the response was made (ms, an integer).
    pub timestamp: i64,
    /// Why the request failed (every non-200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl DeliveryResponse {
    /// A response for `request_id` at `timestamp_ms`, with an error message
    /// for failures (cut to [`MAX_ERROR_MESSAGE`] bytes on a char boundary).
    pub fn new(request_id: &str, timestamp_ms: i64, error: Option<&str>) -> DeliveryResponse {
        DeliveryResponse {
            request_id: request_id.to_owned(),
            timestamp: timestamp_ms,
            error_message: error.map(|e| {
                let mut end = e.len().min(MAX_ERROR_MESSAGE);
                while !e.is_char_boundary(end) {
                    end -= 1;
                }
                e[..end].to_owned()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/data/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn the_documented_request_parses() {
        let request: DeliveryRequest =
            serde_json::from_str(&sample("firehose-http-request-example.json")).unwrap();
        assert_eq!(request.request_id, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");
        assert_eq!(request.timestamp, Some(1_578_090_901_599));
        assert_eq!(request.records.len(), 2);
        assert_eq!(request.records[0].data, "aGVsbG8=");
    }

    #[test]
    fn responses_have_the_documented_shape_with_an_integer_timestamp() {
        let examples = sample("firehose-http-response-examples.jsonl");
        let success: serde_json::Value =
            serde_json::from_str(examples.lines().next().unwrap()).unwrap();
        let ours = serde_json::to_value(DeliveryResponse::new(
            "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
            1_578_090_903_599,
            None,
        ))
        .unwrap();
        assert_eq!(ours, success);
        let failure = DeliveryResponse::new("r", 1, Some(&"é".repeat(5000)));
        let text = serde_json::to_value(&failure).unwrap();
        assert!(
            text["timestamp"].is_i64(),
            "the doc's string timestamp is an erratum"
        );
        assert!(failure.error_message.unwrap().len() <= MAX_ERROR_MESSAGE);
    }
}
