//! `flowlake run --config` as a scheduler runs it, with alert rules: a scan
//! in the flow logs of a watched folder notifies a webhook (a real HTTP
//! receiver here) once; runs that find it still firing inside the
//! suppression period stay quiet; new scan traffic after the period
//! notifies again; its end is notified as resolved; a notification the
//! webhook refused is delivered by the next run; a malformed rule file
//! stops the job before it ingests anything, naming the file, line and rule.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::harness::*;

/// 2024-05-25T00:00:00Z.
const T0: i64 = 1_716_595_200;

/// A local webhook receiver: every JSON body it accepted, and how many
/// requests it should still refuse with a 500.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    refuse: Arc<Mutex<u32>>,
}

impl Receiver {
    fn start() -> (Receiver, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let receiver = Receiver::default();
        let shared = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        (receiver, url)
    }

    /// Answers the requests of one connection (keep-alive) until it closes.
    fn serve(&self, stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut length = 0;
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let refuse = {
                let mut left = self.refuse.lock().unwrap();
                let refuse = *left > 0;
                *left = left.saturating_sub(1);
                refuse
            };
            let status = if refuse {
                "500 Internal Server Error"
            } else {
                self.bodies
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "200 OK"
            };
            write!(writer, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").unwrap();
        }
    }

    fn received(&self) -> Vec<(String, String, String)> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                let s = |k: &str| b[k].as_str().unwrap().to_owned();
                (s("rule"), s("key"), s("status"))
            })
            .collect()
    }
}

/// Writes flow logs starting at `at` (Unix seconds): `scan_ports` rejected
/// ports from 203.0.113.66 and twenty accepted HTTPS flows.
fn write_logs(dir: &Path, name: &str, at: i64, scan_ports: u16) {
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for p in 0..scan_ports {
        let t = at + i64::from(p);
        text.push_str(&format!(
            "2 123456789012 eni-0web 203.0.113.66 10.0.1.5 40000 {} 6 1 40 {t} {} REJECT OK\n",
            1000 + p,
            t + 1
        ));
    }
    for i in 0..20 {
        let t = at + i;
        text.push_str(&format!(
            "2 123456789012 eni-0web 10.0.1.5 10.0.2.7 5{i:04} 443 6 10 5000 {t} {} ACCEPT OK\n",
            t + 5
        ));
    }
    std::fs::write(dir.join(name), text).unwrap();
}

fn at(seconds_after_t0: i64) -> String {
    chrono::DateTime::from_timestamp(T0 + seconds_after_t0, 0)
        .unwrap()
        .to_rfc3339()
}

