//! One object, one identity, from any root: the same files reached from
//! another folder, through a symlink, as a single file, or from the bucket
//! they were copied from are found already in the lake. And replacing a
//! changed object never loses or double-counts committed records.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// Records in a flow-log file, counted by the test itself: lines that are
/// neither blank nor a header (a header starts with `version` or a field name).
fn records_in(path: &Path) -> u64 {
    let raw = std::fs::read(path).unwrap();
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(raw).unwrap();
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with(|c: char| c.is_ascii_lowercase()))
        .count() as u64
}

/// Records under a folder, counted from the raw files.
fn records_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .filter(|f| f.ends_with(".log.gz") || f.ends_with(".log"))
        .map(|f| records_in(&dir.join(f)))
        .sum()
}

/// The flow-log objects in the lake, as DuckDB counts them over every file.
fn duckdb_rows(lake: &Path) -> u64 {
    let python = python().expect("test Python");
    read_lake(&python, lake)["rows"].as_u64().unwrap()
}

fn objects(summary: &Value, field: &str) -> u64 {
    summary["objects"][field].as_u64().unwrap()
}

#[test]
fn the_same_tree_from_any_root_is_ingested_once() {
    let dir = scratch("identity-roots");
    let sample = dir.join("sample");
    generate(&sample, 6_000, 6, 5);
    let total = records_under(&sample);
    let lake = dir.join("lake");

    // One day's folder first: the deepest folders that hold files.
    let files = files_under(&sample);
    let first = files.iter().find(|f| f.ends_with(".log.gz")).unwrap();
    let day = sample.join(Path::new(first).parent().unwrap());
    let in_day = records_under(&day);
    let (_, summary) = ingest_dir(&day, &lake, &[]);
    assert_eq!(summary["records_written"], in_day);

    // Then one file of it on its own, then the tree from AWSLogs/, then from
    // above it, then through a symlink: nothing is ingested twice.
    let (_, summary) = ingest_dir(&sample.join(first), &lake, &[]);
    assert_eq!(objects(&summary, "ingested"), 0, "{summary}");
    let (_, summary) = ingest_dir(&sample.join("AWSLogs"), &lake, &[]);
    assert_eq!(summary["records_written"], total - in_day, "{summary}");
    for root in [sample.clone(), dir.clone()] {
        let (_, summary) = ingest_dir(&root, &lake, &[]);
        assert_eq!(
            objects(&summary, "ingested"),
            0,
            "{}: {summary}",
            root.display()
        );
    }
    let link = dir.join("link");
    std::os::unix::fs::symlink(&sample, &link).unwrap();
    let (_, summary) = ingest_dir(&link, &lake, &[]);
    assert_eq!(objects(&summary, "ingested"), 0, "{summary}");

    // A copy elsewhere (new mtimes, same names and sizes) is the same AWS
    // delivery: AWS never rewrites one.
    let copy = dir.join("copy/elsewhere");
    std::fs::create_dir_all(&copy).unwrap();
    for f in files.iter().filter(|f| f.ends_with(".log.gz")) {
        let name = Path::new(f).file_name().unwrap();
        std::fs::copy(sample.join(f), copy.join(name)).unwrap();
    }
    let (_, summary) = ingest_dir(&dir.join("copy"), &lake, &[]);
    assert_eq!(objects(&summary, "ingested"), 0, "{summary}");

    assert_eq!(count(&lake), total);
    assert_eq!(duckdb_rows(&lake), total);
}

#[test]
fn files_outside_an_aws_layout_keep_one_identity_from_any_root() {
    let dir = scratch("identity-plain");
    let logs = dir.join("exports/vpc/2024");
    std::fs::create_dir_all(&logs).unwrap();
    let (good_a, _) = write_bad_log(&logs.join("a.log"));
    let (good_b, _) = write_bad_log(&logs.join("b.log"));
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&logs, &lake, &[]);
    assert_eq!(code, 1, "bad lines are quarantined: {summary}");
    assert_eq!(summary["records_written"], good_a + good_b);
    let quarantined = summary["lines"]["rejected"].as_u64().unwrap();
    for root in [dir.join("exports"), dir.clone(), logs.join("a.log")] {
        let (_, summary) = ingest_dir(&root, &lake, &[]);
        assert_eq!(
            objects(&summary, "ingested"),
            0,
            "{}: {summary}",
            root.display()
        );
    }
    assert_eq!(count(&lake), good_a + good_b);
    let q = sql_json(&lake, "SELECT count(*) AS n FROM quarantine");
    assert_eq!(q[0]["n"].as_u64().unwrap(), quarantined);
}

