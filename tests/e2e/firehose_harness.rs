//! What the `serve firehose` tests share: the sink as a child process, a
//! raw HTTP/1.1 client over plain TCP or TLS (rustls, verifying the
//! certificate the test made), request bodies of both payload kinds, the
//! Prometheus text parsed, and the lake read back by DuckDB.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::harness::*;

/// The access key every test sink is started with.
pub(crate) const KEY: &str = "a-long-secret-access-key";

/// A running `flowlake serve firehose`, and a client for it.
pub(crate) struct Sink {
    child: Child,
    pub(crate) client: Client,
}

/// How to start a sink beyond the lake and the flags.
#[derive(Default)]
pub(crate) struct StartWith<'a> {
    /// Extra environment (e.g. `FLOWLAKE_CRASH_AFTER`).
    pub(crate) env: Vec<(&'a str, &'a str)>,
    /// Speak TLS to it, trusting these roots.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

/// Starts a plain-HTTP sink on a free loopback port with the test key.
pub(crate) fn start(lake: &Path, extra: &[&str]) -> Sink {
    start_with(lake, extra, StartWith::default())
}

/// Starts a sink; waits for its `listening on ADDR` line.
pub(crate) fn start_with(lake: &Path, extra: &[&str], with: StartWith<'_>) -> Sink {
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
    let mut cmd = flowlake(&args);
    cmd.env("FLOWLAKE_TEST_FIREHOSE_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in &with.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("sink did not start: {line:?}"))
        .to_owned();
    Sink {
        child,
        client: Client {
            addr,
            tls: with.tls,
        },
    }
}

impl Sink {
    /// SIGTERM, then the exit code.
    pub(crate) fn stop(mut self) -> i32 {
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

    /// SIGKILL, and reap it.
    pub(crate) fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its exit status if it has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits (at most `limit`) until `done` holds for its metrics or it
    /// exits; returns the exit status if it exited.
    pub(crate) fn wait_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&Metrics) -> bool,
    ) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if let Ok(metrics) = self.client.try_metrics()
                && done(&metrics)
            {
                return None;
            }
            assert!(
                start.elapsed() < limit,
                "the sink neither got there nor exited in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// An HTTP/1.1 response as read off the wire.
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// The header block, lower-cased.
    pub(crate) head: String,
    /// The body (by `Content-Length`).
    pub(crate) body: Vec<u8>,
}

/// One request per connection, over TCP or TLS.
pub(crate) struct Client {
    /// `host:port` from the sink's first line.
    pub(crate) addr: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Client {
    /// A plain-TCP client for `addr`.
    pub(crate) fn plain(addr: &str) -> Client {
        Client {
            addr: addr.to_owned(),
            tls: None,
        }
    }

    fn connect(&self) -> std::io::Result<Box<dyn Conn>> {
        let tcp = TcpStream::connect(&self.addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(200)))?;
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
                Box::new(rustls::StreamOwned::new(conn, tcp))
            }
        })
    }

    /// Sends one request; any I/O failure (the sink died, TLS refused) is
    /// an error, not a panic.
    pub(crate) fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let mut stream = self.connect()?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        read_reply(&mut stream)
    }

    /// A Firehose delivery: (status, JSON body); every answer must be JSON.
    pub(crate) fn try_post(
        &self,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Value)> {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        let reply = self.try_request("POST", "/", &all, body)?;
        assert!(
            reply.head.contains("content-type: application/json"),
            "{}",
            reply.head
        );
        let json = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        Ok((reply.status, json))
    }

    /// [`Client::try_post`] that must reach the sink.
    pub(crate) fn post(&self, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        self.try_post(headers, body).unwrap()
    }

    /// `GET /metrics`, parsed.
    pub(crate) fn try_metrics(&self) -> std::io::Result<Metrics> {
        let reply = self.try_request("GET", "/metrics", &[], b"")?;
        assert_eq!(reply.status, 200);
        assert!(
            reply.head.contains("content-type: text/plain"),
            "{}",
            reply.head
        );
        Ok(Metrics::parse(&String::from_utf8(reply.body).unwrap()))
    }
}

