//! Ingest from S3 against a real S3 server (moto): both key layouts,
//! incremental re-runs, changed objects, filters, kill and resume, injected
//! server faults, clear failures, and a lake that itself lives on S3.

use std::path::Path;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

fn paths(manifest: &Value) -> Vec<String> {
    manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_owned())
        .collect()
}

fn records_of(manifest: &Value, wanted: &[String]) -> u64 {
    manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| wanted.iter().any(|w| w == o["path"].as_str().unwrap()))
        .map(|o| o["records"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_bucket_in_both_layouts_ingests_incrementally_and_exactly_once() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-incremental");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 12_000, 8, 31);
    let all = paths(&manifest);
    let (plain, hive) = all.split_at(4);
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    let hive: Vec<&str> = hive[..2].iter().map(String::as_str).collect();
    s3_put(
        &python,
        &moto.endpoint,
        "incremental",
        &sample,
        "flowlogs/",
        false,
        Some(&plain),
    );
    s3_put(
        &python,
        &moto.endpoint,
        "incremental",
        &sample,
        "flowlogs/",
        true,
        Some(&hive),
    );
    let lake = dir.join("lake");
    let lake = lake.to_str().unwrap();
    let url = "s3://incremental/flowlogs";

    let (code, first) = ingest_s3(&moto.endpoint, url, lake, &[]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["objects"]["ingested"], 6);
    let expected: Vec<String> = plain.iter().chain(&hive).map(|s| s.to_string()).collect();
    assert_eq!(first["records_written"], records_of(&manifest, &expected));

    // Nothing new: nothing read.
    let (_, again) = ingest_s3(&moto.endpoint, url, lake, &[]);
    assert_eq!(again["objects"]["already_done"], 6);
    assert_eq!(again["objects"]["ingested"], 0);
    assert_eq!(again["bytes_in"], 0);

    // New objects: only they are read.
    let rest: Vec<&str> = all[6..].iter().map(String::as_str).collect();
    s3_put(
        &python,
        &moto.endpoint,
        "incremental",
        &sample,
        "flowlogs/",
        true,
        Some(&rest),
    );
    let (_, third) = ingest_s3(&moto.endpoint, url, lake, &[]);
    assert_eq!(third["objects"]["ingested"], 2);
    assert_eq!(third["records_written"], records_of(&manifest, &all[6..]));
    assert_eq!(count(Path::new(lake)), manifest_sum(&manifest, "records"));

    // An object rewritten in place (new ETag): its old records are replaced.
    let other = generate(&dir.join("other"), 3_000, 1, 32);
    let replacement = dir
        .join("other")
        .join(other["objects"][0]["path"].as_str().unwrap());
    py(
        &python,
        "s3.py",
        &[
            "put-file",
            &moto.endpoint,
            "incremental",
            &format!("flowlogs/{}", all[0]),
            replacement.to_str().unwrap(),
        ],
    );
    let (_, fourth) = ingest_s3(&moto.endpoint, url, lake, &[]);
    assert_eq!(fourth["objects"]["ingested"], 1);
    assert_eq!(fourth["objects"]["replaced"], 1);
    let expected_total =
        manifest_sum(&manifest, "records") - records_of(&manifest, &all[..1]) + 3_000;
    assert_eq!(count(Path::new(lake)), expected_total);

    // An unreadable object is reported by key and skipped; the rest is unharmed.
    let broken = dir.join("broken.log.gz");
    std::fs::write(&broken, b"\x1f\x8b not really gzip").unwrap();
    let key = "flowlogs/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/05/25/broken.log.gz";
    py(
        &python,
        "s3.py",
        &[
            "put-file",
            &moto.endpoint,
            "incremental",
            key,
            broken.to_str().unwrap(),
        ],
    );
    let (code, fifth) = ingest_s3(&moto.endpoint, url, lake, &[]);
    assert_eq!(code, 1, "{fifth}");
    assert_eq!(fifth["objects"]["failed"], 1);
    let failed = fifth["failures"][0]["object"].as_str().unwrap();
    assert!(failed.ends_with(key), "{fifth}");
    assert_eq!(count(Path::new(lake)), expected_total);
}

#[test]
fn account_region_and_time_filters_narrow_what_is_read() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-filters");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 8_000, 16, 33);
    s3_put(&python, &moto.endpoint, "filters", &sample, "", false, None);
    let all = paths(&manifest);
    let lake = |n: &str| dir.join(n).to_string_lossy().into_owned();

    let (_, by_account) = ingest_s3(
        &moto.endpoint,
        "s3://filters",
        &lake("a"),
        &["--account", "111122223333"],
    );
    let want: Vec<String> = all
        .iter()
        .filter(|p| p.contains("/111122223333/"))
        .cloned()
        .collect();
    assert_eq!(by_account["objects"]["listed"], want.len());
    assert_eq!(by_account["records_written"], records_of(&manifest, &want));

    let (_, by_region) = ingest_s3(
        &moto.endpoint,
        "s3://filters",
        &lake("r"),
        &["--region", "eu-west-1"],
    );
    let want: Vec<String> = all
        .iter()
        .filter(|p| p.contains("/eu-west-1/"))
        .cloned()
        .collect();
    assert_eq!(by_region["objects"]["listed"], want.len());

    // Objects are 22.5 minutes apart from 00:00; a 2-hour window plus the
    // hour of slack either side keeps objects stamped 01:00 to 05:00.
    let (_, by_time) = ingest_s3(
        &moto.endpoint,
        "s3://filters",
        &lake("t"),
        &[
            "--from",
            "2024-05-25T02:00:00Z",
            "--to",
            "2024-05-25T04:00:00Z",
        ],
    );
    let want: Vec<String> = all
        .iter()
        .filter(|p| {
            let stamp = p.rsplit('_').nth(1).unwrap(); // 20240525T0130Z
            let hhmm: u32 = stamp[9..13].parse().unwrap();
            (100..500).contains(&hhmm)
        })
        .cloned()
        .collect();
    assert_eq!(by_time["objects"]["listed"], want.len(), "{by_time}");
}

