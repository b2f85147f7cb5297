//! `explain --save` and the `top-rejecting-controls` report through the
//! binary. The saved files and the flows they explain are read back with
//! DuckDB (tests/py/explanations.py), never with flowlake's code; the
//! expected verdicts are spec/network-context.md §2.11's.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::context_harness::*;
use crate::harness::*;

/// The day of every §2.11 record but none of ours.
pub(crate) const CASE_DAY: &str = "2026-11-20";

/// `flowlake explain --save --lake <lake> <extra>`: (exit code, stdout, stderr).
pub(crate) fn save(lake: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["explain", "--save", "--lake", lake.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&mut flowlake(&args));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn save_ok(lake: &Path, extra: &[&str]) -> String {
    let (code, stdout, stderr) = save(lake, extra);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    stderr
}

/// What DuckDB reads in the lake (see tests/py/explanations.py).
pub(crate) fn duck(python: &Path, lake: &Path, report: Option<&Path>) -> Value {
    let mut args = vec![lake.to_str().unwrap()];
    if let Some(sql) = report {
        args.push(sql.to_str().unwrap());
    }
    py(python, "explanations.py", &args)
}

fn rows(seen: &Value) -> Vec<Value> {
    seen["rows"].as_array().cloned().unwrap_or_default()
}

fn rejects(seen: &Value) -> u64 {
    seen["rejects_by_day"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// Saved rows per day, as DuckDB reads them.
pub(crate) fn rows_by_day(seen: &Value) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for r in rows(seen) {
        let day = r["day"].as_str().unwrap().to_owned();
        let n = out.get(&day).and_then(Value::as_u64).unwrap_or(0);
        out.insert(day, Value::from(n + 1));
    }
    out
}

/// The rows without `explained_at`, sorted: what two saves of the same
/// flows must agree on.
pub(crate) fn content(seen: &Value) -> Vec<String> {
    let mut out: Vec<String> = rows(seen)
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("explained_at");
            r.to_string()
        })
        .collect();
    out.sort();
    out
}

/// More REJECTs, as a second object: two more on the cases' day and one on
/// the next day (01:00Z), on eni-0web's closed RDP port.
pub(crate) fn more_rejects(lake: &Path, name: &str) {
    rejects_from(lake, name, 77);
}

/// The REJECTs of [`more_rejects`] from sources 203.0.113.`first`.. (a
/// different `first` makes a different object).
pub(crate) fn rejects_from(lake: &Path, name: &str, first: u8) {
    let dir = scratch(name);
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction tcp-flags pkt-srcaddr pkt-dstaddr reject-reason";
    let line = |src: &str, sport: u32, start: i64| {
        format!(
            "8 111122223333 eni-0web {src} 10.0.1.10 {sport} 3389 6 1 60 {start} {} REJECT OK ingress 2 {src} 10.0.1.10 -",
            start + 60
        )
    };
    let text = [
        header.to_owned(),
        line(&format!("203.0.113.{first}"), 52000, 1_795_170_000),
        line(&format!("203.0.113.{}", first + 1), 52001, 1_795_170_060),
        line(&format!("203.0.113.{}", first + 2), 52002, 1_795_222_800),
    ]
    .join("\n");
    std::fs::write(dir.join("more.log"), text + "\n").unwrap();
    let (code, summary) = ingest_dir(&dir, lake, &[]);
    assert_eq!(code, 0, "{summary}");
}

/// A §2.11 case: its name, which saved row is its record, and the
/// expected verdict, code and confidence (None: the spec gives none).
type Case = (
    &'static str,
    fn(&Value) -> bool,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

pub(crate) fn table_files(lake: &Path) -> Vec<String> {
    files_under(&lake.join("reject_explanations"))
}

/// A case lake with its explanations saved once, shared by read-only tests.
fn saved_case_lake() -> &'static Path {
    static LAKE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LAKE.get_or_init(|| {
        let lake = case_lake("context-saved", true);
        save_ok(&lake, &[]);
        lake
    })
}

