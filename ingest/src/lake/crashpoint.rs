//! Deterministic crash injection for the exactly-once tests.
//!
//! `FLOWLAKE_CRASH_AFTER=<step>:<n>` makes the process abort (no unwinding,
//! no cleanup, like `kill -9`) right after the n-th time it completes `step`
//! of the commit protocol. The end-to-end tests run ingest with every step
//! and several counts, then run it again without the variable and check that
//! every record is in the lake exactly once; `explain --save` marks each day
//! it publishes (`explain-day-saved`). Unset, this costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static COUNT: AtomicU64 = AtomicU64::new(0);

/// Marks that `step` just completed; aborts if the environment asks for it.
pub fn reached(step: &str) {
    let target = TARGET.get_or_init(|| {
        let value = std::env::var("FLOWLAKE_CRASH_AFTER").ok()?;
        let (name, n) = value.split_once(':')?;
        Some((name.to_owned(), n.parse().ok()?))
    });
    if let Some((name, n)) = target
        && name == step
        && COUNT.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("flowlake: crash injected after {step} #{n} (FLOWLAKE_CRASH_AFTER)");
        std::process::abort();
    }
}
