//! Dashboard definitions: TOML files of panels (a title, SQL over `flows`,
//! a chart kind, units). The built-in ones live in `dashboards/defs/` and
//! are compiled into the binary; users may load their own files.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::DashboardError;

/// A page of panels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The name in URLs and on the command line (`traffic`).
    pub name: String,
    /// The heading people read.
    pub title: String,
    /// One line under the heading.
    #[serde(default)]
    pub description: String,
    /// The panels, in page order.
    pub panels: Vec<Panel>,
}

/// One chart or table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Unique within its dashboard; the HTML element's `data-panel`.
    pub id: String,
    /// The panel's heading.
    pub title: String,
    /// How to draw the result.
    pub chart: Chart,
    /// The unit of the `value` column (timeseries, bars).
    #[serde(default)]
    pub unit: Unit,
    /// Units of named columns (stat, table); other columns print as they are.
    #[serde(default)]
    pub units: BTreeMap<String, Unit>,
    /// The query, with `{bucket}` and `{bucket_seconds}` placeholders for
    /// time series.
    pub sql: String,
    /// The same query over the per-hour rollup tables (`traffic_hourly`,
    /// `talkers_hourly`), run instead when they cover the page's window and,
    /// for a time series, its step is whole hours. It must give the same
    /// rows as `sql`.
    #[serde(default)]
    pub rollup_sql: Option<String>,
}

/// How a panel's rows are drawn, and which columns it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chart {
    /// Columns `time`, `series` (optional), `value`: one line per series.
    Timeseries,
    /// Columns `label`, `value`: horizontal bars, largest first.
    Bars,
    /// One row; each column a big figure.
    Stat,
    /// Any columns, as a table.
    Table,
}

/// What a number counts, so it can be written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A plain count (flows, packets): 1.2 M.
    #[default]
    Count,
    /// Bytes, in powers of 1024: 3.4 MiB.
    Bytes,
    /// Bits per second, in powers of 1000: 12.5 Mbit/s.
    BitsPerSecond,
    /// Bytes per second, in powers of 1024: 1.5 MiB/s.
    BytesPerSecond,
    /// Packets per second: 4.2 k packets/s.
    PacketsPerSecond,
}

/// The built-in dashboards, in menu order.
const BUILT_IN: &[(&str, &str)] = &[
    ("traffic.toml", include_str!("../defs/traffic.toml")),
    ("top-talkers.toml", include_str!("../defs/top-talkers.toml")),
    ("rejected.toml", include_str!("../defs/rejected.toml")),
    ("log-health.toml", include_str!("../defs/log-health.toml")),
];

/// The dashboards compiled into flowlake.
pub fn built_in() -> Result<Vec<Dashboard>, DashboardError> {
    BUILT_IN
        .iter()
        .map(|(file, text)| parse(file, text))
        .collect()
}

/// Reads one definition; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<Dashboard, DashboardError> {
    let dashboard: Dashboard = toml::from_str(text).map_err(|e| DashboardError::Definition {
        origin: origin.to_owned(),
        message: e.to_string(),
    })?;
    let bad = |message: String| DashboardError::Definition {
        origin: origin.to_owned(),
        message,
    };
    if !is_slug(&dashboard.name) {
        return Err(bad(format!(
            "name {:?}: use lowercase letters, digits and '-'",
            dashboard.name
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for panel in &dashboard.panels {
        if !is_slug(&panel.id) || !seen.insert(panel.id.as_str()) {
            return Err(bad(format!(
                "panel id {:?}: ids are unique, lowercase letters, digits and '-'",
                panel.id
            )));
        }
    }
    Ok(dashboard)
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_dashboards_parse_with_unique_names() {
        let all = built_in().unwrap();
        let names: std::collections::BTreeSet<_> = all.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for required in ["traffic", "top-talkers", "rejected", "log-health"] {
            assert!(names.contains(required), "{required}");
        }
    }

    #[test]
    fn bad_definitions_name_the_file() {
        let err = parse("x.toml", "name = 'Bad Name'\ntitle = 't'\npanels = []").unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
        let twice = "name = 'd'\ntitle = 't'\n[[panels]]\nid = 'a'\ntitle = 'a'\nchart = 'table'\nsql = 'SELECT 1'\n[[panels]]\nid = 'a'\ntitle = 'b'\nchart = 'table'\nsql = 'SELECT 1'\n";
        assert!(parse("y.toml", twice).is_err());
        let unknown = "name = 'd'\ntitle = 't'\n[[panels]]\nid = 'a'\ntitle = 'a'\nchart = 'pie'\nsql = 'SELECT 1'\n";
        assert!(parse("z.toml", unknown).is_err());
    }
}
