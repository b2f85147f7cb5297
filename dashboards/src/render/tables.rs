//! Panels drawn as HTML: top-N bars, big figures, and tables. Every number
//! is written for people and carries its exact value in `data-value` (and
//! a hover title), so a reader or a test can check it.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::html::escape;
use crate::definition::Unit;
use crate::format::{human, utc};
use crate::run::{Cell, Rows};

/// Rows `(label, value)` as horizontal bars scaled to the largest.
pub(crate) fn bars(rows: &Rows, unit: Unit) -> Result<String, String> {
    let (Some(label), Some(value)) = (rows.column("label"), rows.column("value")) else {
        return Err(format!(
            "a bars panel returns columns label, value; this one returned {}",
            rows.columns.join(", ")
        ));
    };
    if rows.rows.is_empty() {
        return Ok(r#"<p class="empty">No records in this window.</p>"#.to_owned());
    }
    let peak = rows
        .rows
        .iter()
        .filter_map(|r| match &r[value] {
            Cell::Number(v, _) => Some(*v),
            _ => None,
        })
        .fold(0.0_f64, f64::max);
    let mut out = String::from(r#"<table class="bars">"#);
    for row in &rows.rows {
        let name = text(&row[label]);
        let (v, exact) = match &row[value] {
            Cell::Number(v, exact) => (*v, exact.as_str()),
            _ => (0.0, ""),
        };
        let width = if peak > 0.0 { 100.0 * v / peak } else { 0.0 };
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td class="bar"><span style="width:{width:.1}%"></span></td><td class="num" data-label="{}" data-value="{}" title="{}">{}</td></tr>"#,
            escape(&name),
            escape(&name),
            escape(exact),
            escape(exact),
            escape(&human(v, unit))
        );
    }
    out.push_str("</table>");
    Ok(out)
}

/// The first row, each column a big figure.
pub(crate) fn stat(rows: &Rows, units: &BTreeMap<String, Unit>) -> String {
    let Some(row) = rows.rows.first() else {
        return r#"<p class="empty">No records in this window.</p>"#.to_owned();
    };
    let mut out = String::from(r#"<div class="stats">"#);
    for (name, cell) in rows.columns.iter().zip(row) {
        let (shown, exact) = cell_text(cell, units.get(name).copied());
        let _ = write!(
            out,
            r#"<div class="stat"><div class="figure" data-column="{}" data-value="{}" title="{}">{}</div><div class="caption">{}</div></div>"#,
            escape(name),
            escape(&exact),
            escape(&exact),
            escape(&shown),
            escape(&name.replace('_', " "))
        );
    }
    out.push_str("</div>");
    out
}

/// Any rows as a table; columns named in `units` are formatted, others
/// printed as they are.
pub(crate) fn table(rows: &Rows, units: &BTreeMap<String, Unit>) -> String {
    if rows.rows.is_empty() {
        return format!(
            r#"<p class="empty">No rows (columns: {}).</p>"#,
            escape(&rows.columns.join(", "))
        );
    }
    let mut out = String::from(r#"<div class="scroll"><table class="rows"><thead><tr>"#);
    for name in &rows.columns {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &rows.rows {
        out.push_str("<tr>");
        for (name, cell) in rows.columns.iter().zip(row) {
            let (shown, exact) = cell_text(cell, units.get(name).copied());
            let class = if matches!(cell, Cell::Number(..)) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<td{class} data-column="{}" data-value="{}">{}</td>"#,
                escape(name),
                escape(&exact),
                escape(&shown)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// (shown, exact) text of a cell.
fn cell_text(cell: &Cell, unit: Option<Unit>) -> (String, String) {
    match cell {
        Cell::Null => (String::new(), String::new()),
        Cell::Number(v, exact) => match unit {
            Some(unit) => (human(*v, unit), exact.clone()),
            None => (exact.clone(), exact.clone()),
        },
        Cell::Time(t) => (utc(*t), t.to_rfc3339()),
        Cell::Text(s) => (s.clone(), s.clone()),
    }
}

fn text(cell: &Cell) -> String {
    cell_text(cell, None).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Rows {
        Rows {
            columns: vec!["label".into(), "value".into()],
            rows: vec![
                vec![
                    Cell::Text("10.0.0.1".into()),
                    Cell::Number(2048.0, "2048".into()),
                ],
                vec![
                    Cell::Text("<b>".into()),
                    Cell::Number(1024.0, "1024".into()),
                ],
            ],
        }
    }

    #[test]
    fn bars_scale_to_the_largest_and_keep_exact_values() {
        let html = bars(&rows(), Unit::Bytes).unwrap();
        assert!(html.contains("width:100.0%"), "{html}");
        assert!(html.contains("width:50.0%"), "{html}");
        assert!(html.contains(r#"data-value="2048""#));
        assert!(html.contains("2.00 KiB"));
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
    }

    #[test]
    fn tables_format_only_columns_with_units() {
        let units = BTreeMap::from([("value".to_owned(), Unit::Bytes)]);
        let html = table(&rows(), &units);
        assert!(html.contains(">1.00 KiB<"), "{html}");
        let html = table(&rows(), &BTreeMap::new());
        assert!(html.contains(">1024<"), "{html}");
    }
}