fn read_reply(stream: &mut dyn Conn) -> std::io::Result<Reply> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "closed before a full response: {:?}",
                    String::from_utf8_lossy(&data)
                ),
            ));
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    if !head.starts_with("http/1.1 ") {
        return Err(bad(&format!("not an HTTP response: {head:?}")));
    }
    let status = head[9..12].parse().map_err(|_| bad("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .ok_or_else(|| bad("no content-length"))?
        .trim()
        .parse()
        .map_err(|_| bad("bad content-length"))?;
    let mut body = data.split_off(end + 4);
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(bad("body cut short"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Reply { status, head, body })
}

/// Samples of a Prometheus text exposition: `name{labels}` → value.
#[derive(Debug)]
pub(crate) struct Metrics(HashMap<String, f64>);

impl Metrics {
    /// Parses the text format: comment lines skipped, every other line is
    /// `series value`.
    pub(crate) fn parse(text: &str) -> Metrics {
        let mut samples = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line:?}"));
            assert!(
                samples.insert(series.to_owned(), value).is_none(),
                "{series} twice"
            );
        }
        Metrics(samples)
    }

    /// A sample's value; a series never seen is 0 (as an unbumped
    /// labelled counter is absent).
    pub(crate) fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// Whether the series was exposed at all.
    pub(crate) fn has(&self, series: &str) -> bool {
        self.0.contains_key(series)
    }
}

/// The headers Firehose sends.
pub(crate) fn firehose_headers<'a>(request_id: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
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

/// [`firehose_headers`] plus `Content-Encoding: gzip`.
pub(crate) fn gzip_headers<'a>(request_id: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut headers = firehose_headers(request_id, key);
    headers.push(("Content-Encoding", "gzip"));
    headers
}

/// A default-format record whose `bytes` field is `id`.
pub(crate) fn record_line(id: u64) -> String {
    format!(
        "2 123456789012 eni-0abc 10.0.0.{} 198.51.100.{} 443 {} 6 2 {id} 1716595200 1716595260 ACCEPT OK",
        id % 250,
        id % 200,
        1024 + id % 50_000
    )
}

/// A record line the parser quarantines (its dstport is not a number).
pub(crate) const BAD_LINE: &str =
    "2 123456789012 eni-0abc 10.0.0.1 198.51.100.1 443 https 6 2 1 1716595200 1716595260 ACCEPT OK";

/// Gzip at CloudWatch Logs' level.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A request body of direct records, `per_record` `{"message":…}` lines in
/// each Firehose record, with `extra` lines (e.g. [`BAD_LINE`]) in a last
/// record of their own.
pub(crate) fn direct_body_with(
    request_id: &str,
    ids: &[u64],
    per_record: usize,
    extra: &[&str],
) -> Vec<u8> {
    let mut records: Vec<Value> = ids
        .chunks(per_record)
        .map(|chunk| {
            let text: String = chunk
                .iter()
                .map(|id| format!("{}\n", json!({"message": record_line(*id)})))
                .collect();
            json!({"data": BASE64.encode(text)})
        })
        .collect();
    if !extra.is_empty() {
        let text: String = extra
            .iter()
            .map(|l| format!("{}\n", json!({"message": l})))
            .collect();
        records.push(json!({"data": BASE64.encode(text)}));
    }
    serde_json::to_vec(&json!({"requestId": request_id, "timestamp": 1, "records": records}))
        .unwrap()
}

/// A request body of direct records, three lines per Firehose record.
pub(crate) fn direct_body(request_id: &str, ids: &[u64]) -> Vec<u8> {
    direct_body_with(request_id, ids, 3, &[])
}

/// A request body of one CloudWatch Logs subscription record, plus a
/// control message.
pub(crate) fn envelope_body(request_id: &str, ids: &[u64]) -> Vec<u8> {
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

/// (log_stream, bytes) of every row in the lake, sorted (DuckDB).
pub(crate) fn lake_ids(python: &Path, lake: &Path) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = lake_rows(python, lake, &["log_stream", "bytes"])
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    rows.sort();
    rows
}

/// Rows, sum of `bytes` and distinct `bytes` values in the lake, by DuckDB.
pub(crate) fn lake_totals(python: &Path, lake: &Path) -> (u64, u64, u64) {
    let v = py(python, "lake_totals.py", &[lake.to_str().unwrap(), "bytes"]);
    (
        v["rows"].as_u64().unwrap(),
        v["sum"].as_u64().unwrap(),
        v["distinct"].as_u64().unwrap(),
    )
}

/// A self-signed certificate for `localhost` and 127.0.0.1 written as
/// `cert.pem` and `key.pem` in `dir`, and a client configuration that
/// trusts it and nothing else.
pub(crate) fn self_signed(dir: &Path) -> (PathBuf, PathBuf, Arc<rustls::ClientConfig>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (cert, key, Arc::new(config))
}
