//! Evaluating one rule at one time: its SQL's placeholders filled in, run
//! over `flows` limited to the rule's window (plus its baseline), one
//! firing per row.

use chrono::{DateTime, Utc};
use flowlake_query::{
    LakeLocation, MemorySettings, TimeRange, open_session, plan_read_only, run_read_only,
};
use serde_json::{Map, Value};

use crate::AlertError;
use crate::rules::Rule;

/// One group over a rule's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The group (e.g. the source address).
    pub key: String,
    /// The row's other columns: counts, first and last seen.
    pub values: Map<String, Value>,
}

/// Placeholders every rule may use besides its parameters.
const BUILT_IN: [&str; 5] = [
    "from",
    "to",
    "baseline_from",
    "window_seconds",
    "baseline_seconds",
];

/// The `{name}` placeholders in `sql`, with their byte ranges.
fn placeholders(sql: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(open) = sql[rest..].find('{').map(|i| i + rest) {
        let Some(close) = sql[open..].find('}').map(|i| i + open) else {
            break;
        };
        let name = &sql[open + 1..close];
        let ident = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ident {
            out.push((open, close + 1, name));
            rest = close + 1;
        } else {
            rest = open + 1;
        }
    }
    out
}

/// Every placeholder of the rule has a value.
pub(crate) fn check_placeholders(rule: &Rule) -> Result<(), String> {
    for (_, _, name) in placeholders(&rule.sql) {
        if !BUILT_IN.contains(&name) && !rule.params.contains_key(name) {
            return Err(format!(
                "the SQL uses {{{name}}}, which is neither a parameter (`[rule.params]`) nor one of {{from}}, {{to}}, {{baseline_from}}, {{window_seconds}}, {{baseline_seconds}}"
            ));
        }
    }
    Ok(())
}

fn timestamp(t: DateTime<Utc>) -> String {
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// `d` before `t`. Rules bound their durations to ten years, so this stays
/// in range; it saturates rather than panics all the same.
pub(crate) fn back(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The rule's SQL for a check at `at`, and the time range its session reads.
pub fn bind(rule: &Rule, at: DateTime<Utc>) -> (String, TimeRange) {
    let from = back(at, rule.window);
    let baseline_from = back(from, rule.baseline);
    let value = |name: &str| -> String {
        match name {
            "from" => timestamp(from),
            "to" => timestamp(at),
            "baseline_from" => timestamp(baseline_from),
            "window_seconds" => rule.window.as_secs().to_string(),
            "baseline_seconds" => rule.baseline.as_secs().max(1).to_string(),
            other => rule.params.get(other).cloned().unwrap_or_default(),
        }
    };
    let mut sql = String::with_capacity(rule.sql.len());
    let mut last = 0;
    for (start, end, name) in placeholders(&rule.sql) {
        sql.push_str(&rule.sql[last..start]);
        sql.push_str(&value(name));
        last = end;
    }
    sql.push_str(&rule.sql[last..]);
    let range = TimeRange {
        from: Some(baseline_from),
        to: Some(at),
    };
    (sql, range)
}

/// Where and how to query.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    /// The lake.
    pub lake: LakeLocation,
    /// Worker threads.
    pub threads: usize,
    /// Memory limit and spill folder.
    pub memory: MemorySettings,
}

/// A session over the rule's range as of `at`, and its SQL.
async fn session(
    settings: &QuerySettings,
    rule: &Rule,
    at: DateTime<Utc>,
) -> Result<(flowlake_query::SessionContext, String), AlertError> {
    let (sql, range) = bind(rule, at);
    let ctx = open_session(&settings.lake, &range, settings.threads, &settings.memory)
        .await
        .map_err(|e| AlertError::Rule {
            rule: rule.name.clone(),
            message: e.to_string(),
        })?;
    Ok((ctx, sql))
}

/// Runs `rule` as of `at`.
pub async fn evaluate(
    settings: &QuerySettings,
    rule: &Rule,
    at: DateTime<Utc>,
) -> Result<Vec<Firing>, AlertError> {
    let (ctx, sql) = session(settings, rule, at).await?;
    let failed = |message: String| AlertError::Rule {
        rule: rule.name.clone(),
        message,
    };
    // Rules are user SQL run by a scheduler: the same read-only guard as
    // the dashboard and Flight SQL endpoints.
    let (schema, batches) = run_read_only(&ctx, &sql)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if schema.field_with_name("key").is_err() {
        return Err(failed("its SQL must return a `key` column".to_owned()));
    }
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    let refs: Vec<&arrow::array::RecordBatch> = batches.iter().collect();
    writer
        .write_batches(&refs)
        .and_then(|()| writer.finish())
        .map_err(|e| failed(e.to_string()))?;
    let bytes = writer.into_inner();
    let rows: Vec<Map<String, Value>> = if bytes.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| failed(e.to_string()))?
    };
    Ok(rows
        .into_iter()
        .map(|mut values| {
            let key = match values.remove("key") {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => "-".to_owned(),
                Some(other) => other.to_string(),
            };
            Firing { key, values }
        })
        .collect())
}

/// Plans `rule` against the lake's schema without reading data (for
/// `alerts test`).
pub async fn plan(settings: &QuerySettings, rule: &Rule) -> Result<(), AlertError> {
    let (ctx, sql) = session(settings, rule, Utc::now()).await?;
    let failed = |message: String| AlertError::Rule {
        rule: rule.name.clone(),
        message,
    };
    let plan = plan_read_only(&ctx, &sql)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if plan.schema().field_with_unqualified_name("key").is_err() {
        return Err(failed("its SQL must return a `key` column".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_braces_that_are_not_placeholders_stay() {
        let rule = crate::rules::parse_rules(
            "t",
            "[[rule]]\nname = \"r\"\nwindow = \"1h\"\nbaseline = \"2h\"\nsql = \"SELECT '{x y}' AS key WHERE start_time >= {from} AND n > {k}\"\n[rule.params]\nk = 7\n",
        )
        .unwrap()
        .remove(0);
        let at = DateTime::parse_from_rfc3339("2024-05-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (sql, range) = bind(&rule, at);
        assert_eq!(
            sql,
            "SELECT '{x y}' AS key WHERE start_time >= TIMESTAMP '2024-05-25T11:00:00.000Z' AND n > 7"
        );
        assert_eq!(
            range.from.unwrap().to_rfc3339(),
            "2024-05-25T09:00:00+00:00"
        );
    }
}
