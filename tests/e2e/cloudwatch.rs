//! `ingest cloudwatch` against a real CloudWatch Logs API server (moto):
//! several groups and streams, more events than a page, runs interleaved
//! with new and late events, a deleted stream, a message that is not a flow
//! record, custom and wrong formats, injected throttling, a crash at every
//! commit step and kill -9; and CloudWatch export files through `ingest dir`
//! and `ingest s3`. Every check compares the lake, read by DuckDB, with the
//! events the test put.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

/// One event to put.
#[derive(Debug, Clone)]
struct Put {
    group: String,
    stream: String,
    ts_ms: i64,
    message: String,
}

/// A default-format record whose `bytes` field is `id`, so every record the
/// test puts can be found in the lake by (stream, bytes).
fn record(stream: &str, id: u64, start_s: i64) -> String {
    let eni = stream.trim_end_matches("-all");
    let action = if id.is_multiple_of(5) {
        "REJECT"
    } else {
        "ACCEPT"
    };
    format!(
        "2 123456789012 {eni} 10.0.{}.{} 198.51.100.{} {} 443 6 3 {id} {start_s} {} {action} OK",
        id % 200,
        id % 250,
        id % 100,
        1024 + id % 60000,
        start_s + 30
    )
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `count` events in `stream` with ids from `first`, timestamps spread over
/// `[from_ms, to_ms)`; the record's `start` is the event time, as AWS writes.
fn events(group: &str, stream: &str, first: u64, count: u64, from_ms: i64, to_ms: i64) -> Vec<Put> {
    (0..count)
        .map(|i| {
            let ts = from_ms + (to_ms - from_ms) * i as i64 / count.max(1) as i64;
            let ts = ts / 1000 * 1000;
            Put {
                group: group.to_owned(),
                stream: stream.to_owned(),
                ts_ms: ts,
                message: record(stream, first + i, ts / 1000),
            }
        })
        .collect()
}

fn put(python: &Path, endpoint: &str, dir: &Path, events: &[Put]) {
    let path = dir.join(format!("put-{}.jsonl", now_ms()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for e in events {
        let line =
            json!({"group": e.group, "stream": e.stream, "ts": e.ts_ms, "message": e.message});
        writeln!(file, "{line}").unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let out = py(python, "cwl.py", &["put", endpoint, path.to_str().unwrap()]);
    assert_eq!(out["put"], events.len() as u64);
}

fn cwl_command(endpoint: &str, lake: &Path, groups: &[&str], extra: &[&str]) -> Command {
    let mut args = vec![
        "ingest".to_owned(),
        "cloudwatch".to_owned(),
        "--lake".to_owned(),
        lake.to_str().unwrap().to_owned(),
        "--json".to_owned(),
        "--requests-per-second".to_owned(),
        "200".to_owned(),
    ];
    for g in groups {
        args.push("--log-group".to_owned());
        args.push((*g).to_owned());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    flowlake_s3(endpoint, &refs)
}

/// Runs `ingest cloudwatch`; returns (exit code, JSON summary or Null, stderr).
fn ingest_cwl(
    endpoint: &str,
    lake: &Path,
    groups: &[&str],
    extra: &[&str],
) -> (i32, Value, String) {
    let out = run(&mut cwl_command(endpoint, lake, groups, extra));
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, summary, stderr)
}

/// (log group, log stream, bytes) of every record in the lake, read by DuckDB.
fn lake_records(python: &Path, lake: &Path) -> Vec<(String, String, u64)> {
    let mut rows: Vec<(String, String, u64)> =
        lake_rows(python, lake, &["log_group", "log_stream", "bytes"])
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap()))
            .collect();
    rows.sort();
    rows
}

/// What the lake must hold for these events, sorted as [`lake_records`] is.
fn expected(events: &[Put]) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = events
        .iter()
        .filter_map(|e| {
            let bytes = e.message.split(' ').nth(9)?.parse().ok()?;
            Some((e.group.clone(), e.stream.clone(), bytes))
        })
        .collect();
    out.sort();
    out
}

/// Asserts the lake holds exactly these events' records, once each.
fn assert_exactly(python: &Path, lake: &Path, events: &[Put]) {
    let found = lake_records(python, lake);
    let want = expected(events);
    if found != want {
        let mut diff: BTreeMap<&(String, String, u64), i64> = BTreeMap::new();
        for r in &found {
            *diff.entry(r).or_default() += 1;
        }
        for r in &want {
            *diff.entry(r).or_default() -= 1;
        }
        let off: Vec<_> = diff.iter().filter(|(_, n)| **n != 0).take(10).collect();
        panic!(
            "lake has {} records, expected {}; first differences (+ extra, - missing): {off:?}",
            found.len(),
            want.len()
        );
    }
}

fn stream(i: usize) -> String {
    format!("eni-{i:017x}-all")
}

#[test]
fn streams_continue_from_their_cursors_exactly_once() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-cursors");
    let lake = dir.join("lake");
    let (ga, gb) = ("/vpc/flows-a", "/vpc/flows-b");
    let now = now_ms();
    let mut all = Vec::new();
    // More events in one stream than a page holds (10,000).
    all.extend(events(
        ga,
        &stream(0),
        0,
        12_000,
        now - 55 * 60_000,
        now - 5 * 60_000,
    ));
    for i in 1..5 {
        let first = 100_000 * i as u64;
        all.extend(events(
            ga,
            &stream(i),
            first,
            300,
            now - 50 * 60_000,
            now - 2 * 60_000,
        ));
    }
    for i in 5..7 {
        let first = 100_000 * i as u64;
        all.extend(events(
            gb,
            &stream(i),
            first,
            300,
            now - 40 * 60_000,
            now - 60_000,
        ));
    }
    let control = Put {
        group: gb.to_owned(),
        stream: stream(5),
        ts_ms: now - 30 * 60_000,
        message: "CWL CONTROL MESSAGE: Checking health of destination".to_owned(),
    };
    let mut first_put = all.clone();
    first_put.push(control.clone());
    put(&python, &moto.endpoint, &dir, &first_put);

    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[ga, gb], &[]);
    assert_eq!(code, 1, "one event is not a flow record: {s} {err}");
    assert_eq!(s["groups"], 2);
    assert_eq!(s["streams"]["read"], 7);
    assert_eq!(s["events"]["records"], all.len() as u64);
    assert_eq!(s["events"]["rejected"], 1);
    assert!(
        s["requests"]["filter_log_events"].as_u64().unwrap() >= 3,
        "12,300 events in group a need two pages or more: {s}"
    );
    assert_exactly(&python, &lake, &all);
    let quarantined = sql_json(
        &lake,
        "SELECT log_group, log_stream, kind, raw FROM quarantine",
    );
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0]["log_group"], gb);
    assert_eq!(quarantined[0]["log_stream"], stream(5));
    assert_eq!(quarantined[0]["raw"], control.message);
    assert_eq!(files_under(&lake.join("_flowlake/cursors")).len(), 7);

    // The same window again: everything is a duplicate, nothing is written.
    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[ga, gb], &[]);
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["events"]["records"], 0);
    assert_eq!(s["events"]["rejected"], 0, "the bad event was seen before");
    assert_eq!(s["events"]["duplicates"], s["events"]["read"]);
    assert_exactly(&python, &lake, &all);
    let second_run = now_ms();

    // Between runs: new events, a late one inside the look-back window, one
    // later than the window, a new stream with old events, a deleted stream.
    std::thread::sleep(Duration::from_millis(1100));
    let now = now_ms();
    let mut more = events(ga, &stream(1), 900_000, 50, now - 60_000, now - 1000);
    let late_inside = events(
        ga,
        &stream(2),
        950_000,
        1,
        second_run - 30 * 60_000,
        second_run,
    );
    let late_outside = events(
        ga,
        &stream(3),
        960_000,
        1,
        second_run - 3 * 3_600_000,
        second_run,
    );
    let new_stream = events(
        ga,
        &stream(7),
        970_000,
        40,
        now - 5 * 3_600_000,
        now - 4 * 3_600_000,
    );
    more.extend(late_inside.clone());
    more.extend(new_stream.clone());
    let mut third_put = more.clone();
    third_put.extend(late_outside);
    put(&python, &moto.endpoint, &dir, &third_put);
    py(
        &python,
        "cwl.py",
        &["delete-stream", &moto.endpoint, ga, &stream(4)],
    );

    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[ga, gb], &[]);
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(
        s["events"]["records"],
        more.len() as u64,
        "new, late-inside and new-stream events once; the late event outside the window not at all: {s}"
    );
    all.extend(more);
    assert_exactly(&python, &lake, &all);
    assert_eq!(
        files_under(&lake.join("_flowlake/cursors")).len(),
        7,
        "the deleted stream's cursor is retired, the new stream has one"
    );
    assert!(pending_intents(&lake).is_empty());
}

