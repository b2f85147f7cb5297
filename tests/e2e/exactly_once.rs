//! Exactly once: re-runs, crashes at every step of the commit protocol, kill -9
//! at arbitrary moments, and changed objects never duplicate or lose a record.

use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// Commit steps every first ingest passes through (`FLOWLAKE_CRASH_AFTER`
/// names, ingest/src/lake/crashpoint.rs); `quarantine` only for the one
/// object with bad lines. Steps that need an old version (`retire`,
/// `delete-old`) or a crashed run (`recover`) are exercised in commit_model.rs.
const FIRST_INGEST_STEPS: &[&str] = &["intent", "publish", "quarantine", "ledger", "cleanup"];

/// Committed ledger entries in a local lake.
fn committed(lake: &Path) -> usize {
    ledger_entries(lake).len()
}

fn assert_exactly(lake: &Path, expected: u64) {
    assert_eq!(count(lake), expected, "records in the lake");
    let pending = files_under(&lake.join("_flowlake/pending"));
    assert!(pending.is_empty(), "no pending intents left: {pending:?}");
    let table: Vec<String> = files_under(&lake.join("flows"));
    let ledger = files_under(&lake.join("_flowlake/ledger"));
    // Every data file is named by exactly one ledger entry.
    let mut named = Vec::new();
    for entry in &ledger {
        let text = std::fs::read_to_string(lake.join("_flowlake/ledger").join(entry)).unwrap();
        let entry = json(&text);
        for f in entry["files"].as_array().unwrap() {
            named.push(
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("flows/")
                    .to_owned(),
            );
        }
    }
    named.sort();
    assert_eq!(named, table, "ledger and table agree");
    assert_companions_match(lake);
    if let Some(python) = python() {
        assert_eq!(read_lake(&python, lake)["rows"], expected, "DuckDB agrees");
        assert_rollups_agree(&python, lake);
    }
}

#[test]
fn a_second_ingest_changes_nothing() {
    let dir = scratch("twice");
    let manifest = generate(&dir.join("sample"), 6_000, 6, 11);
    let lake = dir.join("lake");
    let (_, first) = ingest_dir(&dir.join("sample"), &lake, &[]);
    let files = files_under(&lake.join("flows"));
    let (code, second) = ingest_dir(&dir.join("sample"), &lake, &[]);
    assert_eq!(code, 0);
    assert_eq!(second["objects"]["ingested"], 0);
    assert_eq!(
        second["objects"]["already_done"],
        first["objects"]["ingested"]
    );
    assert_eq!(second["records_written"], 0);
    assert_eq!(files_under(&lake.join("flows")), files);
    assert_exactly(&lake, manifest_sum(&manifest, "records"));
}

#[test]
fn a_crash_at_any_commit_step_then_a_rerun_leaves_each_record_once() {
    let dir = scratch("crash-steps");
    let sample = dir.join("sample");
    generate(&sample, 4_000, 5, 12);
    // An object with bad lines, so the quarantine step happens too.
    let (good, _) = write_bad_log(&sample.join("extra/bad.log"));
    // Records counted from the raw objects by the test (the generated ones
    // have no bad lines; bad.log's good lines are a fixture fact).
    let expected = raw_lines_under(&sample, &["extra/bad.log"]).data() + good;
    let objects = text_objects_under(&sample).len();
    for &step in FIRST_INGEST_STEPS {
        for n in [1, 3] {
            let lake = dir.join(format!("lake-{step}-{n}"));
            let out = run(flowlake(&[
                "ingest",
                "dir",
                sample.to_str().unwrap(),
                "--lake",
                lake.to_str().unwrap(),
                "--threads",
                "1",
            ])
            .env("FLOWLAKE_CRASH_AFTER", format!("{step}:{n}")));
            let crashed = !out.status.success() && out.status.code() != Some(1);
            assert!(
                crashed || (step == "quarantine" && n > 1),
                "{step}:{n} should have crashed: {out:?}"
            );
            // The crash landed mid-run: some but not all objects committed,
            // or a commit in progress (its pending intent left behind).
            if crashed {
                let done = committed(&lake);
                let pending = pending_intents(&lake);
                assert!(
                    done < objects,
                    "{step}:{n}: crashed after all {objects} objects committed"
                );
                if matches!(step, "ledger" | "cleanup") {
                    assert!(
                        done >= n as usize,
                        "{step}:{n}: {done} entries committed, expected at least {n}"
                    );
                }
                if step != "cleanup" {
                    assert!(
                        !pending.is_empty(),
                        "{step}:{n}: the crashed commit left no pending intent"
                    );
                }
            }
            // Exit 1 if this run ingests the object with bad lines, else 0.
            let (code, summary) = ingest_dir(&sample, &lake, &[]);
            let rejected = summary["lines"]["rejected"].as_u64().unwrap();
            assert_eq!(code, i32::from(rejected > 0), "{summary}");
            assert_exactly(&lake, expected);
        }
    }
}

