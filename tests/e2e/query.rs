//! SQL and reports, checked against an independent computation from the raw
//! logs (plain Python, tests/py/raw_reports.py) and read by other engines.

use serde_json::Value;

use crate::harness::*;

/// raw_reports.py's answers for the records starting in `[from, to)` (Unix seconds).
fn raw_window(python: &std::path::Path, sample: &std::path::Path, from: i64, to: i64) -> Value {
    let (from, to) = (from.to_string(), to.to_string());
    let args = [sample.to_str().unwrap(), "--from", &from, "--to", &to];
    py(python, "raw_reports.py", &args)
}

#[test]
fn every_report_matches_an_independent_computation() {
    let Some(python) = python() else { return };
    let s = shared();
    let raw = py(&python, "raw_reports.py", &[s.sample.to_str().unwrap()]);
    for (name, _) in REPORT_KEYS {
        let ours = report_rows(&s.lake, name, &["--limit", "0"]);
        let theirs = raw[*name].as_array().unwrap();
        assert!(
            !theirs.is_empty(),
            "{name}: the sample exercises this report"
        );
        compare_report(name, &ours, theirs);
    }
}

#[test]
fn top_talkers_rank_by_bytes_or_packets_and_respect_the_limit() {
    let Some(python) = python() else { return };
    let s = shared();
    let raw = py(&python, "raw_reports.py", &[s.sample.to_str().unwrap()]);
    let mut expected: Vec<&Value> = raw["top-sources"].as_array().unwrap().iter().collect();
    expected.sort_by(|a, b| {
        b["bytes"]
            .as_u64()
            .cmp(&a["bytes"].as_u64())
            .then(a["srcaddr"].as_str().cmp(&b["srcaddr"].as_str()))
    });
    let ours = report_rows(&s.lake, "top-sources", &["--limit", "5"]);
    let names = |rows: &[&Value]| {
        rows.iter()
            .map(|r| r["srcaddr"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&ours.iter().collect::<Vec<_>>()),
        names(&expected[..5])
    );

    let mut by_packets: Vec<u64> = raw["top-sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["packets"].as_u64().unwrap_or(0))
        .collect();
    by_packets.sort_unstable_by(|a, b| b.cmp(a));
    let ours = report_rows(&s.lake, "top-sources", &["--limit", "5", "--by", "packets"]);
    let got: Vec<u64> = ours
        .iter()
        .map(|r| r["packets"].as_u64().unwrap())
        .collect();
    assert_eq!(got, by_packets[..5]);
    // Default limit: 20 rows.
    assert_eq!(report_rows(&s.lake, "top-pairs", &[]).len(), 20);
}

#[test]
fn a_time_window_narrows_every_report() {
    let Some(python) = python() else { return };
    let s = shared();
    // The sample starts 2024-05-25T00:00Z; take 01:30 to 03:15.
    let (from, to) = (1_716_600_600i64, 1_716_607_700i64);
    let raw = raw_window(&python, &s.sample, from, to);
    let window = [
        "--from",
        "2024-05-25T01:30:00Z",
        "--to",
        "2024-05-25T03:15:00Z",
        "--limit",
        "0",
    ];
    for name in ["summary", "rejected-ports", "log-status"] {
        compare_report(
            name,
            &report_rows(&s.lake, name, &window),
            raw[name].as_array().unwrap(),
        );
    }
    let all = py(&python, "raw_reports.py", &[s.sample.to_str().unwrap()]);
    assert!(raw["total"].as_u64() < all["total"].as_u64());
}

#[test]
fn sql_output_formats() {
    let s = shared();
    let lake = s.lake.to_str().unwrap();
    let q = "SELECT log_status, srcaddr, bytes FROM flows WHERE log_status = 'NODATA' ORDER BY start LIMIT 2";
    let csv = ok(&mut flowlake(&[
        "sql", "--lake", lake, "--format", "csv", q,
    ]));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("log_status,srcaddr,bytes"), "header row");
    assert_eq!(lines.next(), Some("NODATA,,"), "null is an empty field");
    let jsonl = ok(&mut flowlake(&[
        "sql", "--lake", lake, "--format", "jsonl", q,
    ]));
    assert_eq!(jsonl.lines().count(), 2);
    assert_eq!(json(jsonl.lines().next().unwrap())["log_status"], "NODATA");
    let table = ok(&mut flowlake(&["sql", "--lake", lake, q]));
    assert!(table.contains("| NODATA"), "{table}");
    let bad = run(&mut flowlake(&[
        "sql",
        "--lake",
        lake,
        "SELECT nope FROM flows",
    ]));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope"));

    let Some(python) = python() else { return };
    let out = scratch("sql-parquet").join("out.parquet");
    ok(&mut flowlake(&[
        "sql",
        "--lake",
        lake,
        "--format",
        "parquet",
        "--output",
        out.to_str().unwrap(),
        "SELECT srcaddr, sum(bytes) AS b FROM flows GROUP BY srcaddr",
    ]));
    let text = py_inline(
        &python,
        "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print(t.num_rows, t.column_names)",
        &[out.to_str().unwrap()],
    );
    assert!(text.contains("['srcaddr', 'b']"), "{text}");
}

#[test]
fn network_functions_in_ad_hoc_sql() {
    let s = shared();
    let rows = sql_json(
        &s.lake,
        "SELECT count(*) AS n, sum(CASE WHEN is_private(srcaddr) = srcaddr_is_private THEN 1 ELSE 0 END) AS agree, \
         sum(CASE WHEN cidr_contains('10.0.0.0/8', srcaddr) THEN 1 ELSE 0 END) AS tens, \
         sum(CASE WHEN srcaddr LIKE '10.%' THEN 1 ELSE 0 END) AS tens_by_text, \
         sum(CASE WHEN protocol_name(protocol) = protocol_name THEN 1 ELSE 0 END) AS names \
         FROM flows WHERE srcaddr IS NOT NULL",
    );
    let r = &rows[0];
    assert_eq!(r["agree"], r["n"]);
    assert_eq!(r["tens"], r["tens_by_text"]);
    assert_eq!(r["names"], r["n"]);
}

#[test]
fn duckdb_reads_the_lake_with_the_generated_ddl() {
    let Some(python) = python() else { return };
    let s = shared();
    let ddl = ok(&mut flowlake(&[
        "ddl",
        "--engine",
        "duckdb",
        "--lake",
        s.lake.to_str().unwrap(),
    ]));
    let script = "import duckdb, sys\ncon = duckdb.connect()\ncon.execute(sys.argv[1])\nprint(con.execute(\"SELECT count(*) FROM flows WHERE action = 'REJECT'\").fetchone()[0])";
    let theirs: u64 = py_inline(&python, script, &[&ddl]).trim().parse().unwrap();
    let ours = sql_json(
        &s.lake,
        "SELECT count(*) AS n FROM flows WHERE action = 'REJECT'",
    )[0]["n"]
        .as_u64()
        .unwrap();
    assert_eq!(theirs, ours);
    assert!(ours > 0);

    // With the rollup tables: DuckDB sums them to the same count.
    let ddl = ok(&mut flowlake(&[
        "ddl",
        "--engine",
        "duckdb",
        "--rollups",
        "--lake",
        s.lake.to_str().unwrap(),
    ]));
    let script = "import duckdb, sys\ncon = duckdb.connect()\ncon.execute(sys.argv[1])\nprint(*[con.execute(f\"SELECT sum(records) FROM {t} WHERE action = 'REJECT'\").fetchone()[0] for t in sys.argv[2:]])";
    let mut args = vec![ddl.as_str()];
    args.extend_from_slice(ROLLUP_TABLES);
    let sums: Vec<u64> = py_inline(&python, script, &args)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(sums, vec![ours; ROLLUP_TABLES.len()]);
}

/// The folders a report's store listings named (`FLOWLAKE_LOG` debug lines
/// of the query crate), as paths under `flows/`, and whether the whole
/// table was listed.
fn listed_folders(lake: &str, extra: &[&str]) -> (std::collections::BTreeSet<String>, bool) {
    let mut args = vec!["report", "summary", "--lake", lake, "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(flowlake(&args).env("FLOWLAKE_LOG", "flowlake_query=debug"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut folders = std::collections::BTreeSet::new();
    let mut whole = false;
    for line in stderr.lines().filter(|l| l.contains("Listing.")) {
        if let Some(rest) = line.split("folder=").nth(1) {
            let path = rest.split_whitespace().next().unwrap_or_default();
            folders.insert(path.split("/flows/").nth(1).unwrap_or(path).to_owned());
        } else if line.contains("/flows\"") || line.ends_with("/flows") {
            whole = true;
        }
    }
    (folders, whole)
}

#[test]
fn a_window_lists_only_the_partition_folders_it_can_touch() {
    let s = shared();
    let lake = s.lake.to_str().unwrap();
    // The sample covers 2024-05-25T00:00Z to 06:00Z, one folder per hour.
    let window = [
        "--from",
        "2024-05-25T01:30:00Z",
        "--to",
        "2024-05-25T03:15:00Z",
    ];
    let (folders, whole) = listed_folders(lake, &window);
    let expected: std::collections::BTreeSet<String> = ["01", "02", "03"]
        .iter()
        .map(|h| format!("day=2024-05-25/hour={h}"))
        .collect();
    assert_eq!(folders, expected);
    assert!(!whole, "the whole table was listed for a window");
    // The sample's hour folders all exist: the window's are a strict subset.
    let on_disk: std::collections::BTreeSet<String> =
        std::fs::read_dir(s.lake.join("flows/day=2024-05-25"))
            .unwrap()
            .map(|e| {
                format!(
                    "day=2024-05-25/{}",
                    e.unwrap().file_name().to_string_lossy()
                )
            })
            .collect();
    assert!(
        expected.is_subset(&on_disk) && on_disk.len() > expected.len(),
        "{on_disk:?}"
    );
    // With no window, the table is listed as a whole (one recursive listing).
    let (folders, whole) = listed_folders(lake, &[]);
    assert!(whole && folders.is_empty(), "{folders:?}");
}

/// `flowlake report <name> --explain`'s first line: where it reads from.
fn report_source(lake: &std::path::Path, name: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "report",
        name,
        "--lake",
        lake.to_str().unwrap(),
        "--explain",
    ];
    args.extend_from_slice(extra);
    ok(&mut flowlake(&args))
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn reports_read_the_rollups_when_they_cover_the_window_and_flows_otherwise() {
    let Some(python) = python() else { return };
    let s = shared();
    // Whole hours: 2024-05-25T01:00Z to 04:00Z.
    let (from, to) = (1_716_598_800i64, 1_716_609_600i64);
    let raw = raw_window(&python, &s.sample, from, to);
    let window = [
        "--from",
        "2024-05-25T01:00:00Z",
        "--to",
        "2024-05-25T04:00:00Z",
    ];
    let rows = |lake: &std::path::Path, name: &str, extra: &[&str]| {
        let mut args = window.to_vec();
        args.extend_from_slice(&["--limit", "0"]);
        args.extend_from_slice(extra);
        report_rows(lake, name, &args)
    };
    for (name, _) in REPORT_KEYS {
        let source = report_source(&s.lake, name, &window);
        assert!(source.contains("reads the per-hour rollups"), "{source}");
        compare_report(
            name,
            &rows(&s.lake, name, &[]),
            raw[*name].as_array().unwrap(),
        );
        let forced = report_source(&s.lake, name, &[&window[..], &["--no-rollups"]].concat());
        assert!(
            forced.contains("reads flows: rollups turned off"),
            "{forced}"
        );
    }
    let source = report_source(&s.lake, "top-talkers", &window);
    assert!(source.contains("no rollup form"), "{source}");
    let source = report_source(&s.lake, "summary", &["--from", "2024-05-25T01:30:00Z"]);
    assert!(source.contains("whole hours"), "{source}");

    // A data file without its companion in one table (as written before
    // flowlake wrote that table): the reports that read that table read
    // flows, the others still read the rollups, and no answer changes.
    for table in ["talkers_hourly", "sources_hourly"] {
        let lake = copy_lake(&s.lake, &format!("lake-without-some-{table}"));
        let victim = files_under(&lake.join(table))
            .into_iter()
            .find(|f| f.starts_with("day=2024-05-25/hour=02/"))
            .unwrap();
        std::fs::remove_file(lake.join(table).join(&victim)).unwrap();
        let mut fell_back = 0;
        for (name, _) in REPORT_KEYS {
            let reads_table = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("query/src/reports/{name}.rollup.sql")),
            )
            .unwrap()
            .contains(table);
            let source = report_source(&lake, name, &window);
            if reads_table {
                fell_back += 1;
                assert!(
                    source.contains("reads flows: 1 of") && source.contains(table),
                    "{name} without a {table} companion: {source}"
                );
            } else {
                assert!(
                    source.contains("reads the per-hour rollups"),
                    "{name} does not read {table}: {source}"
                );
            }
            compare_report(
                name,
                &rows(&lake, name, &[]),
                raw[*name].as_array().unwrap(),
            );
        }
        assert!(fell_back > 0, "some report reads {table}");
    }
}