/// A flow log with a custom format (v3 and v5 fields), as LogFormat.
const CUSTOM: &str = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction} ${tcp-flags}";

#[test]
fn a_wrong_format_stops_early_and_the_right_one_reads_everything() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-format");
    let lake = dir.join("lake");
    let group = "/vpc/custom-format";
    let now = now_ms();
    let puts: Vec<Put> = (0..1500u64)
        .map(|i| {
            let ts = (now - 3_000_000 + i as i64 * 1000) / 1000 * 1000;
            let direction = if i % 2 == 0 { "ingress" } else { "egress" };
            Put {
                group: group.to_owned(),
                stream: stream(i as usize % 3),
                ts_ms: ts,
                message: format!(
                    "3 eni-0abc 10.1.0.{} 203.0.113.{} {} 22 6 4 {i} {} {} ACCEPT OK {direction} 2",
                    i % 250,
                    i % 200,
                    2000 + i,
                    ts / 1000,
                    ts / 1000 + 10
                ),
            }
        })
        .collect();
    put(&python, &moto.endpoint, &dir, &puts);

    let (code, _, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--format") && err.contains("none of the first 1000 events"),
        "{err}"
    );
    assert!(files_under(&lake.join("flows")).is_empty());
    assert!(files_under(&lake.join("_flowlake/cursors")).is_empty());
    assert!(files_under(&lake.join("_flowlake/quarantine")).is_empty());

    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &["--format", CUSTOM]);
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["events"]["records"], 1500);
    let rows = lake_rows(
        &python,
        &lake,
        &["flow_direction", "tcp_flags", "log_stream"],
    );
    assert_eq!(rows.len(), 1500);
    assert_eq!(rows.iter().filter(|r| r[0] == "ingress").count(), 750);
    assert!(rows.iter().all(|r| r[1] == "2" && r[2].starts_with("eni-")));
}