#[test]
fn saved_rows_are_the_spec_verdicts_one_per_reject() {
    let Some(python) = python() else { return };
    let lake = saved_case_lake();
    let seen = duck(&python, lake, None);
    let saved = rows(&seen);
    assert_eq!(saved.len() as u64, rejects(&seen), "{seen:#}");
    let cases: [Case; 12] = [
        (
            "T1",
            |r| r["dstport"] == 3389,
            "SG",
            Some("ENI_SG_RULES_MISMATCH"),
            Some("likely"),
        ),
        (
            "T2",
            |r| r["srcaddr"] == "192.0.2.55" && r["dstport"] == 443,
            "NACL",
            Some("SUBNET_ACL_RESTRICTION"),
            Some("likely"),
        ),
        (
            "T3",
            |r| r["srcport"] == 443 && r["dstport"] == 1500,
            "NACL_RETURN",
            Some("SUBNET_ACL_RESTRICTION"),
            Some("likely"),
        ),
        (
            "T5",
            |r| r["interface_id"] == "eni-0app" && r["dstport"] == 8080,
            "SG",
            Some("ENI_SG_RULES_MISMATCH"),
            Some("likely"),
        ),
        (
            "T6",
            |r| r["start"] == 1_795_172_700_i64,
            "BPA",
            Some("VPC_BLOCK_PUBLIC_ACCESS_ENABLED"),
            Some("certain"),
        ),
        (
            "T7",
            |r| r["srcaddr"] == "192.0.2.55" && r["dstport"] == 22,
            "BOTH",
            Some("SUBNET_ACL_RESTRICTION,ENI_SG_RULES_MISMATCH"),
            Some("likely"),
        ),
        (
            "T8",
            |r| r["interface_id"] == "eni-0task",
            "SG",
            Some("SG_HAS_NO_RULES"),
            Some("likely"),
        ),
        (
            "T9",
            |r| r["dstport"] == 5432 && r["start"] == 1_795_169_100_i64,
            "SG",
            Some("ENI_SG_RULES_MISMATCH"),
            Some("likely"),
        ),
        (
            "T9′",
            |r| r["dstport"] == 5432 && r["start"] == 1_795_165_200_i64,
            "UNEXPLAINED",
            None,
            None,
        ),
        (
            "T9″",
            |r| r["dstport"] == 5432 && r["start"] == 1_795_168_500_i64,
            "SG",
            Some("ENI_SG_RULES_MISMATCH"),
            Some("possible"),
        ),
        (
            "T10",
            |r| r["srcaddr"] == "2001:db8:ffff::5",
            "SG",
            Some("ENI_SG_RULES_MISMATCH"),
            Some("likely"),
        ),
        (
            "T11",
            |r| r["srcport"] == 50010,
            "AFTER_CLOSE",
            None,
            Some("possible"),
        ),
    ];
    for (case, pick, verdict, code, confidence) in cases {
        let found: Vec<&Value> = saved.iter().filter(|r| pick(r)).collect();
        assert_eq!(found.len(), 1, "{case}: {found:#?}");
        let r = found[0];
        assert_eq!(r["verdict"], verdict, "{case}: {r:#}");
        if verdict != "UNEXPLAINED" {
            assert_eq!(r["code"].as_str(), code, "{case}: {r:#}");
        }
        if let Some(confidence) = confidence {
            assert_eq!(r["confidence"], confidence, "{case}: {r:#}");
        }
        assert_eq!(r["day"], CASE_DAY, "{case}: {r:#}");
    }
    // One run, one time, on every row; and one object per day.
    let stamps: std::collections::BTreeSet<&str> = saved
        .iter()
        .map(|r| r["explained_at"].as_str().unwrap())
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    assert_eq!(
        table_files(lake),
        [format!("day={CASE_DAY}/part-0.parquet")],
        "one object per day"
    );
}

#[test]
fn saving_again_replaces_each_day() {
    let Some(python) = python() else { return };
    let lake = case_lake("context-save-again", true);
    save_ok(&lake, &[]);
    let first = duck(&python, &lake, None);
    save_ok(&lake, &[]);
    let second = duck(&python, &lake, None);
    assert_eq!(rows(&second).len() as u64, rejects(&second));
    assert_eq!(content(&second), content(&first), "a re-run adds nothing");

    // More REJECTs for the same day (and the next): the day is replaced,
    // and each day holds exactly the REJECTs DuckDB counts in flows.
    more_rejects(&lake, "context-save-again-more");
    save_ok(&lake, &[]);
    let third = duck(&python, &lake, None);
    assert!(rejects(&third) > rejects(&second), "{third:#}");
    assert_eq!(
        rows_by_day(&third),
        *third["rejects_by_day"].as_object().unwrap()
    );
    assert_eq!(
        table_files(&lake),
        [
            format!("day={CASE_DAY}/part-0.parquet"),
            "day=2026-11-21/part-0.parquet".to_owned()
        ]
    );
}

