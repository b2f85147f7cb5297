//! `flowlake run --config flowlake.toml`: the scheduled job. For every
//! configured source ingest what is new, then compact, then drop what is
//! past retention, then check the alert rules; end with one JSON summary on standard output and one log line per
//! step on standard error.
//!
//! Every key of a `[[sources]]`, `[compact]`, `[retention]` or `[alerts]` table is the
//! flag of the same name of the matching command (`log_group` is
//! `--log-group`), parsed by that command's own parser: the config offers
//! exactly what the command line does, with the same checks and messages.
//! `deploy/flowlake.toml` documents them.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{SecondsFormat, Utc};
use clap::{Args, Parser};
use flowlake_ingest::IngestError;
use flowlake_ingest::lake::LockError;
use flowlake_ingest::lake::lock::LockScope;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Cli, Command, Outcome, Step};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The job's configuration (TOML; see deploy/flowlake.toml).
    #[arg(long, env = "FLOWLAKE_CONFIG")]
    config: PathBuf,

    /// The clock for the alert check (to replay a past run); default now.
    #[arg(long, allow_hyphen_values = true)]
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobConfig {
    lake: String,
    #[serde(default)]
    sources: Vec<toml::Table>,
    compact: Option<toml::Table>,
    retention: Option<toml::Table>,
    alerts: Option<toml::Table>,
}

