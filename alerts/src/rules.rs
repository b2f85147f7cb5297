//! Rule files: TOML, one `[[rule]]` table per rule, each either a SQL query
//! over `flows` or a structured shorthand (`shorthand.rs`) that compiles to
//! one. A file may start from the built-in rules (`include_builtin = true`)
//! and override any of their fields by naming them (`builtin = "port-scan"`).
//!
//! ```toml
//! include_builtin = true
//!
//! [[rule]]
//! builtin = "port-scan"
//! threshold = 50            # override one field of a built-in rule
//!
//! [[rule]]
//! name = "db-from-internet"
//! severity = "high"
//! window = "30m"
//! action = "REJECT"
//! dstport = [5432, 3306]
//! src = "internet"
//! group_by = ["srcaddr"]
//! threshold = 5
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::AlertError;
use crate::builtin::BUILTIN_RULES;
use crate::shorthand;

/// How bad a firing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth a look.
    Low,
    /// Worth a look today.
    Medium,
    /// Worth a look now.
    High,
    /// Someone should be paged.
    Critical,
}

/// Which addresses a shorthand rule's `src` or `dst` matches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AddressMatch {
    /// `"internet"` or `"private"`.
    Class(String),
    /// CIDR blocks (`["203.0.113.0/24", "2001:db8::/32"]`).
    Cidrs(Vec<String>),
}

/// One `[[rule]]` table as written: every field optional, so an override of
/// a built-in rule names only what it changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    pub(crate) name: Option<String>,
    pub(crate) builtin: Option<String>,
    pub(crate) enabled: Option<bool>,
    pub(crate) description: Option<String>,
    pub(crate) severity: Option<Severity>,
    pub(crate) window: Option<String>,
    pub(crate) suppress: Option<String>,
    pub(crate) baseline: Option<String>,
    pub(crate) limit: Option<usize>,
    pub(crate) sql: Option<String>,
    pub(crate) params: Option<BTreeMap<String, toml::Value>>,
    pub(crate) action: Option<String>,
    pub(crate) protocol: Option<i64>,
    pub(crate) srcport: Option<Vec<i64>>,
    pub(crate) dstport: Option<Vec<i64>>,
    pub(crate) src: Option<AddressMatch>,
    pub(crate) dst: Option<AddressMatch>,
    pub(crate) cidrs: Option<Vec<String>>,
    pub(crate) interface: Option<Vec<String>>,
    #[serde(rename = "where")]
    pub(crate) filter: Option<String>,
    pub(crate) group_by: Option<Vec<String>>,
    pub(crate) measure: Option<String>,
    pub(crate) threshold: Option<f64>,
}

impl RuleSpec {
    /// `self` with every field it leaves out taken from `base`.
    fn over(self, base: RuleSpec) -> RuleSpec {
        macro_rules! pick {
            ($($f:ident),*) => { RuleSpec { $($f: self.$f.or(base.$f)),* } };
        }
        let mut params = base.params.clone().unwrap_or_default();
        params.extend(self.params.clone().unwrap_or_default());
        let merged = pick!(
            name,
            builtin,
            enabled,
            description,
            severity,
            window,
            suppress,
            baseline,
            limit,
            sql,
            params,
            action,
            protocol,
            srcport,
            dstport,
            src,
            dst,
            cidrs,
            interface,
            filter,
            group_by,
            measure,
            threshold
        );
        RuleSpec {
            params: Some(params),
            ..merged
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    include_builtin: bool,
    #[serde(default)]
    rule: Vec<toml::Spanned<RuleSpec>>,
}

/// A rule ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its name: the first part of every alert's identity.
    pub name: String,
    /// What it means, for the notification.
    pub description: String,
    /// How bad a firing is.
    pub severity: Severity,
    /// It looks at the `window` before the check's time ...
    pub window: Duration,
    /// ... and, for rules that compare with the past, the `baseline` before that.
    pub baseline: Duration,
    /// A group that keeps firing is notified again only after this long.
    pub suppress: Duration,
    /// The SQL, with `{from}`, `{to}` and the parameters still to fill in:
    /// one row per firing group, a `key` column naming the group.
    pub sql: String,
    /// Values for the SQL's `{name}` placeholders.
    pub params: BTreeMap<String, String>,
    /// Groups reported at most per check (the SQL's `LIMIT`).
    pub limit: usize,
    /// Why the rule does nothing as configured (e.g. an empty CIDR list).
    pub inactive: Option<String>,
}

/// Default look-back of a rule.
const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);
/// Default suppression period: at most one notification a day per group.
const DEFAULT_SUPPRESS: Duration = Duration::from_secs(24 * 3600);
/// Groups a rule reports at most per check.
const DEFAULT_LIMIT: usize = 100;
/// Longest window, baseline or suppression period (ten years).
const MAX_DURATION: Duration = Duration::from_secs(3650 * 86_400);

