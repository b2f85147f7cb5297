//! CloudWatch Logs as a source of flow records: the three read calls
//! flowlake makes (DescribeLogGroups, DescribeLogStreams, FilterLogEvents),
//! paced under the account's request quota, retried on throttling and
//! server errors with the SDK's backoff and jitter, and counted.
//!
//! # Why FilterLogEvents
//! VPC flow logs write one stream per network interface, and a scheduled
//! run finds a little new data in each of many streams. FilterLogEvents
//! reads up to 100 named streams per call, interleaved, 10,000 events (or
//! 1 MB) a page, so a run costs about `max(streams / 100, events / 10,000)`
//! requests. GetLogEvents reads one stream per call: at least one request
//! per stream, so 1,000 interfaces cost 1,000 requests a run even when each
//! has one new event (`bench/cloudwatch.sh` measures both counts). Its
//! higher quota (25 against 5 requests/s) pays only for a backfill of a few
//! large streams; flowlake's default suits the steady state.
//!
//! Pagination follows every `nextToken` to the end: a page may be empty
//! while a token is present, and only a missing token ends it (a token
//! answered with itself and no events three times in a row also ends it,
//! as a guard against a server that loops). Tokens are never kept across runs: they expire, and the
//! cursor (`lake::cursor`) says where to start instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_cloudwatchlogs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatchlogs::error::{BoxError, ProvideErrorMetadata, SdkError};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{SourceError, error_chain};
use crate::aws::AwsSettings;

/// Most streams FilterLogEvents takes by name.
pub const MAX_STREAMS_PER_CALL: usize = 100;

/// Most events FilterLogEvents returns a page.
pub const MAX_EVENTS_PER_PAGE: i32 = 10_000;

/// One log stream as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    /// Its name (`eni-0123…-all` for VPC flow logs).
    pub name: String,
    /// Timestamp of its earliest event, if it has any.
    pub first_event_ms: Option<i64>,
    /// Timestamp of its latest event (eventually consistent: typically
    /// less than an hour behind), if it has any.
    pub last_event_ms: Option<i64>,
}

/// One event as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The stream it is in.
    pub stream: String,
    /// Its timestamp (UTC ms; for flow logs, the record's start).
    pub timestamp_ms: i64,
    /// Its id, unique within the log group.
    pub id: String,
    /// The message: one flow record line.
    pub message: String,
}

/// One page of FilterLogEvents.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Events (AWS sorts them by timestamp; flowlake assumes no order).
    pub events: Vec<LogEvent>,
    /// The token for the next page; `None` at the end.
    pub next: Option<String>,
}

/// Requests made, for the summary and benchmarks.
#[derive(Debug, Default)]
pub struct ApiCounts {
    /// DescribeLogGroups and DescribeLogStreams calls.
    pub describe: AtomicU64,
    /// FilterLogEvents calls.
    pub filter: AtomicU64,
    /// HTTP attempts in all, retries included.
    pub attempts: AtomicU64,
    /// Attempts answered with throttling (HTTP 400 `ThrottlingException`, 429) or a 5xx.
    pub retried: AtomicU64,
}