#[test]
fn throttling_server_errors_and_empty_pages_are_ridden_out() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-faults");
    let lake = dir.join("lake");
    let group = "/vpc/throttled";
    let now = now_ms();
    let mut puts = Vec::new();
    for i in 0..10 {
        let first = 10_000 * i as u64;
        puts.extend(events(
            group,
            &stream(i),
            first,
            2_500,
            now - 40 * 60_000,
            now - 60_000,
        ));
    }
    put(&python, &moto.endpoint, &dir, &puts);
    let mut proxy = FaultProxy::start(&python, &moto.endpoint, &dir, (3, 7, 2));
    let (code, s, err) = ingest_cwl(&proxy.endpoint, &lake, &[group], &[]);
    let faults = proxy.stop();
    assert!(
        faults.contains("throttled")
            && faults.contains("internal")
            && faults.contains("empty-page"),
        "faults were injected: {faults}"
    );
    assert_eq!(code, 0, "{s} {err}");
    assert!(s["requests"]["retried"].as_u64().unwrap() > 0, "{s}");
    assert_exactly(&python, &lake, &puts);

    // A server that answers every token with itself and no events: the
    // batch fails by name and commits nothing past the first page; the next
    // run against a sane server finds everything.
    let lake = dir.join("lake-looping");
    let mut proxy = FaultProxy::start(&python, &moto.endpoint, &dir, (0, 0, 1));
    let (code, s, err) = ingest_cwl(&proxy.endpoint, &lake, &[group], &[]);
    proxy.stop();
    assert_eq!(code, 1, "{s} {err}");
    assert!(
        s["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("same token"),
        "{s}"
    );
    assert_eq!(s["records_written"], 0, "{s}");
    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &[]);
    assert_eq!(code, 0, "{s} {err}");
    assert_exactly(&python, &lake, &puts);
}

