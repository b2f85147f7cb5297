//! Checking and parsing one field's bytes. Called for every field of every
//! record, so nothing here allocates except on the error path, where the
//! offending text goes into the [`RejectReason`].

use crate::addr::{is_private, parse_addr_bytes};
use crate::fields::Field;
use crate::reject::RejectReason;

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An address field: is it an address, and is it private?
#[inline]
pub(crate) fn address_is_private(field: &'static Field, text: &[u8]) -> Result<bool, RejectReason> {
    match parse_addr_bytes(text) {
        Some(addr) => Ok(is_private(addr)),
        None => Err(RejectReason::BadAddress {
            field: field.name,
            value: text_of(text),
        }),
    }
}

/// `action` must be ACCEPT or REJECT.
#[inline]
pub(crate) fn check_action(text: &[u8]) -> Result<(), RejectReason> {
    match word(text) {
        ACCEPT | REJECT => Ok(()),
        _ => Err(RejectReason::UnknownAction {
            value: text_of(text),
        }),
    }
}

/// `log-status` must be OK, NODATA or SKIPDATA.
#[inline]
pub(crate) fn check_log_status(text: &[u8]) -> Result<(), RejectReason> {
    match word(text) {
        OK | NODATA | SKIPDATA => Ok(()),
        _ => Err(RejectReason::UnknownLogStatus {
            value: text_of(text),
        }),
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
pub(crate) fn parse_int(field: &'static Field, text: &[u8], max: i64) -> Result<i64, RejectReason> {
    // Up to 18 digits cannot overflow an i64: no checks per digit.
    if text.len() <= 18 {
        let mut value: i64 = 0;
        let mut bad = false;
        for &b in text {
            let digit = b.wrapping_sub(b'0');
            bad |= digit > 9;
            value = value * 10 + i64::from(digit);
        }
        if bad {
            return Err(RejectReason::NotANumber {
                field: field.name,
                value: text_of(text),
            });
        }
        if value > max {
            return Err(RejectReason::OutOfRange {
                field: field.name,
                value: text_of(text),
            });
        }
        return Ok(value);
    }
    if !text.iter().all(u8::is_ascii_digit) {
        return Err(RejectReason::NotANumber {
            field: field.name,
            value: text_of(text),
        });
    }
    Err(RejectReason::OutOfRange {
        field: field.name,
        value: text_of(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{field, field_id};

    fn f(name: &str) -> &'static Field {
        field(field_id(name).unwrap())
    }

    #[test]
    fn numbers() {
        let port = f("dstport");
        let max32 = i64::from(i32::MAX);
        assert_eq!(parse_int(port, b"443", max32), Ok(443));
        assert_eq!(
            parse_int(f("bytes"), b"9223372036854775807", i64::MAX),
            Err(RejectReason::OutOfRange {
                field: "bytes",
                value: "9223372036854775807".into()
            })
        );
        assert_eq!(
            parse_int(f("bytes"), b"999999999999999999", i64::MAX),
            Ok(999_999_999_999_999_999)
        );
        assert!(matches!(
            parse_int(port, b"http", max32),
            Err(RejectReason::NotANumber {
                field: "dstport",
                ..
            })
        ));
        assert!(matches!(
            parse_int(port, b"-5", max32),
            Err(RejectReason::NotANumber { .. })
        ));
        assert!(matches!(
            parse_int(port, b"2147483648", max32),
            Err(RejectReason::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_int(f("bytes"), b"99999999999999999999x", i64::MAX),
            Err(RejectReason::NotANumber { .. })
        ));
    }

    #[test]
    fn enumerations_and_addresses() {
        assert_eq!(check_action(b"REJECT"), Ok(()));
        assert!(matches!(
            check_action(b"DROP"),
            Err(RejectReason::UnknownAction { .. })
        ));
        assert!(matches!(
            check_action(b"ACCEPTED"),
            Err(RejectReason::UnknownAction { .. })
        ));
        assert!(matches!(
            check_log_status(b"ok"),
            Err(RejectReason::UnknownLogStatus { .. })
        ));
        assert_eq!(check_log_status(b"SKIPDATA"), Ok(()));
        assert_eq!(address_is_private(f("srcaddr"), b"10.0.0.1"), Ok(true));
        assert_eq!(address_is_private(f("dstaddr"), b"2600:1f18::1"), Ok(false));
        assert!(matches!(
            address_is_private(f("srcaddr"), b"10.0.0"),
            Err(RejectReason::BadAddress { .. })
        ));
    }
}