#[test]
fn a_killed_run_resumes_and_leaves_each_record_once() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-kill");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 60_000, 20, 34);
    s3_put(
        &python,
        &moto.endpoint,
        "killed",
        &sample,
        "x/",
        false,
        None,
    );
    let mut interrupted = 0;
    for (i, delay) in [300u64, 900].into_iter().enumerate() {
        let lake = dir.join(format!("lake-{i}"));
        let mut child = flowlake_s3(
            &moto.endpoint,
            &[
                "ingest",
                "s3",
                "s3://killed/x",
                "--lake",
                lake.to_str().unwrap(),
                "--quiet",
            ],
        )
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let (code, summary) =
            ingest_s3(&moto.endpoint, "s3://killed/x", lake.to_str().unwrap(), &[]);
        assert_eq!(code, 0, "{summary}");
        assert_eq!(
            count(&lake),
            manifest_sum(&manifest, "records"),
            "{summary}"
        );
        assert!(files_under(&lake.join("_flowlake/pending")).is_empty());
        interrupted += u64::from(summary["objects"]["ingested"].as_u64().unwrap() > 0);
    }
    assert!(interrupted > 0, "at least one kill landed mid-run");
}

#[test]
fn throttling_and_dropped_connections_are_retried() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-faults");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 10_000, 12, 35);
    s3_put(&python, &moto.endpoint, "faulty", &sample, "", false, None);
    let mut proxy = FaultProxy::start(&python, &moto.endpoint, &dir, (3, 4, 0));
    let endpoint = proxy.endpoint.clone();
    let lake = dir.join("lake");
    let (code, summary) = ingest_s3(&endpoint, "s3://faulty", lake.to_str().unwrap(), &[]);
    let faults = proxy.stop();
    assert!(
        faults.contains("slowdown") && faults.contains("dropped"),
        "faults were injected: {faults}"
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["objects"]["ingested"], 12);
    assert_eq!(count(&lake), manifest_sum(&manifest, "records"));
}

#[test]
fn wrong_credentials_and_a_missing_bucket_fail_fast_and_clearly() {
    let Some(_) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-fail");
    let started = Instant::now();
    let out = run(&mut flowlake_s3(
        &moto.endpoint,
        &[
            "ingest",
            "s3",
            "s3://no-such-bucket/logs",
            "--lake",
            dir.join("a").to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-bucket") && err.contains("bucket does not exist"),
        "{err}"
    );

    let strict = moto_with_auth().unwrap();
    let out = run(&mut flowlake_s3(
        &strict.endpoint,
        &[
            "ingest",
            "s3",
            "s3://any-bucket/logs",
            "--lake",
            dir.join("b").to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("credentials were rejected"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no retry loop: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_lake_on_s3_is_exactly_once_and_readable_by_others() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("s3-lake");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 9_000, 6, 36);
    // The lake's bucket must exist; put anything to create it.
    py(
        &python,
        "s3.py",
        &[
            "put",
            &moto.endpoint,
            "lakes",
            sample.to_str().unwrap(),
            "unrelated/",
            "--only",
            "none",
        ],
    );
    let lake = "s3://lakes/one/lake";
    let records = manifest_sum(&manifest, "records");

    // Crash half-way through committing, then run again.
    let crashed = run(fast_lease(&mut flowlake_s3(
        &moto.endpoint,
        &["ingest", "dir", sample.to_str().unwrap(), "--lake", lake],
    ))
    .env("FLOWLAKE_CRASH_AFTER", "publish:4"));
    assert!(!crashed.status.success());
    // The dead run's lease blocks other writers until it goes stale (no
    // refresh for the stale limit, by S3's clock; shortened for tests).
    let busy = run(fast_lease(&mut flowlake_s3(
        &moto.endpoint,
        &["ingest", "dir", sample.to_str().unwrap(), "--lake", lake],
    )));
    assert_eq!(
        busy.status.code(),
        Some(2),
        "a fresh lease blocks a second writer"
    );
    std::thread::sleep(lease_takeover_wait());
    let (code, summary) = ingest_s3_lake_dir(&moto.endpoint, &sample, lake);
    assert_eq!(code, 0, "{summary}");
    let (_, again) = ingest_s3_lake_dir(&moto.endpoint, &sample, lake);
    assert_eq!(again["objects"]["ingested"], 0);

    let rows = json(&ok(&mut flowlake_s3(
        &moto.endpoint,
        &[
            "sql",
            "--lake",
            lake,
            "--format",
            "json",
            "SELECT count(*) AS n FROM flows",
        ],
    )));
    assert_eq!(rows[0]["n"], records);
    let theirs = py(&python, "s3.py", &["count", &moto.endpoint, lake]);
    assert_eq!(theirs["rows"], records, "pyarrow over S3 agrees");
    assert_eq!(theirs["stray"], serde_json::json!([]));
}

fn ingest_s3_lake_dir(endpoint: &str, sample: &Path, lake: &str) -> (i32, Value) {
    let out = run(&mut ingest_dir_to_s3_lake(endpoint, sample, lake, &[]));
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&String::from_utf8_lossy(&out.stdout)))
}
