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
    if text == "-" {
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
        ValueKind::Action => match text {
            "ACCEPT" | "REJECT" => Ok(Value::Text),
            _ => Err(RejectReason::UnknownAction {
                value: text.to_owned(),
            }),
        },
        ValueKind::LogStatus => match text {
            "OK" | "NODATA" | "SKIPDATA" => Ok(Value::Text),
            _ => Err(RejectReason::UnknownLogStatus {
                value: text.to_owned(),
            }),
        },
    }
}

/// Unsigned decimal digits up to `max`. AWS writes no signs, no spaces and no
/// exponents, so neither do we accept them.
#[inline]
fn parse_digits(text: &str, max: i64, field: &'static Field) -> Result<i64, RejectReason> {
    let mut value: i64 = 0;
    for &b in text.as_bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(RejectReason::NotANumber {
                field: field.name,
                value: text.to_owned(),
            });
        }
        value = match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit)))
        {
            Some(v) if v <= max => v,
            _ => {
                // Finish scanning so "99999999999x" is reported as not a number.
                if text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(RejectReason::OutOfRange {
                        field: field.name,
                        value: text.to_owned(),
                    });
                }
                return Err(RejectReason::NotANumber {
                    field: field.name,
                    value: text.to_owned(),
                });
            }
        };
    }
    Ok(value)
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
