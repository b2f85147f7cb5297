//! Helpers for tests against S3: the moto server, a fault-injecting proxy
//! in front of it, S3 lakes and their lease timing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::*;

/// A moto server (S3, CloudWatch Logs) for this test process.
pub(crate) struct Moto {
    pub(crate) endpoint: String,
    _server: std::process::Child,
}

fn start_moto(python: &Path, auth: bool) -> Moto {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/serve_moto.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if auth {
        // moto checks credentials against its IAM from the first request on.
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    }
    let mut server = cmd.spawn().expect("moto starts");
    let mut port = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{}", port.trim());
    // Ready when it answers.
    for _ in 0..100 {
        if std::net::TcpStream::connect(endpoint.trim_start_matches("http://")).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Moto {
        endpoint,
        _server: server,
    }
}

/// `tests/py/fault_proxy.py` in front of `upstream`: every `every`-th S3
/// object GET or CloudWatch Logs call throttled, every `other`-th dropped
/// (S3) or failed with a 500 (CloudWatch Logs), and every `empty`-th
/// FilterLogEvents call with a token answered by an empty page and the
/// same token (0: never).
pub(crate) struct FaultProxy {
    pub(crate) endpoint: String,
    child: std::process::Child,
    log: PathBuf,
}

impl FaultProxy {
    pub(crate) fn start(
        python: &Path,
        upstream: &str,
        dir: &Path,
        (every, other, empty): (u32, u32, u32),
    ) -> FaultProxy {
        let port_file = dir.join("proxy.port");
        let log = dir.join("faults.log");
        // A second proxy in the same folder must not find the first's port.
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/fault_proxy.py"))
            .args([upstream, port_file.to_str().unwrap()])
            .args([every.to_string(), other.to_string(), empty.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::fs::read_to_string(&port_file).map_or(true, |p| p.is_empty()) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "proxy did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{}", port.trim()),
            child,
            log,
        }
    }

    /// Stops the proxy; returns its log of the faults it injected.
    pub(crate) fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The shared moto server, or `None` (skip) without the test Python.
pub(crate) fn moto() -> Option<&'static Moto> {
    static MOTO: std::sync::OnceLock<Option<Moto>> = std::sync::OnceLock::new();
    MOTO.get_or_init(|| python().map(|p| start_moto(&p, false)))
        .as_ref()
}

/// A moto server that checks credentials (every key it did not issue is rejected).
pub(crate) fn moto_with_auth() -> Option<&'static Moto> {
    static MOTO: std::sync::OnceLock<Option<Moto>> = std::sync::OnceLock::new();
    MOTO.get_or_init(|| python().map(|p| start_moto(&p, true)))
        .as_ref()
}

/// A flowlake command set up to talk to an S3 endpoint with test credentials.
pub(crate) fn flowlake_s3(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = flowlake(args);
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("FLOWLAKE_ENDPOINT_URL", endpoint);
    cmd
}

/// `flowlake ingest s3 <url> --lake <lake> --json` against `endpoint`.
pub(crate) fn ingest_s3(endpoint: &str, url: &str, lake: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["ingest", "s3", url, "--lake", lake, "--json"];
    args.extend_from_slice(extra);
    let out = run(&mut flowlake_s3(endpoint, &args));
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        code == 0 || code == 1,
        "ingest s3 failed ({code}):\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&stdout))
}

/// Uploads a generated sample's objects (all, or `only` these manifest paths).
pub(crate) fn s3_put(
    python: &Path,
    endpoint: &str,
    bucket: &str,
    sample: &Path,
    prefix: &str,
    hive: bool,
    only: Option<&[&str]>,
) -> Vec<String> {
    let mut args = vec!["put", endpoint, bucket, sample.to_str().unwrap(), prefix];
    if hive {
        args.push("--hive");
    }
    let joined;
    if let Some(only) = only {
        joined = only.join(",");
        args.push("--only");
        args.push(&joined);
    }
    serde_json::from_value(py(python, "s3.py", &args)).unwrap()
}

/// Lease timing for tests on an S3 lake (refresh every 2 s, stale after 8 s,
/// so a writer only loses its lease if moto cannot answer for 6 s on a
/// loaded machine), so a test can wait out a dead writer's lease in seconds.
pub(crate) const LEASE_REFRESH_SECS: f64 = 2.0;
/// See [`LEASE_REFRESH_SECS`].
pub(crate) const LEASE_STALE_SECS: f64 = 8.0;

/// Sets the short lease timing on a command (see [`LEASE_REFRESH_SECS`]).
pub(crate) fn fast_lease(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "FLOWLAKE_LEASE_REFRESH_SECS",
        LEASE_REFRESH_SECS.to_string(),
    )
    .env("FLOWLAKE_LEASE_STALE_SECS", LEASE_STALE_SECS.to_string())
}

/// How long until a lease written with the short timing can be taken over
/// by S3's clock (the stale limit, a second for `LastModified`'s whole
/// seconds, and some slack), from the moment its holder stopped.
pub(crate) fn lease_takeover_wait() -> std::time::Duration {
    std::time::Duration::from_secs_f64(LEASE_STALE_SECS + 1.0 + 2.0)
}

/// Keys under `prefix` in `bucket`, listed by boto3.
pub(crate) fn s3_keys(python: &Path, endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let code = r#"
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="test",
                  aws_secret_access_key="test", region_name="us-east-1")
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
    keys += [o["Key"] for o in page.get("Contents", [])]
print(json.dumps(sorted(keys)))
"#;
    serde_json::from_str(&py_inline(python, code, &[endpoint, bucket, prefix])).unwrap()
}

/// Creates an S3 bucket (through the sample uploader, uploading nothing).
pub(crate) fn s3_bucket(python: &Path, endpoint: &str, bucket: &str, scratch: &Path) {
    py(
        python,
        "s3.py",
        &[
            "put",
            endpoint,
            bucket,
            scratch.to_str().unwrap(),
            "unrelated/",
            "--only",
            "none",
        ],
    );
}

/// `flowlake ingest dir <sample> --lake <s3 lake> --json [extra]` against
/// `endpoint`, with the short test lease.
pub(crate) fn ingest_dir_to_s3_lake(
    endpoint: &str,
    sample: &Path,
    lake: &str,
    extra: &[&str],
) -> Command {
    let mut args = vec![
        "ingest",
        "dir",
        sample.to_str().unwrap(),
        "--lake",
        lake,
        "--json",
    ];
    args.extend_from_slice(extra);
    let mut cmd = flowlake_s3(endpoint, &args);
    fast_lease(&mut cmd);
    cmd
}
