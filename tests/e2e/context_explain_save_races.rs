//! `explain --save` as an adversarial user runs it: two saves at once (and,
//! since two quick saves may not overlap, a save started while the lock is
//! held), a save killed after each day it publishes, and retention dropping
//! the flows that days of explanations describe. What is in the table is read
//! back by DuckDB (tests/py/explanations.py), never by flowlake's code.

use std::path::Path;
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::context_explain_save::*;
use crate::context_harness::*;
use crate::harness::*;

/// Every saved row is an explanation of a REJECT the flows hold now, one
/// per REJECT, day by day, as DuckDB counts them.
fn assert_saved_matches_flows(python: &Path, lake: &Path) {
    let seen = duck(python, lake, None);
    assert_eq!(
        rows_by_day(&seen),
        *seen["rejects_by_day"].as_object().unwrap()
    );
    // One object per day, nothing staged beside them.
    for file in table_files(lake) {
        assert!(file.ends_with("/part-0.parquet"), "{file}");
    }
}

/// `flowlake prune --json` with a cutoff of 2026-11-21T00:30Z: the cases'
/// day is over, the next day's 01:00 hour is not.
fn prune_after_the_cases_day(lake: &Path) -> serde_json::Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let older_than = format!("{}s", now.saturating_sub(1_795_221_000));
    let lake = lake.to_str().unwrap();
    let args = [
        "prune",
        "--lake",
        lake,
        "--older-than",
        &older_than,
        "--json",
    ];
    json(&ok(&mut flowlake(&args)))
}

/// The case lake with REJECTs on two days, and what one save of it holds.
fn two_day_lake(name: &str) -> std::path::PathBuf {
    let lake = case_lake(name, true);
    more_rejects(&lake, &format!("{name}-more"));
    lake
}

#[test]
fn two_saves_at_once_leave_what_one_save_leaves() {
    let Some(python) = python() else { return };
    let reference = two_day_lake("context-save-race-ref");
    save_ok(&reference, &[]);
    let expected = content(&duck(&python, &reference, None));
    assert!(!expected.is_empty());

    let lake = two_day_lake("context-save-race");
    let lake_arg = lake.to_str().unwrap();
    for round in 0..3 {
        let children: Vec<_> = (0..2)
            .map(|_| {
                flowlake(&["explain", "--save", "--lake", lake_arg])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let mut saved = 0;
        for out in &outs {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                saved += 1;
            } else {
                // The one refused is told who holds the lake and waits for nothing.
                assert!(
                    stderr.contains("another flowlake explain --save is writing"),
                    "round {round}: {stderr}"
                );
            }
        }
        assert!(saved >= 1, "round {round}: neither save ran");
        assert_saved_matches_flows(&python, &lake);
        assert_eq!(
            content(&duck(&python, &lake, None)),
            expected,
            "round {round}"
        );
    }
}

#[test]
fn a_save_killed_after_any_day_leaves_whole_days_and_the_next_save_finishes() {
    let Some(python) = python() else { return };
    for n in 1..=2 {
        let name = format!("context-save-kill-{n}");
        let lake = two_day_lake(&name);
        save_ok(&lake, &[]);
        let before = duck(&python, &lake, None);
        // New REJECTs on both days, then a save killed after its n-th day.
        rejects_from(&lake, &format!("{name}-later"), 120);
        let lake_arg = lake.to_str().unwrap();
        crash_after(
            &["explain", "--save", "--lake", lake_arg],
            "explain-day-saved",
            n,
        );
        // Each day is the old save's or the new one's, whole: DuckDB reads
        // every object, and a day's rows are its old count or its count now.
        let crashed = duck(&python, &lake, None);
        let (old, now) = (rows_by_day(&before), crashed["rejects_by_day"].clone());
        let got = rows_by_day(&crashed);
        let mut replaced = 0;
        for (day, rows) in &got {
            if Some(rows) == now.get(day) {
                replaced += 1;
            } else {
                assert_eq!(Some(rows), old.get(day), "{name}: day {day}");
            }
        }
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        assert!(replaced >= n as usize, "{name}: {replaced} days replaced");
        save_ok(&lake, &[]);
        assert_saved_matches_flows(&python, &lake);
    }
}

#[test]
fn prune_deletes_the_explanations_of_the_days_it_drops() {
    let Some(python) = python() else { return };
    let lake = two_day_lake("context-save-prune");
    save_ok(&lake, &[]);
    assert_eq!(table_files(&lake).len(), 2);
    let summary = prune_after_the_cases_day(&lake);
    assert_eq!(summary["explanation_days"], serde_json::json!([CASE_DAY]));
    assert_eq!(table_files(&lake), ["day=2026-11-21/part-0.parquet"]);
    assert_saved_matches_flows(&python, &lake);
    // Pruning again deletes nothing more.
    let again = prune_after_the_cases_day(&lake);
    assert_eq!(again["explanation_days"], serde_json::json!([]));
    assert_eq!(table_files(&lake).len(), 1);
}

/// The lock itself, held by the test the way a running save holds it: a
/// second save is refused and names what holds the lake, the saved days
/// stay as they were, and a prune drops the flows but leaves the days it
/// would delete to the next prune.
#[test]
fn while_a_save_holds_the_lock_another_is_refused_and_prune_leaves_the_days() {
    let Some(python) = python() else { return };
    let lake = two_day_lake("context-save-locked");
    save_ok(&lake, &[]);
    let read_all = || -> Vec<Vec<u8>> {
        table_files(&lake)
            .iter()
            .map(|f| std::fs::read(lake.join("reject_explanations").join(f)).unwrap())
            .collect()
    };
    let before = read_all();
    let lock = std::fs::File::options()
        .write(true)
        .open(lake.join("_flowlake/explanations/lock"))
        .unwrap();
    lock.try_lock().unwrap();

    rejects_from(&lake, "context-save-locked-later", 140);
    let (code, stdout, stderr) = save(&lake, &[]);
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains("another flowlake explain --save is writing"),
        "{stderr}"
    );
    assert_eq!(read_all(), before);

    let summary = prune_after_the_cases_day(&lake);
    assert!(!summary["partitions"].as_array().unwrap().is_empty());
    assert_eq!(summary["explanation_days"], serde_json::json!([]));
    assert_eq!(read_all(), before);

    drop(lock);
    save_ok(&lake, &[]);
    assert_saved_matches_flows(&python, &lake);
}
