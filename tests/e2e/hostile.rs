//! Hostile input: objects built to exhaust memory or corrupt the lake. Each
//! case runs the real binary (under `/usr/bin/time -v` when it is installed,
//! to check peak RSS against a generous bound derived from the limits given),
//! and checks that the bad object or line is reported by name and reason,
//! the rest of the run is ingested, and the counts reconcile with counts the
//! test makes itself from what it wrote.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use crate::harness::*;

/// A line AWS could have written, at `start` seconds.
fn line(start: u64) -> String {
    format!(
        "2 123456789010 eni-0a1b2c3d 10.0.0.5 198.51.100.7 443 49152 6 10 840 {start} {} ACCEPT OK\n",
        start + 60
    )
}

/// 2024-05-25T00:00:00Z.
const T0: u64 = 1_716_595_200;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip object that inflates to `mib` MiB of `byte`, built as repeated
/// gzip members of 1 MiB each (legal gzip: `cat a.gz b.gz` is one), so the
/// test never compresses gigabytes.
fn bomb(byte: u8, mib: usize) -> Vec<u8> {
    gzip(&vec![byte; 1 << 20]).repeat(mib)
}

/// A few good objects beside the hostile one; returns their record count.
fn good_objects(dir: &Path) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut records = 0;
    for i in 0..3u64 {
        let body: String = (0..500).map(|n| line(T0 + i * 600 + n)).collect();
        std::fs::write(dir.join(format!("good-{i}.log.gz")), gzip(body.as_bytes())).unwrap();
        records += 500;
    }
    records
}

/// `flowlake ingest dir … --json` under `/usr/bin/time -v` when available:
/// (exit code, summary, peak RSS in MiB if measured).
fn ingest_measured(src: &Path, lake: &Path, extra: &[&str]) -> (i32, Value, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    let mut args = vec![
        "ingest",
        "dir",
        src.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--json",
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    let mut cmd = flowlake(&args);
    if time.exists() {
        let inner = cmd;
        cmd = std::process::Command::new(time);
        cmd.arg("-v")
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
    }
    let out = run(&mut cmd);
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        code == 0 || code == 1,
        "ingest failed ({code}):\nstdout: {stdout}\nstderr: {stderr}"
    );
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb / 1024);
    if rss.is_none() {
        eprintln!("/usr/bin/time not available: peak RSS not checked");
    }
    (code, json(&stdout), rss)
}

fn assert_reconciles(summary: &Value) {
    let lines = &summary["lines"];
    let n = |k: &str| lines[k].as_u64().unwrap();
    assert_eq!(
        n("read"),
        n("records") + n("rejected") + n("headers") + n("blank"),
        "{summary}"
    );
}

fn assert_rss_below(rss: Option<u64>, bound_mib: u64, case: &str) {
    if let Some(rss) = rss {
        assert!(
            rss < bound_mib,
            "{case}: peak RSS {rss} MiB, bound {bound_mib} MiB"
        );
        eprintln!("{case}: peak RSS {rss} MiB (bound {bound_mib} MiB)");
    }
}

/// Peak RSS bound for the runs below: the binary itself (DataFusion and the
/// AWS SDK linked, about 60 MiB at rest) plus, per object in flight, the
/// whole-object limit twice (compressed and decompressed) and the writers'
/// buffered row groups (96 MiB). Generous on purpose: the failure this
/// catches is "grows with the input" (gigabytes), not a few megabytes.
const RSS_BOUND_MIB: u64 = 1024;

#[test]
fn a_gzip_bomb_fails_by_name_and_the_rest_is_ingested() {
    let dir = scratch("hostile-bomb");
    let src = dir.join("src");
    let records = good_objects(&src);
    // 1 MB that inflates to 2 GiB of zeros.
    let bomb = bomb(0, 2048);
    assert!(bomb.len() < 8 << 20, "{}", bomb.len());
    std::fs::write(src.join("bomb.log.gz"), &bomb).unwrap();
    let lake = dir.join("lake");
    let (code, summary, rss) = ingest_measured(
        &src,
        &lake,
        &[
            "--max-decompressed-bytes",
            "256M",
            "--max-decompression-ratio",
            "2000",
        ],
    );
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["objects"]["failed"], 1, "{summary}");
    assert_eq!(summary["objects"]["ingested"], 3, "{summary}");
    let failures = summary["failures"].to_string();
    assert!(failures.contains("bomb.log.gz"), "{failures}");
    assert!(failures.contains("more than 268435456 bytes"), "{failures}");
    assert_eq!(summary["records_written"], records);
    assert_eq!(count(&lake), records);
    assert_reconciles(&summary);
    assert_rss_below(rss, RSS_BOUND_MIB, "gzip bomb");

    // By ratio, with the default size limit: the same object fails too.
    let (code, summary, _) = ingest_measured(&src, &dir.join("lake2"), &[]);
    assert_eq!(code, 1);
    let failures = summary["failures"].to_string();
    assert!(
        failures.contains("bomb.log.gz") && failures.contains("--max-decompression-ratio"),
        "{failures}"
    );
}

