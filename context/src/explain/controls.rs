//! Each control's part of an explanation: the interface's security groups,
//! its subnet's network ACL and Block Public Access, as of the instant.

use std::net::IpAddr;

use serde::Serialize;

use super::Direction;
use super::nearest::{Candidate, nearest};
use super::text;
use crate::matcher::{Match, Packet, PeerLookup, acl_decide, sg_rule_dimensions};
use crate::model::{AclEntry, Eni, Peer};
use crate::parse::Kind;
use crate::proto;
use crate::world::{ObjectKey, World};

/// The security groups' part.
#[derive(Debug, Clone, Serialize)]
pub struct SgResult {
    /// The interface's groups.
    pub ids: Vec<String>,
    /// allow, maybe, deny or not_applicable.
    pub result: &'static str,
    /// `SG_HAS_NO_RULES` or `ENI_SG_RULES_MISMATCH` when it denies.
    pub code: Option<&'static str>,
    /// The rule that admits the packet, when one does.
    pub matching_rule: Option<NearestRule>,
    /// The rule nearest to admitting it, when none does.
    pub nearest_rule: Option<NearestRule>,
    /// Why the answer is only "maybe".
    pub flags: Vec<&'static str>,
}

/// A security-group rule as explanations cite it.
#[derive(Debug, Clone, Serialize)]
pub struct NearestRule {
    /// `sg-…`.
    pub group_id: String,
    /// `sgr-…`, when known.
    pub rule_id: Option<String>,
    /// Protocol name.
    pub protocol: String,
    /// Ports (`22`, `1024-65535`, `all`) or ICMP `type/code`.
    pub ports: String,
    /// CIDR, prefix list or group.
    pub peer: String,
    /// Dimensions that do not match.
    pub mismatch: Vec<&'static str>,
}

/// The network ACL's part.
#[derive(Debug, Clone, Serialize)]
pub struct AclResult {
    /// `acl-…`, when the subnet's ACL is known.
    pub id: Option<String>,
    /// allow, deny, maybe, skipped_intra_subnet or unknown.
    pub result: &'static str,
    /// The deciding entry's number.
    pub rule_number: Option<i32>,
    /// The deciding entry as text.
    pub rule: Option<String>,
    /// The entry that may match ahead of the decider.
    pub maybe_rule: Option<String>,
    /// For a deny: the nearest allow entry in the same direction.
    pub nearest_allow: Option<String>,
}

/// Block Public Access as of the instant.
#[derive(Debug, Clone, Serialize)]
pub struct BpaContext {
    /// `InternetGatewayBlockMode` of the account and region.
    pub mode: Option<String>,
    /// An exclusion in effect for the subnet or VPC, with its mode.
    pub exclusion: Option<String>,
    /// The subnet's `BlockPublicAccessStates`.
    pub subnet_state: Option<String>,
}

impl PeerLookup for World<'_> {
    fn peer_contains(&self, peer: &Peer, remote: IpAddr) -> Match {
        match peer {
            Peer::Cidr { cidr } => yes(cidr.contains(&remote)),
            Peer::PrefixList { id } => match self.prefix_list_cidrs(id) {
                Some(cidrs) => yes(cidrs.iter().any(|c| c.contains(&remote))),
                None => Match::Maybe,
            },
            Peer::Group { id, .. } => match self.members.get(id.as_str()) {
                Some(nets) if nets.iter().any(|n| n.contains(&remote)) => Match::Yes,
                // A group the inventory does not hold (another account, an
                // unknown peered VPC): its members are unknown.
                _ if !self.groups.contains_key(id.as_str()) => Match::Maybe,
                _ => Match::No,
            },
        }
    }
}

fn yes(b: bool) -> Match {
    if b { Match::Yes } else { Match::No }
}

