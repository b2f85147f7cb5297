//! The sink's Prometheus metrics, served at `GET /metrics` in the text
//! exposition format (version 0.0.4), so an operator can see what Firehose
//! sends, what the sink refuses, and whether the spool keeps up.
//!
//! Counters are bumped by the request handler and the flush loop; the spool
//! gauges are read from the spool when a scrape comes, so they are never
//! stale. Every name starts with `flowlake_firehose_`; the README's Firehose
//! section has the table.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::spool::Depth;

/// The `Content-Type` of what [`SinkMetrics::encode`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// How a flush ended, for `flowlake_firehose_flushes_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// Committed to the lake.
    Ok,
    /// Failed; the spool keeps the segments for the next try.
    Error,
}

/// Every metric the sink keeps, and the registry that encodes them.
#[derive(Debug)]
pub struct SinkMetrics {
    registry: Registry,
    requests: Family<CodeLabel, Counter>,
    records: Counter,
    lines: Counter,
    body_bytes: Counter,
    rejected_lines: Counter,
    duplicates: Counter,
    control_messages: Counter,
    pending_segments: Gauge,
    pending_bytes: Gauge,
    oldest_age: Gauge<f64, AtomicU64>,
    flush_seconds: Histogram,
    flushes: Family<OutcomeLabel, Counter>,
}

impl Default for SinkMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl SinkMetrics {
    /// All metrics at zero, registered.
    pub fn new() -> SinkMetrics {
        let m = SinkMetrics {
            registry: Registry::with_prefix("flowlake_firehose"),
            requests: Family::default(),
            records: Counter::default(),
            lines: Counter::default(),
            body_bytes: Counter::default(),
            rejected_lines: Counter::default(),
            duplicates: Counter::default(),
            control_messages: Counter::default(),
            pending_segments: Gauge::default(),
            pending_bytes: Gauge::default(),
            oldest_age: Gauge::default(),
            // 10 ms to about 80 s.
            flush_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            flushes: Family::default(),
        };
        let mut registry = m.registry;
        registry.register(
            "requests",
            "Delivery requests answered, by HTTP status code",
            m.requests.clone(),
        );
        registry.register(
            "records_received",
            "Firehose records in requests spooled (duplicates not counted)",
            m.records.clone(),
        );
        registry.register(
            "lines_received",
            "Flow-record lines in requests spooled (duplicates not counted)",
            m.lines.clone(),
        );
        registry.register_with_unit(
            "body_received",
            "Request body bytes read, as sent (before gzip decoding)",
            Unit::Bytes,
            m.body_bytes.clone(),
        );
        registry.register(
            "lines_rejected",
            "Lines quarantined when the spool was flushed into the lake",
            m.rejected_lines.clone(),
        );
        registry.register(
            "duplicate_requests",
            "Requests whose id was already spooled: answered 200, not written again",
            m.duplicates.clone(),
        );
        registry.register(
            "control_messages_skipped",
            "CloudWatch Logs CONTROL_MESSAGE envelopes acknowledged and skipped",
            m.control_messages.clone(),
        );
        registry.register(
            "spool_pending_segments",
            "Spooled requests waiting to be flushed into the lake",
            m.pending_segments.clone(),
        );
        registry.register_with_unit(
            "spool_pending",
            "Bytes of spooled requests waiting to be flushed",
            Unit::Bytes,
            m.pending_bytes.clone(),
        );
        registry.register_with_unit(
            "spool_oldest_age",
            "Age of the oldest spooled request not yet flushed (0 when none)",
            Unit::Seconds,
            m.oldest_age.clone(),
        );
        registry.register_with_unit(
            "flush_duration",
            "Time to flush spooled requests into the lake",
            Unit::Seconds,
            m.flush_seconds.clone(),
        );
        registry.register(
            "flushes",
            "Flushes of the spool into the lake, by outcome (ok, error)",
            m.flushes.clone(),
        );
        SinkMetrics { registry, ..m }
    }

    /// A request was answered with `code`.
    pub fn answered(&self, code: u16) {
        self.requests.get_or_create(&CodeLabel { code }).inc();
    }

    /// A request's body of `bytes` (as sent) was read.
    pub fn body_read(&self, bytes: u64) {
        self.body_bytes.inc_by(bytes);
    }

    /// A new request was spooled.
    pub fn spooled(&self, records: u64, lines: u64, control_messages: u64) {
        self.records.inc_by(records);
        self.lines.inc_by(lines);
        self.control_messages.inc_by(control_messages);
    }

    /// A request was recognised as a redelivery.
    pub fn duplicate(&self) {
        self.duplicates.inc();
    }

    /// A flush ended after `seconds`, quarantining `rejected` lines.
    pub fn flushed(&self, outcome: FlushOutcome, seconds: f64, rejected: u64) {
        let outcome = match outcome {
            FlushOutcome::Ok => "ok",
            FlushOutcome::Error => "error",
        };
        self.flushes.get_or_create(&OutcomeLabel { outcome }).inc();
        self.flush_seconds.observe(seconds);
        self.rejected_lines.inc_by(rejected);
    }

    /// The exposition text, with the spool gauges set from `depth` as of
    /// `now_ms`.
    pub fn encode(&self, depth: Depth, now_ms: i64) -> String {
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.pending_segments.set(clamp(depth.segments));
        self.pending_bytes.set(clamp(depth.bytes));
        let age_ms = depth
            .oldest_received_ms
            .map_or(0, |t| now_ms.saturating_sub(t).max(0));
        self.oldest_age.set(age_ms as f64 / 1000.0);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_come_out_as_exposition_text() {
        let m = SinkMetrics::new();
        m.answered(200);
        m.answered(200);
        m.answered(401);
        m.spooled(3, 7, 1);
        m.flushed(FlushOutcome::Ok, 0.5, 2);
        let text = m.encode(
            Depth {
                segments: 2,
                bytes: 900,
                oldest_received_ms: Some(1_000),
            },
            3_500,
        );
        for line in [
            "flowlake_firehose_requests_total{code=\"200\"} 2",
            "flowlake_firehose_requests_total{code=\"401\"} 1",
            "flowlake_firehose_records_received_total 3",
            "flowlake_firehose_lines_received_total 7",
            "flowlake_firehose_control_messages_skipped_total 1",
            "flowlake_firehose_lines_rejected_total 2",
            "flowlake_firehose_spool_pending_segments 2",
            "flowlake_firehose_spool_pending_bytes 900",
            "flowlake_firehose_spool_oldest_age_seconds 2.5",
            "flowlake_firehose_flushes_total{outcome=\"ok\"} 1",
            "flowlake_firehose_flush_duration_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
    }
}