/// Parses a duration such as `30m`, `1h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30m, 1h, 7d)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: unknown unit (use s, m, h, d)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(scale)))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

fn builtin_specs() -> Result<Vec<RuleSpec>, AlertError> {
    let file: RuleFile = toml::from_str(BUILTIN_RULES).map_err(|e| AlertError::Rules {
        file: "builtin".to_owned(),
        line: e.span().map_or(1, |s| line_of(BUILTIN_RULES, s.start)),
        message: e.message().to_owned(),
    })?;
    Ok(file
        .rule
        .into_iter()
        .map(toml::Spanned::into_inner)
        .collect())
}

/// `message` prefixed with the name of the rule whose table holds byte
/// `offset` of `text`, if one does (and the file parses as TOML at all).
fn with_rule_name(text: &str, offset: usize, message: &str) -> String {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        rule: Vec<toml::Spanned<toml::Table>>,
    }
    let name = toml::from_str::<Loose>(text).ok().and_then(|loose| {
        // A `[[rule]]` table's span is its header: the error is in the
        // last table that starts before it.
        let rule = loose
            .rule
            .into_iter()
            .take_while(|r| r.span().start <= offset)
            .last()?;
        let table = rule.into_inner();
        let name = table.get("name").or_else(|| table.get("builtin"))?;
        name.as_str().map(str::to_owned)
    });
    match name {
        Some(name) => format!("rule {name:?}: {message}"),
        None => message.to_owned(),
    }
}

/// The built-in rules (`--rules builtin`).
pub fn builtin_rules() -> Result<Vec<Rule>, AlertError> {
    parse_rules("builtin", "include_builtin = true\n")
}

