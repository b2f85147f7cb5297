//! SQL functions for network questions, registered in one place
//! ([`register_functions`]) so a distributed engine (Ballista) can register
//! the same set on every node.
//!
//! | function | returns |
//! |---|---|
//! | `cidr_contains(cidr, addr)` | true if `addr` lies in `cidr` (`'10.0.0.0/8'`, `'2001:db8::/32'`) |
//! | `is_private(addr)` | true for RFC 1918 and IPv6 ULA (fc00::/7) |
//! | `is_internet(addr)` | false for private, RFC 6598 shared, loopback, link-local and unspecified addresses; true otherwise (documentation ranges included) |
//! | `protocol_name(protocol)` | IANA keyword (`tcp`, `udp`, `icmp`, ...), null if uncommon |
//! | `tcp_flag_names(tcp_flags)` | `SYN`, `SYN-ACK,FIN`, ... from the OR-ed flags |
//!
//! Named reports do not use these (other engines lack them); they read the
//! derived columns stored at ingest instead.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use flowlake_schemas::addr::{Cidr, is_internet, is_private, parse_addr};
use flowlake_schemas::protocol::protocol_name;

/// Registers every flowlake SQL function on `ctx`.
pub fn register_functions(ctx: &SessionContext) {
    ctx.register_udf(create_udf(
        "cidr_contains",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(cidr_contains),
    ));
    ctx.register_udf(create_udf(
        "is_private",
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(is_private_fn),
    ));
    ctx.register_udf(create_udf(
        "is_internet",
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(is_internet_fn),
    ));
    ctx.register_udf(create_udf(
        "protocol_name",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(protocol_name_fn),
    ));
    ctx.register_udf(create_udf(
        "tcp_flag_names",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(tcp_flag_names_fn),
    ));
}

fn arrays(args: &[ColumnarValue]) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    Ok((ColumnarValue::values_to_arrays(args)?, scalar))
}

fn finish(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(
            datafusion::scalar::ScalarValue::try_from_array(&array, 0)?,
        ))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

fn cidr_contains(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let (cidrs, addrs) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
    // The block is nearly always a literal: parse it once, not per row.
    let mut last: Option<(&str, Option<Cidr>)> = None;
    let mut out = Vec::with_capacity(addrs.len());
    for row in 0..addrs.len() {
        if cidrs.is_null(row) || addrs.is_null(row) {
            out.push(None);
            continue;
        }
        let text = cidrs.value(row);
        let cidr = match last {
            Some((t, c)) if t == text => c,
            _ => {
                let c = Cidr::parse(text);
                if c.is_none() {
                    return Err(DataFusionError::Execution(format!(
                        "cidr_contains: {text:?} is not a CIDR block"
                    )));
                }
                last = Some((text, c));
                c
            }
        };
        out.push(
            cidr.zip(parse_addr(addrs.value(row)))
                .map(|(c, a)| c.contains(a)),
        );
    }
    finish(Arc::new(BooleanArray::from(out)), scalar)
}

fn is_private_fn(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    address_test(args, is_private)
}

fn is_internet_fn(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    address_test(args, is_internet)
}

/// `test` of each address (null for null or unparseable text).
fn address_test(args: &[ColumnarValue], test: fn(IpAddr) -> bool) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let flags: BooleanArray = arrays[0]
        .as_string::<i32>()
        .iter()
        .map(|a| a.and_then(parse_addr).map(test))
        .collect();
    finish(Arc::new(flags), scalar)
}

fn protocol_name_fn(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let mut names = StringBuilder::new();
    for p in arrays[0].as_primitive::<Int64Type>().iter() {
        names.append_option(
            p.and_then(|p| i32::try_from(p).ok())
                .and_then(protocol_name),
        );
    }
    finish(Arc::new(names.finish()), scalar)
}

/// Names of the TCP flags AWS logs, OR-ed over the window.
pub fn tcp_flag_names(flags: i32) -> String {
    if flags == 0 {
        return "none".to_owned();
    }
    let mut names = Vec::new();
    if flags & 18 == 18 {
        names.push("SYN-ACK");
    } else if flags & 2 != 0 {
        names.push("SYN");
    }
    if flags & 1 != 0 {
        names.push("FIN");
    }
    if flags & 4 != 0 {
        names.push("RST");
    }
    let rest = flags & !(1 | 2 | 4 | 18);
    let mut out = names.join(",");
    if rest != 0 {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("0x{rest:x}"));
    }
    out
}

fn tcp_flag_names_fn(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let mut names = StringBuilder::new();
    for f in arrays[0].as_primitive::<Int64Type>().iter() {
        names.append_option(f.and_then(|f| i32::try_from(f).ok()).map(tcp_flag_names));
    }
    finish(Arc::new(names.finish()), scalar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names() {
        assert_eq!(tcp_flag_names(2), "SYN");
        assert_eq!(tcp_flag_names(18), "SYN-ACK");
        assert_eq!(tcp_flag_names(19), "SYN-ACK,FIN");
        assert_eq!(tcp_flag_names(3), "SYN,FIN");
        assert_eq!(tcp_flag_names(7), "SYN,FIN,RST");
        assert_eq!(tcp_flag_names(0), "none");
    }

    #[tokio::test]
    async fn functions_work_in_sql() {
        let ctx = SessionContext::new();
        register_functions(&ctx);
        let batches = ctx
            .sql("SELECT cidr_contains('10.0.0.0/8', '10.2.3.4') AS a, is_private('8.8.8.8') AS b, protocol_name(6) AS c, tcp_flag_names(18) AS d")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let row = &batches[0];
        assert!(row.column(0).as_boolean().value(0));
        assert!(!row.column(1).as_boolean().value(0));
        assert_eq!(row.column(2).as_string::<i32>().value(0), "tcp");
        assert_eq!(row.column(3).as_string::<i32>().value(0), "SYN-ACK");
        let err = ctx
            .sql("SELECT cidr_contains('nonsense', '10.0.0.1')")
            .await
            .unwrap()
            .collect()
            .await;
        assert!(err.is_err());
    }
}