/// The union of the interface's groups' rules in the packet's direction.
pub(super) fn security_groups(
    world: &World<'_>,
    eni: &Eni,
    direction: Direction,
    packet: &Packet,
    touched: &mut Vec<ObjectKey>,
) -> SgResult {
    let mut result = SgResult {
        ids: eni.groups.clone(),
        result: "not_applicable",
        code: None,
        matching_rule: None,
        nearest_rule: None,
        flags: Vec::new(),
    };
    if eni.groups.is_empty() {
        return result;
    }
    let egress = direction == Direction::Egress;
    let mut candidates = Vec::new();
    let mut unknown_group = false;
    for gid in &eni.groups {
        touched.push((Kind::SecurityGroup, gid.clone()));
        let Some(group) = world.groups.get(gid.as_str()) else {
            unknown_group = true;
            continue;
        };
        for (index, rule) in group.rules.iter().enumerate() {
            if rule.egress != egress {
                continue;
            }
            match &rule.peer {
                Peer::PrefixList { id } => touched.push((Kind::PrefixList, id.clone())),
                Peer::Group { id, .. } if world.members_in_gap(id) => {
                    touched.push((Kind::Eni, format!("members of {id}")));
                }
                _ => {}
            }
            candidates.push(Candidate {
                group_id: gid,
                index,
                rule,
                dims: sg_rule_dimensions(rule, packet, world),
            });
        }
    }
    if let Some(hit) = candidates.iter().find(|c| c.dims.overall() == Match::Yes) {
        result.result = "allow";
        result.matching_rule = Some(cite(hit));
        return result;
    }
    if let Some(maybe) = candidates.iter().find(|c| c.dims.overall() == Match::Maybe) {
        result.result = "maybe";
        result.flags.push(match &maybe.rule.peer {
            Peer::Group { .. } if maybe.dims.peer == Match::Maybe => "UNKNOWN_PEERED_SGS",
            Peer::PrefixList { .. } if maybe.dims.peer == Match::Maybe => "PREFIX_LIST_UNKNOWN",
            _ => "ICMP_TYPE_UNKNOWN",
        });
        result.matching_rule = Some(cite(maybe));
        return result;
    }
    if unknown_group {
        result.result = "maybe";
        result.flags.push("GROUP_NOT_IN_INVENTORY");
        return result;
    }
    result.result = "deny";
    result.code = Some(if candidates.is_empty() {
        "SG_HAS_NO_RULES"
    } else {
        "ENI_SG_RULES_MISMATCH"
    });
    result.nearest_rule = nearest(candidates, packet).map(|c| cite(&c));
    result
}

fn cite(c: &Candidate<'_>) -> NearestRule {
    let r = c.rule;
    let ports = if r.protocol == proto::ALL
        || !(proto::has_ports(r.protocol) || proto::is_icmp(r.protocol))
    {
        "all".to_owned()
    } else if proto::is_icmp(r.protocol) {
        format!("{}/{}", r.from_port.unwrap_or(-1), r.to_port.unwrap_or(-1))
    } else {
        text::port_range(r.from_port, r.to_port)
    };
    NearestRule {
        group_id: c.group_id.to_owned(),
        rule_id: r.rule_id.clone(),
        protocol: proto::name(r.protocol),
        ports,
        peer: r.peer.text(),
        mismatch: c.mismatch_names(),
    }
}