#[test]
fn every_rollup_report_gives_its_flows_report_answer_in_duckdb() {
    let Some(python) = python() else { return };
    let s = shared();
    let reports = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("query/src/reports");
    let out = py(
        &python,
        "rollup_reports.py",
        &[s.lake.to_str().unwrap(), reports.to_str().unwrap()],
    );
    let out = out.as_object().unwrap();
    assert_eq!(out.len(), REPORT_KEYS.len(), "{:?}", out.keys());
    for (name, answers) in out {
        let flows = answers["flows"].as_array().unwrap();
        assert!(
            !flows.is_empty(),
            "{name}: the sample exercises this report"
        );
        assert_eq!(flows, answers["rollups"].as_array().unwrap(), "{name}");
    }
}

#[test]
fn the_rollup_tables_sum_exactly_the_flows_records() {
    let Some(python) = python() else { return };
    let s = shared();
    assert_companions_match(&s.lake);
    assert_rollups_agree(&python, &s.lake);
}

/// Under a rollup budget far below what a file's groups take, each file's
/// groups are written out in partial rows after every batch (the coarse
/// tables summed from talkers_hourly's groups at each spill), and every
/// table still sums exactly the flows records.
#[test]
fn rollups_written_in_parts_under_a_small_budget_still_sum_exactly() {
    let Some(python) = python() else { return };
    let root = scratch("rollup-parts");
    // One object of several 32K-record batches, so a file sees many spills.
    let sample = root.join("sample");
    generate(&sample, 130_000, 1, 17);
    let whole = root.join("whole");
    let parts = root.join("parts");
    let (code, summary) = ingest_dir(&sample, &whole, &[]);
    assert_eq!(code, 0, "{summary}");
    let (code, summary) = ingest_dir(&sample, &parts, &["--max-rollup-bytes", "64K"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["records_written"], 130_000, "{summary}");
    assert_companions_match(&parts);
    let whole = assert_rollups_agree(&python, &whole);
    let parts = assert_rollups_agree(&python, &parts);
    for table in [
        "traffic_hourly",
        "sources_hourly",
        "destinations_hourly",
        "ports_hourly",
    ] {
        let (rows, before) = (&parts[table]["rows"], &whole[table]["rows"]);
        assert!(
            rows.as_u64() > before.as_u64(),
            "{table}: {rows} rows under the budget, {before} without: nothing was written in parts"
        );
    }
}
