//! One HTML page: the header (title, time window, in the live server the
//! dashboard menu and time-range picker), then each dashboard's panels.
//! Self-contained: CSS inline, charts inline SVG, no external requests.

mod html;
mod tables;
mod timeseries;

use std::fmt::Write;

use chrono::{DateTime, Utc};

pub(crate) use html::escape;

use crate::definition::Chart;
use crate::format::{step, utc};
use crate::run::{DashboardResult, PanelResult, Rows, Window};

const STYLE: &str = include_str!("style.css");

/// A small script: Ctrl/⌘+Enter runs the SQL box. Charts need none.
const SCRIPT: &str = r#"document.addEventListener('keydown', function (e) {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && e.target.form && e.target.form.classList.contains('sql')) {
    e.preventDefault();
    e.target.form.submit();
  }
});
document.documentElement.dataset.ready = 'true';"#;

/// What the page says about where and when it is.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The page title.
    pub title: String,
    /// The lake, as the user named it.
    pub lake: String,
    /// The window shown (`None`: the lake holds no records there).
    pub window: Option<Window>,
    /// When the page was made.
    pub generated_at: DateTime<Utc>,
    /// The live server's menu and picker; `None` for a file.
    pub live: Option<LiveControls>,
}

/// The live server's controls.
#[derive(Debug, Clone)]
pub struct LiveControls {
    /// `(name, title)` of every dashboard, for the menu.
    pub dashboards: Vec<(String, String)>,
    /// The menu entry shown (`sql` for the SQL page).
    pub current: String,
    /// The range as typed (`-24h`, `2024-05-25`), to refill the picker.
    pub from: String,
    /// The range's end as typed.
    pub to: String,
}

