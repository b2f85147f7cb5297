//! `flowlake compact` over the small files the Firehose sink leaves: merged
//! once, read back by DuckDB as exactly the records sent, the ledger still
//! naming every file once; objects' files untouched; and a crash at every
//! step of the compaction commit leaves flowlake's own SQL counting every
//! record once, before and after the re-run that finishes the job.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::firehose_harness::{KEY, firehose_headers, start};
use crate::harness::*;

/// Requests delivered, each a separate flush (and so a unit of its own).
const REQUESTS: u64 = 12;
/// Records per request, spread over three hours.
const PER_REQUEST: u64 = 40;

/// Record `id` (its `bytes` value), starting in hour `id % 3` of 2024-05-25.
fn record_line(id: u64) -> String {
    let start = 1_716_595_200 + (id % 3) * 3600 + id % 600;
    format!(
        "2 123456789012 eni-0abc 10.0.0.{} 198.51.100.7 443 {} 6 2 {id} {start} {} ACCEPT OK",
        id % 250,
        1024 + id,
        start + 60
    )
}

/// A direct-records request body of the given record ids.
fn body(request_id: &str, ids: &[u64]) -> Vec<u8> {
    let text: String = ids
        .iter()
        .map(|id| format!("{}\n", json!({"message": record_line(*id)})))
        .collect();
    serde_json::to_vec(&json!({"requestId": request_id, "timestamp": 1,
        "records": [{"data": BASE64.encode(text)}]}))
    .unwrap()
}

