//! Every record format AWS defines, as files ingest meets them: header lines
//! with any field order and subset, headerless files with a configured
//! format, Transit Gateway records, and AWS's Parquet delivery.

use std::path::Path;

use crate::harness::*;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples");

/// Lines of a sample file as the test counts them (harness rule: a header is
/// a line of AWS field names, blank is spaces only).
fn sample_lines(file: &str) -> RawLines {
    raw_lines(&Path::new(SAMPLES).join(file))
}

/// Lines of the samples that must be rejected: fixture facts from
/// `tests/data/samples/README.md`, not flowlake's opinion.
const REJECTED_IN_SAMPLES: &[(&str, u64)] = &[("flowlogs-reader/v5-file-with-bogus-line.log", 1)];

fn rejected_in(file: &str) -> u64 {
    REJECTED_IN_SAMPLES
        .iter()
        .find(|(f, _)| *f == file)
        .map_or(0, |(_, n)| *n)
}

#[test]
fn every_sample_with_a_header_ingests_into_one_table() {
    let dir = scratch("formats");
    let src = dir.join("src");
    let files = [
        "aws-docs-v3-nat-gateway.log",
        "aws-docs-v3-tcp-flag-sequence.log",
        "aws-docs-v3-via-transit-gateway.log",
        "aws-docs-v5-service-path-direction.log",
        "real-s3-text-file-v2-with-header.log",
        "real-s3-custom-alphabetical-v5.log",
        "elastic/vpcflow-test-tcp-flag-sequence.log",
        "flowlogs-reader/v3-file.log",
        "flowlogs-reader/v4-file.log",
        "flowlogs-reader/v6-tgw-file.log",
        "otel/tgw-custom-with-header.log",
        "otel/ecs-custom-with-header.log",
        "vrl/v7-ecs-custom.log",
        "vrl/v8-v11-custom.log",
        "vrl/v11-subset-custom.log",
        "flowlogs-reader/v5-file-with-bogus-line.log",
    ];
    let mut raw = RawLines::default();
    let mut rejected = 0;
    for f in files {
        let from = Path::new(SAMPLES).join(f);
        let to = src.join(f.replace('/', "-"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
        raw = raw.plus(sample_lines(f));
        rejected += rejected_in(f);
    }
    let expected = raw.data() - rejected;
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 1, "the bogus line makes the run partial: {summary}");
    assert_lines_match(&summary, raw, rejected);
    assert_eq!(summary["records_written"], expected);
    let rows = sql_json(&lake, "SELECT source, line, raw FROM quarantine");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["line"], 4, "{rows:?}");
    assert_eq!(rows[0]["raw"], "bogus line", "{rows:?}");
    assert_eq!(count(&lake), expected);
    // Newest fields land in their columns, whatever the order.
    let rows = sql_json(
        &lake,
        "SELECT count(*) AS n FROM flows WHERE reject_reason = 'BPA' AND encryption_status = 1",
    );
    assert_eq!(rows[0]["n"], 2);
    let rows = sql_json(
        &lake,
        "SELECT count(*) AS n FROM flows WHERE tgw_id IS NOT NULL",
    );
    assert_eq!(rows[0]["n"], 2, "Transit Gateway records keep their fields");
    let rows = sql_json(
        &lake,
        "SELECT az_id, log_status, region FROM flows WHERE account_id = '325352056000'",
    );
    assert_eq!(
        rows[0]["az_id"], "apne1-az1",
        "alphabetical-order record: {rows:?}"
    );
    assert_eq!(rows[0]["log_status"], "SKIPDATA");
}