/// Parses a rule file's text; `file` names it in errors, which give the
/// line and the rule.
pub fn parse_rules(file: &str, text: &str) -> Result<Vec<Rule>, AlertError> {
    let at = |line: usize, message: String| AlertError::Rules {
        file: file.to_owned(),
        line,
        message,
    };
    let parsed: RuleFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(
            line_of(text, offset),
            with_rule_name(text, offset, e.message()),
        )
    })?;
    let builtins = builtin_specs()?;
    let mut specs: Vec<(usize, RuleSpec)> = if parsed.include_builtin {
        builtins.iter().cloned().map(|s| (0, s)).collect()
    } else {
        Vec::new()
    };
    for spanned in parsed.rule {
        let line = line_of(text, spanned.span().start);
        let spec = spanned.into_inner();
        let Some(base) = &spec.builtin else {
            specs.push((line, spec));
            continue;
        };
        let Some(original) = builtins.iter().find(|b| b.name.as_deref() == Some(base)) else {
            return Err(at(line, format!("no built-in rule named {base:?}")));
        };
        let merged = spec.over(original.clone());
        match specs.iter_mut().find(|(_, s)| s.name == merged.name) {
            Some(slot) => *slot = (line, merged),
            None => specs.push((line, merged)),
        }
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (line, spec) in specs {
        if spec.enabled == Some(false) {
            continue;
        }
        let name = spec.name.clone().unwrap_or_default();
        let rule = compile(spec).map_err(|message| {
            at(
                line,
                if name.is_empty() {
                    message
                } else {
                    format!("rule {name:?}: {message}")
                },
            )
        })?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(at(line, format!("two rules are named {:?}", rule.name)));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn compile(spec: RuleSpec) -> Result<Rule, String> {
    let name = spec
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or("a rule needs a name")?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("a rule name is letters, digits, - and _".to_owned());
    }
    let duration = |value: &Option<String>, default: Duration| {
        value.as_deref().map_or(Ok(default), parse_duration)
    };
    let window = duration(&spec.window, DEFAULT_WINDOW)?;
    if window.is_zero() {
        return Err("window must be above 0".to_owned());
    }
    let baseline = duration(&spec.baseline, Duration::ZERO)?;
    let suppress = duration(&spec.suppress, DEFAULT_SUPPRESS)?;
    for (what, d) in [
        ("window", window),
        ("baseline", baseline),
        ("suppress", suppress),
    ] {
        if d > MAX_DURATION {
            return Err(format!(
                "{what} is over {} days",
                MAX_DURATION.as_secs() / 86_400
            ));
        }
    }
    if let Some(t) = spec.threshold.filter(|t| !t.is_finite()) {
        return Err(format!("threshold {t} is not a number"));
    }
    let limit = spec.limit.unwrap_or(DEFAULT_LIMIT).max(1);
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in spec.params.clone().unwrap_or_default() {
        params.insert(key.clone(), param_literal(&key, &value)?);
    }
    if let Some(t) = spec.threshold {
        params.insert("threshold".to_owned(), t.to_string());
    }
    params.insert("limit".to_owned(), limit.to_string());
    let inactive = spec
        .cidrs
        .as_ref()
        .filter(|c| c.is_empty())
        .map(|_| "no CIDRs listed (set `cidrs`)".to_owned());
    let sql = match &spec.sql {
        Some(sql) => {
            if shorthand::is_used(&spec) {
                return Err("give either `sql` or the match fields, not both".to_owned());
            }
            sql.clone()
        }
        None if inactive.is_some() => String::new(),
        None => shorthand::compile(&spec, limit)?,
    };
    let rule = Rule {
        description: spec.description.clone().unwrap_or_else(|| name.clone()),
        severity: spec.severity.unwrap_or(Severity::Medium),
        name,
        window,
        baseline,
        suppress,
        sql,
        params,
        limit,
        inactive,
    };
    crate::eval::check_placeholders(&rule)?;
    Ok(rule)
}

/// A parameter as SQL: numbers as they are, strings quoted.
fn param_literal(key: &str, value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::String(s) => Ok(format!("'{}'", s.replace('\'', "''"))),
        _ => Err(format!(
            "parameter {key:?} must be a number, a boolean or a string"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_with_the_documented_defaults() {
        let rules = builtin_rules().unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ssh-rdp-from-internet",
                "port-scan",
                "reject-ratio-spike",
                "bad-cidrs"
            ]
        );
        assert!(rules.iter().all(|r| r.window == Duration::from_secs(3600)));
        let param =
            |rule: &str, p: &str| rules.iter().find(|r| r.name == rule).unwrap().params[p].clone();
        assert_eq!(param("port-scan", "threshold"), "25");
        assert_eq!(param("ssh-rdp-from-internet", "threshold"), "10");
        assert!(rules[3].inactive.is_some(), "bad-cidrs needs a list");
    }

    #[test]
    fn overrides_change_only_what_they_name() {
        let rules = parse_rules(
            "r.toml",
            "include_builtin = true\n[[rule]]\nbuiltin = \"port-scan\"\nthreshold = 50\nwindow = \"2h\"\n\n[[rule]]\nbuiltin = \"bad-cidrs\"\ncidrs = [\"203.0.113.0/24\"]\n",
        )
        .unwrap();
        let scan = rules.iter().find(|r| r.name == "port-scan").unwrap();
        assert_eq!(scan.params["threshold"], "50");
        assert_eq!(scan.window, Duration::from_secs(7200));
        assert_eq!(scan.severity, Severity::High);
        let cidrs = rules.iter().find(|r| r.name == "bad-cidrs").unwrap();
        assert!(cidrs.inactive.is_none() && cidrs.sql.contains("203.0.113.0/24"));
        assert_eq!(rules.len(), 4);
    }

    #[test]
    fn errors_name_the_file_line_and_rule() {
        let text =
            "[[rule]]\nname = \"a\"\nthreshold = 3\n\n[[rule]]\nname = \"b\"\ntreshold = 3\n";
        let e = parse_rules("mine.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("mine.toml line 7:") && e.contains("treshold"),
            "{e}"
        );
        let text = "[[rule]]\nname = \"a\"\nthreshold = 3\n\n[[rule]]\nname = \"b\"\nsrc = [\"10.0.0.0/33\"]\nthreshold = 1\n";
        let e = parse_rules("mine.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("mine.toml line 5: rule \"b\":") && e.contains("10.0.0.0/33"),
            "{e}"
        );
        let e = parse_rules(
            "mine.toml",
            "[[rule]]\nname = \"x\"\nsql = \"SELECT 1 AS key WHERE {nope}\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("{nope}"), "{e}");
    }
}
