//! Ingest progress: a bar on a terminal, a plain line every ten seconds
//! otherwise (cron and CI logs), nothing when asked to be quiet.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flowlake_ingest::{NoProgress, ObjectReport, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// The right [`Progress`] for where stderr goes.
pub(crate) fn progress_for_terminal(quiet: bool) -> Arc<dyn Progress> {
    if quiet {
        Arc::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Bar {
            bar: ProgressBar::hidden(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
        })
    } else {
        Arc::new(Lines {
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            records: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
        })
    }
}

struct Bar {
    bar: ProgressBar,
    total: AtomicU64,
    done: AtomicU64,
}

impl Progress for Bar {
    fn start(&self, objects: u64, bytes: u64) {
        self.total.store(objects, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        self.bar.set_style(style);
        self.bar.set_message(format!("0/{objects} objects"));
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn object_done(&self, report: &ObjectReport) {
        self.bar.inc(report.bytes_in);
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed);
        self.bar.set_message(format!("{done}/{total} objects"));
        if let Some(error) = &report.error {
            self.bar
                .println(format!("skipped {}: {error}", report.location));
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

struct Lines {
    total: AtomicU64,
    done: AtomicU64,
    records: AtomicU64,
    last: Mutex<Instant>,
}

impl Progress for Lines {
    fn start(&self, objects: u64, _bytes: u64) {
        self.total.store(objects, Ordering::Relaxed);
    }

    fn object_done(&self, report: &ObjectReport) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let records = self
            .records
            .fetch_add(report.records_written, Ordering::Relaxed)
            + report.records_written;
        if let Ok(mut last) = self.last.lock()
            && last.elapsed() >= Duration::from_secs(10)
        {
            *last = Instant::now();
            eprintln!(
                "flowlake: {done}/{} objects, {records} records",
                self.total.load(Ordering::Relaxed)
            );
        }
    }

    fn finish(&self) {}
}
