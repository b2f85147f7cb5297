//! A flow-log bucket as AWS writes it: list only the prefixes the run asks
//! for, then read each object. Objects up to the whole-object limit
//! (`--max-whole-bytes`, as for local files) are read whole while CPU
//! workers parse other objects, then split and parsed on every core; larger
//! ones stream (gunzip and parse as bytes arrive), so no object is held
//! whole past the limit, except AWS's Parquet files, which need their
//! footer first.
//!
//! Built on `aws-sdk-s3` with the standard credential chain; an endpoint URL
//! and path-style addressing reach S3-compatible servers. Throttling and 5xx
//! are retried by the SDK with backoff; a body that breaks mid-stream is
//! retried by the pipeline from the start of the object. Wrong credentials
//! or a missing bucket fail the listing at once with a clear message.

mod errors;
pub mod listing;

use std::io;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::DisplayErrorContext;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::aws_key::file_time_ms;
use super::{
    Body, ObjectKind, Source, SourceError, SourceObject, VersionRoute, export_stream, locate,
};
use crate::aws::AwsSettings;
use errors::classify;
pub use listing::KeyFilter;
use listing::{account_dirs, day_dir, region_dir, service_prefix};

/// Bytes gathered from the body stream before they are handed to the parser.
const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the parser per object.
const READ_AHEAD: usize = 4;
/// Prefix listings in flight at once.
const LIST_CONCURRENCY: usize = 8;

/// Flow-log objects in `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: Client,
    bucket: String,
    prefix: String,
    filter: KeyFilter,
    max_whole_bytes: u64,
}

impl S3Source {
    /// A source over `s3://bucket/prefix` (`url`), reached with `aws`.
    pub async fn new(
        url: &str,
        aws: &AwsSettings,
        filter: KeyFilter,
    ) -> Result<S3Source, SourceError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| SourceError::Remote {
                location: url.to_owned(),
                message: "not an s3:// URL".into(),
                retryable: false,
            })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(SourceError::Remote {
                location: url.to_owned(),
                message: "no bucket in the URL".into(),
                retryable: false,
            });
        }
        let config = aws.load().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(aws.force_path_style)
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            .build();
        Ok(S3Source {
            client: Client::from_conf(s3_config),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_start_matches('/').to_owned(),
            filter,
            max_whole_bytes: crate::process::DEFAULT_MAX_WHOLE_BYTES as u64,
        })
    }

    /// Objects up to this size are read whole before they are parsed (and
    /// then parsed in parallel segments); larger ones stream.
    pub fn with_max_whole_bytes(mut self, bytes: usize) -> S3Source {
        self.max_whole_bytes = bytes as u64;
        self
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Child "folders" of `prefix` (delimiter listing).
    async fn children(&self, prefix: &str) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&self.location(prefix), e))?;
            out.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
        }
        Ok(out)
    }

    /// The prefixes to list in full.
    async fn plan(&self) -> Result<Vec<String>, SourceError> {
        let base = if self.prefix.is_empty() || self.prefix.ends_with('/') {
            self.prefix.clone()
        } else {
            format!("{}/", self.prefix)
        };
        if base.contains("AWSLogs/") {
            return Ok(vec![self.prefix.clone()]);
        }
        let root = format!("{base}AWSLogs/");
        let account_dirs: Vec<String> = if self.filter.accounts.is_empty() {
            let found = self.children(&root).await?;
            if found.is_empty() {
                // No AWS delivery layout here (a CloudWatch Logs export, a
                // hand-made tree): list everything under the prefix.
                return Ok(vec![base]);
            }
            found
        } else {
            self.filter
                .accounts
                .iter()
                .flat_map(|a| account_dirs(a).map(|d| format!("{root}{d}")))
                .collect()
        };
        let mut regions = Vec::new();
        for account in &account_dirs {
            let relative = account.strip_prefix(&root).unwrap_or(account);
            let service = format!("{root}{}", service_prefix(relative));
            if self.filter.regions.is_empty() {
                regions.extend(self.children(&service).await?);
            } else {
                regions.extend(self.filter.regions.iter().map(|r| region_dir(&service, r)));
            }
        }
        Ok(match self.filter.day_prefixes() {
            None => regions,
            Some(days) => regions
                .iter()
                .flat_map(|r| days.iter().map(move |d| day_dir(r, d)))
                .collect(),
        })
    }

    async fn list_prefix(&self, prefix: String) -> Result<Vec<SourceObject>, SourceError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&self.location(&prefix), e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(kind) = ObjectKind::from_name(key) else {
                    continue;
                };
                let time_hint_ms = file_time_ms(key);
                if !self.filter.keeps_stamp(time_hint_ms) {
                    continue;
                }
                let location = self.location(key);
                let (identity, shard) = locate(key, location.clone());
                out.push(SourceObject {
                    identity,
                    shard,
                    location,
                    version: object.e_tag().unwrap_or_default().to_owned(),
                    route: VersionRoute::ETag,
                    size: object.size().unwrap_or(0).max(0) as u64,
                    kind,
                    time_hint_ms,
                    source: export_stream(key),
                });
            }
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Source for S3Source {
    fn describe(&self) -> String {
        self.location(&self.prefix)
    }

    async fn list(&self) -> Result<Vec<SourceObject>, SourceError> {
        let prefixes = self.plan().await?;
        tracing::info!(prefixes = prefixes.len(), "Listing S3 prefixes.");
        let listed: Vec<Result<Vec<SourceObject>, SourceError>> = futures::stream::iter(prefixes)
            .map(|p| self.list_prefix(p))
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        let mut objects = Vec::new();
        for batch in listed {
            objects.extend(batch?);
        }
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        objects.dedup_by(|a, b| a.location == b.location);
        Ok(objects)
    }

    async fn open(&self, object: &SourceObject) -> Result<Body, SourceError> {
        let key = object
            .location
            .strip_prefix(&format!("s3://{}/", self.bucket))
            .unwrap_or(&object.location);
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(&object.location, e))?;
        let mut body = response.body;
        let size = response.content_length.and_then(|n| u64::try_from(n).ok());
        if size.is_some_and(|n| n <= self.max_whole_bytes) || object.kind == ObjectKind::Parquet {
            // Read on the runtime, not on a CPU worker: the worker gets
            // the object when all of it is here.
            // Capped: the declared length is the server's word, not ours.
            let capacity = size.map_or(0, |n| n.min(self.max_whole_bytes) as usize);
            let mut whole = BytesMut::with_capacity(capacity);
            while let Some(bytes) = body.next().await {
                let bytes = bytes.map_err(|e| SourceError::Remote {
                    location: object.location.clone(),
                    message: format!("reading the body: {}", DisplayErrorContext(&e)),
                    retryable: true,
                })?;
                whole.extend_from_slice(&bytes);
            }
            return Ok(Body::Whole(whole.freeze()));
        }
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        tokio::spawn(async move {
            let mut pending = BytesMut::new();
            loop {
                match body.next().await {
                    Some(Ok(bytes)) => {
                        pending.extend_from_slice(&bytes);
                        if pending.len() >= CHUNK
                            && tx.send(Ok(pending.split().freeze())).await.is_err()
                        {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let message = DisplayErrorContext(&e).to_string();
                        let _ = tx.send(Err(io::Error::other(message))).await;
                        return;
                    }
                    None => break,
                }
            }
            if !pending.is_empty() {
                let _ = tx.send(Ok::<Bytes, io::Error>(pending.freeze())).await;
            }
        });
        Ok(Body::Stream(rx))
    }
}
