//! The rule a person would most likely edit when no security-group rule
//! admits a packet (§2.6).

use std::cmp::Ordering;

use crate::matcher::{Dimensions, Match, Packet};
use crate::model::{Peer, SgRule};

/// A candidate rule with how it relates to the packet.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'a> {
    pub(crate) group_id: &'a str,
    pub(crate) index: usize,
    pub(crate) rule: &'a SgRule,
    pub(crate) dims: Dimensions,
}

impl Candidate<'_> {
    fn mismatches(&self) -> usize {
        [self.dims.protocol, self.dims.port, self.dims.peer]
            .iter()
            .filter(|m| **m == Match::No)
            .count()
    }

    /// Longest prefix first; a group or prefix list counts as a /32.
    fn specificity(&self) -> u8 {
        match &self.rule.peer {
            Peer::Cidr { cidr } => cidr.prefix_len(),
            Peer::PrefixList { .. } | Peer::Group { .. } => 32,
        }
    }

    fn port_distance(&self, packet: &Packet) -> i64 {
        let Some(port) = packet.port else { return 0 };
        let from = self.rule.from_port.filter(|p| *p >= 0).unwrap_or(0);
        let to = self.rule.to_port.filter(|p| *p >= 0).unwrap_or(65535);
        if port < from {
            i64::from(from - port)
        } else if port > to {
            i64::from(port - to)
        } else {
            0
        }
    }

    /// The dimensions that do not match, as named in the JSON.
    pub(crate) fn mismatch_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.dims.protocol == Match::No {
            out.push("protocol");
        }
        if self.dims.port == Match::No {
            out.push("port");
        }
        if self.dims.peer == Match::No {
            out.push("peer");
        }
        out
    }
}

/// Orders candidates nearest first.
pub(crate) fn nearest<'a>(
    mut candidates: Vec<Candidate<'a>>,
    packet: &Packet,
) -> Option<Candidate<'a>> {
    candidates.sort_by(|a, b| compare(a, b, packet));
    candidates.into_iter().next()
}

fn compare(a: &Candidate<'_>, b: &Candidate<'_>, packet: &Packet) -> Ordering {
    let port_ok = |c: &Candidate<'_>| c.dims.port == Match::No;
    let peer_ok = |c: &Candidate<'_>| c.dims.peer == Match::No;
    a.mismatches()
        .cmp(&b.mismatches())
        .then(port_ok(a).cmp(&port_ok(b)))
        .then(peer_ok(a).cmp(&peer_ok(b)))
        .then(b.specificity().cmp(&a.specificity()))
        .then(a.port_distance(packet).cmp(&b.port_distance(packet)))
        .then(a.group_id.cmp(b.group_id))
        .then(a.index.cmp(&b.index))
}
