//! The lease against an in-memory object store that honours conditional
//! writes the way S3 does (ETag per write, 412 on a mismatch). The
//! end-to-end tests in `tests/e2e/lease.rs` run the same protocol through
//! the binary against moto.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};

use super::*;
use crate::lake::Created;

fn memory_lake(store: Arc<InMemory>) -> LakeStore {
    LakeStore::Remote {
        store,
        prefix: "lake".into(),
        url: "s3://memory/lake".into(),
        staging: std::env::temp_dir(),
    }
}

fn fast() -> LeaseTiming {
    LeaseTiming::new(Duration::from_millis(100), Duration::from_millis(400)).unwrap()
}

const KEY: &str = "lake/_flowlake/lease.json";

async fn owner_of(store: &InMemory) -> String {
    let bytes = store
        .get(&Path::from(KEY))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let lease: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    lease["owner"].as_str().unwrap().to_owned()
}

/// Another writer's conditional overwrite of the lease, as a takeover does it.
async fn take_over_by_hand(store: &InMemory, owner: &str) {
    let meta = store.head(&Path::from(KEY)).await.unwrap();
    let body = format!(r#"{{"owner":"{owner}","seq":0}}"#);
    store
        .put_opts(
            &Path::from(KEY),
            Bytes::from(body).into(),
            PutOptions {
                mode: PutMode::Update(UpdateVersion {
                    e_tag: meta.e_tag,
                    version: None,
                }),
                ..PutOptions::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn release_leaves_alone_a_lease_another_writer_now_holds() {
    let store = Arc::new(InMemory::new());
    let lake = memory_lake(store.clone());
    let lock = LakeLock::acquire(&lake).await.unwrap();
    take_over_by_hand(&store, "other-writer").await;
    lock.release().await.unwrap();
    assert_eq!(owner_of(&store).await, "other-writer");
}

#[tokio::test]
async fn a_fresh_lease_refuses_a_second_writer_and_a_released_one_is_taken_at_once() {
    let store = Arc::new(InMemory::new());
    let lake = memory_lake(store.clone());
    let first = LakeLock::acquire_with(&lake, fast()).await.unwrap();
    // Well past the stale limit: the refresher keeps it fresh.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let second = LakeLock::acquire_with(&lake, fast()).await;
    assert!(matches!(second, Err(LockError::Busy { .. })), "{second:?}");
    first.guard().check().unwrap();
    first.release().await.unwrap();
    let third = LakeLock::acquire_with(&lake, fast()).await.unwrap();
    third.guard().check().unwrap();
}

#[tokio::test]
async fn of_many_writers_racing_for_a_stale_lease_exactly_one_wins() {
    let store = Arc::new(InMemory::new());
    store
        .put(
            &Path::from(KEY),
            Bytes::from_static(br#"{"owner":"dead","seq":7,"stale_secs":0.4}"#).into(),
        )
        .await
        .unwrap();
    let lake = memory_lake(store.clone());
    // Fresh: refused.
    let early = LakeLock::acquire_with(&lake, fast()).await;
    assert!(matches!(early, Err(LockError::Busy { .. })), "{early:?}");
    // Stale by the store's clock after 0.4 s + 1 s of LastModified slack.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let results =
        futures::future::join_all((0..8).map(|_| LakeLock::acquire_with(&lake, fast()))).await;
    let winners: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        assert!(matches!(r, Ok(_) | Err(LockError::Busy { .. })), "{r:?}");
    }
}

#[tokio::test]
async fn a_holder_whose_lease_was_taken_over_stops_writing() {
    let store = Arc::new(InMemory::new());
    let lake = memory_lake(store.clone());
    let lock = LakeLock::acquire_with(&lake, fast()).await.unwrap();
    let fenced = lock.fence(&lake);
    fenced
        .put("_flowlake/x", Bytes::from_static(b"1"))
        .await
        .unwrap();
    take_over_by_hand(&store, "other-writer").await;
    // The next refresh gets 412.
    let lost = tokio::time::timeout(Duration::from_secs(2), lock.guard().lost())
        .await
        .expect("the loss is noticed within a few refreshes");
    assert!(lost.to_string().contains("other-writer"), "{lost}");
    let refused = fenced.put("_flowlake/y", Bytes::from_static(b"2")).await;
    assert!(refused.is_err());
    assert!(store.head(&Path::from("lake/_flowlake/y")).await.is_err());
    let refused = fenced.delete("_flowlake/x").await;
    assert!(refused.is_err());
    assert!(store.head(&Path::from("lake/_flowlake/x")).await.is_ok());
    lock.release().await.unwrap();
    assert_eq!(owner_of(&store).await, "other-writer");
}

#[tokio::test]
async fn a_commit_that_lands_after_a_takeover_is_reported_not_confirmed() {
    let store = Arc::new(InMemory::new());
    let lake = memory_lake(store.clone());
    // Slow refreshes: the takeover is not noticed before the commit.
    let timing = LeaseTiming::new(Duration::from_secs(30), Duration::from_secs(120)).unwrap();
    let lock = LakeLock::acquire_with(&lake, timing).await.unwrap();
    let fenced = lock.fence(&lake);
    assert_eq!(
        fenced
            .put_create("_flowlake/a", Bytes::from_static(b"a"))
            .await
            .unwrap(),
        Created::New
    );
    take_over_by_hand(&store, "other-writer").await;
    lock.guard().check().unwrap();
    let late = fenced
        .put_create("_flowlake/b", Bytes::from_static(b"b"))
        .await;
    let message = format!("{}", late.unwrap_err());
    assert!(message.contains("took it over"), "{message}");
    let lost = lock.guard().check().unwrap_err();
    assert!(lost.to_string().contains("lost the lake lease"), "{lost}");
}

#[test]
fn timing_from_the_environment_is_checked() {
    assert!(LeaseTiming::new(Duration::from_secs(30), Duration::from_secs(60)).is_err());
    assert!(LeaseTiming::new(Duration::ZERO, Duration::from_secs(60)).is_err());
    let ok = LeaseTiming::new(Duration::from_secs(1), Duration::from_secs(4)).unwrap();
    assert_eq!(ok.validity(), Duration::from_secs(3));
}
