//! Shared helpers: run the binary, make temp lakes, generate samples, and
//! ask the independent Python readers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub(crate) fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flowlake"))
}

/// A `flowlake` command with a quiet, deterministic environment.
pub(crate) fn flowlake(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("FLOWLAKE_LAKE")
        .env_remove("FLOWLAKE_CRASH_AFTER")
        .env_remove("FLOWLAKE_TLS_CERT")
        .env_remove("FLOWLAKE_TLS_KEY")
        .env("FLOWLAKE_LOG", "warn");
    cmd
}

/// Runs a command and returns its output, whatever the exit status.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("flowlake runs")
}

/// Runs a command that must succeed (exit 0) and returns stdout.
pub(crate) fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Parses stdout as JSON.
pub(crate) fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `flowlake ingest dir <src> --lake <lake> --json`, returning (exit code, summary).
pub(crate) fn ingest_dir(src: &Path, lake: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "ingest",
        "dir",
        src.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = run(&mut flowlake(&args));
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        code == 0 || code == 1,
        "ingest failed ({code}):\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&stdout))
}

/// Generates a sample with the binary; returns its manifest.
pub(crate) fn generate(out: &Path, records: u64, objects: u64, seed: u64) -> Value {
    ok(&mut flowlake(&[
        "generate",
        "--records",
        &records.to_string(),
        "--objects",
        &objects.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]));
    json(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
}

/// The Python with duckdb, pyarrow and moto, or `None` (skip) outside CI.
pub(crate) fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var("FLOWLAKE_TEST_PYTHON")
            .ok()
            .map(PathBuf::from),
        std::env::var("HOME")
            .ok()
            .map(|h| PathBuf::from(h).join(".cache/flowlake/venv/bin/python")),
    ];
    for candidate in candidates.into_iter().flatten() {
        if candidate.exists() {
            return Some(candidate);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but no test Python was found: run .ci/run, which sets FLOWLAKE_TEST_PYTHON"
        );
    }
    eprintln!("skipping: no test Python (run .ci/run once to create it)");
    None
}

/// Runs `tests/py/<script>` and parses its JSON output.
pub(crate) fn py(python: &Path, script: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    json(&python_stdout(
        python,
        script,
        Command::new(python).arg(path).args(args),
    ))
}

/// Runs a few lines of Python given inline (`python -c`) and returns what
/// they print; fails the test with Python's stderr if they fail.
pub(crate) fn py_inline(python: &Path, code: &str, args: &[&str]) -> String {
    python_stdout(
        python,
        "inline script",
        Command::new(python).arg("-c").arg(code).args(args),
    )
}

fn python_stdout(python: &Path, what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What DuckDB and pyarrow see in a lake.
pub(crate) fn read_lake(python: &Path, lake: &Path) -> Value {
    py(python, "read_lake.py", &[lake.to_str().unwrap()])
}

/// Every file under `dir`, relative, sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Sum of a numeric field over a manifest's objects.
pub(crate) fn manifest_sum(manifest: &Value, field: &str) -> u64 {
    manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[field].as_u64().unwrap())
        .sum()
}

/// `flowlake sql --lake <lake> --format json <query>` as JSON rows.
pub(crate) fn sql_json(lake: &Path, query: &str) -> Vec<Value> {
    let out = ok(&mut flowlake(&[
        "sql",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "json",
        query,
    ]));
    json(&out).as_array().cloned().unwrap_or_default()
}

/// Count of rows in the lake per flowlake's own SQL.
pub(crate) fn count(lake: &Path) -> u64 {
    sql_json(lake, "SELECT count(*) AS n FROM flows")[0]["n"]
        .as_u64()
        .unwrap()
}

/// A generated sample ingested into a lake, shared by read-only tests.
pub(crate) struct Shared {
    pub(crate) sample: PathBuf,
    pub(crate) lake: PathBuf,
    pub(crate) manifest: Value,
    pub(crate) summary: Value,
}