#[test]
fn a_gigabyte_line_is_rejected_with_its_length_and_the_run_goes_on() {
    let dir = scratch("hostile-line");
    let src = dir.join("src");
    let records = good_objects(&src);
    // Good lines, then 1 GiB of one byte with no newline, then good lines.
    let head: String = (0..10).map(|n| line(T0 + n)).collect();
    let tail: String = (0..10).map(|n| line(T0 + 100 + n)).collect();
    let object = [
        gzip(head.as_bytes()),
        bomb(b'7', 1024),
        gzip(b"\n"),
        gzip(tail.as_bytes()),
    ]
    .concat();
    std::fs::write(src.join("long-line.log.gz"), &object).unwrap();
    let lake = dir.join("lake");
    let (code, summary, rss) = ingest_measured(
        &src,
        &lake,
        &[
            "--max-line-bytes",
            "1M",
            "--max-decompression-ratio",
            "2000",
        ],
    );
    assert_eq!(code, 1, "partial: a line was rejected: {summary}");
    assert_eq!(summary["objects"]["failed"], 0, "{summary}");
    assert_eq!(summary["objects"]["ingested"], 4, "{summary}");
    assert_eq!(summary["lines"]["rejected"], 1, "{summary}");
    assert_eq!(summary["records_written"], records + 20);
    assert_eq!(count(&lake), records + 20);
    assert_reconciles(&summary);
    let rows = sql_json(
        &lake,
        "SELECT source, line, kind, reason, length(raw) AS raw_len FROM quarantine",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line"], 11);
    assert_eq!(rows[0]["kind"], "line_too_long");
    assert_eq!(
        rows[0]["reason"],
        "line is 1073741824 bytes, longer than the limit of 1048576"
    );
    assert_eq!(rows[0]["raw_len"], 4096, "raw is cut");
    assert!(
        rows[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("long-line.log.gz")
    );
    assert_rss_below(rss, RSS_BOUND_MIB, "1 GiB line");
}

#[test]
fn records_over_thousands_of_hours_stay_within_the_open_partition_cap() {
    let dir = scratch("hostile-hours");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    // 1,000 hours, 33 records each, in time order, then the first hour
    // again: in a later batch (32 Ki rows each) than its first records, so
    // its file was closed long before and a second file is written for it.
    let hours = 1_000u64;
    let mut body = String::new();
    for h in 0..hours {
        for n in 0..33 {
            body.push_str(&line(T0 + h * 3600 + n));
        }
    }
    body.push_str(&line(T0 + 3000));
    std::fs::write(src.join("spread.log.gz"), gzip(body.as_bytes())).unwrap();
    let lake = dir.join("lake");
    let (code, summary, rss) = ingest_measured(&src, &lake, &["--max-open-partitions", "16"]);
    assert_eq!(code, 0, "{summary}");
    let records = hours * 33 + 1;
    assert_eq!(summary["records_written"], records);
    assert_eq!(count(&lake), records);
    assert_reconciles(&summary);
    let per_hour = sql_json(
        &lake,
        "SELECT count(DISTINCT day || hour) AS hours, \
         count(*) FILTER (WHERE start = 1716598200) AS again FROM flows",
    );
    assert_eq!(per_hour[0]["hours"], hours);
    assert_eq!(per_hour[0]["again"], 1);
    // One file per hour plus the reopened first hour: nothing overwrote.
    let files = files_under(&lake.join("flows"));
    assert_eq!(files.len() as u64, hours + 1, "{:?}", &files[..3]);
    assert_rss_below(rss, RSS_BOUND_MIB, "1,000 hours");
}

#[test]
fn a_large_plain_file_is_streamed_and_many_rejects_go_to_disk() {
    let dir = scratch("hostile-large");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    // About 200 MB of plain text: good lines and, between them, 1.5 million
    // bad ones (every third line), written with a whole-object limit of
    // 16 MiB so the file must stream.
    let path = src.join("large.log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (mut good, mut bad) = (0u64, 0u64);
    for n in 0..2_250_000u64 {
        if n % 3 == 2 {
            writeln!(out, "2 123456789010 eni-0a1b2c3d 10.0.0.5 not-an-address 443 49152 6 10 840 {T0} {T0} ACCEPT OK").unwrap();
            bad += 1;
        } else {
            out.write_all(line(T0 + n % 3000).as_bytes()).unwrap();
            good += 1;
        }
    }
    out.into_inner().unwrap().sync_all().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 190 << 20, "{size}");
    let lake = dir.join("lake");
    let (code, summary, rss) = ingest_measured(&src, &lake, &["--max-whole-bytes", "16M"]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["records_written"], good);
    assert_eq!(summary["lines"]["rejected"], bad);
    assert_eq!(summary["lines"]["read"], good + bad);
    assert_reconciles(&summary);
    let q = sql_json(
        &lake,
        "SELECT count(*) AS n, min(line) AS first, max(line) AS last, \
         count(*) FILTER (WHERE kind = 'bad_address') AS addr FROM quarantine",
    );
    assert_eq!(q[0]["n"], bad);
    assert_eq!(q[0]["addr"], bad);
    assert_eq!(
        (q[0]["first"].as_u64(), q[0]["last"].as_u64()),
        (Some(3), Some(2_250_000))
    );
    // Held whole, this file alone would be 200 MB, and its rejects as
    // structs another few hundred: streamed, the run stays far below.
    assert_rss_below(rss, 400, "200 MB plain file with 750k rejects");
}

#[test]
fn unbelievable_times_are_rejected_lines_not_a_failed_object() {
    let dir = scratch("hostile-times");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let body = [
        line(T0),
        // Far beyond what a timestamp partition can name: before the fix
        // these shared the path of 1970-01-01/00 with each other.
        "2 123456789010 eni-1 10.0.0.5 10.0.0.6 1 2 6 1 1 999999999999999999 999999999999999999 ACCEPT OK\n".into(),
        "2 123456789010 eni-1 10.0.0.5 10.0.0.6 1 2 6 1 1 9999999999999999 9999999999999999 ACCEPT OK\n".into(),
        // Before 2015, in the future, end before start.
        line(1_000_000_000),
        line(4_102_444_800),
        format!("2 123456789010 eni-1 10.0.0.5 10.0.0.6 1 2 6 1 1 {} {T0} ACCEPT OK\n", T0 + 60),
        line(T0 + 1),
    ]
    .concat();
    std::fs::write(src.join("times.log"), body).unwrap();
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["objects"]["failed"], 0, "{summary}");
    assert_eq!(summary["records_written"], 2);
    assert_eq!(summary["lines"]["rejected"], 5);
    let kinds: Vec<(u64, String)> =
        sql_json(&lake, "SELECT line, kind FROM quarantine ORDER BY line")
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
    let want: Vec<(u64, String)> = [
        (2, "time_out_of_range"),
        (3, "time_out_of_range"),
        (4, "time_out_of_range"),
        (5, "time_out_of_range"),
        (6, "end_before_start"),
    ]
    .iter()
    .map(|(l, k)| (*l, (*k).to_owned()))
    .collect();
    assert_eq!(kinds, want);
    // A second run finds it committed.
    let (_, again) = ingest_dir(&src, &lake, &[]);
    assert_eq!(again["objects"]["already_done"], 1, "{again}");
}

#[test]
fn a_parquet_input_with_a_start_far_in_the_past_quarantines_that_row() {
    let Some(python) = python() else { return };
    let dir = scratch("hostile-parquet");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let path = src.join("aws.log.parquet");
    py_inline(
        &python,
        "import sys, pyarrow as pa, pyarrow.parquet as pq\n\
         t = pa.table({'version': [2, 2, 2], 'account_id': ['1', '1', '1'],\n\
           'srcaddr': ['10.0.0.1'] * 3, 'dstaddr': ['10.0.0.2'] * 3,\n\
           'start': pa.array([1716595200, -5000000000000000, 1716595300], pa.int64()),\n\
           'end': pa.array([1716595260, 1716595260, 1716595360], pa.int64()),\n\
           'action': ['ACCEPT'] * 3, 'log_status': ['OK'] * 3})\n\
         pq.write_table(t, sys.argv[1])\n",
        &[path.to_str().unwrap()],
    );
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(summary["objects"]["failed"], 0, "{summary}");
    assert_eq!(summary["records_written"], 2, "{summary}");
    assert_eq!(count(&lake), 2);
    let rows = sql_json(&lake, "SELECT line, kind, raw FROM quarantine");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["kind"], "time_out_of_range");
    assert_eq!(rows[0]["raw"], "start=-5000000000000000 end=1716595260");
}
