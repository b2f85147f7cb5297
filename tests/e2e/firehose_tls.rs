//! `serve firehose --tls-cert --tls-key` with a self-signed certificate the
//! test makes (rcgen): a gzip delivery over HTTPS, by a client that trusts
//! that certificate alone, gets its 200 and JSON; plain HTTP on the same
//! port gets no HTTP answer; SIGTERM still flushes and exits 0; the lake
//! holds the records (DuckDB). And a certificate or key that cannot be
//! used (unreadable, not PEM, not a key, another certificate's key) stops
//! the sink at start with an error naming the file.

use crate::firehose_harness::*;
use crate::harness::*;

#[test]
fn a_gzip_delivery_over_https_lands_and_plain_http_is_refused() {
    let Some(python) = python() else { return };
    let dir = scratch("firehose-tls");
    let lake = dir.join("lake");
    let (cert, key, trust) = self_signed(&dir);
    let sink = start_with(
        &lake,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--flush-interval",
            "1h",
        ],
        StartWith {
            tls: Some(trust),
            ..StartWith::default()
        },
    );
    let direct: Vec<u64> = (1..=30).collect();
    let enveloped: Vec<u64> = (100..=104).collect();
    let (status, body) = sink.client.post(
        &gzip_headers("tls-1", KEY),
        &gzip(&direct_body("tls-1", &direct)),
    );
    assert_eq!(
        (status, body["requestId"].as_str()),
        (200, Some("tls-1")),
        "{body}"
    );
    assert!(
        body["timestamp"].is_i64() && body.get("errorMessage").is_none(),
        "{body}"
    );

    // Plain HTTP to the TLS port: no HTTP response comes back.
    let plain = Client::plain(&sink.client.addr);
    let refused = plain.try_post(
        &firehose_headers("tls-plain", KEY),
        &direct_body("tls-plain", &[999]),
    );
    assert!(refused.is_err(), "plain HTTP was answered: {refused:?}");

    // The sink goes on over TLS, refusals included.
    let (status, body) = sink.client.post(
        &gzip_headers("tls-2", KEY),
        &gzip(&envelope_body("tls-2", &enveloped)),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = sink.client.post(
        &gzip_headers("tls-3", "wrong-key"),
        &gzip(&direct_body("tls-3", &[999])),
    );
    assert_eq!((status, body["requestId"].as_str()), (403, Some("tls-3")));
    assert_eq!(sink.stop(), 0, "SIGTERM flushes and exits 0 over TLS too");

    let mut want: Vec<(String, u64)> = direct.iter().map(|id| ("-".to_owned(), *id)).collect();
    want.extend(enveloped.iter().map(|id| ("eni-0abc-all".to_owned(), *id)));
    want.sort();
    assert_eq!(lake_ids(&python, &lake), want);
}

#[test]
fn an_unusable_certificate_or_key_is_named_at_start() {
    let dir = scratch("firehose-tls-bad");
    let lake = dir.join("lake");
    let (cert, key, _) = self_signed(&dir);
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (_, other_key, _) = self_signed(&other);
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let missing = dir.join("missing.pem");
    for (cert, key, named) in [
        (&missing, &key, &missing),
        (&garbage, &key, &garbage),
        (&cert, &garbage, &garbage),
        // A certificate is no key.
        (&cert, &cert, &cert),
        // Another certificate's key.
        (&cert, &other_key, &other_key),
    ] {
        let out = run(&mut flowlake(&[
            "serve",
            "firehose",
            "--lake",
            lake.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty(), "it must not listen");
        assert!(
            stderr.contains(named.to_str().unwrap()),
            "{} not named: {stderr}",
            named.display()
        );
    }
    // Both or neither: clap says so.
    let out = run(&mut flowlake(&[
        "serve",
        "firehose",
        "--lake",
        lake.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