/// The shared sample (40,000 records, 12 objects), generated and ingested once per test run.
pub(crate) fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let root = scratch("shared");
        let sample = root.join("sample");
        let lake = root.join("lake");
        let manifest = generate(&sample, 40_000, 12, 7);
        let (code, summary) = ingest_dir(&sample, &lake, &[]);
        assert_eq!(code, 0, "{summary}");
        Shared {
            sample,
            lake,
            manifest,
            summary,
        }
    })
}

/// A fresh, empty scratch folder for one test (kept after the run for inspection).
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a plain-text object with a header, good lines and one bad line of
/// every kind; returns (good records, bad lines).
pub(crate) fn write_bad_log(path: &Path) -> (u64, u64) {
    let good = "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 49152 6 10 840 1716595200 1716595260 ACCEPT OK";
    let bad = [
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 49152 6 10 840 1716595200 1716595260 ACCEPT",
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 https 6 10 840 1716595200 1716595260 ACCEPT OK",
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 4915200000000 6 10 840 1716595200 1716595260 ACCEPT OK",
        "2 123456789010 eni-0a1b2c3d 10.0.0 198.51.100.7 443 49152 6 10 840 1716595200 1716595260 ACCEPT OK",
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 49152 6 10 840 1716595200 1716595260 DROP OK",
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 49152 6 10 840 1716595200 1716595260 ACCEPT MAYBE",
    ];
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for b in &bad {
        text.push_str(good);
        text.push('\n');
        text.push_str(b);
        text.push('\n');
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"2 123456789010 eni-\xff\xfe 10.0.0.5 198.51.100.7 1 2 6 1 1 1716595200 1716595260 ACCEPT OK\n");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    (bad.len() as u64, bad.len() as u64 + 1)
}

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

/// Every AWS flow-log field name (VPC and Transit Gateway), from the test
/// data (`tests/data/aws-flow-log-fields.txt`), not from flowlake's table.
pub(crate) fn aws_field_names() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-flow-log-fields.txt");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Lines of raw flow-log input, counted by the test's own rule (README: every
/// line read is a record, a rejected line, a header or a blank line).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLines {
    /// Lines: pieces between newlines; a last line without one counts too.
    pub(crate) lines: u64,
    /// Lines whose every space-separated token is an AWS field name.
    pub(crate) headers: u64,
    /// Lines holding nothing but spaces (after a CR of a CRLF ending).
    pub(crate) blank: u64,
}

impl RawLines {
    /// Lines that are neither headers nor blank: records or rejected lines.
    pub(crate) fn data(&self) -> u64 {
        self.lines - self.headers - self.blank
    }

    /// Both counts together.
    pub(crate) fn plus(self, other: RawLines) -> RawLines {
        RawLines {
            lines: self.lines + other.lines,
            headers: self.headers + other.headers,
            blank: self.blank + other.blank,
        }
    }
}

/// True when a raw line is a header line by the test's rule.
pub(crate) fn is_header_line(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let names = aws_field_names();
    let mut tokens = text.split(' ').filter(|t| !t.is_empty()).peekable();
    tokens.peek().is_some() && tokens.all(|t| names.contains(t))
}

/// The bytes of a raw object, gunzipped by the test (flate2) when it is `.gz`.
pub(crate) fn raw_bytes(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: not gzip: {e}", path.display()));
        out
    } else {
        bytes
    }
}

/// The lines of raw text (without their `\n` and a trailing `\r`).
pub(crate) fn raw_line_slices(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// [`RawLines`] of raw text.
pub(crate) fn raw_lines_of(text: &[u8]) -> RawLines {
    let mut counts = RawLines::default();
    for line in raw_line_slices(text) {
        counts.lines += 1;
        if line.iter().all(|&b| b == b' ') {
            counts.blank += 1;
        } else if is_header_line(line) {
            counts.headers += 1;
        }
    }
    counts
}

/// [`RawLines`] of one raw object (`.log` or `.log.gz`).
pub(crate) fn raw_lines(path: &Path) -> RawLines {
    raw_lines_of(&raw_bytes(path))
}

/// Text flow-log objects (`.log`, `.log.gz`) under a folder, relative, sorted.
pub(crate) fn text_objects_under(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with(".log") || f.ends_with(".log.gz"))
        .collect()
}

