//! From each control's result to one verdict (§2.5), and choosing between
//! two versions of the configuration in a gap (§2.3 step 9).

use serde::Serialize;

use super::{Explanation, PacketKind};
use crate::matcher::Packet;
use crate::proto;

/// What most likely dropped the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// `reject-reason` says Block Public Access.
    Bpa,
    /// `reject-reason` has another value.
    OtherReason,
    /// No security-group rule admits the packet.
    Sg,
    /// The network ACL's first matching entry denies it.
    Nacl,
    /// Both deny: fixing one is not enough.
    Both,
    /// A reply denied by the network ACL in the reply's direction.
    NaclReturn,
    /// TCP without SYN after an accepted connection; both controls admit it.
    AfterClose,
    /// Nothing in the configuration explains it.
    Unexplained,
    /// The recording interface is not in the inventory then.
    NoInventory,
    /// No flow-direction and no address to infer it from.
    UnknownDirection,
    /// `--silent-drops`: the subnet has no route to the destination.
    NoRouteToDestination,
    /// `--silent-drops`: the route to the destination is a blackhole.
    BadStateRoute,
}

impl Verdict {
    /// The name printed and stored (`SG`, `NACL_RETURN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Bpa => "BPA",
            Verdict::OtherReason => "OTHER_REASON",
            Verdict::Sg => "SG",
            Verdict::Nacl => "NACL",
            Verdict::Both => "BOTH",
            Verdict::NaclReturn => "NACL_RETURN",
            Verdict::AfterClose => "AFTER_CLOSE",
            Verdict::Unexplained => "UNEXPLAINED",
            Verdict::NoInventory => "NO_INVENTORY",
            Verdict::UnknownDirection => "UNKNOWN_DIRECTION",
            Verdict::NoRouteToDestination => "NO_ROUTE_TO_DESTINATION",
            Verdict::BadStateRoute => "BAD_STATE_ROUTE",
        }
    }

    /// Whether the verdict names a cause.
    pub fn explains(self) -> bool {
        !matches!(
            self,
            Verdict::Unexplained | Verdict::NoInventory | Verdict::UnknownDirection
        )
    }
}

/// How sure a verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// No answer.
    None,
    /// One reading among others.
    Possible,
    /// What the configuration says; no flow field names the control.
    Likely,
    /// The record itself says so.
    Certain,
}

