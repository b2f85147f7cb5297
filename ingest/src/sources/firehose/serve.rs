//! The Firehose HTTP endpoint: an axum server that judges each delivery
//! request (`protocol.rs`), spools it durably before answering 200
//! (`spool.rs`), and flushes the spool into the lake by size and age
//! (`flush.rs`), holding the lake's writer lock for its lifetime. It
//! speaks plain HTTP, or HTTPS when given a certificate (`tls.rs`), and
//! serves `/health` and Prometheus `/metrics` (`metrics.rs`) beside the
//! delivery endpoint.
//!
//! On SIGTERM (or Ctrl-C) it stops accepting, finishes the requests in
//! flight, flushes what is spooled and exits. On start it recovers the lake
//! and the spool: segments committed just before a crash are recognised,
//! the rest are flushed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

use super::flush::Flusher;
use super::metrics::{self, FlushOutcome, SinkMetrics};
use super::models::DeliveryResponse;
use super::protocol::{Endpoint, Headers, Refused};
use super::spool::{Appended, Spool};
use super::tls::TlsListener;
use crate::compact::{CompactOptions, compact};
use crate::lake::LakeStore;
use crate::pipeline::{IngestError, IngestOptions, cpu_pool, process_config, under_lock};

/// How the sink runs.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The sink's name (its identity in the lake is `firehose:<name>`).
    pub name: String,
    /// The spool folder (local disk).
    pub spool_dir: PathBuf,
    /// What requests are accepted.
    pub endpoint: Endpoint,
    /// Flush once this many spooled bytes wait...
    pub flush_bytes: u64,
    /// ... or once the oldest has waited this long.
    pub flush_age: Duration,
    /// How long a request id is remembered after its flush.
    pub dedupe_window: Duration,
    /// Threads, format and limits for parsing.
    pub ingest: IngestOptions,
    /// Compact the lake this often (after a flush), if set.
    pub compact_every: Option<Duration>,
    /// How to compact.
    pub compact: CompactOptions,
    /// HTTPS with this configuration (`tls::server_config`); plain HTTP
    /// when `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Shared by the request handlers and the flusher.
struct Sink {
    endpoint: Endpoint,
    spool: Arc<Spool>,
    /// Woken when a flush may be due.
    wake: Notify,
    flush_bytes: u64,
    metrics: SinkMetrics,
}

/// Runs the sink until SIGTERM or Ctrl-C; `ready` gets the bound address.
pub async fn serve(
    lake: &LakeStore,
    options: SinkOptions,
    ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), IngestError> {
    under_lock(
        lake,
        |fenced| async move { run(&fenced, options, ready).await },
    )
    .await
}