/// [`RawLines`] summed over the text objects under `dir`, except `skip`
/// (objects expected to fail, whose lines are never counted as read).
pub(crate) fn raw_lines_under(dir: &Path, skip: &[&str]) -> RawLines {
    text_objects_under(dir)
        .iter()
        .filter(|f| !skip.iter().any(|s| f.ends_with(s)))
        .fold(RawLines::default(), |acc, f| {
            acc.plus(raw_lines(&dir.join(f)))
        })
}

/// Asserts that an ingest summary's line counts equal the test's own count
/// of the raw lines, with `rejected` lines known from the fixture.
pub(crate) fn assert_lines_match(summary: &Value, raw: RawLines, rejected: u64) {
    let lines = &summary["lines"];
    let what = format!("summary {lines} against raw {raw:?}, {rejected} rejected");
    assert_eq!(lines["read"], raw.lines, "lines read: {what}");
    assert_eq!(lines["headers"], raw.headers, "headers: {what}");
    assert_eq!(lines["blank"], raw.blank, "blank lines: {what}");
    assert_eq!(lines["rejected"], rejected, "rejected: {what}");
    assert_eq!(lines["records"], raw.data() - rejected, "records: {what}");
}

/// Every ledger entry in a local lake (any layout under `_flowlake/ledger/`), parsed.
pub(crate) fn ledger_entries(lake: &Path) -> Vec<Value> {
    let dir = lake.join("_flowlake/ledger");
    files_under(&dir)
        .into_iter()
        .filter(|f| f.ends_with(".json"))
        .map(|f| json(&std::fs::read_to_string(dir.join(f)).unwrap()))
        .collect()
}

