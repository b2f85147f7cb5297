//! `serve firehose` over real HTTP on loopback: both payload kinds, gzip
//! and plain bodies, every refusal with its JSON body, a redelivered
//! request id, SIGTERM flushing the spool, a kill -9 right after
//! acknowledged requests followed by a restart, a 64 MiB request, and the
//! Prometheus counters after known requests. The lake is read back by
//! DuckDB and compared with the records the test sent. TLS and crashes
//! mid-flush have files of their own (`firehose_tls.rs`,
//! `firehose_crash.rs`); the helpers are in `firehose_harness.rs`.

use std::time::{Duration, Instant};

use crate::firehose_harness::*;
use crate::harness::*;

#[test]
fn both_payloads_every_refusal_a_redelivery_and_sigterm_flushes() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-basic");
    let lake = dir.join("lake");
    let sink = start(&lake, &["--flush-interval", "1h"]);
    let direct: Vec<u64> = (1..=10).collect();
    let enveloped: Vec<u64> = (100..=104).collect();

    let (status, body) = sink.client.post(
        &firehose_headers("req-1", KEY),
        &direct_body("req-1", &direct),
    );
    assert_eq!(
        (status, body["requestId"].as_str()),
        (200, Some("req-1")),
        "{body}"
    );
    assert!(
        body["timestamp"].is_i64() && body.get("errorMessage").is_none(),
        "{body}"
    );
    // Redelivered (Firehose retries after a timeout): acknowledged, not spooled again.
    let (status, _) = sink.client.post(
        &firehose_headers("req-1", KEY),
        &direct_body("req-1", &direct),
    );
    assert_eq!(status, 200);
    let gz_headers = gzip_headers("req-2", KEY);
    let (status, body) = sink
        .client
        .post(&gz_headers, &gzip(&envelope_body("req-2", &enveloped)));
    assert_eq!(status, 200, "{body}");

    let good = direct_body("req-3", &[999]);
    for (headers, body, want) in [
        (firehose_headers("req-3", "wrong-key"), good.clone(), 403),
        (
            vec![("X-Amz-Firehose-Request-Id", "req-3")],
            good.clone(),
            401,
        ),
        (firehose_headers("", KEY), good.clone(), 400),
        (firehose_headers("req-3", KEY), b"{not json".to_vec(), 400),
        (
            firehose_headers("req-3", KEY),
            br#"{"requestId":"req-3","records":[{"data":"%%"}]}"#.to_vec(),
            400,
        ),
    ] {
        let (status, answer) = sink.client.post(&headers, &body);
        assert_eq!(status, want, "{answer}");
        assert!(
            answer["errorMessage"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
        assert!(answer["timestamp"].is_i64(), "{answer}");
    }
    assert_eq!(sink.stop(), 0, "SIGTERM flushes and exits 0");

    let mut want: Vec<(String, u64)> = direct.iter().map(|id| ("-".to_owned(), *id)).collect();
    want.extend(enveloped.iter().map(|id| ("eni-0abc-all".to_owned(), *id)));
    want.sort();
    assert_eq!(lake_ids(&python, &lake), want);
    assert!(pending_intents(&lake).is_empty());
}

#[test]
fn a_kill_right_after_the_200_loses_nothing() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-kill");
    let lake = dir.join("lake");
    let mut want = Vec::new();
    for round in 0..3u64 {
        let sink = start(&lake, &["--flush-interval", "1h"]);
        let ids: Vec<u64> = (round * 1000..round * 1000 + 50).collect();
        let id = format!("req-{round}");
        let (status, _) = sink
            .client
            .post(&firehose_headers(&id, KEY), &direct_body(&id, &ids));
        assert_eq!(status, 200);
        want.extend(ids.iter().map(|i| ("-".to_owned(), *i)));
        sink.kill9();
    }
    // The next start flushes what the dead ones acknowledged; a redelivery
    // of an acknowledged request is still recognised.
    let sink = start(&lake, &["--flush-interval", "1h"]);
    let (status, _) = sink.client.post(
        &firehose_headers("req-0", KEY),
        &direct_body("req-0", &[0, 1]),
    );
    assert_eq!(status, 200);
    assert_eq!(sink.stop(), 0);
    want.sort();
    assert_eq!(lake_ids(&python, &lake), want);
}

#[test]
fn a_body_over_the_limit_is_refused_with_413_before_it_is_held() {
    let dir = scratch("firehose-limit");
    let lake = dir.join("lake");
    let sink = start(&lake, &["--max-body-bytes", "4K"]);
    let ids: Vec<u64> = (0..200).collect();
    let body = direct_body("big", &ids);
    assert!(body.len() > 4096);
    let (status, answer) = sink.client.post(&firehose_headers("big", KEY), &body);
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["requestId"], "big");
    assert!(
        answer["errorMessage"].as_str().unwrap().contains("4096"),
        "{answer}"
    );
    // A request under the limit still goes through.
    let (status, _) = sink
        .client
        .post(&firehose_headers("small", KEY), &direct_body("small", &[1]));
    assert_eq!(status, 200);
    assert_eq!(sink.stop(), 0);
}

