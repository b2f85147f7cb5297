//! `flowlake prune`: whole hour partitions past the cutoff leave the lake
//! (DuckDB and flowlake's SQL agree), the ledger still names every file
//! once, a re-ingest of the same folder does not bring them back, and a
//! crash at any step leaves each partition either whole or gone.

use std::path::Path;

use crate::harness::*;

/// 2024-05-25T00:00:00Z.
const T0: i64 = 1_716_595_200;

/// `n` records starting in hour `hour` after T0 (bytes = `base + i`).
fn lines(hour: i64, n: i64, base: i64) -> String {
    (0..n)
        .map(|i| {
            let t = T0 + hour * 3600 + i;
            format!(
                "2 123456789012 eni-0abc 10.0.0.1 10.0.0.2 {} 443 6 1 {} {t} {} ACCEPT OK\n",
                1024 + i,
                base + i,
                t + 1
            )
        })
        .collect()
}

fn folder(dir: &Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("h0.log"), lines(0, 10, 0)).unwrap();
    std::fs::write(logs.join("h1.log"), lines(1, 20, 100)).unwrap();
    // One object with records in hours 1 and 2: its entry keeps hour 2.
    std::fs::write(logs.join("h12.log"), lines(1, 5, 200) + &lines(2, 7, 300)).unwrap();
    std::fs::write(logs.join("h2.log"), lines(2, 30, 400)).unwrap();
    logs
}

/// `--older-than` putting the cutoff at the end of hour 1 (T0 + 2 h).
fn older_than_hour_1() -> String {
    let now = chrono::Utc::now().timestamp();
    format!("{}s", now - (T0 + 2 * 3600))
}

fn sum_bytes(lake: &Path) -> (u64, u64) {
    let row = &sql_json(lake, "SELECT count(*) AS n, sum(bytes) AS b FROM flows")[0];
    (row["n"].as_u64().unwrap(), row["b"].as_u64().unwrap_or(0))
}

fn expected_after() -> (u64, u64) {
    let hour2: Vec<u64> = (300..307).chain(400..430).collect();
    (hour2.len() as u64, hour2.iter().sum())
}

fn assert_at_rest(python: &Path, lake: &Path) {
    assert_ledger_names_every_file_once(lake);
    assert_rollups_agree(python, lake);
    let rows = lake_rows(python, lake, &["bytes"]);
    let (n, b) = expected_after();
    assert_eq!(rows.len() as u64, n);
    assert_eq!(
        rows.iter()
            .map(|r| r[0].parse::<u64>().unwrap())
            .sum::<u64>(),
        b
    );
}

#[test]
fn old_partitions_go_once_and_stay_gone() {
    let Some(python) = python() else { return };
    let dir = scratch("prune");
    let logs = folder(&dir);
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&logs, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    let before = sum_bytes(&lake);

    let out = run(&mut flowlake(&[
        "prune",
        "--lake",
        lake.to_str().unwrap(),
        "--older-than",
        &older_than_hour_1(),
        "--json",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        summary["partitions"].as_array().unwrap().len(),
        2,
        "{summary}"
    );
    assert_eq!(
        summary["records"].as_u64(),
        Some(before.0 - expected_after().0)
    );
    assert_eq!(sum_bytes(&lake), expected_after());
    assert_at_rest(&python, &lake);

    // The pruned objects are still known: ingesting the folder again adds nothing.
    let (code, again) = ingest_dir(&logs, &lake, &[]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(sum_bytes(&lake), expected_after(), "{again}");
}

#[test]
fn a_crash_at_any_step_of_a_prune_leaves_each_partition_whole_or_gone() {
    let Some(python) = python() else { return };
    let dir = scratch("prune-crash");
    let logs = folder(&dir);
    let base = dir.join("lake");
    let (code, summary) = ingest_dir(&logs, &base, &[]);
    assert_eq!(code, 0, "{summary}");
    let all = sum_bytes(&base);
    let hour0: u64 = (0..10).sum();
    let allowed = [all, (all.0 - 10, all.1 - hour0), expected_after()];
    for (point, n) in [
        ("intent", 1),
        ("ledger", 1),
        ("retire", 1),
        ("retire", 3),
        ("cleanup", 1),
        ("ledger", 2),
        ("retire", 6),
    ] {
        let lake = copy_lake(&base, &format!("lake-{point}-{n}"));
        let older_than = older_than_hour_1();
        let args = [
            "prune",
            "--lake",
            lake.to_str().unwrap(),
            "--older-than",
            &older_than,
        ];
        crash_after(&args, point, n);
        let seen = sum_bytes(&lake);
        assert!(
            allowed.contains(&seen),
            "after a crash at {point}:{n}: {seen:?} is not one of {allowed:?}"
        );
        let out = run(&mut flowlake(&[
            "prune",
            "--lake",
            lake.to_str().unwrap(),
            "--older-than",
            &older_than_hour_1(),
        ]));
        assert!(
            out.status.success(),
            "{point}:{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sum_bytes(&lake), expected_after(), "{point}:{n}");
        assert_at_rest(&python, &lake);
    }
}
