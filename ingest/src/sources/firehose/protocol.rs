//! One delivery request, judged: headers, access key, body size and
//! encoding, JSON, records, in the order Firehose's protocol implies, with
//! the status Firehose must see for each failure. No I/O: the server hands
//! it the headers and body and sends back what it says.
//!
//! | failure | status | Firehose then |
//! |---|---|---|
//! | body larger than the limit (by `Content-Length` or as read) | 413 | gives up (permanent) |
//! | access key missing | 401 | retries |
//! | access key wrong | 403 | retries |
//! | no request id, protocol version not 1.0, unknown `Content-Encoding`, bad gzip, JSON, base64 or envelope | 400 | retries |
//! | flowlake's own trouble (spool write) | 500 | retries |
//!
//! Only 200 is success. The access key is compared in constant time.

use subtle::ConstantTimeEq;

use super::models::DeliveryRequest;
use super::records::decode_record;
use super::spool::SpooledLine;
use crate::gunzip::gunzip_whole;

/// A request that passed every check: its id and lines, ready to spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The request id.
    pub request_id: String,
    /// Every record line, with its group, stream and event id if any.
    pub lines: Vec<SpooledLine>,
    /// CONTROL_MESSAGE envelopes acknowledged and skipped.
    pub control_messages: u64,
    /// Records in the request.
    pub records: u64,
}

/// A request turned away: the status and the message for `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status (never 200).
    pub status: u16,
    /// The request id, as far as it is known (empty if none was sent).
    pub request_id: String,
    /// Why, for `errorMessage`.
    pub message: String,
}

/// What the endpoint accepts.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The configured access key; `None` accepts requests without one.
    pub access_key: Option<String>,
    /// Largest body accepted, as sent (compressed or not).
    pub max_body_bytes: u64,
    /// Largest body after gzip decoding, and largest gzip record payload.
    pub max_inflated_bytes: u64,
}

/// The headers the protocol reads, as sent.
#[derive(Debug, Clone, Default)]
pub struct Headers<'a> {
    /// `X-Amz-Firehose-Request-Id`.
    pub request_id: Option<&'a str>,
    /// `X-Amz-Firehose-Protocol-Version`.
    pub protocol_version: Option<&'a str>,
    /// `X-Amz-Firehose-Access-Key`.
    pub access_key: Option<&'a str>,
    /// `Content-Encoding`.
    pub content_encoding: Option<&'a str>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
}

