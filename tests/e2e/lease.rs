//! The S3 lake lease as a lock, through the binary against moto: writers
//! started together, and a writer paused (SIGSTOP) past the stale limit
//! while another takes over. Every record must end in the lake exactly
//! once, counted by flowlake and by pyarrow reading the lake's files.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// `flowlake ingest dir <sample> --lake <lake> --json` on S3 with the short
/// lease, on one thread.
fn writer(endpoint: &str, sample: &Path, lake: &str) -> Command {
    ingest_dir_to_s3_lake(endpoint, sample, lake, &["--threads", "1"])
}

struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn summary(&self) -> Value {
        json(&self.stdout)
    }
}

fn finish(mut child: Child, limit: Duration) -> Finished {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            let mut stderr = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            if let Some(mut err) = child.stderr.take() {
                err.read_to_string(&mut stderr).unwrap();
            }
            return Finished {
                code: status.code().unwrap_or(-1),
                stdout,
                stderr,
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("writer {} did not finish within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process state letter from /proc (T: stopped).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

fn lake_rows(python: &Path, endpoint: &str, lake: &str) -> (u64, u64) {
    let ours = json(&ok(&mut flowlake_s3(
        endpoint,
        &[
            "sql",
            "--lake",
            lake,
            "--format",
            "json",
            "SELECT count(*) AS n FROM flows",
        ],
    )));
    let theirs = py(python, "s3.py", &["count", endpoint, lake]);
    assert_eq!(theirs["stray"], serde_json::json!([]));
    (
        ours[0]["n"].as_u64().unwrap(),
        theirs["rows"].as_u64().unwrap(),
    )
}

#[test]
fn writers_started_together_on_an_s3_lake_leave_each_record_once() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("lease-together");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 12_000, 8, 41);
    let records = manifest_sum(&manifest, "records");
    s3_bucket(&python, &moto.endpoint, "lease-together", &dir);
    let lake = "s3://lease-together/lake";

    // A run that died mid-commit leaves its lease and a pending intent.
    let crashed =
        run(writer(&moto.endpoint, &sample, lake).env("FLOWLAKE_CRASH_AFTER", "publish:3"));
    assert!(!crashed.status.success());
    let pending = s3_keys(
        &python,
        &moto.endpoint,
        "lease-together",
        "lake/_flowlake/pending",
    );
    assert!(!pending.is_empty(), "the crash left an intent to recover");
    // Its lease, as an older flowlake wrote it, long expired by its own
    // clock; then aged past the stale limit by S3's clock too.
    let stale = dir.join("stale-lease.json");
    std::fs::write(&stale, r#"{"owner":"dead:1","refreshed_at":0}"#).unwrap();
    py(
        &python,
        "s3.py",
        &[
            "put-file",
            &moto.endpoint,
            "lease-together",
            "lake/_flowlake/lease.json",
            stale.to_str().unwrap(),
        ],
    );
    std::thread::sleep(lease_takeover_wait());

    let children: Vec<Child> = (0..4)
        .map(|_| {
            writer(&moto.endpoint, &sample, lake)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let done: Vec<Finished> = children
        .into_iter()
        .map(|c| finish(c, Duration::from_secs(120)))
        .collect();
    let report: Vec<String> = done
        .iter()
        .map(|f| format!("exit {}: {} {}", f.code, f.stdout.trim(), f.stderr.trim()))
        .collect();
    let ingesting: Vec<&Finished> = done
        .iter()
        .filter(|f| f.code == 0 && f.summary()["objects"]["ingested"].as_u64().unwrap() > 0)
        .collect();
    assert_eq!(
        ingesting.len(),
        1,
        "exactly one writer ingests: {report:#?}"
    );
    let winner = ingesting[0].summary();
    assert!(
        winner["objects"]["recovered"].as_u64().unwrap() >= 1,
        "{winner}"
    );
    for f in &done {
        let refused = f.code == 2 && f.stderr.contains("another flowlake ingest is writing");
        let came_after = f.code == 0 && f.summary()["objects"]["ingested"] == 0;
        let the_winner = f.code == 0 && !came_after;
        assert!(refused || came_after || the_winner, "{report:#?}");
    }

    assert_eq!(lake_rows(&python, &moto.endpoint, lake), (records, records));
    let pending = s3_keys(
        &python,
        &moto.endpoint,
        "lease-together",
        "lake/_flowlake/pending",
    );
    assert!(pending.is_empty(), "{pending:?}");
    let again = run(&mut writer(&moto.endpoint, &sample, lake));
    assert_eq!(again.status.code(), Some(0));
    let again = json(&String::from_utf8_lossy(&again.stdout));
    assert_eq!(again["objects"]["ingested"], 0, "{again}");
}

#[test]
fn a_writer_paused_past_the_stale_limit_loses_the_lease_and_no_record_is_lost_or_doubled() {
    let Some(python) = python() else { return };
    let moto = moto().unwrap();
    let dir = scratch("lease-paused");
    let sample = dir.join("sample");
    let manifest = generate(&sample, 16_000, 16, 42);
    let records = manifest_sum(&manifest, "records");
    let objects = manifest["objects"].as_array().unwrap().len() as u64;
    s3_bucket(&python, &moto.endpoint, "lease-paused", &dir);
    let lake = "s3://lease-paused/lake";

    // Writer A stops itself (SIGSTOP) at its 4th commit point: after the
    // lease check, before the ledger entry is written (the worst moment).
    let a = writer(&moto.endpoint, &sample, lake)
        .env("FLOWLAKE_TEST_STOP_AT_COMMIT", "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let a_pid = a.id();
    let started = Instant::now();
    while state(a_pid) != Some('T') {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "writer A never reached its 4th commit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // While A's lease is fresh, another writer is refused.
    let early = run(&mut writer(&moto.endpoint, &sample, lake));
    assert_eq!(early.status.code(), Some(2));
    let err = String::from_utf8_lossy(&early.stderr);
    assert!(err.contains("another flowlake ingest is writing"), "{err}");

    // Past the stale limit by S3's clock, writer B takes over; A resumes
    // while B is running (right after B took the lease).
    std::thread::sleep(lease_takeover_wait());
    let mut b = writer(&moto.endpoint, &sample, lake)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b_err = b.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(b_err).lines() {
            let line = line.unwrap();
            if line.contains("Taking over a stale lake lease") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let took_over = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    signal(a_pid, "-CONT");
    let a = finish(a, Duration::from_secs(60));
    let b = finish(b, Duration::from_secs(120));
    let b_stderr = reader.join().unwrap();
    assert!(took_over, "B took the stale lease over: {b_stderr}");

    assert_eq!(
        a.code, 2,
        "A exits with an error: {} {}",
        a.stdout, a.stderr
    );
    assert!(
        a.stderr.contains("lost the lake lease"),
        "A says it lost the lease: {}",
        a.stderr
    );
    assert_eq!(b.code, 0, "{} {b_stderr}", b.stdout);
    let summary = b.summary();
    let done = summary["objects"]["already_done"].as_u64().unwrap();
    let ingested = summary["objects"]["ingested"].as_u64().unwrap();
    assert!(
        done >= 3 && ingested >= 1,
        "the pause landed mid-run: {summary}"
    );
    assert_eq!(done + ingested, objects, "{summary}");

    assert_eq!(lake_rows(&python, &moto.endpoint, lake), (records, records));
    let pending = s3_keys(
        &python,
        &moto.endpoint,
        "lease-paused",
        "lake/_flowlake/pending",
    );
    assert!(pending.is_empty(), "{pending:?}");
    let again = run(&mut writer(&moto.endpoint, &sample, lake));
    assert_eq!(again.status.code(), Some(0));
    let again = json(&String::from_utf8_lossy(&again.stdout));
    assert_eq!(again["objects"]["ingested"], 0, "{again}");
    assert_eq!(again["objects"]["failed"], 0, "{again}");
}