#[test]
fn headerless_files_take_the_configured_format() {
    let dir = scratch("headerless");
    let cases = [
        (
            "elastic/vpcflow-test-tgw-samples.log",
            "tgw-default".to_owned(),
        ),
        ("aws-docs-v2-default.log", "default".to_owned()),
        (
            "elastic/vpcflow-test-v8-samples.log",
            flowlake_schemas::FIELDS
                .iter()
                .filter(|f| f.family != flowlake_schemas::fields::Family::Tgw)
                .take(40)
                .map(|f| format!("${{{}}}", f.name))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    for (i, (file, format)) in cases.iter().enumerate() {
        let src = dir.join(format!("src-{i}"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::copy(Path::new(SAMPLES).join(file), src.join("records.log")).unwrap();
        let lake = dir.join(format!("lake-{i}"));
        let (code, summary) = ingest_dir(&src, &lake, &["--format", format]);
        assert_eq!(code, 0, "{file}: {summary}");
        let raw = sample_lines(file);
        assert_eq!(raw.headers, 0, "{file} is headerless");
        assert_lines_match(&summary, raw, 0);
        assert_eq!(summary["records_written"], raw.data(), "{file}");
    }
    // Without the format, the 40-field file does not fit the default and is quarantined, not lost.
    let (code, summary) = ingest_dir(&dir.join("src-2"), &dir.join("lake-wrong"), &[]);
    assert_eq!(code, 1);
    assert_lines_match(
        &summary,
        sample_lines("elastic/vpcflow-test-v8-samples.log"),
        1,
    );
}

#[test]
fn aws_parquet_delivery_files_ingest() {
    let Some(python) = python() else { return };
    let dir = scratch("parquet-in");
    let src = dir.join("AWSLogs/123456789012/vpcflowlogs/us-east-2/2024/05/25");
    std::fs::create_dir_all(&src).unwrap();
    let file =
        src.join("123456789012_vpcflowlogs_us-east-2_fl-0abc_20240525T0505Z_deadbeef.log.parquet");
    // Written by pyarrow with AWS's column names and Parquet types (protocol INT32, start INT64, '-' as text).
    let script = format!(
        "import pyarrow as pa, pyarrow.parquet as pq\n\
         t = pa.table({{'version': pa.array([2, 2], pa.int32()), 'account_id': ['123456789012', '123456789012'],\n\
         'interface_id': ['eni-1', 'eni-2'], 'srcaddr': ['10.0.0.1', '-'], 'dstaddr': ['52.94.1.1', '-'],\n\
         'srcport': pa.array([443, None], pa.int32()), 'dstport': pa.array([49152, None], pa.int32()),\n\
         'protocol': pa.array([6, None], pa.int32()), 'packets': pa.array([10, None], pa.int64()),\n\
         'bytes': pa.array([840, None], pa.int64()), 'start': pa.array([1716613500, 1716613510], pa.int64()),\n\
         'end': pa.array([1716613560, 1716613570], pa.int64()), 'action': ['ACCEPT', '-'], 'log_status': ['OK', 'NODATA']}})\n\
         pq.write_table(t, '{}', compression='gzip')\n",
        file.display()
    );
    py_inline(&python, &script, &[]);
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&dir, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["parquet_rows"], 2);
    assert_eq!(summary["records_written"], 2);
    let rows = sql_json(
        &lake,
        "SELECT srcaddr, action, protocol_name, day, hour FROM flows ORDER BY start",
    );
    assert_eq!(rows[0]["srcaddr"], "10.0.0.1");
    assert_eq!(rows[0]["protocol_name"], "tcp");
    assert_eq!(rows[0]["day"], "2024-05-25");
    assert_eq!(rows[0]["hour"], "05");
    assert!(
        rows[1].get("srcaddr").is_none_or(|v| v.is_null()),
        "'-' is null: {rows:?}"
    );
    assert!(rows[1].get("action").is_none_or(|v| v.is_null()));
}

/// The derived columns, read back by DuckDB, against an independent
/// computation from the raw lines (`tests/py/derived_columns.py`: Python's
/// ipaddress for RFC 1918 + fc00::/7, the IANA registry's keywords, Python's
/// datetime for timestamps and partitions), over a fixture of edge cases:
/// the 172.16/12, 192.168/16, 10/8 and fc00::/7 boundaries, fe80::,
/// IPv4-mapped IPv6, `-` values, NODATA/SKIPDATA, hour and day boundaries,
/// milliseconds, unassigned protocol numbers.
#[test]
fn derived_columns_match_an_independent_computation() {
    let Some(python) = python() else { return };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let fixture = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/25/123456789012_vpcflowlogs_us-east-1_fl-0edge0000000_20240525T0505Z_0badc0de.log";
    let dir = scratch("derived");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join(fixture).parent().unwrap()).unwrap();
    std::fs::copy(data.join("derived").join(fixture), src.join(fixture)).unwrap();
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_lines_match(&summary, raw_lines(&src.join(fixture)), 0);

    let report = py(
        &python,
        "derived_columns.py",
        &[
            src.join(fixture).to_str().unwrap(),
            lake.to_str().unwrap(),
            data.join("iana/protocol-keywords.csv").to_str().unwrap(),
        ],
    );
    let seen = &report["seen"];
    assert!(seen["private_true"].as_u64().unwrap() >= 10, "{seen}");
    assert!(seen["private_false"].as_u64().unwrap() >= 10, "{seen}");
    assert!(seen["private_null"].as_u64().unwrap() >= 4, "{seen}");
    assert!(seen["millisecond_times"].as_u64().unwrap() >= 4, "{seen}");
    assert!(
        seen["unassigned_protocols"].as_array().unwrap().len() >= 4,
        "{seen}"
    );
    assert_eq!(report["lake_rows"], report["raw_records"], "{report}");
    assert_eq!(report["missing"], serde_json::json!([]), "{report}");
    assert_eq!(report["extra"], serde_json::json!([]), "{report}");
    let mismatches = report["mismatches"].as_array().unwrap();
    assert!(
        mismatches.is_empty(),
        "{} derived values differ from the independent computation:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
