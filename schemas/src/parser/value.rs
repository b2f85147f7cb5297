//! Parsing one field's text into what its column stores. Called once per field
//! per record, so it allocates nothing and only builds a [`RejectReason`] on
//! the error path.

use crate::addr::{is_private, parse_addr};
use crate::fields::{Field, ValueKind};
use crate::reject::RejectReason;

/// A field's parsed value, before it is appended to its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// `-`: not applicable or could not be computed.
    Null,
    /// A number (Int32 columns are range-checked already).
    Int(i64),
    /// Text stored as is.
    Text,
    /// An address, with whether it is private.
    Addr { private: bool },
}

/// Parses `text` (never empty: the splitter drops empty tokens) as `field`.
#[inline]
pub(crate) fn parse_value(field: &'static Field, text: &str) -> Result<Value, RejectReason> {
    let bytes = text.as_bytes();
    if bytes.len() == 1 && bytes[0] == b'-' {
        return Ok(Value::Null);
    }
    match field.kind {
        ValueKind::Text => Ok(Value::Text),
        ValueKind::Int64 => parse_digits(text, i64::MAX, field).map(Value::Int),
        ValueKind::Int32 => parse_digits(text, i64::from(i32::MAX), field).map(Value::Int),
        ValueKind::Addr => match parse_addr(text) {
            Some(addr) => Ok(Value::Addr {
                private: is_private(addr),
            }),
            None => Err(RejectReason::BadAddress {
                field: field.name,
                value: text.to_owned(),
            }),
        },
        ValueKind::Action => match word(bytes) {
            ACCEPT | REJECT => Ok(Value::Text),
            _ => Err(RejectReason::UnknownAction {
                value: text.to_owned(),
            }),
        },
        ValueKind::LogStatus => match word(bytes) {
            OK | NODATA | SKIPDATA => Ok(Value::Text),
            _ => Err(RejectReason::UnknownLogStatus {
                value: text.to_owned(),
            }),
        },
    }
}

/// Up to eight bytes as one integer, so enumeration values compare in one
/// instruction; longer text maps to 0, which no enumeration value is.
const fn word(bytes: &[u8]) -> u64 {
    if bytes.len() > 8 {
        return 0;
    }
    let mut w = [0u8; 8];
    let mut i = 0;
    while i < bytes.len() {
        w[i] = bytes[i];
        i += 1;
    }
    u64::from_le_bytes(w)
}

const ACCEPT: u64 = word(b"ACCEPT");
const REJECT: u64 = word(b"REJECT");
const OK: u64 = word(b"OK");
const NODATA: u64 = word(b"NODATA");
const SKIPDATA: u64 = word(b"SKIPDATA");

/// Unsigned decimal digits up to `max`. AWS writes no signs, no spaces and no
/// exponents, so neither do we accept them.
#[inline]
fn parse_digits(text: &str, max: i64, field: &'static Field) -> Result<i64, RejectReason> {
    let bytes = text.as_bytes();
    // Up to 18 digits cannot overflow an i64: no checks per digit.
    if bytes.len() <= 18 {
        let mut value: i64 = 0;
        let mut bad = false;
        for &b in bytes {
            let digit = b.wrapping_sub(b'0');
            bad |= digit > 9;
            value = value * 10 + i64::from(digit);
        }
        if bad {
            return Err(RejectReason::NotANumber {
                field: field.name,
                value: text.to_owned(),
            });
        }
        if value > max {
            return Err(RejectReason::OutOfRange {
                field: field.name,
                value: text.to_owned(),
            });
        }
        return Ok(value);
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(RejectReason::NotANumber {
            field: field.name,
            value: text.to_owned(),
        });
    }
    match text.parse::<i64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(RejectReason::OutOfRange {
            field: field.name,
            value: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{field, field_id};

    fn parse(name: &str, text: &str) -> Result<Value, RejectReason> {
        parse_value(field(field_id(name).unwrap()), text)
    }

    #[test]
    fn dash_is_null_for_every_kind() {
        for name in [
            "srcport",
            "bytes",
            "srcaddr",
            "action",
            "log-status",
            "vpc-id",
        ] {
            assert_eq!(parse(name, "-"), Ok(Value::Null), "{name}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse("dstport", "443"), Ok(Value::Int(443)));
        assert_eq!(
            parse("bytes", "9223372036854775807"),
            Ok(Value::Int(i64::MAX))
        );
        assert!(matches!(
            parse("dstport", "http"),
            Err(RejectReason::NotANumber {
                field: "dstport",
                ..
            })
        ));
        assert!(matches!(
            parse("dstport", "-5"),
            Err(RejectReason::NotANumber { .. })
        ));
        assert!(matches!(
            parse("dstport", "2147483648"),
            Err(RejectReason::OutOfRange { .. })
        ));
        assert!(matches!(
            parse("bytes", "9223372036854775808"),
            Err(RejectReason::OutOfRange { .. })
        ));
        assert!(matches!(
            parse("bytes", "99999999999999999999x"),
            Err(RejectReason::NotANumber { .. })
        ));
    }

    #[test]
    fn enumerations_and_addresses() {
        assert_eq!(parse("action", "REJECT"), Ok(Value::Text));
        assert!(matches!(
            parse("action", "DROP"),
            Err(RejectReason::UnknownAction { .. })
        ));
        assert!(matches!(
            parse("log-status", "ok"),
            Err(RejectReason::UnknownLogStatus { .. })
        ));
        assert_eq!(
            parse("srcaddr", "10.0.0.1"),
            Ok(Value::Addr { private: true })
        );
        assert_eq!(
            parse("dstaddr", "2600:1f18::1"),
            Ok(Value::Addr { private: false })
        );
        assert!(matches!(
            parse("srcaddr", "10.0.0"),
            Err(RejectReason::BadAddress { .. })
        ));
    }
}
