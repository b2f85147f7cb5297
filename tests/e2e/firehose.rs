//! `serve firehose` over real HTTP on loopback: both payload kinds, gzip
//! and plain bodies, every refusal with its JSON body, a redelivered
//! request id, SIGTERM flushing the spool, and a kill -9 right after
//! acknowledged requests followed by a restart. The lake is read back by
//! DuckDB and compared with the records the test sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::harness::*;

const KEY: &str = "a-long-secret-access-key";

struct Sink {
    child: Child,
    addr: String,
}

fn start(lake: &Path, extra: &[&str]) -> Sink {
    let mut args = vec![
        "serve",
        "firehose",
        "--lake",
        lake.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--access-key-env",
        "FLOWLAKE_TEST_FIREHOSE_KEY",
    ];
    args.extend_from_slice(extra);
    let mut child = flowlake(&args)
        .env("FLOWLAKE_TEST_FIREHOSE_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("sink did not start: {line:?}"))
        .to_owned();
    Sink { child, addr }
}

impl Sink {
    /// SIGTERM, then the exit code.
    fn stop(mut self) -> i32 {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 POST on a fresh connection: (status, JSON body).
fn post(addr: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, json_body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (
        status,
        serde_json::from_str(json_body).unwrap_or(Value::Null),
    )
}

fn firehose_headers<'a>(request_id: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("X-Amz-Firehose-Protocol-Version", "1.0"),
        ("X-Amz-Firehose-Request-Id", request_id),
        (
            "X-Amz-Firehose-Source-Arn",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/flows",
        ),
        ("X-Amz-Firehose-Access-Key", key),
    ]
}

fn record_line(id: u64) -> String {
    format!(
        "2 123456789012 eni-0abc 10.0.0.{} 198.51.100.{} 443 {} 6 2 {id} 1716595200 1716595260 ACCEPT OK",
        id % 250,
        id % 200,
        1024 + id % 50_000
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A request body of direct records (several `{"message":…}` lines per record).
fn direct_body(request_id: &str, ids: &[u64]) -> Vec<u8> {
    let records: Vec<Value> = ids
        .chunks(3)
        .map(|chunk| {
            let text: String = chunk
                .iter()
                .map(|id| format!("{}\n", json!({"message": record_line(*id)})))
                .collect();
            json!({"data": BASE64.encode(text)})
        })
        .collect();
    serde_json::to_vec(&json!({"requestId": request_id, "timestamp": 1, "records": records}))
        .unwrap()
}

/// A request body of one CloudWatch Logs subscription record, plus a
/// control message.
fn envelope_body(request_id: &str, ids: &[u64]) -> Vec<u8> {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": format!("3797{id:052}"), "timestamp": 1_716_595_200_000i64, "message": record_line(*id)}))
        .collect();
    let data = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/vpc/flows",
        "logStream": "eni-0abc-all", "subscriptionFilters": ["all"], "logEvents": events});
    let control = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
        "logStream": "", "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]});
    let records = vec![
        json!({"data": BASE64.encode(gzip(data.to_string().as_bytes()))}),
        json!({"data": BASE64.encode(gzip(control.to_string().as_bytes()))}),
    ];
    serde_json::to_vec(&json!({"requestId": request_id, "timestamp": 1, "records": records}))
        .unwrap()
}

fn lake_ids(python: &Path, lake: &Path) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = lake_rows(python, lake, &["log_stream", "bytes"])
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    rows.sort();
    rows
}