impl LiveControls {
    /// `?from=…&to=…` for links that keep the range.
    fn query(&self) -> String {
        let mut q = Vec::new();
        if !self.from.is_empty() {
            q.push(format!("from={}", url_encode(&self.from)));
        }
        if !self.to.is_empty() {
            q.push(format!("to={}", url_encode(&self.to)));
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

/// A whole page of dashboards.
pub fn render_page(page: &PageContext, results: &[DashboardResult]) -> String {
    let mut body = String::new();
    for result in results {
        let _ = write!(
            body,
            r#"<section class="dashboard" id="{name}" data-dashboard="{name}"><h2 class="dashboard">{}</h2><p class="description">{}</p><div class="grid">"#,
            escape(&result.dashboard.title),
            escape(&result.dashboard.description),
            name = escape(&result.dashboard.name),
        );
        for panel in &result.panels {
            body.push_str(&render_panel(page, &result.dashboard.name, panel));
        }
        body.push_str("</div></section>");
    }
    if results.is_empty() {
        body.push_str(r#"<p class="empty">No dashboards selected.</p>"#);
    }
    layout(page, &body)
}

/// The SQL page: the box, and the result as a table (or the error).
pub fn render_sql_page(
    page: &PageContext,
    sql: &str,
    result: Option<(Result<Rows, String>, std::time::Duration)>,
) -> String {
    let mut body = String::new();
    let range = page.live.as_ref().map(|l| (l.from.clone(), l.to.clone()));
    let (from, to) = range.unwrap_or_default();
    let _ = write!(
        body,
        r#"<h2 class="dashboard">SQL</h2><p class="description">Read-only SQL over <code>flows</code> (narrowed to the time range above) and <code>quarantine</code>. Ctrl+Enter runs it.</p>
<form class="sql" method="get" action="sql"><input type="hidden" name="from" value="{}"><input type="hidden" name="to" value="{}"><textarea name="q" spellcheck="false" autofocus>{}</textarea><div class="actions"><button type="submit">Run</button><span>at most 1000 rows are shown</span></div></form>"#,
        escape(&from),
        escape(&to),
        escape(sql)
    );
    match result {
        None => {}
        Some((Ok(rows), elapsed)) => {
            let shown = Rows {
                columns: rows.columns.clone(),
                rows: rows.rows.iter().take(1000).cloned().collect(),
            };
            let _ = write!(
                body,
                r#"<section class="panel" data-panel="sql" data-status="ok" data-rows="{}"><h3>Result <small>{} rows · {:.2} s</small></h3>{}</section>"#,
                rows.rows.len(),
                rows.rows.len(),
                elapsed.as_secs_f64(),
                tables::table(&shown, &Default::default())
            );
        }
        Some((Err(message), _)) => {
            let _ = write!(
                body,
                r#"<section class="panel" data-panel="sql" data-status="error"><h3>Error</h3><p class="error">{}</p></section>"#,
                escape(&message)
            );
        }
    }
    layout(page, &body)
}

fn render_panel(page: &PageContext, dashboard: &str, result: &PanelResult) -> String {
    let panel = &result.panel;
    let drawn = match (&result.outcome, &page.window) {
        (Err(message), _) => Err(message.clone()),
        (Ok(rows), window) => match panel.chart {
            Chart::Timeseries => match window {
                Some(window) => timeseries::render(rows, panel.unit, window),
                None => Ok(r#"<p class="empty">No records in this window.</p>"#.to_owned()),
            },
            Chart::Bars => tables::bars(rows, panel.unit),
            Chart::Stat => Ok(tables::stat(rows, &panel.units)),
            Chart::Table => Ok(tables::table(rows, &panel.units)),
        },
    };
    let (status, content) = match drawn {
        Ok(html) if html.contains(r#"class="empty""#) => ("empty", html),
        Ok(html) => ("ok", html),
        Err(message) => (
            "error",
            format!(r#"<p class="error">{}</p>"#, escape(&message)),
        ),
    };
    let class = if panel.chart == Chart::Stat {
        "panel stat-panel"
    } else {
        "panel"
    };
    let sql = &result.sql;
    // Said on the panel too, so a reader can tell an answer summed from
    // the hourly rollups from one read off every record (the SQL below
    // shows the table).
    let (source, read) = if result.from_rollups {
        ("rollups", "hourly rollups · ")
    } else {
        ("flows", "")
    };
    let open = match &page.live {
        Some(live) => {
            let query = live.query();
            let sep = if query.is_empty() { '?' } else { '&' };
            format!(
                r#" · <a href="sql{query}{sep}q={}">open in SQL</a>"#,
                url_encode(sql.trim())
            )
        }
        None => String::new(),
    };
    format!(
        r#"<section class="{class}" id="{dashboard}-{id}" data-panel="{dashboard}/{id}" data-chart="{chart:?}" data-status="{status}" data-source="{source}" data-ms="{ms}"><h3>{title}<small>{read}{seconds:.2} s</small></h3>{content}<details><summary>SQL{open}</summary><pre>{sql}</pre></details></section>"#,
        id = escape(&panel.id),
        dashboard = escape(dashboard),
        chart = panel.chart,
        ms = result.elapsed.as_millis(),
        title = escape(&panel.title),
        seconds = result.elapsed.as_secs_f64(),
        sql = escape(sql.trim()),
    )
}

fn layout(page: &PageContext, body: &str) -> String {
    let window = match &page.window {
        Some(w) => format!(
            "{} – {} · {} step",
            utc(w.from),
            utc(w.to),
            step(w.bucket_seconds)
        ),
        None => "no records in this window".to_owned(),
    };
    let mut header = format!(
        r#"<h1>{}</h1><span class="window" data-from="{}" data-to="{}">{}</span>"#,
        escape(&page.title),
        page.window.map(|w| w.from.to_rfc3339()).unwrap_or_default(),
        page.window.map(|w| w.to.to_rfc3339()).unwrap_or_default(),
        escape(&window)
    );
    if let Some(live) = &page.live {
        let query = live.query();
        header.push_str("<nav>");
        for (name, title) in &live.dashboards {
            let current = if *name == live.current {
                " class=\"current\""
            } else {
                ""
            };
            let _ = write!(
                header,
                r#"<a href="{}{query}"{current}>{}</a>"#,
                escape(name),
                escape(title)
            );
        }
        let current = if live.current == "sql" {
            " class=\"current\""
        } else {
            ""
        };
        let _ = write!(header, r#"<a href="sql{query}"{current}>SQL</a></nav>"#);
        let here = if live.current == "sql" {
            "sql"
        } else {
            &live.current
        };
        let _ = write!(
            header,
            r#"<form class="range" method="get" action="{here}"><label>From <input name="from" value="{}" placeholder="-24h, 2024-05-25T06:00"></label><label>to <input name="to" value="{}" placeholder="now"></label><button type="submit">Apply</button>"#,
            escape(&live.from),
            escape(&live.to),
            here = escape(here),
        );
        for (label, from) in [
            ("1h", "-1h"),
            ("6h", "-6h"),
            ("24h", "-24h"),
            ("7d", "-7d"),
            ("30d", "-30d"),
        ] {
            let _ = write!(
                header,
                r#"<a href="{}?from={from}">last {label}</a>"#,
                escape(here)
            );
        }
        let _ = write!(header, r#"<a href="{}">all</a></form>"#, escape(here));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head>
<body><header>{header}</header><main>{body}</main>
<footer>flowlake · lake {lake} · made {made} · times in UTC · hover a chart for values</footer>
<script>{SCRIPT}</script></body></html>
"#,
        title = escape(&page.title),
        lake = escape(&page.lake),
        made = utc(page.generated_at),
    )
}

/// Percent-encodes a query-string value.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