/// `flowlake run` at a time: (exit code, JSON summary, stderr).
fn job(config: &Path, when: i64) -> (i32, Value, String) {
    let out = run(&mut flowlake(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--at",
        &at(when),
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(dir: &Path, rules: &str, webhook: &str) -> std::path::PathBuf {
    let path = dir.join("flowlake.toml");
    std::fs::write(
        &path,
        format!(
            "lake = {:?}\n\n[[sources]]\ntype = \"dir\"\npath = {:?}\n\n[alerts]\nrules = {:?}\nwebhook = {:?}\n",
            dir.join("lake").to_str().unwrap(),
            dir.join("logs").to_str().unwrap(),
            rules,
            webhook
        ),
    )
    .unwrap();
    path
}

const H: i64 = 3600;

#[test]
fn a_scan_notifies_once_per_suppression_period_and_when_it_ends() {
    let dir = scratch("job-alerts");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (hook, url) = Receiver::start();
    let config = config(&dir, "builtin", &url);
    let scan = || ("port-scan".to_owned(), "203.0.113.66".to_owned());
    let firing = |(r, k): (String, String)| (r, k, "firing".to_owned());

    write_logs(&logs, "scan-1.log", T0, 31);
    let (code, summary, stderr) = job(&config, 10 * 60);
    assert_eq!(code, 1, "an alert fires: {summary}\n{stderr}");
    let steps = summary["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names[0], format!("ingest dir {}", logs.display()));
    assert_eq!(&names[1..], ["compact", "alerts check"]);
    assert_eq!(steps[0]["summary"]["lines"]["records"], 51, "{summary}");
    let alerts = &steps[2]["summary"];
    assert_eq!(alerts["firing"].as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts["firing"][0]["values"]["value"], 31, "{alerts}");
    assert_eq!(hook.received(), [firing(scan())]);

    // Ten minutes on, nothing new: still firing, not notified again.
    let (code, summary, _) = job(&config, 20 * 60);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(hook.received().len(), 1);

    // New scan traffic inside the day: still within the suppression period.
    write_logs(&logs, "scan-2.log", T0 + 22 * H + 50 * 60, 40);
    let (code, _, _) = job(&config, 23 * H);
    assert_eq!(code, 1);
    assert_eq!(hook.received().len(), 1, "suppressed for 24 h");

    // After the period, the scan still going: notified again. The webhook
    // refuses it first; the run says so, and the next run delivers it.
    write_logs(&logs, "scan-3.log", T0 + 25 * H, 40);
    *hook.refuse.lock().unwrap() = 3;
    let (code, summary, stderr) = job(&config, 25 * H + 10 * 60);
    assert_eq!(code, 1, "{summary}");
    assert!(stderr.contains("not delivered"), "{stderr}");
    assert_eq!(hook.received().len(), 1);
    let (code, _, _) = job(&config, 25 * H + 20 * 60);
    assert_eq!(code, 1);
    assert_eq!(hook.received(), [firing(scan()), firing(scan())]);

    // Hours later the window holds no scan: resolved, once.
    let (code, summary, _) = job(&config, 28 * H);
    assert_eq!(code, 0, "{summary}");
    let (code, _, _) = job(&config, 29 * H);
    assert_eq!(code, 0);
    let received = hook.received();
    assert_eq!(received.len(), 3, "{received:?}");
    assert_eq!(
        received[2],
        ("port-scan".into(), "203.0.113.66".into(), "resolved".into())
    );
}

#[test]
fn a_malformed_rule_file_stops_the_job_naming_file_line_and_rule() {
    let dir = scratch("job-bad-rules");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    write_logs(&logs, "scan.log", T0, 31);
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"db-from-internet\"\naction = \"REJECT\"\ndstport = [5432]\nthreshold = 5\n\n[[rule]]\nname = \"typo\"\naction = \"REJECT\"\ntreshold = 5\n",
    )
    .unwrap();
    let config = config(&dir, rules.to_str().unwrap(), "http://127.0.0.1:9/none");
    let (code, _, stderr) = job(&config, 600);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("rules.toml line 10: rule \"typo\"") && stderr.contains("treshold"),
        "{stderr}"
    );
    assert!(
        !dir.join("lake").join("flows").exists(),
        "nothing is ingested when the job's configuration is wrong"
    );

    // `alerts test` says the same, and passes a good file.
    let out = run(&mut flowlake(&[
        "alerts",
        "test",
        "--rules",
        rules.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 10: rule \"typo\""));
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"db-from-internet\"\naction = \"REJECT\"\ndstport = [5432]\nsrc = \"internet\"\nthreshold = 5\n",
    )
    .unwrap();
    let out = run(&mut flowlake(&[
        "alerts",
        "test",
        "--rules",
        rules.to_str().unwrap(),
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A rule whose SQL does not plan is named.
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"bad-sql\"\nsql = \"SELECT srcaddr AS key FROM flows WHERE nonexistent = 1\"\n",
    )
    .unwrap();
    let out = run(&mut flowlake(&[
        "alerts",
        "test",
        "--rules",
        rules.to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("bad-sql") && stderr.contains("nonexistent"),
        "{stderr}"
    );
}

#[test]
fn two_checks_at_once_notify_once() {
    let dir = scratch("job-overlap");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    write_logs(&logs, "scan.log", T0, 31);
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&logs, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    let (hook, url) = Receiver::start();
    let when = at(600);
    let checks: Vec<std::process::Child> = (0..4)
        .map(|_| {
            flowlake(&[
                "alerts",
                "check",
                "--lake",
                lake.to_str().unwrap(),
                "--webhook",
                &url,
                "--at",
                &when,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in checks {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Each either checked (1: the scan fires) or found another check
        // holding the alerts lock and said so (2).
        match out.status.code() {
            Some(1) => {}
            Some(2) => assert!(stderr.contains("alerts/lock"), "{stderr}"),
            other => panic!("{other:?}: {stderr}"),
        }
    }
    assert_eq!(hook.received().len(), 1, "{:?}", hook.received());
}

#[test]
fn alerts_are_checked_while_a_sink_holds_the_writer_lock() {
    let dir = scratch("job-beside-sink");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    write_logs(&logs, "scan.log", T0, 31);
    let lake = dir.join("lake");
    let (code, summary) = ingest_dir(&logs, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    let sink = crate::firehose_harness::start(&lake, &[]);
    let (hook, url) = Receiver::start();
    let config = config(&dir, "builtin", &url);
    let (code, summary, stderr) = job(&config, 600);
    assert_eq!(
        code, 2,
        "the ingest cannot take the lake: {summary}\n{stderr}"
    );
    let outcomes: Vec<(&str, &str)> = summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes[0].1, "error", "{summary}");
    assert_eq!(outcomes[1], ("compact", "skipped"), "{summary}");
    assert_eq!(outcomes[2], ("alerts check", "alerting"), "{summary}");
    assert_eq!(hook.received().len(), 1);
    assert_eq!(sink.stop(), 0);
}
