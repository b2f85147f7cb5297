//! IP protocol numbers and the names security groups and ACLs print.

/// All protocols (`-1` in both rule kinds).
pub const ALL: i32 = -1;
/// TCP.
pub const TCP: i32 = 6;
/// UDP.
pub const UDP: i32 = 17;
/// ICMP.
pub const ICMP: i32 = 1;
/// ICMPv6.
pub const ICMPV6: i32 = 58;

/// A security group's `IpProtocol`: `tcp`, `udp`, `icmp`, `icmpv6`, `-1`
/// or a number string (`"50"`), normalised to a number.
pub fn parse_protocol(text: &str) -> Option<i32> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Some(TCP),
        "udp" => Some(UDP),
        "icmp" => Some(ICMP),
        "icmpv6" => Some(ICMPV6),
        "all" => Some(ALL),
        other => parse_protocol_number(other),
    }
}

/// A network ACL's `Protocol`: `-1` or an IANA number as a string.
pub fn parse_protocol_number(text: &str) -> Option<i32> {
    let n: i32 = text.trim().parse().ok()?;
    (n == ALL || (0..=255).contains(&n)).then_some(n)
}

/// Whether ports apply to the protocol (TCP and UDP only).
pub fn has_ports(protocol: i32) -> bool {
    protocol == TCP || protocol == UDP
}

/// Whether the protocol is ICMP or ICMPv6 (type/code in place of ports).
pub fn is_icmp(protocol: i32) -> bool {
    protocol == ICMP || protocol == ICMPV6
}

/// The lower-case name explanations print (`tcp`, `all`, `50`).
pub fn name(protocol: i32) -> String {
    match protocol {
        ALL => "all".to_owned(),
        TCP => "tcp".to_owned(),
        UDP => "udp".to_owned(),
        ICMP => "icmp".to_owned(),
        ICMPV6 => "icmpv6".to_owned(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_normalise_to_one_value() {
        assert_eq!(parse_protocol("tcp"), Some(6));
        assert_eq!(parse_protocol("6"), Some(6));
        assert_eq!(parse_protocol("icmpv6"), Some(58));
        assert_eq!(parse_protocol("-1"), Some(-1));
        assert_eq!(parse_protocol("50"), Some(50));
        assert_eq!(parse_protocol("tcpx"), None);
        assert_eq!(parse_protocol_number("256"), None);
        assert_eq!(name(17), "udp");
    }
}
