//! Hand-picked cases for each row of §2.4; the randomized check against an
//! independent SQL implementation lives in tests/e2e/context_matcher.rs.

use super::*;

struct NoPeers;
impl PeerLookup for NoPeers {
    fn peer_contains(&self, peer: &Peer, remote: IpAddr) -> Match {
        match peer {
            Peer::Cidr { cidr } => {
                if cidr.contains(&remote) {
                    Match::Yes
                } else {
                    Match::No
                }
            }
            _ => Match::Maybe,
        }
    }
}

fn rule(protocol: i32, from: Option<i32>, to: Option<i32>, cidr: &str) -> SgRule {
    SgRule {
        rule_id: None,
        egress: false,
        protocol,
        from_port: from,
        to_port: to,
        peer: Peer::Cidr {
            cidr: cidr.parse().unwrap(),
        },
        description: None,
    }
}

fn packet(protocol: i32, port: i32, remote: &str) -> Packet {
    Packet {
        protocol,
        port: Some(port),
        remote: remote.parse().unwrap(),
    }
}

fn entry(n: i32, allow: bool, protocol: i32, ports: Option<(i32, i32)>, cidr: &str) -> AclEntry {
    AclEntry {
        rule_number: n,
        egress: false,
        allow,
        protocol,
        cidr: cidr.parse().unwrap(),
        ports,
        icmp: None,
    }
}

#[test]
fn sg_protocols_ports_and_families() {
    let p = packet(6, 22, "203.0.113.9");
    assert_eq!(
        sg_rule_matches(&rule(6, Some(22), Some(22), "203.0.113.0/24"), &p, &NoPeers),
        Match::Yes
    );
    assert_eq!(
        sg_rule_matches(&rule(6, Some(443), Some(443), "0.0.0.0/0"), &p, &NoPeers),
        Match::No
    );
    // -1 allows every port "regardless of any port range".
    assert_eq!(
        sg_rule_matches(&rule(-1, Some(1), Some(1), "0.0.0.0/0"), &p, &NoPeers),
        Match::Yes
    );
    // Other protocols ignore ports.
    assert_eq!(
        sg_rule_matches(
            &rule(50, Some(1), Some(1), "0.0.0.0/0"),
            &packet(50, 0, "1.2.3.4"),
            &NoPeers
        ),
        Match::Yes
    );
    // Absent ports are all ports.
    assert_eq!(
        sg_rule_matches(&rule(6, None, None, "0.0.0.0/0"), &p, &NoPeers),
        Match::Yes
    );
    // An IPv4 range never holds an IPv6 address.
    assert_eq!(
        sg_rule_matches(
            &rule(6, Some(22), Some(22), "0.0.0.0/0"),
            &packet(6, 22, "2001:db8::5"),
            &NoPeers
        ),
        Match::No
    );
    // ICMP: all types match; a specific type may.
    assert_eq!(
        sg_rule_matches(
            &rule(1, Some(-1), Some(-1), "0.0.0.0/0"),
            &packet(1, 0, "1.2.3.4"),
            &NoPeers
        ),
        Match::Yes
    );
    assert_eq!(
        sg_rule_matches(
            &rule(1, Some(8), Some(-1), "0.0.0.0/0"),
            &packet(1, 0, "1.2.3.4"),
            &NoPeers
        ),
        Match::Maybe
    );
    assert_eq!(
        sg_rule_matches(
            &rule(1, Some(8), Some(-1), "0.0.0.0/0"),
            &packet(6, 0, "1.2.3.4"),
            &NoPeers
        ),
        Match::No
    );
}

#[test]
fn acl_lowest_rule_first_and_families_apart() {
    let entries = vec![
        entry(140, true, -1, None, "::/0"),
        entry(50, false, -1, None, "192.0.2.0/24"),
        entry(100, true, 6, Some((443, 443)), "0.0.0.0/0"),
        entry(32767, false, -1, None, "0.0.0.0/0"),
        entry(32768, false, -1, None, "::/0"),
    ];
    let d = acl_decide(&entries, false, &packet(6, 443, "192.0.2.55"));
    assert_eq!(
        (d.result(), d.decider.map(|e| e.rule_number)),
        ("deny", Some(50))
    );
    let d = acl_decide(&entries, false, &packet(6, 443, "198.51.100.1"));
    assert_eq!(
        (d.result(), d.decider.map(|e| e.rule_number)),
        ("allow", Some(100))
    );
    let d = acl_decide(&entries, false, &packet(6, 443, "2001:db8:ffff::5"));
    assert_eq!(
        (d.result(), d.decider.map(|e| e.rule_number)),
        ("allow", Some(140))
    );
    let d = acl_decide(&entries, false, &packet(6, 22, "198.51.100.1"));
    assert_eq!(
        (d.result(), d.decider.map(|e| e.rule_number)),
        ("deny", Some(32767))
    );
    // The other direction has no entries: the implicit deny.
    let d = acl_decide(&entries, true, &packet(6, 22, "198.51.100.1"));
    assert_eq!((d.result(), d.decider), ("deny", None));
}

#[test]
fn acl_maybe_ahead_of_a_different_decider() {
    let mut icmp = entry(130, true, 1, None, "0.0.0.0/0");
    icmp.icmp = Some((8, -1));
    let entries = vec![icmp, entry(32767, false, -1, None, "0.0.0.0/0")];
    let d = acl_decide(&entries, false, &packet(1, 0, "203.0.113.12"));
    assert_eq!(d.result(), "maybe");
    assert_eq!(d.maybe.map(|e| e.rule_number), Some(130));
    assert_eq!(d.decider.map(|e| e.rule_number), Some(32767));
}
