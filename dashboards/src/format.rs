//! Numbers for people: bytes in KiB/MiB/GiB, rates in bit/s and packets/s,
//! counts in k/M/G, times in UTC.

use chrono::{DateTime, Utc};

use crate::definition::Unit;

/// `value` in `unit`, short enough for an axis label or a table cell.
pub fn human(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => binary(value, "B"),
        Unit::BytesPerSecond => binary(value, "B/s"),
        Unit::BitsPerSecond => decimal(value, "bit/s"),
        Unit::PacketsPerSecond => decimal(value, "packets/s"),
        Unit::Count => {
            if value.abs() < 10_000.0 && value.fract() == 0.0 {
                format!("{value:.0}")
            } else {
                decimal(value, "").trim_end().to_owned()
            }
        }
    }
}

/// Powers of 1024: `1.5 MiB`.
fn binary(value: f64, suffix: &str) -> String {
    const UNITS: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    scaled(value, 1024.0, &UNITS, suffix)
}

/// Powers of 1000: `12.5 Mbit/s`, `4.2 k packets/s`.
fn decimal(value: f64, suffix: &str) -> String {
    const UNITS: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let text = scaled(value, 1000.0, &UNITS, suffix);
    if suffix == "packets/s" {
        // "4.2 kpackets/s" reads badly: keep the prefix apart.
        text.replacen("kpackets", "k packets", 1)
            .replacen("Mpackets", "M packets", 1)
            .replacen("Gpackets", "G packets", 1)
    } else {
        text
    }
}

fn scaled(value: f64, base: f64, units: &[&str], suffix: &str) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let mut scaled = value;
    let mut index = 0;
    while scaled.abs() >= base && index + 1 < units.len() {
        scaled /= base;
        index += 1;
    }
    let digits = if (index == 0 && scaled.fract() == 0.0) || scaled.abs() >= 100.0 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$} {}{suffix}", units[index])
}

/// A time as people read logs: `2024-05-25 13:05 UTC`.
pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A step as people say it: `5 min`, `1 h`, `1 d`.
pub fn step(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_for_people() {
        assert_eq!(human(512.0, Unit::Bytes), "512 B");
        assert_eq!(human(1536.0, Unit::Bytes), "1.50 KiB");
        assert_eq!(
            human(5.0 * 1024.0 * 1024.0 * 1024.0, Unit::Bytes),
            "5.00 GiB"
        );
        assert_eq!(human(123.0 * 1024.0 * 1024.0, Unit::Bytes), "123 MiB");
        assert_eq!(human(12_500_000.0, Unit::BitsPerSecond), "12.5 Mbit/s");
        assert_eq!(human(4_200.0, Unit::PacketsPerSecond), "4.20 k packets/s");
        assert_eq!(human(0.5, Unit::PacketsPerSecond), "0.50 packets/s");
        assert_eq!(human(9_999.0, Unit::Count), "9999");
        assert_eq!(human(1_250_000.0, Unit::Count), "1.25 M");
        assert_eq!(step(300), "5 min");
        assert_eq!(step(3_600), "1 h");
        assert_eq!(step(86_400), "1 d");
    }
}
