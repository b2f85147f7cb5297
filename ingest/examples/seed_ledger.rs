//! Seeds a lake's ledger as if every flow-log object under a folder had been
//! ingested, except the newest `N` by file-name stamp: the set-up of
//! `bench/ledger.sh`, which then times a run that finds only those `N`.
//! Entries name no files (the benchmark measures the ledger, not the table).
//!
//! ```text
//! cargo run --example seed_ledger -- <source dir> <lake: path or s3://bucket/prefix> <N>
//! ```
//! An S3 lake is reached with `AWS_ENDPOINT_URL` (path-style) and the usual
//! credential variables.

use std::sync::Arc;

use chrono::Utc;
use flowlake_ingest::aws::AwsSettings;
use flowlake_ingest::lake::ledger::{LedgerEntry, StoredCounts};
use flowlake_ingest::{DirSource, LakeStore, Source};
use flowlake_schemas::lake::{ledger_path, source_key};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, source, lake, newest] = args.as_slice() else {
        return Err("usage: seed_ledger <source dir> <lake> <N newest left out>".into());
    };
    let newest: usize = newest.parse()?;
    let aws = AwsSettings {
        endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
        region: Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into())),
        force_path_style: true,
    };
    let lake = Arc::new(LakeStore::open(lake, &aws).await?);
    let mut objects = DirSource::new(source, None).list().await?;
    objects.sort_by_key(|o| (o.time_hint_ms, o.identity.clone()));
    objects.truncate(objects.len().saturating_sub(newest));
    let committed_at = Utc::now().to_rfc3339();
    let total = objects.len();
    let mut done = futures::stream::iter(objects)
        .map(|object| {
            let (lake, committed_at) = (lake.clone(), committed_at.clone());
            async move {
                let key = source_key(&object.identity);
                let version_key = object.version_key();
                let entry = LedgerEntry {
                    identity: object.identity.clone(),
                    location: object.location.clone(),
                    version: object.version.clone(),
                    version_key: version_key.clone(),
                    size: object.size,
                    files: Vec::new(),
                    quarantine: None,
                    counts: StoredCounts::default(),
                    bytes_in: object.size,
                    committed_at,
                    streams: Vec::new(),
                };
                let path = ledger_path(&object.shard, &key, &version_key);
                lake.put_create(&path, serde_json::to_vec(&entry)?.into())
                    .await?;
                Ok::<(), Box<dyn std::error::Error>>(())
            }
        })
        .buffer_unordered(64);
    let mut n = 0;
    while let Some(result) = done.next().await {
        result?;
        n += 1;
        if n % 20_000 == 0 {
            eprintln!("seeded {n} of {total}");
        }
    }
    println!("{n}");
    Ok(())
}