#[test]
fn kill_nine_at_arbitrary_moments_then_a_rerun_leaves_each_record_once() {
    let dir = scratch("kill");
    let sample = dir.join("sample");
    generate(&sample, 120_000, 24, 13);
    let expected = raw_lines_under(&sample, &[]).data();
    let objects = text_objects_under(&sample).len();
    // Kill at moments tied to the run's progress, so each lands mid-run: once
    // the first intent appears, then after 1, 3, 8 and 15 committed objects
    // (plus a few milliseconds, to land anywhere inside a commit).
    for (i, (after, delay_ms)) in [(0usize, 0u64), (1, 3), (3, 1), (8, 7), (15, 2)]
        .into_iter()
        .enumerate()
    {
        let lake = dir.join(format!("lake-{i}"));
        let mut child = flowlake(&[
            "ingest",
            "dir",
            sample.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
            "--quiet",
        ])
        .spawn()
        .unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("kill {i}: the run ended ({status}) before {after} objects were committed");
            }
            let started = if after == 0 {
                !pending_intents(&lake).is_empty()
            } else {
                committed(&lake) >= after
            };
            if started {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "kill {i} landed after the run ended: {status}"
        );
        // Before the re-run: the kill left a lake mid-ingest.
        let done = committed(&lake);
        let pending = pending_intents(&lake);
        assert!(
            done < objects,
            "kill {i}: all {objects} objects were already committed"
        );
        assert!(
            done >= after && (done > 0 || !pending.is_empty()),
            "kill {i}: nothing in progress ({done} committed, pending {pending:?})"
        );
        let (code, summary) = ingest_dir(&sample, &lake, &[]);
        assert_eq!(code, 0, "{summary}");
        assert_eq!(
            summary["objects"]["already_done"].as_u64().unwrap()
                + summary["objects"]["ingested"].as_u64().unwrap(),
            objects as u64,
            "{summary}"
        );
        assert!(
            summary["objects"]["ingested"].as_u64().unwrap() > 0,
            "kill {i}: the re-run had objects left to ingest: {summary}"
        );
        assert_exactly(&lake, expected);
    }
}

#[test]
fn a_changed_object_replaces_its_old_records() {
    let dir = scratch("changed");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 5_000, 5, 14);
    let other = generate(&dir.join("other"), 7_000, 5, 99);
    let lake = dir.join("lake");
    ingest_dir(&sample, &lake, &[]);
    let before = raw_lines_under(&sample, &[]).data();
    // Overwrite the first object with different content (a bigger object from another seed).
    let target = manifest["objects"][0]["path"].as_str().unwrap();
    let replacement = other["objects"][0]["path"].as_str().unwrap();
    std::fs::copy(dir.join("other").join(replacement), sample.join(target)).unwrap();
    let expected = manifest_sum(&manifest, "records")
        - manifest["objects"][0]["records"].as_u64().unwrap()
        + other["objects"][0]["records"].as_u64().unwrap();

    // Crash half-way through replacing it, then run again.
    let crashed = run(flowlake(&[
        "ingest",
        "dir",
        sample.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
    .env("FLOWLAKE_CRASH_AFTER", "publish:1"));
    assert!(!crashed.status.success());
    // Until the new version is committed, flowlake's own queries see the
    // old one, whole, and nothing of the new.
    assert_eq!(
        count(&lake),
        before,
        "after a crash mid-replacement, before any re-run"
    );
    let (code, summary) = ingest_dir(&sample, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["objects"]["recovered"], 1);
    assert_exactly(&lake, expected);

    // And a clean replacement, back to the original content.
    let original = generate(&dir.join("again"), 5_000, 5, 14);
    std::fs::copy(dir.join("again").join(target), sample.join(target)).unwrap();
    let (_, summary) = ingest_dir(&sample, &lake, &[]);
    assert_eq!(summary["objects"]["replaced"], 1, "{summary}");
    assert_exactly(&lake, manifest_sum(&original, "records"));
}

#[test]
fn a_second_writer_is_refused_while_the_first_runs() {
    let dir = scratch("lock");
    let sample = dir.join("sample");
    generate(&sample, 150_000, 12, 15);
    let lake = dir.join("lake");
    let mut first = flowlake(&[
        "ingest",
        "dir",
        sample.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
    ])
    .spawn()
    .unwrap();
    // Wait until the first run holds the lock (its tmp folder exists), then try.
    while !lake.join("_flowlake/lock").exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    let second = run(&mut flowlake(&[
        "ingest",
        "dir",
        sample.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ]));
    let status = first.wait().unwrap();
    assert!(status.success());
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another flowlake ingest"));
}