/// A copy of a local lake (to crash a run over the same start several times).
pub(crate) fn copy_lake(base: &Path, name: &str) -> PathBuf {
    let copy = base.with_file_name(name);
    let _ = std::fs::remove_dir_all(&copy);
    let status = Command::new("cp")
        .args(["-a", base.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success(), "copying {}", base.display());
    copy
}

/// `flowlake <args>` made to abort after the `n`-th `point` of the commit
/// protocol (`FLOWLAKE_CRASH_AFTER`); fails the test if it did not crash.
pub(crate) fn crash_after(args: &[&str], point: &str, n: u32) {
    let out = run(flowlake(args).env("FLOWLAKE_CRASH_AFTER", format!("{point}:{n}")));
    assert!(
        !out.status.success(),
        "{args:?} did not crash at {point}:{n}"
    );
}

/// At rest: no pending intent, and every file under `flows/` named by
/// exactly one ledger entry (invariant 4 of `ingest/src/lake/ledger.rs`).
pub(crate) fn assert_ledger_names_every_file_once(lake: &Path) {
    assert!(
        pending_intents(lake).is_empty(),
        "{:?}",
        pending_intents(lake)
    );
    let mut named: Vec<String> = ledger_entries(lake)
        .iter()
        .flat_map(|e| e["files"].as_array().unwrap().clone())
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    named.sort();
    let table: Vec<String> = files_under(&lake.join("flows"))
        .into_iter()
        .map(|f| format!("flows/{f}"))
        .collect();
    assert_eq!(named, table, "the ledger must name each data file once");
    assert_companions_match(lake);
}

/// The per-hour rollup tables beside `flows/` (the lake layout README.md
/// documents).
pub(crate) const ROLLUP_TABLES: &[&str] = &["traffic_hourly", "talkers_hourly"];

/// At rest each rollup table holds exactly one companion per data file,
/// under the same partition and name.
pub(crate) fn assert_companions_match(lake: &Path) {
    let data = files_under(&lake.join("flows"));
    for table in ROLLUP_TABLES {
        assert_eq!(
            files_under(&lake.join(table)),
            data,
            "{table}: one companion per data file"
        );
    }
}

/// DuckDB (tests/py/rollups_agree.py) finds every rollup table equal to the
/// same per-hour aggregate of the flows records.
pub(crate) fn assert_rollups_agree(python: &Path, lake: &Path) {
    let r = py(python, "rollups_agree.py", &[lake.to_str().unwrap()]);
    for table in ROLLUP_TABLES {
        let t = &r[*table];
        assert_eq!(
            t["missing"], 0,
            "{table} lacks or misstates groups of flows: {r}"
        );
        assert_eq!(t["extra"], 0, "{table} has groups flows lacks: {r}");
        assert_eq!(t["records"], r["flows"], "{table} sums every record: {r}");
    }
}

/// Pending intents in a local lake (files under `_flowlake/pending/`).
pub(crate) fn pending_intents(lake: &Path) -> Vec<String> {
    files_under(&lake.join("_flowlake/pending"))
}

/// Rows of every Parquet file under `<lake>/flows/`, read by DuckDB, as
/// strings (null as `-`), for the given columns.
pub(crate) fn lake_rows(python: &Path, lake: &Path, columns: &[&str]) -> Vec<Vec<String>> {
    serde_json::from_value(py(
        python,
        "lake_rows.py",
        &[lake.to_str().unwrap(), &columns.join(",")],
    ))
    .unwrap()
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

/// Key columns of each report's rows (every report is listed).
pub(crate) const REPORT_KEYS: &[(&str, &[&str])] = &[
    ("summary", &["action"]),
    ("top-sources", &["srcaddr"]),
    ("top-destinations", &["dstaddr"]),
    ("top-pairs", &["srcaddr", "dstaddr"]),
    ("rejected-sources", &["srcaddr"]),
    ("rejected-ports", &["dstport", "protocol"]),
    (
        "ssh-rdp-external",
        &["srcaddr", "dstaddr", "service", "action"],
    ),
    ("interfaces", &["account_id", "interface_id"]),
    ("log-status", &["account_id", "interface_id"]),
];

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

fn report_field(row: &Value, name: &str) -> Value {
    let v = row.get(name).cloned().unwrap_or(Value::Null);
    // Timestamps come back as text; the raw computation has epoch seconds.
    if name.ends_with("_seen")
        && let Some(text) = v.as_str()
    {
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .or_else(|_| chrono::DateTime::parse_from_rfc3339(&format!("{text}Z")))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        return Value::from(parsed.timestamp());
    }
    v
}

fn report_key(row: &Value, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| report_field(row, k).to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// Asserts that a report's rows (`flowlake report --format json`) match an
/// independent computation's rows, row by row on [`REPORT_KEYS`], column by column.
pub(crate) fn compare_report(name: &str, ours: &[Value], theirs: &[Value]) {
    let keys = REPORT_KEYS.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(ours.len(), theirs.len(), "{name}: row count");
    let ours: std::collections::HashMap<String, &Value> =
        ours.iter().map(|r| (report_key(r, keys), r)).collect();
    for expected in theirs {
        let k = report_key(expected, keys);
        let got = ours
            .get(&k)
            .unwrap_or_else(|| panic!("{name}: no row for {k}"));
        for (column, value) in expected.as_object().unwrap() {
            assert_eq!(
                &report_field(got, column),
                value,
                "{name} {k}: column {column}"
            );
        }
    }
}

/// A `flowlake serve …` process, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    /// What followed `listening on ` (e.g. `http://127.0.0.1:4321/`).
    pub(crate) address: String,
}

impl Server {
    /// Starts `flowlake <args>` and waits for its `listening on …` line.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        let mut cmd = flowlake(args);
        cmd.envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut child = cmd.spawn().expect("flowlake starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server did not start: {line:?}"))
            .to_owned();
        Server { child, address }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
