//! `flowlake alerts check` and `flowlake alerts test`: alert rules over the
//! lake, for a scheduler to run (exit 1 when an alert fires).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use flowlake_alerts::notify::one_line;
use flowlake_alerts::{
    CheckReport, Notifier, QuerySettings, Rule, builtin_rules, check, eval, parse_rules,
};
use flowlake_query::LakeLocation;
use flowlake_query::time::parse_time;

use super::lake_args::{LakeArgs, MemoryArgs};
use super::sql::threads;
use super::{Outcome, Step};

#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCommand {
    /// Evaluate the rules over their windows ending at --at, print what
    /// fires, notify what is new. Exit 1 if anything fires, 0 if not, 2 on error.
    Check(Box<CheckArgs>),
    /// Validate a rule file: syntax, and every rule's SQL planned against
    /// the lake's schema (no data read).
    Test(TestArgs),
}

/// How `check` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AlertFormat {
    /// A readable table.
    Table,
    /// One JSON object per firing alert, per line.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    lake: LakeArgs,

    #[command(flatten)]
    notify: NotifyArgs,

    /// `builtin`, or a rule file (TOML).
    #[arg(long, default_value = "builtin")]
    pub(crate) rules: String,

    /// The check's clock: windows end here and suppression counts from it
    /// (RFC 3339, 2024-05-25T05:00, -2h, now).
    #[arg(long, allow_hyphen_values = true)]
    at: Option<String>,

    /// Output: table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: AlertFormat,

    #[command(flatten)]
    memory: MemoryArgs,
}

/// Where notifications go (several allowed).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct NotifyArgs {
    /// POST each notification as JSON to this URL.
    #[arg(long)]
    pub(crate) webhook: Vec<String>,

    /// POST each notification as `{"text": ...}` (Slack-compatible) to this URL.
    #[arg(long)]
    pub(crate) slack_webhook: Vec<String>,

    /// Append each notification as a JSON line to this file.
    #[arg(long)]
    pub(crate) jsonl: Option<PathBuf>,
}

impl NotifyArgs {
    pub(crate) fn notifiers(&self) -> Vec<Notifier> {
        let mut out: Vec<Notifier> = self
            .webhook
            .iter()
            .cloned()
            .map(Notifier::Webhook)
            .collect();
        out.extend(self.slack_webhook.iter().cloned().map(Notifier::Slack));
        out.extend(self.jsonl.iter().cloned().map(Notifier::JsonLines));
        out
    }
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The rule file (or `builtin`).
    #[arg(long)]
    rules: String,
}

/// The rules `--rules` names.
pub(crate) fn load_rules(rules: &str) -> anyhow::Result<Vec<Rule>> {
    if rules == "builtin" {
        return Ok(builtin_rules()?);
    }
    let text = std::fs::read_to_string(rules).with_context(|| format!("reading {rules}"))?;
    Ok(parse_rules(rules, &text)?)
}

pub(crate) async fn run(command: AlertsCommand) -> anyhow::Result<Outcome> {
    match command {
        AlertsCommand::Check(args) => run_check(*args).await,
        AlertsCommand::Test(args) => run_test(args).await,
    }
}

async fn run_check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let format = args.format;
    let (step, lines) = execute_check(args).await?;
    let mut out = std::io::stdout().lock();
    match format {
        AlertFormat::Json => {
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
        AlertFormat::Table => write!(out, "{}", step.text)?,
    }
    Ok(step.outcome)
}

/// Runs one check: the step (table text and the whole report as JSON) and
/// one JSON line per firing alert. Inactive rules and undelivered
/// notifications are reported on standard error.
pub(crate) async fn execute_check(args: CheckArgs) -> anyhow::Result<(Step, Vec<String>)> {
    let rules = load_rules(&args.rules)?;
    let at = match &args.at {
        Some(text) => parse_time(text, Utc::now())?,
        None => Utc::now(),
    };
    let store = args.lake.open_existing().await?;
    let query = QuerySettings {
        lake: args.lake.open_for_query().await?,
        threads: threads(),
        memory: args.memory.settings(),
    };
    let report = check(&store, &query, &rules, at, &args.notify.notifiers()).await?;
    for notice in &report.notices {
        tracing::info!("{}", one_line(notice));
    }
    for (rule, why) in &report.inactive {
        eprintln!("flowlake: rule {rule}: inactive: {why}");
    }
    for failure in &report.undelivered {
        eprintln!("flowlake: warning: notification not delivered (retried next check): {failure}");
    }
    let lines = report
        .firing
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    let step = Step {
        outcome: if report.firing.is_empty() {
            Outcome::Done
        } else {
            Outcome::Alerting
        },
        text: render_table(&report),
        json: serde_json::to_value(&report)?,
    };
    Ok((step, lines))
}

fn render_table(report: &CheckReport) -> String {
    if report.firing.is_empty() {
        return "No alert fires.\n".to_owned();
    }
    let mut out = String::new();
    for alert in &report.firing {
        let values: Vec<String> = alert
            .values
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned)))
            .collect();
        out.push_str(&format!(
            "{:<9} {:<24} {:<40} {}{}\n",
            format!("{:?}", alert.severity).to_uppercase(),
            alert.rule,
            alert.key,
            values.join(" "),
            if alert.notified { "  (notified)" } else { "" }
        ));
    }
    out
}

async fn run_test(args: TestArgs) -> anyhow::Result<Outcome> {
    let rules = load_rules(&args.rules)?;
    let empty = tempfile::tempdir().context("creating a temp folder")?;
    let query = QuerySettings {
        lake: LakeLocation::Local(Path::new(empty.path()).to_path_buf()),
        threads: 1,
        memory: MemoryArgs::default().settings(),
    };
    for rule in &rules {
        match &rule.inactive {
            Some(why) => println!("{:<24} inactive: {why}", rule.name),
            None => {
                eval::plan(&query, rule).await?;
                println!("{:<24} ok", rule.name);
            }
        }
    }
    println!("{} rules in {}: valid.", rules.len(), args.rules);
    Ok(Outcome::Done)
}