async fn run(
    lake: &LakeStore,
    options: SinkOptions,
    ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), IngestError> {
    lake.clear_staging();
    let spool = Arc::new(
        Spool::open(&options.spool_dir)
            .map_err(|e| IngestError::List(options.spool_dir.display().to_string(), e.into()))?,
    );
    let flusher = Flusher::new(
        spool.clone(),
        &options.name,
        cpu_pool(options.ingest.threads)?,
        process_config(&options.ingest, lake),
    );
    flusher.reconcile(lake).await?;
    let sink = Arc::new(Sink {
        endpoint: options.endpoint.clone(),
        spool: spool.clone(),
        wake: Notify::new(),
        flush_bytes: options.flush_bytes,
        metrics: SinkMetrics::new(),
    });
    let app = Router::new()
        .route("/", post(deliver))
        .route("/health", get(|| async { "ok\n" }))
        .route("/metrics", get(scrape))
        .with_state(sink.clone());
    let listen_error = |source| IngestError::Listen {
        addr: options.listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Listened for before anyone can know the address: a SIGTERM during
    // the first flush must not meet the default action (death).
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    ready(bound);
    tracing::info!(%bound, scheme, "Firehose sink listening.");

    // Graceful shutdown is axum's either way: stop accepting, finish the
    // requests in flight.
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let server = match &options.tls {
        None => tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .into_future(),
        ),
        Some(config) => tokio::spawn(
            axum::serve(
                TlsListener::new(listener, config.clone()).map_err(listen_error)?,
                app,
            )
            .with_graceful_shutdown(stopped)
            .into_future(),
        ),
    };
    let mut compacted = Instant::now();
    loop {
        // Flush when enough is spooled or the oldest segment is old enough.
        let due = {
            let pending = spool.pending();
            let bytes = spool.pending_bytes();
            let oldest = pending.first().map(|s| s.header.received_ms);
            let now = chrono::Utc::now().timestamp_millis();
            let aged = oldest.is_some_and(|t| {
                now.saturating_sub(t)
                    >= i64::try_from(options.flush_age.as_millis()).unwrap_or(i64::MAX)
            });
            (bytes >= options.flush_bytes || aged).then_some(pending)
        };
        if let Some(pending) = due {
            let started = Instant::now();
            let flushed = flusher.flush(lake, &pending).await;
            let seconds = started.elapsed().as_secs_f64();
            match flushed {
                Ok(done) => {
                    sink.metrics
                        .flushed(FlushOutcome::Ok, seconds, done.rejected);
                    tracing::info!(
                        segments = done.segments,
                        records = done.records,
                        rejected = done.rejected,
                        ms = (seconds * 1000.0) as u64,
                        "Flushed the spool into the lake."
                    )
                }
                Err(e) => {
                    sink.metrics.flushed(FlushOutcome::Error, seconds, 0);
                    // The next flush first finishes or undoes this one's commit.
                    tracing::warn!(error = %e, "Flush failed; the spool keeps it for the next try.");
                }
            }
            let window = i64::try_from(options.dedupe_window.as_millis()).unwrap_or(i64::MAX);
            let _ = spool.expire(chrono::Utc::now().timestamp_millis().saturating_sub(window));
        }
        if options
            .compact_every
            .is_some_and(|every| compacted.elapsed() >= every)
        {
            compacted = Instant::now();
            match compact(lake, &options.compact, now_ms()).await {
                Ok(done) => tracing::info!(
                    partitions = done.partitions,
                    merged = done.files_merged,
                    "Compacted the lake."
                ),
                Err(e) => tracing::warn!(error = %e, "Compaction failed; the next one retries."),
            }
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = sink.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    tracing::info!("Stopping: finishing requests in flight, then flushing the spool.");
    stop.notify_one();
    let _ = server.await;
    let pending = spool.pending();
    if !pending.is_empty() {
        flusher.flush(lake, &pending).await?;
    }
    Ok(())
}

/// SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that comes while the first
/// flush runs waits for the loop instead of killing the process.
fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)))
    };
    async move {
        #[cfg(unix)]
        if let Ok((mut term, mut int)) = signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Every answer is JSON with the request id and an integer timestamp.
fn answer(status: StatusCode, request_id: &str, error: Option<&str>) -> Response {
    let body = DeliveryResponse::new(request_id, now_ms(), error);
    let json = serde_json::to_vec(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
}

fn refused(r: &Refused) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    answer(status, &r.request_id, Some(&r.message))
}

async fn scrape(State(sink): State<Arc<Sink>>) -> Response {
    let text = sink.metrics.encode(sink.spool.depth(), now_ms());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn deliver(State(sink): State<Arc<Sink>>, headers: HeaderMap, body: Body) -> Response {
    let response = receive(&sink, &headers, body).await;
    sink.metrics.answered(response.status().as_u16());
    response
}

async fn receive(sink: &Arc<Sink>, headers: &HeaderMap, body: Body) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let wire = Headers {
        request_id: text("x-amz-firehose-request-id"),
        protocol_version: text("x-amz-firehose-protocol-version"),
        access_key: text("x-amz-firehose-access-key"),
        content_encoding: text("content-encoding"),
        content_length: text("content-length").and_then(|v| v.parse().ok()),
    };
    if let Err(r) = sink.endpoint.check_headers(&wire) {
        return refused(&r);
    }
    let request_id = wire.request_id.unwrap_or_default().to_owned();
    let limit = usize::try_from(sink.endpoint.max_body_bytes).unwrap_or(usize::MAX);
    // Read at most the limit: a body past it is refused without being held.
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &request_id,
                Some(&format!("body is over the limit of {limit} bytes")),
            );
        }
    };
    sink.metrics.body_read(bytes.len() as u64);
    let encoding = wire.content_encoding.map(str::to_owned);
    let access_key = wire.access_key.map(str::to_owned);
    let (owned_id, work_sink) = (request_id.clone(), sink.clone());
    // Decoding and the fsync are blocking work.
    let outcome = tokio::task::spawn_blocking(move || {
        let wire = Headers {
            request_id: Some(&owned_id),
            protocol_version: Some("1.0"),
            access_key: access_key.as_deref(),
            content_encoding: encoding.as_deref(),
            content_length: None,
        };
        let accepted = work_sink.endpoint.judge(&wire, &bytes).map_err(Err)?;
        let appended = work_sink
            .spool
            .append(&accepted.request_id, now_ms(), &accepted.lines)
            .map_err(Ok)?;
        // Counted here so the lines are freed on this thread.
        let counts = (
            accepted.records,
            accepted.lines.len() as u64,
            accepted.control_messages,
        );
        Ok((appended, counts))
    })
    .await;
    match outcome {
        Ok(Ok((Appended::New(_), (records, lines, control_messages)))) => {
            sink.metrics.spooled(records, lines, control_messages);
            if sink.spool.pending_bytes() >= sink.flush_bytes {
                sink.wake.notify_one();
            }
            answer(StatusCode::OK, &request_id, None)
        }
        Ok(Ok((Appended::Duplicate(_), _))) => {
            sink.metrics.duplicate();
            answer(StatusCode::OK, &request_id, None)
        }
        Ok(Err(Err(r))) => refused(&r),
        Ok(Err(Ok(spool_error))) => {
            tracing::warn!(error = %spool_error, "Could not spool a request; Firehose will retry it.");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &request_id,
                Some(&format!("could not spool the request: {spool_error}")),
            )
        }
        Err(e) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            &request_id,
            Some(&format!("worker failed: {e}")),
        ),
    }
}
