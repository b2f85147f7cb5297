//! The structured form of a rule, compiled to SQL over `flows`: match on
//! action, protocol, ports, address classes or CIDRs and interfaces; group
//! by columns; measure flows, packets, bytes or distinct values of a
//! column; fire at a threshold.
//!
//! Every value is checked before it reaches the SQL (ports are numbers,
//! CIDRs parse, columns are lake columns), so a rule file cannot inject SQL
//! through them; `where` is SQL by design, and is planned by
//! `flowlake alerts test` like a `sql` rule.

use flowlake_schemas::addr::Cidr;
use flowlake_schemas::schema::file_schema;

use crate::rules::{AddressMatch, RuleSpec};

/// True when a spec uses any shorthand field.
pub(crate) fn is_used(spec: &RuleSpec) -> bool {
    spec.action.is_some()
        || spec.protocol.is_some()
        || spec.srcport.is_some()
        || spec.dstport.is_some()
        || spec.src.is_some()
        || spec.dst.is_some()
        || spec.cidrs.is_some()
        || spec.interface.is_some()
        || spec.filter.is_some()
        || spec.group_by.is_some()
        || spec.measure.is_some()
}

fn column(name: &str) -> Result<String, String> {
    if file_schema().field_with_name(name).is_ok() {
        Ok(name.to_owned())
    } else {
        Err(format!("{name:?} is not a column of flows"))
    }
}

fn cidr(text: &str) -> Result<String, String> {
    Cidr::parse(text)
        .map(|_| text.to_owned())
        .ok_or_else(|| format!("{text:?} is not a CIDR block"))
}

fn ports(column: &str, ports: &[i64]) -> Result<String, String> {
    if let Some(bad) = ports.iter().find(|p| !(0..=65_535).contains(*p)) {
        return Err(format!("{column} {bad} is not a port"));
    }
    let list: Vec<String> = ports.iter().map(i64::to_string).collect();
    Ok(format!("{column} IN ({})", list.join(", ")))
}

fn any_cidr(cidrs: &[String], columns: &[&str]) -> Result<String, String> {
    let mut tests = Vec::new();
    for block in cidrs {
        let block = cidr(block)?;
        for c in columns {
            tests.push(format!("cidr_contains('{block}', {c})"));
        }
    }
    Ok(format!("({})", tests.join(" OR ")))
}

fn address(column: &str, matcher: &AddressMatch) -> Result<String, String> {
    match matcher {
        AddressMatch::Class(class) => match class.as_str() {
            "internet" => Ok(format!("is_internet({column})")),
            "private" => Ok(format!("NOT is_internet({column})")),
            other => Err(format!(
                "{column}: {other:?} is neither \"internet\", \"private\" nor a list of CIDRs"
            )),
        },
        AddressMatch::Cidrs(list) if list.is_empty() => {
            Err(format!("{column}: an empty CIDR list"))
        }
        AddressMatch::Cidrs(list) => any_cidr(list, &[column]),
    }
}

/// The measure's SQL over `flows` (or over the inner grouping for
/// `distinct <column>`).
enum Measure {
    Sum(&'static str),
    Distinct(String),
}

fn measure(text: Option<&str>) -> Result<Measure, String> {
    match text.unwrap_or("flows").trim() {
        "flows" => Ok(Measure::Sum("flows")),
        "packets" => Ok(Measure::Sum("packets")),
        "bytes" => Ok(Measure::Sum("bytes")),
        other => match other.strip_prefix("distinct ") {
            Some(c) => Ok(Measure::Distinct(column(c.trim())?)),
            None => Err(format!(
                "measure {other:?}: use flows, packets, bytes or \"distinct <column>\""
            )),
        },
    }
}

/// The rule's SQL: one row per group over the threshold, largest first.
pub(crate) fn compile(spec: &RuleSpec, limit: usize) -> Result<String, String> {
    let mut conditions = Vec::new();
    if let Some(action) = &spec.action {
        let action = action.to_ascii_uppercase();
        if action != "ACCEPT" && action != "REJECT" {
            return Err(format!("action {action:?}: use ACCEPT or REJECT"));
        }
        conditions.push(format!("action = '{action}'"));
    }
    if let Some(p) = spec.protocol {
        if !(0..=255).contains(&p) {
            return Err(format!("protocol {p} is not an IP protocol number"));
        }
        conditions.push(format!("protocol = {p}"));
    }
    if let Some(p) = &spec.srcport {
        conditions.push(ports("srcport", p)?);
    }
    if let Some(p) = &spec.dstport {
        conditions.push(ports("dstport", p)?);
    }
    if let Some(m) = &spec.src {
        conditions.push(address("srcaddr", m)?);
    }
    if let Some(m) = &spec.dst {
        conditions.push(address("dstaddr", m)?);
    }
    if let Some(list) = &spec.cidrs {
        conditions.push(any_cidr(list, &["srcaddr", "dstaddr"])?);
    }
    if let Some(enis) = &spec.interface {
        if let Some(bad) = enis
            .iter()
            .find(|e| !e.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(format!("interface {bad:?} is not an interface id"));
        }
        let list: Vec<String> = enis.iter().map(|e| format!("'{e}'")).collect();
        conditions.push(format!("interface_id IN ({})", list.join(", ")));
    }
    if let Some(extra) = &spec.filter {
        conditions.push(format!("({extra})"));
    }
    let threshold = spec.threshold.ok_or("a shorthand rule needs a threshold")?;
    let groups: Vec<String> = spec
        .group_by
        .clone()
        .unwrap_or_else(|| vec!["srcaddr".to_owned()])
        .iter()
        .map(|c| column(c))
        .collect::<Result<_, _>>()?;
    if groups.is_empty() {
        return Err("group_by needs at least one column".to_owned());
    }
    let by = groups.join(", ");
    let key = format!(
        "concat_ws(' ', {})",
        groups
            .iter()
            .map(|g| format!("CAST({g} AS VARCHAR)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join("\n  AND "))
    };
    let totals = "COUNT(*) AS flows, SUM(packets) AS packets, SUM(bytes) AS bytes, \
                  MIN(start_time) AS first_seen, MAX(end_time) AS last_seen";
    Ok(match measure(spec.measure.as_deref())? {
        Measure::Sum(what) => {
            let value = if what == "flows" {
                "COUNT(*)".to_owned()
            } else {
                format!("SUM({what})")
            };
            format!(
                "SELECT {key} AS key, {value} AS value, {totals}\nFROM flows\n{filter}\n\
                 GROUP BY {by}\nHAVING {value} >= {threshold}\n\
                 ORDER BY value DESC, key\nLIMIT {limit}"
            )
        }
        // Distinct values as the rows of an inner GROUP BY, which spills,
        // rather than COUNT(DISTINCT), whose sets per group do not.
        Measure::Distinct(of) => format!(
            "SELECT {key} AS key, COUNT(*) AS value, SUM(flows) AS flows, SUM(packets) AS packets, \
             SUM(bytes) AS bytes, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen\n\
             FROM (\n  SELECT {by}, {of}, {totals}\n  FROM flows\n  {filter}\n  GROUP BY {by}, {of}\n) AS per_value\n\
             GROUP BY {by}\nHAVING COUNT(*) >= {threshold}\n\
             ORDER BY value DESC, key\nLIMIT {limit}"
        ),
    })
}
