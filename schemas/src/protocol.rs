//! IANA protocol numbers to the keywords network engineers read.
//!
//! Only the protocols that show up in flow logs in practice are named; any
//! other number has no name (null in SQL) rather than a guess.

/// The IANA keyword (lower case) for a protocol number, if it is a common one.
pub fn protocol_name(number: i32) -> Option<&'static str> {
    Some(match number {
        0 => "hopopt",
        1 => "icmp",
        2 => "igmp",
        4 => "ipv4",
        6 => "tcp",
        8 => "egp",
        17 => "udp",
        27 => "rdp",
        33 => "dccp",
        41 => "ipv6",
        46 => "rsvp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        88 => "eigrp",
        89 => "ospfigp",
        94 => "ipip",
        97 => "etherip",
        103 => "pim",
        112 => "vrrp",
        115 => "l2tp",
        132 => "sctp",
        136 => "udplite",
        137 => "mpls-in-ip",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::protocol_name;

    #[test]
    fn names_common_protocols_only() {
        assert_eq!(protocol_name(6), Some("tcp"));
        assert_eq!(protocol_name(17), Some("udp"));
        assert_eq!(protocol_name(58), Some("ipv6-icmp"));
        assert_eq!(protocol_name(253), None);
        assert_eq!(protocol_name(-1), None);
    }
}
