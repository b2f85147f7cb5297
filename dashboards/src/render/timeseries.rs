//! A time-series panel as inline SVG: one line per series on a UTC time
//! axis, empty steps drawn as zero (no traffic, not a gap to interpolate
//! over), a hover title per step, and a legend with each series' average
//! and peak.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::html::escape;
use crate::definition::Unit;
use crate::format::{human, step};
use crate::run::{Cell, Rows, Window};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 112.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// Colours for series without a fixed one (colour-blind-safe Okabe-Ito).
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

fn colour(name: &str, index: usize) -> &'static str {
    match name {
        "ACCEPT" | "OK" => "#009E73",
        "REJECT" => "#D55E00",
        "NODATA" => "#999999",
        "SKIPDATA" => "#E69F00",
        _ => PALETTE[index % PALETTE.len()],
    }
}

/// The SVG and legend for rows `(time, [series,] value)`, or a message
/// saying which columns are missing.
pub(crate) fn render(rows: &Rows, unit: Unit, window: &Window) -> Result<String, String> {
    let (Some(time), Some(value)) = (rows.column("time"), rows.column("value")) else {
        return Err(format!(
            "a timeseries panel returns columns time, value (and optionally series); this one returned {}",
            rows.columns.join(", ")
        ));
    };
    let series_column = rows.column("series");
    let step_us = window.bucket_seconds * 1_000_000;
    let start = window.from.timestamp_micros().div_euclid(step_us) * step_us;
    let end = window.to.timestamp_micros();
    let span = (end - start).max(1);
    let buckets = span / step_us + i64::from(span % step_us != 0);
    let buckets = buckets.clamp(1, 10_000) as usize;

    // series name -> value per bucket
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for row in &rows.rows {
        let (Cell::Time(t), Cell::Number(v, _)) = (&row[time], &row[value]) else {
            continue;
        };
        let name = match series_column.map(|i| &row[i]) {
            Some(Cell::Text(s)) => s.clone(),
            Some(Cell::Number(_, s)) => s.clone(),
            Some(Cell::Null) => "(none)".to_owned(),
            _ => "value".to_owned(),
        };
        let index = (t.timestamp_micros() - start).div_euclid(step_us);
        let values = series
            .entry(name.clone())
            .or_insert_with(|| vec![0.0; buckets]);
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| values.get_mut(i)) {
            *slot += v;
        }
        *totals.entry(name).or_insert(0.0) += v;
    }
    for (name, total) in &totals {
        sums.insert(name.clone(), format_exact(*total));
    }
    if series.is_empty() {
        return Ok(r#"<p class="empty">No records in this window.</p>"#.to_owned());
    }

    let peak = series
        .values()
        .flat_map(|v| v.iter().copied())
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(peak);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / buckets as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - if top > 0.0 { v / top } else { 0.0 });

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">"#
    );
    // Horizontal grid and value axis.
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            escape(&human(v, unit))
        );
    }
    // Time axis in UTC.
    let ticks = 6.min(buckets);
    for k in 0..ticks {
        let i = k * (buckets - 1).max(1) / (ticks - 1).max(1);
        let t = bucket_time(start, step_us, i);
        let label = if window.to - window.from > chrono::Duration::days(2) {
            t.format("%m-%d %H:%M").to_string()
        } else {
            t.format("%H:%M").to_string()
        };
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            x(i),
            HEIGHT - 8.0
        );
    }
    // One line per series.
    for (index, (name, values)) in series.iter().enumerate() {
        let mut d = String::new();
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(i),
                y(*v)
            );
        }
        let _ = write!(
            svg,
            r#"<path class="line" d="{d}" stroke="{}" data-series="{}" data-sum="{}"/>"#,
            colour(name, index),
            escape(name),
            sums.get(name).map_or("", String::as_str)
        );
    }
    // A hover target per step, titled with every series' value.
    let band = plot_w / buckets as f64;
    for i in 0..buckets {
        let t = bucket_time(start, step_us, i);
        let mut title = format!(
            "{} ({} step)",
            crate::format::utc(t),
            step(window.bucket_seconds)
        );
        for (name, values) in &series {
            let _ = write!(title, "\n{name}: {}", human(values[i], unit));
        }
        let _ = write!(
            svg,
            r#"<rect class="hover" x="{:.1}" y="{TOP}" width="{band:.2}" height="{plot_h}"><title>{}</title></rect>"#,
            LEFT + band * i as f64,
            escape(&title)
        );
    }
    svg.push_str("</svg>");

    let mut legend = String::from(r#"<ul class="legend">"#);
    for (index, (name, values)) in series.iter().enumerate() {
        let avg = values.iter().sum::<f64>() / values.len() as f64;
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let summary = match unit {
            Unit::Count | Unit::Bytes => format!(
                "total {} · peak {} per {}",
                human(totals.get(name).copied().unwrap_or(0.0), unit),
                human(max, unit),
                step(window.bucket_seconds)
            ),
            _ => format!("avg {} · peak {}", human(avg, unit), human(max, unit)),
        };
        let _ = write!(
            legend,
            r#"<li><span class="swatch" style="background:{}"></span><b>{}</b> {}</li>"#,
            colour(name, index),
            escape(name),
            escape(&summary)
        );
    }
    legend.push_str("</ul>");
    Ok(svg + &legend)
}

fn bucket_time(start: i64, step_us: i64, i: usize) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(start + step_us * i as i64).unwrap_or_default()
}

/// A sum as exact text: integral sums without a fraction.
fn format_exact(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `v`, so grid lines fall on
/// round values.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * magnitude >= v {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_tops_are_round() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(2.4e6), 2.5e6);
    }

    #[test]
    fn missing_steps_draw_as_zero_and_sums_are_kept() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let window = Window {
            from: t("2024-05-25T00:00:00Z"),
            to: t("2024-05-25T00:05:00Z"),
            bucket_seconds: 60,
        };
        let rows = Rows {
            columns: vec!["time".into(), "series".into(), "value".into()],
            rows: vec![
                vec![
                    Cell::Time(t("2024-05-25T00:00:00Z")),
                    Cell::Text("ACCEPT".into()),
                    Cell::Number(3.0, "3".into()),
                ],
                vec![
                    Cell::Time(t("2024-05-25T00:04:00Z")),
                    Cell::Text("ACCEPT".into()),
                    Cell::Number(4.0, "4".into()),
                ],
            ],
        };
        let svg = render(&rows, Unit::Count, &window).unwrap();
        assert!(svg.contains(r#"data-sum="7""#), "{svg}");
        // Five steps: five points and five hover targets.
        assert_eq!(svg.matches(" L").count(), 4);
        assert_eq!(svg.matches("<rect").count(), 5);
        let wrong = Rows {
            columns: vec!["t".into()],
            rows: vec![],
        };
        assert!(render(&wrong, Unit::Count, &window).is_err());
    }
}
