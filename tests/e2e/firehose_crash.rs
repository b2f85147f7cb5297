//! A crash in the middle of a flush, at every step of the commit protocol
//! (`FLOWLAKE_CRASH_AFTER`, `ingest/src/lake/crashpoint.rs`): the sink
//! acknowledges, flushes, and dies part-way through committing. Restarted
//! without the crash point, and with Firehose's redelivery of every
//! request (acknowledged or not, as Firehose may), each record sent is in
//! the lake exactly once: DuckDB's count, sum and distinct count of a
//! column are those of what the test sent, the quarantined lines are not
//! there, and no intent is left pending.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::firehose_harness::*;
use crate::harness::*;

/// Every step `commit.rs` marks, in the order a commit reaches them. The
/// first flush reaches all but `retire`, which only the second one does
/// (it retires the first flush's cursor).
const POINTS: [&str; 7] = [
    "intent",
    "publish",
    "quarantine",
    "cursor",
    "ledger",
    "retire",
    "cleanup",
];

/// Waits for a sink as long as a debug build needs to flush, at most.
const PATIENCE: Duration = Duration::from_secs(120);

fn flushes_ok(m: &Metrics) -> f64 {
    m.get("flowlake_firehose_flushes_total{outcome=\"ok\"}")
}

#[test]
fn a_crash_at_any_commit_step_of_a_flush_loses_and_doubles_nothing() {
    let Some(python) = python() else { return };
    for point in POINTS {
        let dir = scratch(&format!("firehose-crash-{point}"));
        let lake = dir.join("lake");
        let flags = ["--flush-bytes", "1", "--flush-interval", "1h"];
        // Two requests, each with a line the flush quarantines.
        let requests: Vec<(String, Vec<u64>)> = (0..2u64)
            .map(|n| {
                let ids = (n * 100 + 1..=n * 100 + 40).collect();
                (format!("crash-{point}-{n}"), ids)
            })
            .collect();
        let body = |(id, ids): &(String, Vec<u64>)| direct_body_with(id, ids, 4, &[BAD_LINE]);

        let crash = format!("{point}:1");
        let mut sink = start_with(
            &lake,
            &flags,
            StartWith {
                env: vec![("FLOWLAKE_CRASH_AFTER", &crash)],
                ..StartWith::default()
            },
        );
        let mut died = None;
        for (n, request) in requests.iter().enumerate() {
            if died.is_some() {
                break;
            }
            // Refused or cut off once the sink is dead: Firehose retries.
            let answer = sink
                .client
                .try_post(&firehose_headers(&request.0, KEY), &body(request));
            if let Ok((status, json)) = &answer {
                assert_eq!(*status, 200, "{point}: {json}");
            }
            // One flush per request: wait until it is done or killed us.
            died = sink.wait_until(PATIENCE, |m| flushes_ok(m) > n as f64);
        }
        let status = died.unwrap_or_else(|| panic!("{point}: the sink did not crash"));
        assert_eq!(
            status.signal(),
            Some(6),
            "{point}: not the injected abort: {status:?}"
        );

        // Restarted: recovery, then Firehose delivers every request again.
        let sink = start(&lake, &flags);
        for request in &requests {
            let (status, json) = sink
                .client
                .post(&firehose_headers(&request.0, KEY), &body(request));
            assert_eq!(status, 200, "{point}: {json}");
        }
        assert_eq!(sink.stop(), 0, "{point}");

        let sent: Vec<u64> = requests.iter().flat_map(|r| r.1.clone()).collect();
        let n = sent.len() as u64;
        assert_eq!(
            lake_totals(&python, &lake),
            (n, sent.iter().sum(), n),
            "{point}: (rows, sum of bytes, distinct bytes)"
        );
        assert!(pending_intents(&lake).is_empty(), "{point}");
    }
}