/// The subnet's network ACL in the packet's direction.
pub(super) fn network_acl(
    world: &World<'_>,
    eni: &Eni,
    direction: Direction,
    packet: &Packet,
    reply: bool,
    touched: &mut Vec<ObjectKey>,
) -> AclResult {
    let mut result = AclResult {
        id: None,
        result: "unknown",
        rule_number: None,
        rule: None,
        maybe_rule: None,
        nearest_allow: None,
    };
    let Some(subnet_id) = eni.subnet_id.as_deref() else {
        return result;
    };
    touched.push((Kind::Subnet, subnet_id.to_owned()));
    if let Some(subnet) = world.subnets.get(subnet_id)
        && subnet.cidrs.iter().any(|c| c.contains(&packet.remote))
    {
        result.result = "skipped_intra_subnet";
        return result;
    }
    let Some(acl) = world.acl_of_subnet.get(subnet_id) else {
        return result;
    };
    touched.push((Kind::NetworkAcl, acl.id.clone()));
    result.id = Some(acl.id.clone());
    let egress = direction == Direction::Egress;
    let decision = acl_decide(&acl.entries, egress, packet);
    result.result = decision.result();
    result.rule_number = decision.decider.map(|d| d.rule_number);
    result.rule = Some(match decision.decider {
        Some(d) => text::acl_rule(&acl.id, d),
        None => format!(
            "{} {} rule * DENY (implicit)",
            acl.id,
            direction.rules_word()
        ),
    });
    result.maybe_rule = decision.maybe.map(|m| text::acl_rule(&acl.id, m));
    if !decision.allow {
        result.nearest_allow =
            nearest_allow(&acl.entries, egress, packet, reply).map(|e| text::acl_rule(&acl.id, e));
    }
    result
}

/// The allow entry of the direction that comes nearest to the packet:
/// same family, protocol and range first; then, for a reply, the widest
/// port range (the ephemeral-port rule a person would widen), else the
/// smallest port distance.
fn nearest_allow<'a>(
    entries: &'a [AclEntry],
    egress: bool,
    packet: &Packet,
    reply: bool,
) -> Option<&'a AclEntry> {
    let family = |e: &AclEntry| e.cidr.addr().is_ipv6() == packet.remote.is_ipv6();
    entries
        .iter()
        .filter(|e| e.allow && e.egress == egress && family(e))
        .min_by_key(|e| {
            let protocol = e.protocol == proto::ALL || e.protocol == packet.protocol;
            let peer = e.cidr.contains(&packet.remote);
            let distance = match (e.ports, packet.port) {
                (Some((from, _)), Some(p)) if p < from => i64::from(from - p),
                (Some((_, to)), Some(p)) if p > to => i64::from(p - to),
                _ => 0,
            };
            let width = e.ports.map_or(65536, |(from, to)| i64::from(to - from) + 1);
            let rank = if reply { -width } else { distance };
            (!protocol, !peer, rank, e.rule_number)
        })
}

/// Block Public Access context for a BPA verdict.
pub(super) fn bpa_context(
    world: &World<'_>,
    eni: Option<&Eni>,
    touched: &mut Vec<ObjectKey>,
) -> BpaContext {
    let scope = eni.and_then(|e| world.scope_of_eni(&e.id));
    if let Some(scope) = scope {
        touched.push((Kind::BpaOptions, format!("{}/{}", scope.0, scope.1)));
    }
    let mode = scope.and_then(|s| world.bpa.get(s)).map(|b| b.mode.clone());
    let subnet = eni
        .and_then(|e| e.subnet_id.as_deref())
        .and_then(|s| world.subnets.get(s));
    let arns: Vec<String> = match (eni, scope) {
        (Some(e), Some((account, region))) => [
            e.subnet_id
                .as_ref()
                .map(|s| format!("arn:aws:ec2:{region}:{account}:subnet/{s}")),
            e.vpc_id
                .as_ref()
                .map(|v| format!("arn:aws:ec2:{region}:{account}:vpc/{v}")),
        ]
        .into_iter()
        .flatten()
        .chain(subnet.and_then(|s| s.arn.clone()))
        .collect(),
        _ => Vec::new(),
    };
    let exclusion = world
        .exclusions
        .iter()
        .find(|x| {
            x.in_effect()
                && arns
                    .iter()
                    .any(|a| strip_partition(a) == strip_partition(&x.resource_arn))
        })
        .map(|x| format!("{} {} ({})", x.id, x.mode, x.state));
    BpaContext {
        mode,
        exclusion,
        subnet_state: subnet.and_then(|s| s.bpa_mode.clone()),
    }
}

/// An ARN without its partition, so `aws-cn` and `aws` ARNs of one
/// resource compare equal.
fn strip_partition(arn: &str) -> String {
    arn.splitn(3, ':').nth(2).unwrap_or(arn).to_owned()
}