/// Counts every attempt and every throttled or failed one.
#[derive(Debug)]
struct CountAttempts(Arc<ApiCounts>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "flowlake::CountAttempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        let status = context.response().map(|r| r.status().as_u16());
        let throttled = matches!(status, Some(429) | Some(500..=599))
            || (status == Some(400)
                && context.response().is_some_and(|r| {
                    r.headers()
                        .get("x-amzn-errortype")
                        .is_some_and(|t| t.starts_with("ThrottlingException"))
                        || r.body()
                            .bytes()
                            .is_some_and(|b| memchr::memmem::find(b, b"Throttling").is_some())
                }));
        if throttled || status.is_none() {
            self.0.retried.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Spaces requests evenly under a rate (the quotas are per account and
/// Region, shared by every stream and group of a run).
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(per_second: f64) -> Pacer {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            f64::MAX
        };
        Pacer {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// A CloudWatch Logs client for reading flow logs.
#[derive(Debug, Clone)]
pub struct CloudWatchLogs {
    client: Client,
    region: String,
    pacer: Arc<Pacer>,
    counts: Arc<ApiCounts>,
}

impl CloudWatchLogs {
    /// A client with the standard credential chain and `settings`'
    /// endpoint and Region, making at most `requests_per_second` calls.
    pub async fn new(settings: &AwsSettings, requests_per_second: f64) -> CloudWatchLogs {
        // Only an explicit --endpoint-url is forced here: the SDK itself
        // honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS.
        let config = settings
            .load_with_endpoint(settings.endpoint_url.clone())
            .await;
        let region = config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let counts = Arc::new(ApiCounts::default());
        let conf = aws_sdk_cloudwatchlogs::config::Builder::from(&config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(10)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(20)),
            )
            .interceptor(CountAttempts(counts.clone()))
            .build();
        CloudWatchLogs {
            client: Client::from_conf(conf),
            region,
            pacer: Arc::new(Pacer::new(requests_per_second)),
            counts,
        }
    }

    /// The Region read from.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Requests made so far.
    pub fn counts(&self) -> &ApiCounts {
        &self.counts
    }

    /// The next page of a Describe* paginator, paced and counted (the
    /// request goes out when `page` is first polled, after the pacer).
    async fn describe_page<T, E, R>(
        &self,
        location: &str,
        page: impl std::future::Future<Output = Option<Result<T, SdkError<E, R>>>>,
    ) -> Result<Option<T>, SourceError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.pacer.wait().await;
        let Some(page) = page.await else {
            return Ok(None);
        };
        self.counts.describe.fetch_add(1, Ordering::Relaxed);
        page.map(Some).map_err(|e| classify(location, e))
    }

    /// The account that owns a log group (from its ARN), or an error naming
    /// the group when it does not exist.
    pub async fn group_account(&self, group: &str) -> Result<String, SourceError> {
        let location = format!("log group {group}");
        let mut pages = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(group)
            .into_paginator()
            .send();
        while let Some(page) = self.describe_page(&location, pages.next()).await? {
            for found in page.log_groups() {
                if found.log_group_name() == Some(group) {
                    let arn = found.arn().unwrap_or_default();
                    return Ok(arn.split(':').nth(4).unwrap_or_default().to_owned());
                }
            }
        }
        Err(SourceError::Remote {
            location,
            message: "no such log group in this account and Region".to_owned(),
            retryable: false,
        })
    }

    /// Every stream of a group (whose name starts with `prefix`, if given).
    pub async fn streams(
        &self,
        group: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<LogStream>, SourceError> {
        let location = format!("log group {group}");
        let mut pages = self
            .client
            .describe_log_streams()
            .log_group_name(group)
            .set_log_stream_name_prefix(prefix.map(str::to_owned))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = self.describe_page(&location, pages.next()).await? {
            out.extend(page.log_streams().iter().filter_map(|s| {
                Some(LogStream {
                    name: s.log_stream_name()?.to_owned(),
                    first_event_ms: s.first_event_timestamp(),
                    last_event_ms: s.last_event_timestamp(),
                })
            }));
        }
        Ok(out)
    }

    /// One page of the events of `streams` with timestamps in
    /// `[start_ms, end_ms)`, after `token`.
    pub async fn filter_page(
        &self,
        group: &str,
        streams: &[String],
        (start_ms, end_ms): (i64, i64),
        token: Option<String>,
    ) -> Result<Page, SourceError> {
        self.pacer.wait().await;
        self.counts.filter.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .filter_log_events()
            .log_group_name(group)
            .set_log_stream_names(Some(streams.to_vec()))
            .start_time(start_ms.max(0))
            // endTime is inclusive.
            .end_time(end_ms.saturating_sub(1).max(0))
            .limit(MAX_EVENTS_PER_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(&format!("log group {group}"), e))?;
        let events = out
            .events()
            .iter()
            .filter_map(|e| {
                Some(LogEvent {
                    stream: e.log_stream_name()?.to_owned(),
                    timestamp_ms: e.timestamp()?,
                    id: e.event_id()?.to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        Ok(Page {
            events,
            next: out.next_token().map(str::to_owned),
        })
    }
}

/// An SDK error as a [`SourceError`] that names what was being read and
/// says plainly what went wrong. The SDK has already retried throttling,
/// 5xx and dropped connections by the time this is called.
fn classify<E, R>(location: &str, error: SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let location = location.to_owned();
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("error");
            let message = match code {
                "ResourceNotFoundException" => "not found (check the name and --region)".to_owned(),
                "AccessDeniedException" | "UnrecognizedClientException" => format!(
                    "{code}: the credentials cannot read CloudWatch Logs here ({})",
                    e.message().unwrap_or_default()
                ),
                _ => format!("{code}: {}", e.message().unwrap_or_default()),
            };
            let retryable = code == "ThrottlingException" || code == "ServiceUnavailableException";
            SourceError::Remote {
                location,
                message,
                retryable,
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            SourceError::Remote {
                location,
                message: format!("cannot reach CloudWatch Logs: {}", error_chain(&error)),
                retryable: true,
            }
        }
        _ => SourceError::Remote {
            location,
            message: error_chain(&error),
            retryable: false,
        },
    }
}
