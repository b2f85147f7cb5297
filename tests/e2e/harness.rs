//! Shared helpers: run the binary, make temp lakes, generate samples, and
//! ask the independent Python readers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) use crate::harness_raw::*;
pub(crate) use crate::harness_s3::*;

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

/// `flowlake report <name> --lake <lake> --format json <extra>`: its rows.
pub(crate) fn report_rows(lake: &Path, name: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "report",
        name,
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    json(&ok(&mut flowlake(&args)))
        .as_array()
        .cloned()
        .unwrap_or_default()
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
pub(crate) const ROLLUP_TABLES: &[&str] = &[
    "traffic_hourly",
    "talkers_hourly",
    "sources_hourly",
    "destinations_hourly",
    "ports_hourly",
];

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
/// same per-hour aggregate of the flows records; returns what it printed.
pub(crate) fn assert_rollups_agree(python: &Path, lake: &Path) -> Value {
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
    r
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
