//! Alert rules on rejected traffic, evaluated by a scheduled check.
//!
//! ```text
//! rule file (TOML) ─▶ rules::parse_rules ─▶ Rule (SQL over flows, window, suppression)
//!        │                                        │ eval::evaluate at --at
//!        ▼                                        ▼
//!   builtin.toml                     Firing (key + counts) per rule
//!                                                 │ under the alerts lock:
//!                                                 ▼
//!                      state::State::observe ─▶ notices due ─▶ outbox ─▶ notify::Notifier
//! ```
//!
//! The state is in the lake and changes only under a lock of its own
//! (not the writer's, so checks run beside a Firehose sink): two checks
//! that overlap never both notify.

mod builtin;
pub mod eval;
pub mod notify;
pub mod rules;
mod shorthand;
pub mod state;

use chrono::{DateTime, Utc};
use flowlake_ingest::LakeStore;
use flowlake_ingest::lake::lock::{LockScope, with_lock};
use flowlake_ingest::lake::{LockError, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};

pub use eval::{Firing, QuerySettings};
pub use notify::Notifier;
pub use rules::{Rule, Severity, builtin_rules, parse_rules};
pub use state::{Notice, Status};

use state::{Pending, STATE_PATH, State};

/// Why a check or a rule file failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The rule file is not valid.
    #[error("{file} line {line}: {message}")]
    Rules {
        /// The file (`builtin` for the built-in rules).
        file: String,
        /// Its 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule's query failed.
    #[error("rule {rule:?}: {message}")]
    Rule {
        /// The rule.
        rule: String,
        /// What failed.
        message: String,
    },
    /// The alert state could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The alerts lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The stored state is not what flowlake writes.
    #[error("{STATE_PATH}: unreadable alert state: {0}")]
    State(String),
}

/// A firing alert as the check prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// The group.
    pub key: String,
    /// The window: from ...
    pub window_from: String,
    /// ... to.
    pub window_to: String,
    /// Counts and times from the rule's SQL.
    pub values: Map<String, Value>,
    /// True when this check notified it (new, or due again).
    pub notified: bool,
}

/// What one check did.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Every group over its rule's threshold now.
    pub firing: Vec<Alert>,
    /// Notifications this check produced (firing and resolved).
    pub notices: Vec<Notice>,
    /// Notifications delivered (this check's and earlier ones retried).
    pub delivered: u64,
    /// Notifications that could not be delivered: kept for the next check.
    pub undelivered: Vec<String>,
    /// Rules that do nothing as configured, and why.
    pub inactive: Vec<(String, String)>,
}

/// Evaluates every rule as of `at`, updates the alert state and sends what
/// is due to `notifiers` (retrying what earlier checks could not deliver).
pub async fn check(
    store: &LakeStore,
    query: &QuerySettings,
    rules: &[Rule],
    at: DateTime<Utc>,
    notifiers: &[Notifier],
) -> Result<CheckReport, AlertError> {
    let at_ms = at.timestamp_millis();
    // Evaluated under the lock too: a slow check must not apply what it saw
    // at an earlier time over a state a later check already moved on.
    with_lock(store, LockScope::Alerts, |lake| async move {
        let mut report = CheckReport::default();
        let mut results = Vec::new();
        for rule in rules {
            if let Some(why) = &rule.inactive {
                report.inactive.push((rule.name.clone(), why.clone()));
                continue;
            }
            let firings = eval::evaluate(query, rule, at).await?;
            tracing::info!(rule = %rule.name, firing = firings.len(), "Evaluated a rule.");
            results.push((rule, firings));
        }
        let mut state = load(&lake).await?;
        for (rule, firings) in &results {
            let due = state.observe(rule, firings, at_ms);
            let (window_from, window_to) = state::window(rule, at_ms);
            for f in firings {
                report.firing.push(Alert {
                    rule: rule.name.clone(),
                    severity: rule.severity,
                    key: f.key.clone(),
                    window_from: window_from.clone(),
                    window_to: window_to.clone(),
                    values: f.values.clone(),
                    notified: due
                        .iter()
                        .any(|n| n.key == f.key && n.status == Status::Firing),
                });
            }
            for notifier in notifiers {
                state.outbox.extend(due.iter().map(|notice| Pending {
                    notifier: notifier.id(),
                    notice: notice.clone(),
                    queued_ms: at_ms,
                    attempts: 0,
                }));
            }
            report.notices.extend(due);
        }
        let dropped = state.prune(rules, at_ms);
        if dropped > 0 {
            tracing::warn!(dropped, "Dropped notifications undelivered for a week.");
        }
        save(&lake, &state).await?;
        deliver(&mut state, notifiers, &mut report).await;
        save(&lake, &state).await?;
        Ok::<_, AlertError>(report)
    })
    .await
}

async fn load(lake: &LakeStore) -> Result<State, AlertError> {
    match lake.get(STATE_PATH).await? {
        None => Ok(State::default()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| AlertError::State(e.to_string())),
    }
}

async fn save(lake: &LakeStore, state: &State) -> Result<(), AlertError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| AlertError::State(e.to_string()))?;
    lake.put(STATE_PATH, bytes.into()).await?;
    Ok(())
}

/// Sends every pending notification whose notifier is configured; what
/// fails stays pending.
async fn deliver(state: &mut State, notifiers: &[Notifier], report: &mut CheckReport) {
    let client = reqwest::Client::new();
    let mut kept = Vec::new();
    // A notifier that failed once is not tried again in this check: a dead
    // webhook costs one round of retries, not one per notification.
    let mut failed: Vec<String> = Vec::new();
    for mut pending in std::mem::take(&mut state.outbox) {
        let Some(notifier) = notifiers
            .iter()
            .find(|n| n.id() == pending.notifier && !failed.contains(&pending.notifier))
        else {
            kept.push(pending);
            continue;
        };
        match notifier.send(&client, &pending.notice).await {
            Ok(()) => report.delivered += 1,
            Err(e) => {
                tracing::warn!(error = %e, "A notification could not be delivered; the next check retries it.");
                pending.attempts += 1;
                report.undelivered.push(e);
                failed.push(pending.notifier.clone());
                kept.push(pending);
            }
        }
    }
    state.outbox = kept;
}