/// `--flag=value` for the keys of `table` except `skip` and `enabled`
/// (`true` is a bare `--flag`, `false` is `--flag=false` for a flag that
/// takes a value; the `=` keeps a value starting with `-` a value).
fn flags(table: &toml::Table, skip: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for (key, value) in table {
        if key == "enabled" || skip.contains(&key.as_str()) {
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        let values = match value {
            toml::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for value in values {
            match value {
                toml::Value::Boolean(true) => out.push(flag.clone()),
                toml::Value::Boolean(false) => out.push(format!("{flag}=false")),
                toml::Value::String(s) => out.push(format!("{flag}={s}")),
                toml::Value::Integer(n) => out.push(format!("{flag}={n}")),
                toml::Value::Float(f) => out.push(format!("{flag}={f}")),
                other => bail!("{key}: {other} is not a string, number or boolean"),
            }
        }
    }
    Ok(out)
}

/// Every table may say `enabled = false` to turn its step off.
fn enabled(table: &toml::Table) -> bool {
    table.get("enabled") != Some(&toml::Value::Boolean(false))
}

fn text(table: &toml::Table, key: &str, what: &str) -> anyhow::Result<String> {
    match table.get(key) {
        Some(toml::Value::String(s)) => Ok(s.clone()),
        _ => bail!("{what} needs `{key}` (a string)"),
    }
}

/// One step of the job: its name and the command line it runs.
struct Planned {
    name: String,
    argv: Vec<String>,
}

/// The step running `command` (with `--lake` and the flags of `table`).
fn table_step(
    lake: &str,
    command: &[&str],
    table: &toml::Table,
    skip: &[&str],
    what: &str,
) -> anyhow::Result<Planned> {
    let mut argv: Vec<String> = std::iter::once("flowlake")
        .chain(command.iter().copied())
        .chain(["--lake", lake])
        .map(str::to_owned)
        .collect();
    argv.extend(flags(table, skip).with_context(|| what.to_owned())?);
    let name: Vec<&str> = command
        .iter()
        .copied()
        .filter(|c| !c.starts_with("--"))
        .collect();
    Ok(Planned {
        name: name.join(" "),
        argv,
    })
}

fn plan(config: &JobConfig, at: Option<&str>) -> anyhow::Result<Vec<Planned>> {
    let lake = ["--lake".to_owned(), config.lake.clone()];
    let mut steps = Vec::new();
    for (i, source) in config.sources.iter().enumerate() {
        if !enabled(source) {
            continue;
        }
        let what = format!("sources[{i}]");
        let kind = text(source, "type", &what)?;
        let (positional, name) = match kind.as_str() {
            "dir" => (Some(text(source, "path", &what)?), "path"),
            "s3" => (Some(text(source, "url", &what)?), "url"),
            "cloudwatch" => (None, ""),
            other => bail!("{what}: type {other:?} is not dir, s3 or cloudwatch"),
        };
        let mut argv = vec!["flowlake".to_owned(), "ingest".to_owned(), kind.clone()];
        argv.extend(positional.clone());
        argv.extend(lake.clone());
        argv.extend(["--json".to_owned(), "--quiet".to_owned()]);
        argv.extend(flags(source, &["type", name]).with_context(|| what.clone())?);
        steps.push(Planned {
            name: format!("ingest {kind} {}", positional.unwrap_or_default())
                .trim_end()
                .to_owned(),
            argv,
        });
    }
    let compact = config.compact.clone().unwrap_or_default();
    if enabled(&compact) {
        steps.push(table_step(
            &config.lake,
            &["compact", "--json"],
            &compact,
            &[],
            "[compact]",
        )?);
    }
    if let Some(retention) = config.retention.as_ref().filter(|t| enabled(t)) {
        steps.push(table_step(
            &config.lake,
            &["prune", "--json"],
            retention,
            &[],
            "[retention]",
        )?);
    }
    if let Some(alerts) = config.alerts.as_ref().filter(|t| enabled(t)) {
        let mut step = table_step(
            &config.lake,
            &["alerts", "check"],
            alerts,
            &["at"],
            "[alerts]",
        )?;
        if let Some(at) = at {
            step.argv.extend(["--at".to_owned(), at.to_owned()]);
        }
        steps.push(step);
    }
    Ok(steps)
}

async fn execute(command: Command) -> anyhow::Result<Step> {
    match command {
        Command::Ingest(c) => super::ingest::execute(c).await,
        Command::Compact(args) => super::compact::execute(args).await,
        Command::Prune(args) => super::prune::execute(args).await,
        Command::Alerts(super::alerts::AlertsCommand::Check(args)) => {
            Ok(super::alerts::execute_check(*args).await?.0)
        }
        _ => bail!("not a step of a job"),
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Partial => "partial",
        Outcome::Alerting => "alerting",
    }
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let path = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {path}"))?;
    let config: JobConfig = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| {
            text.get(..s.start)
                .map_or(1, |t| t.matches('\n').count() + 1)
        });
        anyhow::anyhow!("{path} line {line}: {}", e.message())
    })?;
    // Every step's command line is checked before the first one runs.
    let mut commands = Vec::new();
    for step in plan(&config, args.at.as_deref()).with_context(|| path.clone())? {
        let cli = Cli::try_parse_from(&step.argv).map_err(|e| {
            anyhow::anyhow!("{path}: {}: {}", step.name, e.render().to_string().trim())
        })?;
        if let Command::Alerts(super::alerts::AlertsCommand::Check(check)) = &cli.command {
            super::alerts::load_rules(&check.rules)?;
        }
        commands.push((step.name, cli.command));
    }
    let started = Utc::now();
    let (mut reports, mut worst, mut failed) = (Vec::new(), Outcome::Done, false);
    let mut writer_busy = false;
    for (name, command) in commands {
        // Another writer holds the lake (a Firehose sink, say): the steps
        // that write would only fail the same way; the alert check has a
        // lock of its own and still runs.
        if writer_busy && !matches!(command, Command::Alerts(_)) {
            eprintln!("flowlake run: {name}: skipped: another writer holds the lake");
            reports.push(json!({"step": name, "outcome": "skipped", "error": "another writer holds the lake"}));
            continue;
        }
        match execute(command).await {
            Ok(step) => {
                eprintln!(
                    "flowlake run: {name}: {}: {}",
                    outcome_name(step.outcome),
                    step.text.lines().next().unwrap_or_default()
                );
                if step.outcome != Outcome::Done {
                    worst = step.outcome;
                }
                reports.push(json!({"step": name, "outcome": outcome_name(step.outcome), "summary": step.json}));
            }
            Err(e) => {
                let message = format!("{e:#}");
                eprintln!("flowlake run: {name}: error: {message}");
                failed = true;
                reports.push(json!({"step": name, "outcome": "error", "error": message}));
                writer_busy |= e.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<IngestError>(),
                        Some(IngestError::Lock(LockError::Busy {
                            scope: LockScope::Writer,
                            ..
                        }))
                    )
                });
            }
        }
    }
    let exit = if failed {
        2
    } else if worst == Outcome::Done {
        0
    } else {
        1
    };
    let summary: Value = json!({
        "config": path,
        "lake": config.lake,
        "started_at": started.to_rfc3339_opts(SecondsFormat::Secs, true),
        "finished_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "exit": exit,
        "steps": reports,
    });
    println!("{summary}");
    if failed {
        bail!("{path}: a step failed (see the summary)");
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(text: &str) -> Vec<String> {
        let config: JobConfig = toml::from_str(text).unwrap();
        plan(&config, None)
            .unwrap()
            .into_iter()
            .map(|step| {
                if let Err(e) = Cli::try_parse_from(&step.argv) {
                    panic!("{}: {e}", step.name);
                }
                step.name
            })
            .collect()
    }

    #[test]
    fn the_committed_example_and_the_minimal_config_parse_into_steps() {
        let steps = parses(include_str!("../../deploy/flowlake.toml"));
        assert_eq!(
            steps,
            [
                "ingest dir /data/flowlogs",
                "ingest s3 s3://my-flow-logs/prefix",
                "ingest cloudwatch",
                "compact",
                "prune",
                "alerts check"
            ]
        );
        let minimal = "lake = \"/var/lib/flowlake/lake\"\n\n[[sources]]\ntype = \"dir\"\npath = \"/data/flowlogs\"\n\n[alerts]\nrules = \"builtin\"\nwebhook = \"https://hooks.example.com/flowlake\"\n";
        assert_eq!(
            parses(minimal),
            ["ingest dir /data/flowlogs", "compact", "alerts check"]
        );
    }

    #[test]
    fn enabled_false_turns_any_step_off_and_booleans_reach_value_flags() {
        let steps = parses(
            "lake = \"l\"\n[[sources]]\ntype = \"s3\"\nurl = \"s3://b\"\npath_style = false\nendpoint_url = \"http://localhost:9000\"\n\n[[sources]]\ntype = \"dir\"\npath = \"p\"\nenabled = false\n\n[compact]\nenabled = false\n\n[retention]\nenabled = false\nolder_than = \"90d\"\n\n[alerts]\nrules = \"builtin\"\n",
        );
        assert_eq!(steps, ["ingest s3 s3://b", "alerts check"]);
        let config: JobConfig = toml::from_str(
            "lake = \"l\"\n[[sources]]\ntype = \"s3\"\nurl = \"s3://b\"\npath_style = true\nprefix = \"-odd\"\n",
        )
        .unwrap();
        let argv = &plan(&config, None).unwrap()[0].argv;
        assert!(argv.contains(&"--path-style".to_owned()), "{argv:?}");
    }

    #[test]
    fn a_key_that_is_no_flag_is_named() {
        let config: JobConfig = toml::from_str(
            "lake = \"l\"\n[[sources]]\ntype = \"dir\"\npath = \"p\"\nfrom_ = \"-2h\"\n",
        )
        .unwrap();
        let step = plan(&config, None).unwrap().remove(0);
        let e = Cli::try_parse_from(&step.argv).unwrap_err().to_string();
        assert!(e.contains("--from-"), "{e}");
    }
}