#[test]
fn a_bucket_and_its_local_copy_are_one_source() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("identity-bucket");
    let sample = dir.join("sample");
    generate(&sample, 8_000, 6, 77);
    let total = records_under(&sample);
    // The bucket holds the objects in the Hive layout under a prefix; the
    // local copy has the plain layout. Names and content are the same.
    s3_put(
        &python,
        &moto.endpoint,
        "copied",
        &sample,
        "org/",
        true,
        None,
    );

    let lake = dir.join("lake-s3-first");
    let lake_str = lake.to_str().unwrap();
    let (_, summary) = ingest_s3(&moto.endpoint, "s3://copied/org", lake_str, &[]);
    assert_eq!(summary["records_written"], total, "{summary}");
    let (_, summary) = ingest_dir(&sample, &lake, &[]);
    assert_eq!(objects(&summary, "ingested"), 0, "{summary}");
    assert_eq!(objects(&summary, "already_done"), 6, "{summary}");
    assert_eq!(count(&lake), total);

    let lake = dir.join("lake-dir-first");
    let lake_str = lake.to_str().unwrap();
    ingest_dir(&sample, &lake, &[]);
    let (_, summary) = ingest_s3(&moto.endpoint, "s3://copied/org", lake_str, &[]);
    assert_eq!(objects(&summary, "ingested"), 0, "{summary}");
    assert_eq!(count(&lake), total);
    assert_eq!(duckdb_rows(&lake), total);
}

/// Replaces the content of `target` with that of `with` (another object).
fn overwrite(target: &Path, with: &Path) {
    std::fs::copy(with, target).unwrap();
}

#[test]
fn an_unreadable_new_version_leaves_the_old_records() {
    let dir = scratch("identity-unreadable");
    let sample = dir.join("sample");
    generate(&sample, 4_000, 4, 8);
    let total = records_under(&sample);
    let lake = dir.join("lake");
    ingest_dir(&sample, &lake, &[]);

    let files = files_under(&sample);
    let target = sample.join(files.iter().find(|f| f.ends_with(".log.gz")).unwrap());
    let mut corrupt = std::fs::read(&target).unwrap();
    corrupt.truncate(corrupt.len() / 2);
    std::fs::write(&target, &corrupt).unwrap();
    let (code, summary) = ingest_dir(&sample, &lake, &[]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(objects(&summary, "failed"), 1, "{summary}");
    assert_eq!(count(&lake), total, "the old version's records stay");
    assert_eq!(duckdb_rows(&lake), total);
}

#[test]
fn a_crash_while_replacing_never_loses_or_double_counts() {
    let dir = scratch("identity-replace");
    let sample = dir.join("sample");
    let other = dir.join("other");
    generate(&sample, 5_000, 5, 21);
    generate(&other, 9_000, 5, 22);
    let objects_of = |root: &Path| -> Vec<String> {
        files_under(root)
            .into_iter()
            .filter(|f| f.ends_with(".log.gz"))
            .collect()
    };
    let (targets, replacements) = (objects_of(&sample), objects_of(&other));
    let lake = dir.join("lake");
    ingest_dir(&sample, &lake, &[]);
    let mut current = records_under(&sample);

    // Each round replaces one more object and crashes at one step (the
    // retire step runs once per old file and old entry).
    let steps = ["intent:1", "publish:1", "ledger:1", "retire:1", "retire:2"];
    for (round, step) in steps.iter().enumerate() {
        let (target, with) = (
            sample.join(&targets[round]),
            other.join(&replacements[round]),
        );
        let old = records_in(&target);
        overwrite(&target, &with);
        let new = current - old + records_in(&target);
        let crashed = run(flowlake(&[
            "ingest",
            "dir",
            sample.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
        ])
        .env("FLOWLAKE_CRASH_AFTER", step));
        assert!(!crashed.status.success(), "{step}: the crash landed");
        assert!(
            !files_under(&lake.join("_flowlake/pending")).is_empty(),
            "{step}: a commit was under way"
        );
        // flowlake counts the old version until the commit point, the new one after.
        let committed = !matches!(*step, "intent:1" | "publish:1");
        let expected = if committed { new } else { current };
        assert_eq!(count(&lake), expected, "after a crash at {step}");

        let (_, summary) = ingest_dir(&sample, &lake, &[]);
        assert_eq!(objects(&summary, "recovered"), 1, "{step}: {summary}");
        current = new;
        assert_eq!(count(&lake), current, "{step}: after the re-run");
        assert_eq!(
            duckdb_rows(&lake),
            current,
            "{step}: every file, read by DuckDB"
        );
        assert!(files_under(&lake.join("_flowlake/pending")).is_empty());
    }
}
