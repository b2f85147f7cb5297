//! How explanations print: rule texts (§2.7), times, and the text form.

use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat};

use super::{Explanation, RejectInput};
use crate::model::AclEntry;
use crate::proto;

/// Unix seconds as RFC 3339 UTC.
pub(crate) fn rfc3339(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}

/// `22`, `1024-65535` or `all`.
pub(crate) fn port_range(from: Option<i32>, to: Option<i32>) -> String {
    match (from.filter(|p| *p >= 0), to.filter(|p| *p >= 0)) {
        (None, None) => "all".to_owned(),
        (Some(0), Some(65535)) => "all".to_owned(),
        (Some(f), Some(t)) if f == t => f.to_string(),
        (f, t) => format!("{}-{}", f.unwrap_or(0), t.unwrap_or(65535)),
    }
}

/// `acl-0pub inbound rule 50 DENY ALL 192.0.2.0/24`; the `*` rules
/// (32767, 32768) print as `*`.
pub(crate) fn acl_rule(acl_id: &str, e: &AclEntry) -> String {
    let number = if e.rule_number >= 32767 {
        "*".to_owned()
    } else {
        e.rule_number.to_string()
    };
    let protocol = proto::name(e.protocol).to_uppercase();
    let detail = if e.protocol == proto::ALL {
        String::new()
    } else if proto::has_ports(e.protocol) {
        e.ports
            .map(|(f, t)| format!(" {}", port_range(Some(f), Some(t))))
            .unwrap_or_default()
    } else if proto::is_icmp(e.protocol) {
        e.icmp
            .map(|(t, c)| format!(" type {t} code {c}"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!(
        "{acl_id} {} rule {number} {} {protocol}{detail} {}",
        if e.egress { "outbound" } else { "inbound" },
        if e.allow { "ALLOW" } else { "DENY" },
        e.cidr
    )
}

fn endpoint(addr: Option<IpAddr>, port: Option<i32>) -> String {
    match (addr, port) {
        (Some(IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (Some(a), None) => a.to_string(),
        (None, _) => "-".to_owned(),
    }
}

/// The text form: header, the explanation, the evidence, the snapshot.
pub(crate) fn render(input: &RejectInput, e: &Explanation, srcport: Option<i32>) -> String {
    let owner = e
        .owner
        .as_ref()
        .map(|o| format!(" ({})", o.label()))
        .unwrap_or_default();
    let mut out = format!(
        "REJECT {} {} {} → {} on {}{owner} {}\n",
        e.direction.map_or("?", |d| match d {
            super::Direction::Ingress => "ingress",
            super::Direction::Egress => "egress",
        }),
        input.protocol.map_or("?".to_owned(), proto::name),
        endpoint(input.pkt_srcaddr.or(input.srcaddr), srcport),
        endpoint(input.pkt_dstaddr.or(input.dstaddr), input.dstport),
        input.interface_id,
        rfc3339(input.at),
    );
    let code = e
        .code
        .as_deref()
        .map(|c| format!("{c}, "))
        .unwrap_or_default();
    out.push_str(&format!(
        "  {}: {} [{code}{}]\n",
        e.verdict.as_str(),
        e.summary,
        e.confidence.as_str()
    ));
    if let Some(alt) = &e.alternative {
        out.push_str(&format!("  {alt}\n"));
    }
    if !e.hints.is_empty() {
        out.push_str(&format!("  hints: {}\n", e.hints.join("; ")));
    }
    if let (Some(at), Some(age)) = (&e.snapshot_at, e.snapshot_age_s) {
        let when = if age >= 0 {
            format!("{} min before", age / 60)
        } else {
            format!("{} min after: before the first snapshot", -age / 60)
        };
        out.push_str(&format!("  config: snapshot {at} ({when})\n"));
    }
    out
}
