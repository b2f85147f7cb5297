//! Where notifications go: a generic JSON webhook, a Slack-compatible
//! webhook (`{"text": …}`), or a JSON-lines file. Printing the firing
//! alerts is the command's own output, not a notifier.
//!
//! A webhook is tried a few times with a timeout each; what still fails
//! stays in the outbox (`state.rs`) and is tried again by the next check.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::{Notice, Status};

/// Attempts per webhook notification within one check.
const ATTEMPTS: u32 = 3;
/// Time allowed for one webhook request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A destination for notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notifier {
    /// POST the notification as JSON.
    Webhook(String),
    /// POST `{"text": "<one line>"}` (Slack incoming webhooks, Mattermost, …).
    Slack(String),
    /// Append the notification as one JSON line.
    JsonLines(PathBuf),
}

impl Notifier {
    /// A stable name, which the outbox keys pending notifications by. A
    /// webhook URL often carries a secret: it is kept as a hash.
    pub fn id(&self) -> String {
        let hash = |url: &str| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(url.as_bytes()));
        match self {
            Notifier::Webhook(url) => format!("webhook:{}", hash(url)),
            Notifier::Slack(url) => format!("slack:{}", hash(url)),
            Notifier::JsonLines(path) => format!("jsonl:{}", path.display()),
        }
    }

    /// Delivers one notification.
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        notice: &Notice,
    ) -> Result<(), String> {
        match self {
            Notifier::Webhook(url) => post(client, url, &serde_json::json!(notice)).await,
            Notifier::Slack(url) => {
                post(
                    client,
                    url,
                    &serde_json::json!({ "text": one_line(notice) }),
                )
                .await
            }
            Notifier::JsonLines(path) => append_line(path, notice),
        }
    }
}

/// A notification as one line a person reads.
pub fn one_line(n: &Notice) -> String {
    let values: Vec<String> = n
        .values
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    match n.status {
        Status::Firing => format!(
            "[{:?}] {} firing for {}: {} ({} .. {}): {}",
            n.severity,
            n.rule,
            n.key,
            n.description,
            n.window_from,
            n.window_to,
            values.join(", ")
        ),
        Status::Resolved => format!(
            "[{:?}] {} resolved for {} at {} (firing since {})",
            n.severity, n.rule, n.key, n.window_to, n.firing_since
        ),
    }
}

/// The URL without its path and query, which may hold a token.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default()),
        Err(_) => "the webhook".to_owned(),
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> Result<(), String> {
    let mut last = String::new();
    let shown = redacted(url);
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        match client.post(url).timeout(TIMEOUT).json(body).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("{shown}: HTTP {}", response.status()),
            Err(e) => last = format!("{shown}: {}", e.without_url()),
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

fn append_line(path: &PathBuf, notice: &Notice) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    let line = serde_json::to_string(notice).map_err(|e| e.to_string())?;
    writeln!(file, "{line}").map_err(failed)?;
    file.sync_data().map_err(failed)
}