#[test]
fn a_partial_day_window_saves_the_whole_day() {
    let Some(python) = python() else { return };
    let lake = case_lake("context-save-window", true);
    more_rejects(&lake, "context-save-window-more");
    // Ten minutes of the cases' day: the whole day is saved, the next day not.
    let stderr = save_ok(
        &lake,
        &[
            "--from",
            "2026-11-20T10:00:00Z",
            "--to",
            "2026-11-20T10:10:00Z",
        ],
    );
    assert!(
        stderr.contains("widened --from/--to to whole UTC days"),
        "{stderr}"
    );
    let seen = duck(&python, &lake, None);
    let by_day = rows_by_day(&seen);
    assert_eq!(by_day.len(), 1, "{by_day:?}");
    assert_eq!(
        by_day[CASE_DAY], seen["rejects_by_day"][CASE_DAY],
        "{seen:#}"
    );

    // The session windows the table as it windows flows.
    let (from, to) = (1_795_168_800_i64, 1_795_169_400_i64);
    let in_window = rows(&seen)
        .iter()
        .filter(|r| (from..to).contains(&r["start"].as_i64().unwrap()))
        .count();
    assert!(in_window > 0 && in_window < rows(&seen).len());
    let counted = sql_json(&lake, "SELECT count(*) AS n FROM reject_explanations");
    assert_eq!(counted[0]["n"].as_u64(), Some(rows(&seen).len() as u64));
    let out = ok(&mut flowlake(&[
        "sql",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        "2026-11-20T10:00:00Z",
        "--to",
        "2026-11-20T10:10:00Z",
        "--format",
        "json",
        "SELECT count(*) AS n FROM reject_explanations",
    ]));
    assert_eq!(json(&out)[0]["n"].as_u64(), Some(in_window as u64));
}

#[test]
fn a_day_without_rejects_now_loses_its_object_and_other_days_stay() {
    let Some(python) = python() else { return };
    let lake = case_lake("context-save-emptied", true);
    more_rejects(&lake, "context-save-emptied-more");
    save_ok(&lake, &[]);
    assert_eq!(table_files(&lake).len(), 2);
    let case_day = lake.join(format!("reject_explanations/day={CASE_DAY}/part-0.parquet"));
    let before = std::fs::read(&case_day).unwrap();
    // The next day's flows go (as retention would drop them); a save of
    // that day leaves it without an object and the cases' day untouched.
    std::fs::remove_dir_all(lake.join("flows/day=2026-11-21")).unwrap();
    save_ok(
        &lake,
        &[
            "--from",
            "2026-11-21T00:00:00Z",
            "--to",
            "2026-11-22T00:00:00Z",
        ],
    );
    assert_eq!(
        table_files(&lake),
        [format!("day={CASE_DAY}/part-0.parquet")]
    );
    assert_eq!(std::fs::read(&case_day).unwrap(), before);
    let seen = duck(&python, &lake, None);
    assert_eq!(
        rows_by_day(&seen),
        *seen["rejects_by_day"].as_object().unwrap()
    );
}

#[test]
fn save_refuses_where_and_silent_drops() {
    let lake = case_lake("context-save-refused", false);
    for (extra, says) in [
        (
            &["--where", "dstport = 3389"][..],
            "--where cannot be used with --save",
        ),
        (
            &["--silent-drops"][..],
            "--silent-drops cannot be used with --save",
        ),
    ] {
        let (code, _, stderr) = save(&lake, extra);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    assert!(!lake.join("reject_explanations").exists());
}

#[test]
fn top_rejecting_controls_is_its_sql_in_duckdb() {
    let Some(python) = python() else { return };
    let lake = saved_case_lake();
    let sql =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("query/src/reports/top-rejecting-controls.sql");
    let seen = duck(&python, lake, Some(&sql));
    let theirs = &seen["report"];
    let columns: Vec<&str> = theirs["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let ours = report_rows(lake, "top-rejecting-controls", &["--limit", "0"]);
    let text = |v: &Value| match v {
        Value::Null => Value::Null,
        Value::String(s) => Value::from(s.clone()),
        other => Value::from(other.to_string()),
    };
    let as_rows = |rows: Vec<Vec<Value>>| {
        let mut rows: Vec<String> = rows
            .into_iter()
            .map(|r| Value::from(r).to_string())
            .collect();
        rows.sort();
        rows
    };
    let our_rows: Vec<Vec<Value>> = ours
        .iter()
        .map(|r| columns.iter().map(|c| text(&r[*c])).collect())
        .collect();
    let their_rows: Vec<Vec<Value>> = theirs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().clone())
        .collect();
    assert!(!their_rows.is_empty());
    assert_eq!(as_rows(our_rows), as_rows(their_rows));
    // Every REJECT is counted once, and the most frequent come first.
    let counts: Vec<u64> = ours
        .iter()
        .map(|r| r["records"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), rejects(&seen));
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

#[test]
fn top_rejecting_controls_without_a_save_says_how_to_get_one() {
    let lake = case_lake("context-unsaved", false);
    let out = run(&mut flowlake(&[
        "report",
        "top-rejecting-controls",
        "--lake",
        lake.to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("reject_explanations") && stderr.contains("flowlake explain --save"),
        "{stderr}"
    );
}