/// Firehose's largest body (64 MiB before compression), sent plain: one
/// connection, answered well within Firehose's 3 minutes, every record in
/// the lake once.
#[test]
fn a_64_mib_request_is_accepted_and_lands_once() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-64mib");
    let lake = dir.join("lake");
    // 10,000 records (Firehose's most) of 43 lines each: just under 64 MiB.
    let ids: Vec<u64> = (1..=430_000).collect();
    let body = direct_body_with("huge", &ids, 43, &[]);
    let mib = body.len() as f64 / f64::from(1 << 20);
    assert!((62.0..64.0).contains(&mib), "{mib} MiB");
    let sink = start(&lake, &["--flush-interval", "1h"]);
    let started = Instant::now();
    let (status, answer) = sink.client.post(&firehose_headers("huge", KEY), &body);
    let took = started.elapsed();
    eprintln!(
        "a {mib:.1} MiB request ({} records) answered in {took:.2?}",
        ids.len()
    );
    assert_eq!(
        (status, answer["requestId"].as_str()),
        (200, Some("huge")),
        "{answer}"
    );
    assert!(
        took < Duration::from_secs(180),
        "past Firehose's timeout: {took:?}"
    );
    assert_eq!(sink.stop(), 0);
    let n = ids.len() as u64;
    assert_eq!(lake_totals(&python, &lake), (n, n * (n + 1) / 2, n));
}

/// After known requests, the counters say exactly those numbers.
#[test]
fn metrics_count_exactly_the_requests_sent() {
    let dir = scratch("firehose-metrics");
    let lake = dir.join("lake");
    // Flush after every request, so the flush metrics move too.
    let mut sink = start(&lake, &["--flush-bytes", "1", "--flush-interval", "1h"]);
    let before = sink.client.try_metrics().unwrap();
    assert_eq!(
        before.get("flowlake_firehose_requests_total{code=\"200\"}"),
        0.0
    );
    assert!(before.has("flowlake_firehose_spool_pending_segments"));

    let direct = direct_body_with("m-1", &(1..=10).collect::<Vec<_>>(), 3, &[BAD_LINE]);
    let enveloped = gzip(&envelope_body("m-2", &[20, 21, 22, 23, 24]));
    let bad_json = b"{not json".to_vec();
    let sent = [
        (firehose_headers("m-1", KEY), direct.clone(), 200),
        (gzip_headers("m-2", KEY), enveloped.clone(), 200),
        (firehose_headers("m-1", KEY), direct.clone(), 200),
        (
            vec![("X-Amz-Firehose-Request-Id", "m-3")],
            direct.clone(),
            401,
        ),
        (firehose_headers("m-4", KEY), bad_json.clone(), 400),
    ];
    for (headers, body, want) in &sent {
        let (status, answer) = sink.client.post(headers, body);
        assert_eq!(status, *want, "{answer}");
    }
    // Both new requests flushed (the first flush may hold both).
    let exited = sink.wait_until(Duration::from_secs(120), |m| {
        m.get("flowlake_firehose_spool_pending_segments") == 0.0
            && m.get("flowlake_firehose_flushes_total{outcome=\"ok\"}") >= 1.0
    });
    assert!(exited.is_none(), "the sink died: {exited:?}");
    let m = sink.client.try_metrics().unwrap();
    let flushes = m.get("flowlake_firehose_flushes_total{outcome=\"ok\"}");
    for (series, want) in [
        ("flowlake_firehose_requests_total{code=\"200\"}", 3.0),
        ("flowlake_firehose_requests_total{code=\"401\"}", 1.0),
        ("flowlake_firehose_requests_total{code=\"400\"}", 1.0),
        ("flowlake_firehose_duplicate_requests_total", 1.0),
        // m-1: four records of up to 3 lines and one of the bad line; m-2: two.
        ("flowlake_firehose_records_received_total", 5.0 + 2.0),
        ("flowlake_firehose_lines_received_total", 11.0 + 5.0),
        ("flowlake_firehose_control_messages_skipped_total", 1.0),
        ("flowlake_firehose_lines_rejected_total", 1.0),
        // Bodies read: all but the 401's, refused on its headers.
        (
            "flowlake_firehose_body_received_bytes_total",
            (2 * direct.len() + enveloped.len() + bad_json.len()) as f64,
        ),
        ("flowlake_firehose_spool_pending_segments", 0.0),
        ("flowlake_firehose_spool_pending_bytes", 0.0),
        ("flowlake_firehose_spool_oldest_age_seconds", 0.0),
        ("flowlake_firehose_flush_duration_seconds_count", flushes),
        ("flowlake_firehose_flushes_total{outcome=\"error\"}", 0.0),
    ] {
        assert_eq!(m.get(series), want, "{series}");
    }
    assert!((1.0..=2.0).contains(&flushes), "{flushes}");
    assert_eq!(sink.stop(), 0);
}