#[test]
fn odd_invocations_lose_and_duplicate_nothing() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-odd");
    let lake = dir.join("lake");
    let group = "/vpc/odd";
    let now = now_ms();
    let mut all = Vec::new();
    for i in 0..4 {
        let first = 100_000 * i as u64;
        all.extend(events(
            group,
            &stream(i),
            first,
            400,
            now - 50 * 60_000,
            now - 60_000,
        ));
    }
    put(&python, &moto.endpoint, &dir, &all);

    // The same group twice, and a --to in the future (read up to now).
    let (code, s, err) = ingest_cwl(
        &moto.endpoint,
        &lake,
        &[group, group],
        &["--to", "2100-01-01T00:00:00Z"],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["groups"], 1, "{s}");
    assert_eq!(s["events"]["records"], all.len() as u64, "{s}");
    assert_exactly(&python, &lake, &all);

    // Events that arrive after that run are still read by the next one.
    std::thread::sleep(Duration::from_millis(1100));
    let now = now_ms();
    let later = events(group, &stream(0), 900_000, 30, now - 1000, now - 500);
    put(&python, &moto.endpoint, &dir, &later);
    all.extend(later);
    // A run over one stream's prefix, then a full one with another look-back.
    let prefix = stream(0)[..stream(0).len() - 4].to_owned();
    let (code, s, err) = ingest_cwl(
        &moto.endpoint,
        &lake,
        &[group],
        &["--stream-prefix", &prefix],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["streams"]["listed"], 1, "{s}");
    assert_eq!(s["events"]["records"], 30, "{s}");
    let more = events(group, &stream(3), 990_000, 20, now - 40 * 60_000, now - 500);
    put(&python, &moto.endpoint, &dir, &more);
    all.extend(more);
    for lookback in ["2h", "30m", "0"] {
        let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &["--lookback", lookback]);
        assert_eq!(code, 0, "{lookback}: {s} {err}");
        assert_exactly(&python, &lake, &all);
    }
    assert_eq!(files_under(&lake.join("_flowlake/cursors")).len(), 4);
}

#[test]
fn a_crash_at_every_commit_step_or_a_kill_then_a_rerun_is_exactly_once() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-crash");
    let group = "/vpc/crashing";
    let now = now_ms();
    let mut puts = Vec::new();
    for i in 0..6 {
        let first = 100_000 * i as u64;
        puts.extend(events(
            group,
            &stream(i),
            first,
            5_000,
            now - 10 * 3_600_000,
            now - 60_000,
        ));
    }
    put(&python, &moto.endpoint, &dir, &puts);
    // Ten hours of events: after a first run up to 7 hours ago, the next
    // reads from 8 hours ago in a 6-hour slice (one unit of ~18,000 events,
    // past --checkpoint-every) and the rest in a second slice and unit.
    let extra = ["--checkpoint-every", "4000"];
    let steps = [
        "intent:1",
        "publish:1",
        "cursor:3",
        "ledger:1",
        "ledger:2",
        "retire:2",
        "cleanup:2",
    ];
    for step in steps {
        let lake = dir.join(format!("lake-{}", step.replace(':', "-")));
        // A first, complete run, so the crash lands while cursors advance
        // and old cursor files are retired.
        let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &["--to", "-7h"]);
        assert_eq!(code, 0, "{s} {err}");
        let out =
            run(cwl_command(&moto.endpoint, &lake, &[group], &extra)
                .env("FLOWLAKE_CRASH_AFTER", step));
        assert!(!out.status.success(), "{step}: the crash was injected");
        let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &extra);
        assert_eq!(code, 0, "{step}: {s} {err}");
        assert_exactly(&python, &lake, &puts);
        assert!(pending_intents(&lake).is_empty(), "{step}");
    }

    let lake = dir.join("lake-killed");
    let mut killed = 0;
    for delay in [300u64, 700, 1200] {
        let mut child = cwl_command(&moto.endpoint, &lake, &[group], &extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        killed += u32::from(child.try_wait().unwrap().is_none());
        let _ = child.kill();
        let _ = child.wait();
    }
    let (code, s, err) = ingest_cwl(&moto.endpoint, &lake, &[group], &extra);
    assert_eq!(code, 0, "{s} {err}");
    assert_exactly(&python, &lake, &puts);
    assert!(killed > 0, "at least one kill landed mid-run");
}

