//! Derived columns, computed column-at-a-time from the AWS columns.
//!
//! The line parser already knows whether each address is private (it parsed
//! the address to validate it) and passes those flags in; the Parquet input
//! path computes them from the strings with the same function.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray, StringBuilder,
    TimestampMillisecondArray,
};

use crate::addr::{is_private, parse_addr};
use crate::protocol::protocol_name;

/// `start`/`end` values above this are milliseconds, not seconds (10^11 s is
/// the year 5138; 10^11 ms is 1973).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Flow time (`start` or `end`, seconds or milliseconds) to UTC milliseconds.
#[inline]
pub fn time_millis(raw: i64) -> i64 {
    if raw > MILLIS_THRESHOLD {
        raw
    } else {
        // Saturating: a negative value from a Parquet input must not
        // overflow (the time bounds reject it afterwards).
        raw.saturating_mul(1000)
    }
}

/// `start`/`end` as a UTC millisecond timestamp column.
pub fn timestamps(raw: &Int64Array) -> ArrayRef {
    let millis: TimestampMillisecondArray = raw.unary(time_millis);
    Arc::new(millis.with_timezone("UTC"))
}

/// `protocol_name` from `protocol`.
pub fn protocol_names(protocol: &Int32Array) -> ArrayRef {
    let mut names = StringBuilder::with_capacity(protocol.len(), protocol.len() * 3);
    for value in protocol.iter() {
        names.append_option(value.and_then(protocol_name));
    }
    Arc::new(names.finish())
}

/// `*_is_private` from an address column (null where the address is null or
/// not an address).
pub fn private_flags(addrs: &StringArray) -> ArrayRef {
    let flags: BooleanArray = addrs
        .iter()
        .map(|a| a.and_then(parse_addr).map(is_private))
        .collect();
    Arc::new(flags)
}

/// The derived columns that are a function of one other column, and that
/// column: anything grouping by both (the rollups) may group by the source
/// alone and [`rederive`] the other afterwards.
pub const DERIVED_FROM: &[(&str, &str)] = &[
    (crate::schema::PROTOCOL_NAME, "protocol"),
    (crate::schema::SRCADDR_IS_PRIVATE, "srcaddr"),
    (crate::schema::DSTADDR_IS_PRIVATE, "dstaddr"),
];

/// The column `name` of [`DERIVED_FROM`] computed from its source column,
/// exactly as ingest computes it; `None` if `name` is not one of them or
/// `source` has another type.
pub fn rederive(name: &str, source: &ArrayRef) -> Option<ArrayRef> {
    use arrow::array::AsArray;
    use arrow::datatypes::Int32Type;
    match name {
        crate::schema::PROTOCOL_NAME => {
            Some(protocol_names(source.as_primitive_opt::<Int32Type>()?))
        }
        crate::schema::SRCADDR_IS_PRIVATE | crate::schema::DSTADDR_IS_PRIVATE => {
            Some(private_flags(source.as_string_opt::<i32>()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMillisecondType;

    #[test]
    fn seconds_and_milliseconds_both_become_millis() {
        let raw = Int64Array::from(vec![Some(1_566_848_875), Some(1_566_848_875_123), None]);
        let ts = timestamps(&raw);
        let ts = ts.as_primitive::<TimestampMillisecondType>();
        assert_eq!(ts.value(0), 1_566_848_875_000);
        assert_eq!(ts.value(1), 1_566_848_875_123);
        assert!(ts.is_null(2));
    }

    #[test]
    fn names_and_flags() {
        let names = protocol_names(&Int32Array::from(vec![Some(6), Some(250), None]));
        let names = names.as_string::<i32>();
        assert_eq!(names.value(0), "tcp");
        assert!(names.is_null(1) && names.is_null(2));
        let flags = private_flags(&StringArray::from(vec![
            Some("10.0.0.1"),
            Some("8.8.8.8"),
            None,
            Some("x"),
        ]));
        let flags = flags.as_boolean();
        assert!(flags.value(0) && !flags.value(1) && flags.is_null(2) && flags.is_null(3));
    }
}