impl Confidence {
    /// The word printed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::None => "none",
            Confidence::Possible => "possible",
            Confidence::Likely => "likely",
            Confidence::Certain => "certain",
        }
    }

    /// One step lower (before the first snapshot).
    pub fn lower(self) -> Confidence {
        match self {
            Confidence::Certain => Confidence::Likely,
            Confidence::Likely | Confidence::Possible => Confidence::Possible,
            Confidence::None => Confidence::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Allow,
    Maybe,
    Deny,
}

fn part(result: &str) -> Part {
    match result {
        "deny" => Part::Deny,
        "maybe" => Part::Maybe,
        _ => Part::Allow,
    }
}

/// What the packet was, for messages: `tcp/3389 from 203.0.113.9`.
fn what(e: &Explanation, packet: &Packet) -> String {
    let service = if proto::has_ports(packet.protocol) {
        format!(
            "{}/{}",
            proto::name(packet.protocol),
            packet.port.unwrap_or(0)
        )
    } else {
        proto::name(packet.protocol)
    };
    let preposition = match e.direction {
        Some(super::Direction::Egress) => "to",
        _ => "from",
    };
    format!(
        " {} {service} {preposition} {}",
        e.direction.map_or("", |d| d.rules_word()),
        packet.remote
    )
}

/// Sets verdict, code, confidence and summary from the control results.
pub(super) fn combine(e: &mut Explanation, kind: PacketKind, packet: &Packet) {
    let sg = e.security_groups.as_ref().map(|s| part(s.result));
    let acl_result = e.acl.as_ref().map_or("unknown", |a| a.result);
    let acl = part(acl_result);
    if acl_result == "unknown" {
        e.hints.push("acl_not_in_inventory".to_owned());
    }
    let what = what(e, packet);
    let sg_text = sg_text(e, &what);
    let acl_text = e
        .acl
        .as_ref()
        .and_then(|a| a.rule.clone())
        .unwrap_or_default();
    let sg_code = e
        .security_groups
        .as_ref()
        .and_then(|s| s.code)
        .unwrap_or("ENI_SG_RULES_MISMATCH");
    let ingress = e.direction == Some(super::Direction::Ingress);
    use self::{Confidence as C, Part as P, Verdict as V};
    let (verdict, confidence, summary) = match (kind, sg, acl) {
        (PacketKind::Reply, _, P::Deny) => (V::NaclReturn, C::Likely, reply_text(e, &what)),
        (PacketKind::Reply, _, P::Maybe) => {
            e.flags.push("ICMP_TYPE_UNKNOWN".to_owned());
            (V::NaclReturn, C::Possible, reply_text(e, &what))
        }
        (PacketKind::Reply, _, P::Allow) => (
            V::Unexplained,
            C::None,
            format!(
                "a reply ({what}) that {} admits; the security group does not judge replies",
                acl_name(e)
            ),
        ),
        (_, Some(P::Deny), P::Allow) => {
            if kind == PacketKind::Late {
                e.hints
                    .push("connection tracking entry probably expired".to_owned());
            }
            (V::Sg, C::Likely, format!("{sg_text}{}", acl_admitted(e)))
        }
        (_, Some(P::Deny), P::Maybe) => {
            e.hints.push("the NACL may also deny".to_owned());
            (V::Sg, C::Likely, sg_text.clone())
        }
        (_, Some(P::Deny), P::Deny) => {
            let text = if ingress {
                format!("{acl_text} and {sg_text}; fixing one is not enough")
            } else {
                format!("{sg_text} and {acl_text}; fixing one is not enough")
            };
            (V::Both, C::Likely, text)
        }
        (_, Some(P::Allow) | None, P::Deny) | (_, Some(P::Maybe), P::Deny) => (
            V::Nacl,
            C::Likely,
            format!("{acl_text} drops{what}{}", sg_admitted(e)),
        ),
        (_, Some(P::Allow) | None, P::Maybe) => {
            e.flags.push("ICMP_TYPE_UNKNOWN".to_owned());
            (V::Nacl, C::Possible, format!("{} may drop{what}", acl_text))
        }
        (_, Some(P::Maybe), P::Allow) => {
            let flags = e
                .security_groups
                .as_ref()
                .map(|s| s.flags.clone())
                .unwrap_or_default();
            e.flags.extend(flags.iter().map(|f| (*f).to_owned()));
            (
                V::Sg,
                C::Possible,
                format!("{sg_text} for certain ({})", flags.join(", ")),
            )
        }
        (_, Some(P::Maybe), P::Maybe) => (
            V::Unexplained,
            C::None,
            format!("both may drop{what}: {sg_text}; {acl_text}"),
        ),
        (PacketKind::Late, Some(P::Allow) | None, P::Allow) => (
            V::AfterClose,
            C::Possible,
            format!(
                "a TCP packet without SYN after an accepted connection closed: {} and {} both admit{what}",
                sg_names(e),
                acl_name(e)
            ),
        ),
        (_, Some(P::Allow) | None, P::Allow) => (
            V::Unexplained,
            C::None,
            format!(
                "{} and {} admit{what} as of then: nothing in the configuration explains it",
                sg_names(e),
                acl_name(e)
            ),
        ),
    };
    e.code = match verdict {
        V::Sg => Some(sg_code.to_owned()),
        V::Nacl | V::NaclReturn => Some("SUBNET_ACL_RESTRICTION".to_owned()),
        V::Both if ingress => Some(format!("SUBNET_ACL_RESTRICTION,{sg_code}")),
        V::Both => Some(format!("{sg_code},SUBNET_ACL_RESTRICTION")),
        _ => None,
    };
    e.verdict = verdict;
    e.confidence = confidence;
    e.summary = summary;
}

fn sg_names(e: &Explanation) -> String {
    e.security_groups
        .as_ref()
        .filter(|s| !s.ids.is_empty())
        .map_or_else(|| "the security groups".to_owned(), |s| s.ids.join(", "))
}

fn acl_name(e: &Explanation) -> String {
    e.acl
        .as_ref()
        .and_then(|a| a.id.clone())
        .unwrap_or_else(|| "the network ACL".to_owned())
}

fn sg_text(e: &Explanation, what: &str) -> String {
    let Some(sg) = &e.security_groups else {
        return String::new();
    };
    if sg.code == Some("SG_HAS_NO_RULES") {
        return format!(
            "{} {} no{} rules",
            sg.ids.join(", "),
            if sg.ids.len() == 1 { "has" } else { "have" },
            e.direction
                .map_or(String::new(), |d| format!(" {}", d.rules_word()))
        );
    }
    let mut text = format!("no rule of {} allows{what}", sg.ids.join(", "));
    if let Some(n) = &sg.nearest_rule {
        let to = if e.direction == Some(super::Direction::Egress) {
            "to"
        } else {
            "from"
        };
        let service = if n.ports == "all" {
            n.protocol.clone()
        } else {
            format!("{}/{}", n.protocol, n.ports)
        };
        text.push_str(&format!("; nearest: {service} {to} {}", n.peer));
        if n.mismatch == ["peer"] && n.peer.contains('.') && what.contains(':') {
            text.push_str(" (an IPv4 range: add the IPv6 one, e.g. ::/0)");
        }
    }
    text
}

fn acl_admitted(e: &Explanation) -> String {
    match &e.acl {
        Some(a) if a.result == "allow" => format!(
            "; {} admitted it by {} rule {}",
            acl_name(e),
            e.direction.map_or("", |d| d.rules_word()),
            a.rule_number.map_or("*".to_owned(), |n| n.to_string())
        ),
        Some(a) if a.result == "skipped_intra_subnet" => {
            "; network ACL not applied (same subnet)".to_owned()
        }
        _ => String::new(),
    }
}

fn sg_admitted(e: &Explanation) -> String {
    match &e.security_groups {
        Some(s) if s.result == "allow" => match &s.matching_rule {
            Some(r) => format!(
                "; {} allows {}/{} from {}",
                r.group_id, r.protocol, r.ports, r.peer
            ),
            None => String::new(),
        },
        _ => String::new(),
    }
}

fn reply_text(e: &Explanation, what: &str) -> String {
    let acl = e.acl.as_ref();
    let mut text = format!(
        "a reply to an accepted connection ({}) denied by {}",
        what.trim(),
        acl.and_then(|a| a.rule.clone()).unwrap_or_default()
    );
    if let Some(near) = acl.and_then(|a| a.nearest_allow.as_ref()) {
        text.push_str(&format!(
            "; {near} only; hint: NAT gateways, ELB and Lambda use 1024-65535, Linux 32768-61000"
        ));
    }
    text
}

/// Block Public Access named by the record.
pub(super) fn bpa(e: &mut Explanation) {
    e.verdict = Verdict::Bpa;
    e.code = Some("VPC_BLOCK_PUBLIC_ACCESS_ENABLED".to_owned());
    e.confidence = Confidence::Certain;
    let ctx = e.bpa.as_ref();
    let mode = ctx.and_then(|c| c.mode.clone());
    let exclusion = ctx.and_then(|c| c.exclusion.clone());
    if mode.as_deref().is_some_and(|m| m == "off") || exclusion.is_some() {
        e.flags.push("inventory_disagrees".to_owned());
    }
    e.summary = format!(
        "Block Public Access dropped it (mode {}, {})",
        mode.unwrap_or_else(|| "unknown".to_owned()),
        exclusion.map_or("no exclusion in effect".to_owned(), |x| format!(
            "exclusion {x}"
        ))
    );
}

/// Chooses between the answers under the earlier and the later versions
/// of a configuration gap (§2.3 step 9).
pub(super) fn settle_gap(earlier: Explanation, later: Explanation) -> Explanation {
    let mut out = match (earlier.verdict.explains(), later.verdict.explains()) {
        _ if earlier.verdict == later.verdict => earlier,
        (false, true) => {
            let mut chosen = later;
            chosen.confidence = chosen.confidence.min(Confidence::Possible);
            chosen.alternative = Some(format!("under the earlier version: {}", earlier.summary));
            chosen
        }
        (true, false) => {
            let mut chosen = earlier;
            chosen.confidence = chosen.confidence.min(Confidence::Possible);
            chosen.alternative = Some(format!("under the later version: {}", later.summary));
            chosen
        }
        _ => {
            let mut chosen = earlier;
            chosen.confidence = chosen.confidence.min(Confidence::Possible);
            chosen.alternative = Some(format!(
                "under the later version: {}: {}",
                later.verdict.as_str(),
                later.summary
            ));
            chosen
        }
    };
    out.config_gap = true;
    if !out.flags.iter().any(|f| f == "config_gap") {
        out.flags.push("config_gap".to_owned());
    }
    out
}