/// Writes a CloudWatch export tree: `<root>/<task-id>/<stream>/000000.gz`
/// whose lines are `<ISO 8601 time> <record>`; returns the records written.
fn write_export(root: &Path) -> (Vec<Put>, PathBuf) {
    let task = root.join("0c5a1b7c-3d4e-4f60-8a9b-0123456789ab");
    let mut puts = Vec::new();
    for i in 0..2 {
        let name = stream(20 + i);
        let folder = task.join(&name);
        std::fs::create_dir_all(&folder).unwrap();
        let mut text = String::new();
        let start = 1_740_486_304i64;
        for n in 0..100u64 {
            let id = 500_000 * (i as u64 + 1) + n;
            let ts = start + n as i64;
            let stamp = chrono::DateTime::from_timestamp(ts, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let message = record(&name, id, ts);
            text.push_str(&format!("{stamp} {message}\n"));
            puts.push(Put {
                group: "-".to_owned(),
                stream: name.clone(),
                ts_ms: ts * 1000,
                message,
            });
        }
        if i == 0 {
            // The real export line from tests/data/samples: a custom format,
            // so with the default one it is quarantined, its prefix dropped.
            let real = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/data/samples/real-cwl-export-to-s3-prefixed.log"),
            )
            .unwrap();
            text.push_str(real.trim_end());
            text.push('\n');
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(folder.join("000000.gz"), gz.finish().unwrap()).unwrap();
    }
    std::fs::write(
        root.join("aws-logs-write-test"),
        "Permission Check Successful",
    )
    .unwrap();
    (puts, task)
}

fn assert_export_ingested(python: &Path, lake: &Path, summary: &Value, puts: &[Put]) {
    assert_eq!(summary["lines"]["records"], 200, "{summary}");
    assert_eq!(summary["lines"]["rejected"], 1, "{summary}");
    assert_eq!(
        summary["rejects"][0]["reason"], "expected 14 fields, found 16",
        "the timestamp prefix is not a field: {summary}"
    );
    assert_exactly(python, lake, puts);
}

#[test]
fn cloudwatch_export_files_through_dir_and_s3() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-export");
    let root = dir.join("exportedlogs");
    let (puts, _) = write_export(&root);

    let lake = dir.join("lake-dir");
    let (code, summary) = ingest_dir(&root, &lake, &[]);
    assert_eq!(code, 1, "{summary}");
    assert_export_ingested(&python, &lake, &summary, &puts);

    py_inline(
        &python,
        r#"
import os, sys, boto3
endpoint, root = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                  aws_secret_access_key="test", region_name="us-east-1")
s3.create_bucket(Bucket="cwl-export")
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        key = "exportedlogs/" + os.path.relpath(path, root)
        s3.upload_file(path, "cwl-export", key)
"#,
        &[&moto.endpoint, root.to_str().unwrap()],
    );
    let lake = dir.join("lake-s3");
    let (code, summary) = ingest_s3(
        &moto.endpoint,
        "s3://cwl-export/exportedlogs",
        lake.to_str().unwrap(),
        &[],
    );
    assert_eq!(code, 1, "{summary}");
    assert_export_ingested(&python, &lake, &summary, &puts);
}

#[test]
fn a_lake_on_s3_takes_cursors_and_units_too() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("cwl-s3-lake");
    s3_bucket(&python, &moto.endpoint, "cwl-lake", &dir);
    let lake = "s3://cwl-lake/lake";
    let group = "/vpc/to-an-s3-lake";
    let now = now_ms();
    let mut puts = Vec::new();
    for i in 0..3 {
        let first = 100_000 * i as u64;
        puts.extend(events(
            group,
            &stream(i),
            first,
            700,
            now - 30 * 60_000,
            now - 60_000,
        ));
    }
    put(&python, &moto.endpoint, &dir, &puts);
    for run_no in 0..2 {
        let (code, s, err) = ingest_cwl(&moto.endpoint, Path::new(lake), &[group], &[]);
        assert_eq!(code, 0, "{s} {err}");
        let want = if run_no == 0 { puts.len() as u64 } else { 0 };
        assert_eq!(s["events"]["records"], want, "{s}");
        let theirs = py(&python, "s3.py", &["count", &moto.endpoint, lake]);
        assert_eq!(theirs["rows"], puts.len() as u64, "pyarrow over S3 agrees");
        assert_eq!(theirs["stray"], json!([]));
    }
}
