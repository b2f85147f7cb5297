//! Ingesting a folder laid out as AWS writes to S3, read back by independent readers.

use crate::harness::*;

#[test]
fn sample_round_trips_through_independent_readers() {
    let s = shared();
    // The summary reconciles with the raw objects as the test counts them
    // (gunzipped here, lines, headers and blank lines by the test's rule),
    // not with the generator's manifest or the summary's own sums.
    let objects = text_objects_under(&s.sample).len() as u64;
    let raw = raw_lines_under(&s.sample, &[]);
    assert!(raw.headers >= objects, "every S3 text object has a header");
    let records = raw.data();
    assert_eq!(s.summary["objects"]["listed"], objects);
    assert_eq!(s.summary["objects"]["ingested"], objects);
    assert_lines_match(&s.summary, raw, 0);
    assert_eq!(s.summary["records_written"], records);
    assert_eq!(count(&s.lake), records);

    let Some(python) = python() else { return };
    let seen = read_lake(&python, &s.lake);
    assert_eq!(seen["rows"], records, "DuckDB row count");
    assert_eq!(seen["pyarrow_rows"], records, "pyarrow row count");
    assert_eq!(
        seen["stray_files"],
        serde_json::json!([]),
        "only Parquet files in the table folder"
    );
    assert_eq!(
        seen["misplaced"], 0,
        "every record is in the partition of its start hour"
    );
    let raw = py(&python, "raw_reports.py", &[s.sample.to_str().unwrap()]);
    let raw_bytes: u64 = raw["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["bytes"].as_u64())
        .sum();
    assert_eq!(
        seen["bytes"], raw_bytes,
        "bytes read back equal bytes in the raw logs"
    );
    // AWS's Parquet column names and types, plus derived columns.
    let types = &seen["pyarrow_types"];
    assert_eq!(types["protocol"], "int32");
    assert_eq!(types["start"], "int64");
    assert_eq!(types["srcport"], "int32");
    assert_eq!(types["log_status"], "string");
    assert_eq!(types["start_time"], "timestamp[ms, tz=UTC]");
    assert_eq!(types["srcaddr_is_private"], "bool");
    assert!(
        seen["partitions"].as_object().unwrap().len() >= 6,
        "several hours: {}",
        seen["partitions"]
    );
}

#[test]
fn thread_count_does_not_change_the_answer() {
    let s = shared();
    let lake = scratch("threads-1").join("lake");
    let (code, summary) = ingest_dir(&s.sample, &lake, &["--threads", "1"]);
    assert_eq!(code, 0);
    assert_eq!(summary["records_written"], s.summary["records_written"]);
    let table = |lake: &std::path::Path| files_under(&lake.join("flows"));
    assert_eq!(table(&lake), table(&s.lake), "same files, same names");
    let q = "SELECT sum(bytes) AS b, count(DISTINCT srcaddr) AS s FROM flows";
    assert_eq!(sql_json(&lake, q), sql_json(&s.lake, q));
}
