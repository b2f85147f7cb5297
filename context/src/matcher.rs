//! Whether one security-group rule or one network-ACL entry matches a
//! packet (§2.4): the one place every verdict rests on, tested
//! exhaustively and against an independent SQL implementation.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{AclEntry, Peer, SgRule};
use crate::proto::{ALL, has_ports, is_icmp};

/// What flow records say about a packet, seen from the recording interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// IP protocol number.
    pub protocol: i32,
    /// The packet's destination port (ingress: the local service port;
    /// egress: the remote's port); `None` when the record has none.
    pub port: Option<i32>,
    /// The other end's address.
    pub remote: IpAddr,
}

/// A three-valued match: flow logs do not carry everything a rule checks
/// (ICMP type and code, members of groups not in the inventory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// Cannot match.
    #[default]
    No,
    /// May match; the data cannot say.
    Maybe,
    /// Matches.
    Yes,
}

impl Match {
    fn and(self, other: Match) -> Match {
        self.min(other)
    }
}

/// How a security-group peer relates to an address: answered by the
/// caller, who knows prefix-list versions and group members at the time.
pub trait PeerLookup {
    /// Whether `remote` is in the peer.
    fn peer_contains(&self, peer: &Peer, remote: IpAddr) -> Match;
}

/// Why a dimension of a rule did not match, for "nearest rule" and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dimensions {
    /// Protocol.
    pub protocol: Match,
    /// Port (or ICMP type/code).
    pub port: Match,
    /// Peer.
    pub peer: Match,
}

impl Dimensions {
    /// The rule's overall match.
    pub fn overall(&self) -> Match {
        self.protocol.and(self.port).and(self.peer)
    }
}

fn in_range(port: Option<i32>, from: Option<i32>, to: Option<i32>) -> Match {
    let from = from.filter(|p| *p >= 0).unwrap_or(0);
    let to = to.filter(|p| *p >= 0).unwrap_or(65535);
    match port {
        Some(p) if from <= p && p <= to => Match::Yes,
        Some(_) => Match::No,
        None => Match::Maybe,
    }
}

/// ICMP type/code of a rule: -1 (or absent) means all; anything more
/// specific may match, as records carry no type or code.
fn icmp_match(kind: Option<i32>, code: Option<i32>) -> Match {
    let all = |v: Option<i32>| v.is_none_or(|v| v < 0);
    if all(kind) && all(code) {
        Match::Yes
    } else {
        Match::Maybe
    }
}

/// A security-group rule against a packet, dimension by dimension.
pub fn sg_rule_dimensions(rule: &SgRule, packet: &Packet, peers: &impl PeerLookup) -> Dimensions {
    let protocol = if rule.protocol == ALL || rule.protocol == packet.protocol {
        Match::Yes
    } else {
        Match::No
    };
    // A port check on a protocol-mismatched rule counts as mismatched (§2.6).
    let port = if protocol == Match::No {
        Match::No
    } else if rule.protocol == ALL {
        Match::Yes
    } else if has_ports(rule.protocol) {
        in_range(packet.port, rule.from_port, rule.to_port)
    } else if is_icmp(rule.protocol) {
        icmp_match(rule.from_port, rule.to_port)
    } else {
        Match::Yes
    };
    let peer = peers.peer_contains(&rule.peer, packet.remote);
    Dimensions {
        protocol,
        port,
        peer,
    }
}

/// A security-group rule against a packet.
pub fn sg_rule_matches(rule: &SgRule, packet: &Packet, peers: &impl PeerLookup) -> Match {
    sg_rule_dimensions(rule, packet, peers).overall()
}

/// Whether a CIDR peer holds the address (families never mix).
pub fn cidr_contains(cidr: &IpNet, remote: IpAddr) -> bool {
    cidr.contains(&remote)
}

/// A network-ACL entry against a packet (direction already chosen).
pub fn acl_entry_matches(entry: &AclEntry, packet: &Packet) -> Match {
    if !entry.cidr.contains(&packet.remote) {
        return Match::No;
    }
    if entry.protocol == ALL {
        return Match::Yes;
    }
    if entry.protocol != packet.protocol {
        return Match::No;
    }
    if has_ports(entry.protocol) {
        return match entry.ports {
            None => Match::Yes,
            Some((from, to)) => in_range(packet.port, Some(from), Some(to)),
        };
    }
    if is_icmp(entry.protocol) {
        return match entry.icmp {
            None => Match::Yes,
            Some((t, c)) => icmp_match(Some(t), Some(c)),
        };
    }
    Match::Yes
}

/// What a network ACL does with a packet: the lowest-numbered matching
/// entry decides; an entry that only may match, ahead of the decider,
/// leaves the answer open when it would act differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclDecision<'a> {
    /// The entry that decides when every "may match" ahead of it does not.
    /// `None` only when no entry matches at all (no `*` rule in the file):
    /// the implicit deny.
    pub decider: Option<&'a AclEntry>,
    /// Whether the decider allows.
    pub allow: bool,
    /// The first entry ahead of the decider that may match and would act
    /// differently: the answer is "maybe".
    pub maybe: Option<&'a AclEntry>,
}

/// Evaluates the entries of one direction (`egress`) in rule-number order.
pub fn acl_decide<'a>(entries: &'a [AclEntry], egress: bool, packet: &Packet) -> AclDecision<'a> {
    let mut ordered: Vec<&AclEntry> = entries.iter().filter(|e| e.egress == egress).collect();
    ordered.sort_by_key(|e| e.rule_number);
    let mut maybe: Option<&AclEntry> = None;
    let mut maybe_actions = (false, false);
    for entry in ordered {
        match acl_entry_matches(entry, packet) {
            Match::No => {}
            Match::Maybe => {
                if entry.allow {
                    maybe_actions.0 = true;
                } else {
                    maybe_actions.1 = true;
                }
                maybe.get_or_insert(entry);
            }
            Match::Yes => {
                let differs = if entry.allow {
                    maybe_actions.1
                } else {
                    maybe_actions.0
                };
                return AclDecision {
                    decider: Some(entry),
                    allow: entry.allow,
                    maybe: maybe.filter(|_| differs),
                };
            }
        }
    }
    AclDecision {
        decider: None,
        allow: false,
        maybe: maybe.filter(|_| maybe_actions.0),
    }
}

impl AclDecision<'_> {
    /// The three-valued outcome: allow, deny, or maybe.
    pub fn result(&self) -> &'static str {
        match (self.maybe.is_some(), self.allow) {
            (true, _) => "maybe",
            (false, true) => "allow",
            (false, false) => "deny",
        }
    }
}

#[cfg(test)]
mod tests;