#[test]
fn both_payloads_every_refusal_a_redelivery_and_sigterm_flushes() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-basic");
    let lake = dir.join("lake");
    let sink = start(&lake, &["--flush-interval", "1h"]);
    let direct: Vec<u64> = (1..=10).collect();
    let enveloped: Vec<u64> = (100..=104).collect();

    let (status, body) = post(
        &sink.addr,
        &firehose_headers("req-1", KEY),
        &direct_body("req-1", &direct),
    );
    assert_eq!(
        (status, body["requestId"].as_str()),
        (200, Some("req-1")),
        "{body}"
    );
    assert!(
        body["timestamp"].is_i64() && body.get("errorMessage").is_none(),
        "{body}"
    );
    // Redelivered (Firehose retries after a timeout): acknowledged, not spooled again.
    let (status, _) = post(
        &sink.addr,
        &firehose_headers("req-1", KEY),
        &direct_body("req-1", &direct),
    );
    assert_eq!(status, 200);
    let mut gz_headers = firehose_headers("req-2", KEY);
    gz_headers.push(("Content-Encoding", "gzip"));
    let (status, body) = post(
        &sink.addr,
        &gz_headers,
        &gzip(&envelope_body("req-2", &enveloped)),
    );
    assert_eq!(status, 200, "{body}");

    let good = direct_body("req-3", &[999]);
    for (headers, body, want) in [
        (firehose_headers("req-3", "wrong-key"), good.clone(), 403),
        (
            vec![("X-Amz-Firehose-Request-Id", "req-3")],
            good.clone(),
            401,
        ),
        (firehose_headers("", KEY), good.clone(), 400),
        (firehose_headers("req-3", KEY), b"{not json".to_vec(), 400),
        (
            firehose_headers("req-3", KEY),
            br#"{"requestId":"req-3","records":[{"data":"%%"}]}"#.to_vec(),
            400,
        ),
    ] {
        let (status, answer) = post(&sink.addr, &headers, &body);
        assert_eq!(status, want, "{answer}");
        assert!(
            answer["errorMessage"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
        assert!(answer["timestamp"].is_i64(), "{answer}");
    }
    assert_eq!(sink.stop(), 0, "SIGTERM flushes and exits 0");

    let mut want: Vec<(String, u64)> = direct.iter().map(|id| ("-".to_owned(), *id)).collect();
    want.extend(enveloped.iter().map(|id| ("eni-0abc-all".to_owned(), *id)));
    want.sort();
    assert_eq!(lake_ids(&python, &lake), want);
    assert!(pending_intents(&lake).is_empty());
}

#[test]
fn a_kill_right_after_the_200_loses_nothing() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-kill");
    let lake = dir.join("lake");
    let mut want = Vec::new();
    for round in 0..3u64 {
        let sink = start(&lake, &["--flush-interval", "1h"]);
        let ids: Vec<u64> = (round * 1000..round * 1000 + 50).collect();
        let id = format!("req-{round}");
        let (status, _) = post(
            &sink.addr,
            &firehose_headers(&id, KEY),
            &direct_body(&id, &ids),
        );
        assert_eq!(status, 200);
        want.extend(ids.iter().map(|i| ("-".to_owned(), *i)));
        sink.kill9();
    }
    // The next start flushes what the dead ones acknowledged; a redelivery
    // of an acknowledged request is still recognised.
    let sink = start(&lake, &["--flush-interval", "1h"]);
    let (status, _) = post(
        &sink.addr,
        &firehose_headers("req-0", KEY),
        &direct_body("req-0", &[0, 1]),
    );
    assert_eq!(status, 200);
    assert_eq!(sink.stop(), 0);
    want.sort();
    assert_eq!(lake_ids(&python, &lake), want);
}

#[test]
fn a_body_over_the_limit_is_refused_with_413_before_it_is_held() {
    let dir = scratch("firehose-limit");
    let lake = dir.join("lake");
    let sink = start(&lake, &["--max-body-bytes", "4K"]);
    let ids: Vec<u64> = (0..200).collect();
    let body = direct_body("big", &ids);
    assert!(body.len() > 4096);
    let (status, answer) = post(&sink.addr, &firehose_headers("big", KEY), &body);
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["requestId"], "big");
    assert!(
        answer["errorMessage"].as_str().unwrap().contains("4096"),
        "{answer}"
    );
    // A request under the limit still goes through.
    let (status, _) = post(
        &sink.addr,
        &firehose_headers("small", KEY),
        &direct_body("small", &[1]),
    );
    assert_eq!(status, 200);
    assert_eq!(sink.stop(), 0);
}
