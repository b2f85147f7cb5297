//! Bad input: every rejected-line reason is quarantined with its object and
//! line, broken objects are named and skipped, and the rest is ingested.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

use crate::harness::*;

#[test]
fn bad_lines_are_quarantined_and_broken_objects_skipped() {
    let dir = scratch("bad");
    let src = dir.join("src");
    generate(&src, 3_000, 3, 21);
    // Fixture facts: write_bad_log writes `bad` lines that each break one
    // rule (plus one that is not UTF-8), between good ones.
    let (_, bad) = write_bad_log(&src.join("mixed/bad-lines.log"));
    // Blank lines of every kind a file can hold (empty, spaces only, a CR of
    // a CRLF ending), CRLF records, and a last record without a newline.
    let record = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1716595200 1716595260 ACCEPT OK";
    std::fs::write(
        src.join("mixed/blank-lines.log"),
        format!("\n{record}\n   \n\r\n{record}\r\n\n  \r\n{record}"),
    )
    .unwrap();

    // A gzip object cut in half, one with a flipped byte, and one that is not gzip.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let body = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1716595200 1716595260 ACCEPT OK\n"
        .repeat(2000);
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(src.join("mixed/truncated.log.gz"), &gz[..gz.len() / 2]).unwrap();
    let mut corrupt = gz.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x55;
    std::fs::write(src.join("mixed/corrupt.log.gz"), &corrupt).unwrap();
    std::fs::write(src.join("mixed/not-gzip.log.gz"), b"this is not gzip\n").unwrap();

    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 1, "partial success is exit code 1: {summary}");
    // Every line of the objects that did not fail, counted by the test.
    let failed = ["truncated.log.gz", "corrupt.log.gz", "not-gzip.log.gz"];
    let raw = raw_lines_under(&src, &failed);
    assert_eq!(
        raw.blank, 5,
        "the fixture's blank lines, by the test's rule"
    );
    let records = raw.data() - bad;
    assert_eq!(summary["objects"]["failed"], 3, "{summary}");
    assert_eq!(
        summary["objects"]["ingested"],
        text_objects_under(&src).len() as u64 - 3
    );
    assert_eq!(summary["records_written"], records);
    assert_lines_match(&summary, raw, bad);
    let failures = summary["failures"].to_string();
    for name in ["truncated.log.gz", "corrupt.log.gz", "not-gzip.log.gz"] {
        assert!(failures.contains(name), "{name} named in {failures}");
    }
    assert!(failures.contains("not a gzip file"), "{failures}");
    assert_eq!(count(&lake), records);

    // The quarantine names object, line and reason for every bad line.
    let rows = sql_json(
        &lake,
        "SELECT source, line, kind, reason FROM quarantine ORDER BY line",
    );
    assert_eq!(rows.len() as u64, bad);
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "field_count",
            "not_a_number",
            "out_of_range",
            "bad_address",
            "unknown_action",
            "unknown_log_status",
            "invalid_utf8"
        ]
    );
    assert_eq!(rows[1]["line"], 5, "header is line 1, then good/bad pairs");
    assert!(
        rows[1]["source"]
            .as_str()
            .unwrap()
            .ends_with("bad-lines.log")
    );
    assert_eq!(rows[1]["reason"], r#"dstport: "https" is not a number"#);

    // The human summary names them too.
    let out = run(&mut flowlake(&[
        "ingest",
        "dir",
        src.to_str().unwrap(),
        "--lake",
        dir.join("lake2").to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bad-lines.log: line 5: dstport: \"https\" is not a number"),
        "{text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    // A rerun retries only the failed objects and still reports them.
    let (code, again) = ingest_dir(&src, &lake, &[]);
    assert_eq!(code, 1);
    assert_eq!(again["objects"]["failed"], 3);
    assert_eq!(again["objects"]["ingested"], 0);
}