/// A lake holding `REQUESTS` Firehose units (flushed one by one; the sink
/// compacting every `compact_every`, `0s` never) and one object ingested
/// from a folder; returns the `bytes` of every record.
fn lake_of_small_files(dir: &Path, compact_every: &str) -> Vec<u64> {
    let lake = dir.join("lake");
    let sink = start(
        &lake,
        &[
            "--flush-bytes",
            "1",
            "--compact-every",
            compact_every,
            "--compact-older-than",
            "0s",
        ],
    );
    let mut sent = Vec::new();
    for r in 0..REQUESTS {
        let ids: Vec<u64> = (r * PER_REQUEST..(r + 1) * PER_REQUEST).collect();
        let id = format!("req-{r}");
        let (status, reply) = sink
            .client
            .post(&firehose_headers(&id, KEY), &body(&id, &ids));
        assert_eq!(status, 200, "{reply}");
        sent.extend(ids);
        // Let the flusher take each request on its own.
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    assert_eq!(sink.stop(), 0);

    let folder = dir.join("objects");
    std::fs::create_dir_all(&folder).unwrap();
    let object: String = (10_000..10_005).map(|id| record_line(id) + "\n").collect();
    std::fs::write(folder.join("flows.log"), object).unwrap();
    let (code, summary) = ingest_dir(&folder, &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    sent.extend(10_000..10_005);
    sent.sort_unstable();
    sent
}

fn data_files(lake: &Path) -> Vec<String> {
    files_under(&lake.join("flows"))
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect()
}

/// Files per partition folder.
fn per_partition(files: &[String]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for f in files {
        *out.entry(f.rsplit_once('/').unwrap().0.to_owned())
            .or_default() += 1;
    }
    out
}

/// DuckDB's view of the lake: every record's `bytes`, sorted.
fn duckdb_ids(python: &Path, lake: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = lake_rows(python, lake, &["bytes"])
        .into_iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// At rest: no intent, every data file named by exactly one ledger entry,
/// no unit entry left in the ledger, and the archived unit entries still
/// account for every record the sink read.
fn assert_ledger_at_rest(lake: &Path, sink_records: u64) {
    assert_ledger_names_every_file_once(lake);
    for e in ledger_entries(lake) {
        assert!(
            !e["version_key"].as_str().unwrap().starts_with('u'),
            "a unit entry is still in the ledger: {e}"
        );
    }
    let absorbed = lake.join("_flowlake/absorbed");
    let read: u64 = files_under(&absorbed)
        .iter()
        .map(|f| json(&std::fs::read_to_string(absorbed.join(f)).unwrap()))
        .map(|e| e["counts"]["records"].as_u64().unwrap())
        .sum();
    assert_eq!(
        read, sink_records,
        "archived entries keep the sink's counts"
    );
}

fn compact(lake: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["compact", "--lake", lake.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    run(&mut flowlake(&args))
}

#[test]
fn small_unit_files_are_merged_once_and_objects_files_are_left() {
    let Some(python) = python() else { return };
    let dir = scratch("compact-merge");
    let lake = dir.join("lake");
    let sent = lake_of_small_files(&dir, "0s");
    let before = data_files(&lake);
    let object_files: Vec<String> = ledger_entries(&lake)
        .iter()
        .filter(|e| e["location"].as_str().unwrap().ends_with("flows.log"))
        .flat_map(|e| e["files"].as_array().unwrap().clone())
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .trim_start_matches("flows/")
                .to_owned()
        })
        .collect();
    assert!(!object_files.is_empty());
    let counts = per_partition(&before);
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.values().all(|n| *n >= 4),
        "the sink should have left several files per hour: {counts:?}"
    );

    // Just committed: too young for the default --older-than 1h.
    let young = compact(&lake, &[]);
    assert!(young.status.success());
    assert_eq!(
        json(&String::from_utf8_lossy(&young.stdout))["partitions"],
        0
    );
    assert_eq!(data_files(&lake), before);

    let out = compact(&lake, &["--older-than", "0s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json(&String::from_utf8_lossy(&out.stdout));
    let sink_records = REQUESTS * PER_REQUEST;
    assert_eq!(summary["partitions"], 3, "{summary}");
    assert_eq!(summary["rows"].as_u64(), Some(sink_records), "{summary}");
    let after = data_files(&lake);
    // One merged file per hour, plus the object's files, untouched.
    assert_eq!(after.len(), 3 + object_files.len(), "{after:?}");
    assert!(object_files.iter().all(|f| after.contains(f)), "{after:?}");
    assert_eq!(duckdb_ids(&python, &lake), sent);
    assert_eq!(count(&lake), sent.len() as u64);
    assert_ledger_at_rest(&lake, sink_records);
    assert_rollups_agree(&python, &lake);

    // Again: nothing left to do, nothing changes.
    let again = compact(&lake, &["--older-than", "0s"]);
    assert!(again.status.success());
    assert_eq!(
        json(&String::from_utf8_lossy(&again.stdout))["partitions"],
        0
    );
    assert_eq!(data_files(&lake), after);
}

#[test]
fn a_crash_at_any_step_of_a_compaction_never_loses_or_double_counts() {
    let Some(python) = python() else { return };
    let dir = scratch("compact-crash");
    let sent = lake_of_small_files(&dir, "0s");
    let base = dir.join("lake");
    let total: u64 = sent.iter().sum();
    let points = [
        ("intent", 1),
        ("publish", 1),
        ("ledger", 1),
        ("retire", 1),
        ("retire", 14),
        ("retire", 30),
        ("cleanup", 1),
        ("ledger", 2),
        ("retire", 60),
    ];
    for (point, n) in points {
        let lake = copy_lake(&base, &format!("lake-{point}-{n}"));
        let args = [
            "compact",
            "--lake",
            lake.to_str().unwrap(),
            "--older-than",
            "0s",
        ];
        crash_after(&args, point, n);
        // Mid-protocol, flowlake's SQL counts each record once.
        let row = &sql_json(&lake, "SELECT count(*) AS n, sum(bytes) AS b FROM flows")[0];
        assert_eq!(
            (row["n"].as_u64(), row["b"].as_u64()),
            (Some(sent.len() as u64), Some(total)),
            "after a crash at {point}:{n}"
        );
        let out = compact(&lake, &["--older-than", "0s"]);
        assert!(
            out.status.success(),
            "{point}:{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(duckdb_ids(&python, &lake), sent, "after {point}:{n}");
        assert_ledger_at_rest(&lake, REQUESTS * PER_REQUEST);
        assert_rollups_agree(&python, &lake);
        assert_eq!(per_partition(&data_files(&lake)).len(), 3);
    }
}

#[test]
fn the_sink_compacts_as_it_goes() {
    let Some(python) = python() else { return };
    let dir = scratch("compact-sink");
    let lake = dir.join("lake");
    // Twelve flushes 0.7 s apart, compacting every 2 s.
    let sent = lake_of_small_files(&dir, "2s");
    let counts = per_partition(&data_files(&lake));
    assert!(
        counts.values().all(|n| *n <= 6),
        "the sink should have merged as it went: {counts:?}"
    );
    assert_eq!(duckdb_ids(&python, &lake), sent);
    assert!(pending_intents(&lake).is_empty());
}
