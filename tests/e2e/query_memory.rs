//! Queries within a memory limit: on high-cardinality traffic (tens of
//! thousands of distinct sources and destinations), every report finishes
//! under a limit low enough that its operators must spill to disk, with the
//! same answers as a plain-Python computation from the raw logs; a query
//! that cannot finish within the limit fails with a message that names it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// Low enough that every report's GROUP BYs spill on this sample (checked
/// below with EXPLAIN ANALYZE), high enough for the operators' fixed
/// reservations (a sort's merge buffer).
const LIMIT: &str = "40MiB";

struct Wide {
    sample: PathBuf,
    lake: PathBuf,
}

/// 80,000 records of which 48,000 go to as many distinct destinations and
/// 32,000 come from as many distinct (rejected) sources.
fn wide() -> &'static Wide {
    static WIDE: std::sync::OnceLock<Wide> = std::sync::OnceLock::new();
    WIDE.get_or_init(|| {
        let root = scratch("query-memory");
        let sample = root.join("sample");
        let lake = root.join("lake");
        ok(&mut flowlake(&[
            "generate",
            "--records",
            "80000",
            "--objects",
            "4",
            "--seed",
            "11",
            "--distinct-destinations",
            "48000",
            "--distinct-sources",
            "32000",
            "--out",
            sample.to_str().unwrap(),
        ]));
        let (code, summary) = ingest_dir(&sample, &lake, &[]);
        assert_eq!(code, 0, "{summary}");
        Wide { sample, lake }
    })
}

/// Runs `flowlake report <name> --limit 0` under the low limit.
fn report_under_limit(lake: &Path, spill: &Path, name: &str) -> Vec<Value> {
    let spill = spill.to_str().unwrap();
    let limits = [
        "--limit",
        "0",
        "--memory-limit",
        LIMIT,
        "--spill-dir",
        spill,
    ];
    report_rows(lake, name, &limits)
}

#[test]
fn the_sample_has_the_distinct_addresses_asked_for() {
    let w = wide();
    let rows = sql_json(
        &w.lake,
        "SELECT count(*) AS n, count(DISTINCT dstaddr) AS dst, count(DISTINCT srcaddr) AS src FROM flows",
    );
    let (n, dst, src) = (
        rows[0]["n"].as_u64().unwrap(),
        rows[0]["dst"].as_u64().unwrap(),
        rows[0]["src"].as_u64().unwrap(),
    );
    assert_eq!(n, 80_000);
    // The wide addresses, plus the usual traffic's few thousand.
    assert!((48_000..54_000).contains(&dst), "{dst} destinations");
    assert!((32_000..38_000).contains(&src), "{src} sources");
}

#[test]
fn every_report_spills_under_a_low_limit_and_matches_the_raw_logs() {
    let Some(python) = python() else { return };
    let w = wide();
    let spill = scratch("query-memory-spill");
    let raw = py(&python, "raw_reports.py", &[w.sample.to_str().unwrap()]);
    for (name, _) in REPORT_KEYS {
        let ours = report_under_limit(&w.lake, &spill, name);
        let theirs = raw[*name].as_array().unwrap();
        assert!(!theirs.is_empty(), "{name}: the sample exercises it");
        compare_report(name, &ours, theirs);
    }
    // Spill files live only while a query runs.
    assert_eq!(files_under(&spill), Vec::<String>::new());
}

/// The limit is low enough to matter: the reports with the most groups spill
/// under it. (Whether the smaller ones, rejected-sources and interfaces, spill
/// depends on how the machine schedules partitions: seen both ways on a
/// loaded 2-core machine, so they are only required to finish, above.)
#[test]
fn the_low_limit_makes_the_reports_spill() {
    let w = wide();
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("query/src/reports");
    for name in ["top-destinations", "top-pairs"] {
        let sql = std::fs::read_to_string(reports.join(format!("{name}.sql"))).unwrap();
        let out = ok(&mut flowlake(&[
            "sql",
            "--lake",
            w.lake.to_str().unwrap(),
            "--memory-limit",
            LIMIT,
            "--format",
            "csv",
            &format!("EXPLAIN ANALYZE {sql}"),
        ]));
        let spills: u64 = out
            .split("spill_count=")
            .skip(1)
            .filter_map(|s| {
                s.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .sum();
        assert!(spills > 0, "{name} did not spill under {LIMIT}:\n{out}");
    }
}

/// A self-join on every record: a hash join keeps its whole build side in
/// memory and cannot spill.
const JOIN: &str = "SELECT count(*) FROM flows a JOIN flows b ON a.start = b.start \
    AND a.srcaddr = b.srcaddr AND a.dstaddr = b.dstaddr AND a.srcport = b.srcport \
    AND a.interface_id = b.interface_id";

#[test]
fn a_query_that_cannot_fit_fails_with_the_limit_named() {
    let w = wide();
    let out = run(&mut flowlake(&[
        "sql",
        "--lake",
        w.lake.to_str().unwrap(),
        "--memory-limit",
        "4MiB",
        JOIN,
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("--memory-limit 4MiB"), "{stderr}");
    assert!(stderr.contains("raise --memory-limit"), "{stderr}");
    assert!(stderr.contains("--from/--to"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The environment twin sets the same limit.
    let out = run(flowlake(&["sql", "--lake", w.lake.to_str().unwrap(), JOIN])
        .env("FLOWLAKE_MEMORY_LIMIT", "3MiB"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--memory-limit 3MiB"), "{stderr}");
}

#[test]
fn memory_limits_are_checked_as_flags() {
    let w = wide();
    for bad in ["lots", "0", "12 parsecs"] {
        let out = run(&mut flowlake(&[
            "report",
            "summary",
            "--lake",
            w.lake.to_str().unwrap(),
            "--memory-limit",
            bad,
        ]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("is not a size"), "{bad}: {stderr}");
    }
    let out = run(&mut flowlake(&[
        "generate",
        "--records",
        "10",
        "--distinct-destinations",
        "11",
        "--out",
        scratch("query-memory-bad").to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--distinct-destinations 11"));
}