impl Endpoint {
    /// Checks what can be checked before the body is read: a `Refused`
    /// means the body need not (and must not) be read.
    pub fn check_headers(&self, headers: &Headers<'_>) -> Result<(), Refused> {
        let request_id = headers.request_id.unwrap_or_default();
        let refuse = |status: u16, message: String| {
            Err(Refused {
                status,
                request_id: request_id.to_owned(),
                message,
            })
        };
        if let Some(length) = headers.content_length
            && length > self.max_body_bytes
        {
            return refuse(
                413,
                format!(
                    "body of {length} bytes is over the limit of {} bytes",
                    self.max_body_bytes
                ),
            );
        }
        if let Some(expected) = &self.access_key {
            match headers.access_key {
                None => return refuse(401, "X-Amz-Firehose-Access-Key is missing".to_owned()),
                Some(given) => {
                    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                        return refuse(403, "X-Amz-Firehose-Access-Key is wrong".to_owned());
                    }
                }
            }
        }
        if request_id.is_empty() {
            return refuse(400, "X-Amz-Firehose-Request-Id is missing".to_owned());
        }
        if let Some(version) = headers.protocol_version
            && version != "1.0"
        {
            return refuse(
                400,
                format!("X-Amz-Firehose-Protocol-Version {version:?} is not 1.0"),
            );
        }
        match headers.content_encoding {
            None | Some("identity") | Some("gzip") => Ok(()),
            Some(other) => refuse(400, format!("Content-Encoding {other:?} is not gzip")),
        }
    }

    /// Judges a whole request whose headers passed [`Endpoint::check_headers`].
    pub fn judge(&self, headers: &Headers<'_>, body: &[u8]) -> Result<Accepted, Refused> {
        self.check_headers(headers)?;
        let request_id = headers.request_id.unwrap_or_default().to_owned();
        let refuse = |status: u16, message: String| Refused {
            status,
            request_id: request_id.clone(),
            message,
        };
        if body.len() as u64 > self.max_body_bytes {
            return Err(refuse(
                413,
                format!("body is over the limit of {} bytes", self.max_body_bytes),
            ));
        }
        let inflated;
        let json = if headers.content_encoding == Some("gzip") {
            // The body is in memory: one libdeflate call into a buffer sized
            // from the trailer (about twice as fast as streaming), falling
            // back to the multi-member decoder when there are several.
            let limit = usize::try_from(self.max_inflated_bytes).unwrap_or(usize::MAX);
            inflated = gunzip_whole(body, limit)
                .map_err(|e| refuse(400, format!("body is not valid gzip: {e}")))?
                .ok_or_else(|| {
                    refuse(
                        413,
                        format!(
                            "body inflates past the limit of {} bytes",
                            self.max_inflated_bytes
                        ),
                    )
                })?;
            &inflated[..]
        } else {
            body
        };
        let request: DeliveryRequest = serde_json::from_slice(json)
            .map_err(|e| refuse(400, format!("body is not a Firehose delivery request: {e}")))?;
        if request.request_id != request_id {
            return Err(refuse(
                400,
                format!(
                    "requestId {:?} in the body is not the header's",
                    request.request_id
                ),
            ));
        }
        let mut accepted = Accepted {
            request_id: request_id.clone(),
            lines: Vec::new(),
            control_messages: 0,
            records: request.records.len() as u64,
        };
        for (index, record) in request.records.iter().enumerate() {
            let lines = decode_record(index, &record.data, self.max_inflated_bytes)
                .map_err(|e| refuse(400, e.to_string()))?;
            accepted.control_messages += lines.control_messages;
            accepted
                .lines
                .extend(
                    lines
                        .lines
                        .into_iter()
                        .map(|(source, id, message)| SpooledLine {
                            log_group: source.as_ref().and_then(|s| s.log_group.clone()),
                            log_stream: source.as_ref().and_then(|s| s.log_stream.clone()),
                            event_id: id,
                            message,
                        }),
                );
        }
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            access_key: Some("s3cret".to_owned()),
            max_body_bytes: 1 << 20,
            max_inflated_bytes: 4 << 20,
        }
    }

    fn headers<'a>(id: &'a str, key: Option<&'a str>) -> Headers<'a> {
        Headers {
            request_id: Some(id),
            protocol_version: Some("1.0"),
            access_key: key,
            ..Headers::default()
        }
    }

    fn body(id: &str, records: &[&[u8]]) -> Vec<u8> {
        let records: Vec<_> = records
            .iter()
            .map(|r| serde_json::json!({"data": BASE64.encode(r)}))
            .collect();
        serde_json::to_vec(
            &serde_json::json!({"requestId": id, "timestamp": 1, "records": records}),
        )
        .unwrap()
    }

    #[test]
    fn a_good_request_gzip_or_not() {
        let line = br#"{"message":"2 1 eni-1 - - - - - - - 1 2 - NODATA"}"#;
        let plain = body("r1", &[line, b""]);
        let ok = endpoint()
            .judge(&headers("r1", Some("s3cret")), &plain)
            .unwrap();
        assert_eq!((ok.records, ok.lines.len()), (2, 1));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let zipped = gz.finish().unwrap();
        let gzip = Headers {
            content_encoding: Some("gzip"),
            ..headers("r1", Some("s3cret"))
        };
        assert_eq!(endpoint().judge(&gzip, &zipped).unwrap(), ok);
        // Several gzip members are one body (the whole-buffer fast path
        // reads only the first; the fallback reads them all).
        let (front, back) = plain.split_at(plain.len() / 2);
        let mut members = Vec::new();
        for part in [front, back] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(part).unwrap();
            members.extend(gz.finish().unwrap());
        }
        assert_eq!(endpoint().judge(&gzip, &members).unwrap(), ok);
    }

    #[test]
    fn every_failure_has_its_status_and_names_the_request() {
        let e = endpoint();
        let good = body("r", &[b"x"]);
        let status = |h: &Headers<'_>, b: &[u8]| e.judge(h, b).unwrap_err().status;
        assert_eq!(status(&headers("r", None), &good), 401);
        assert_eq!(status(&headers("r", Some("s3cres")), &good), 403);
        assert_eq!(status(&headers("", Some("s3cret")), &good), 400);
        let v2 = Headers {
            protocol_version: Some("2.0"),
            ..headers("r", Some("s3cret"))
        };
        assert_eq!(status(&v2, &good), 400);
        let big = Headers {
            content_length: Some(2 << 20),
            ..headers("r", Some("s3cret"))
        };
        assert_eq!(e.check_headers(&big).unwrap_err().status, 413);
        let br = Headers {
            content_encoding: Some("br"),
            ..headers("r", Some("s3cret"))
        };
        assert_eq!(status(&br, &good), 400);
        let ok = headers("r", Some("s3cret"));
        assert_eq!(status(&ok, b"{not json"), 400);
        assert_eq!(status(&ok, &body("other", &[b"x"])), 400);
        let bad64 = br#"{"requestId":"r","records":[{"data":"!!"}]}"#;
        let refused = e.judge(&ok, bad64).unwrap_err();
        assert_eq!((refused.status, refused.request_id.as_str()), (400, "r"));
        assert!(refused.message.contains("record 0"), "{}", refused.message);
        let gzip = Headers {
            content_encoding: Some("gzip"),
            ..headers("r", Some("s3cret"))
        };
        assert_eq!(status(&gzip, b"not gzip"), 400);
        let open = Endpoint {
            access_key: None,
            ..endpoint()
        };
        assert!(open.judge(&headers("r", None), &good).is_ok());
    }
}
