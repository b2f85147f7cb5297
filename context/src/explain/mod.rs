//! Explaining a REJECT (§2.3): which control most likely dropped a packet,
//! judged against the configuration as of the record's start.
//!
//! ```text
//! record ──▶ reject-reason? ──▶ ENI then ──▶ direction, packet, kind
//!        ──▶ security groups (stateful: replies skipped) ┐
//!        ──▶ network ACL (stateless, lowest rule first)  ├─▶ verdict table (§2.5)
//!        ──▶ in a config gap: again with the later versions ┘ ──▶ Explanation
//! ```

mod batch;
mod controls;
mod nearest;
mod routes;
mod text;
mod verdict;

use std::net::IpAddr;

use serde::Serialize;

use crate::inventory::Inventory;
use crate::owner::{Owner, classify, with_region};
use crate::parse::Kind;
use crate::timeline::Certainty;
use crate::world::{ObjectKey, Pick, World};

pub use batch::{Explainer, ExplainerLimits};
pub use controls::{AclResult, BpaContext, NearestRule, SgResult};
pub use routes::{SilentInput, silent_drop};
pub use verdict::{Confidence, Verdict};

/// Which way a packet crossed the recording interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Arriving.
    Ingress,
    /// Leaving.
    Egress,
}

impl Direction {
    /// `inbound` / `outbound`, as rules are named.
    pub fn rules_word(self) -> &'static str {
        match self {
            Direction::Ingress => "inbound",
            Direction::Egress => "outbound",
        }
    }
}

/// Whether a packet opened a connection, answered one, or came after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketKind {
    /// Opens (or nothing says otherwise).
    New,
    /// Answers an accepted connection.
    Reply,
    /// TCP without SYN after an accepted connection.
    Late,
}

/// What explain needs of one rejected record (all the fields that can
/// change the answer; records with equal inputs share one evaluation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RejectInput {
    /// `interface_id`.
    pub interface_id: String,
    /// `flow_direction`, when the format has it.
    pub direction: Option<Direction>,
    /// `srcaddr`.
    pub srcaddr: Option<IpAddr>,
    /// `dstaddr`.
    pub dstaddr: Option<IpAddr>,
    /// `pkt_srcaddr`.
    pub pkt_srcaddr: Option<IpAddr>,
    /// `pkt_dstaddr`.
    pub pkt_dstaddr: Option<IpAddr>,
    /// `dstport`.
    pub dstport: Option<i32>,
    /// `protocol`.
    pub protocol: Option<i32>,
    /// `tcp_flags`.
    pub tcp_flags: Option<i32>,
    /// `reject_reason` (`None` for `-` or a format without the field).
    pub reject_reason: Option<String>,
    /// An ACCEPT of the reversed 5-tuple on the same interface within
    /// [start − 600 s, end].
    pub has_companion: bool,
    /// An earlier ACCEPT of the same 5-tuple within 600 s.
    pub has_prior_accept: bool,
    /// The instant the configuration is judged at (`start`).
    pub at: i64,
}

/// One explanation, in the structured form of §2.7.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The verdict.
    pub verdict: Verdict,
    /// Reachability Analyzer's explanation code(s), when one fits.
    pub code: Option<String>,
    /// How sure.
    pub confidence: Confidence,
    /// Direction used.
    pub direction: Option<Direction>,
    /// Packet kind used.
    pub packet_kind: Option<PacketKind>,
    /// The recording interface.
    pub network_interface: String,
    /// Its owner then.
    pub owner: Option<Owner>,
    /// The security groups' part.
    pub security_groups: Option<SgResult>,
    /// The network ACL's part.
    pub acl: Option<AclResult>,
    /// Block Public Access context.
    pub bpa: Option<BpaContext>,
    /// The snapshot the answer rests on (RFC 3339).
    pub snapshot_at: Option<String>,
    /// Seconds between that snapshot and the record.
    pub snapshot_age_s: Option<i64>,
    /// The snapshot's time, Unix seconds.
    #[serde(skip)]
    pub snapshot_unix: Option<i64>,
    /// The record instant the summary names, when it names one (answers
    /// shared across records are re-timed with [`Explanation::retime`]).
    #[serde(skip)]
    pub summary_at: Option<i64>,
    /// Some object the answer used changed at an unknown moment around then.
    pub config_gap: bool,
    /// Facts about the answer (`ICMP_TYPE_UNKNOWN`, `before_first_snapshot`, …).
    pub flags: Vec<String>,
    /// What to look at when nothing explains it.
    pub hints: Vec<String>,
    /// The one line a person can act on.
    pub summary: String,
    /// In a config gap: what the other version would have said.
    pub alternative: Option<String>,
}

impl Explanation {
    /// An explanation with nothing found yet.
    pub fn empty(interface_id: &str, direction: Option<Direction>) -> Explanation {
        Explanation {
            verdict: Verdict::Unexplained,
            code: None,
            confidence: Confidence::None,
            direction,
            packet_kind: None,
            network_interface: interface_id.to_owned(),
            owner: None,
            security_groups: None,
            acl: None,
            bpa: None,
            snapshot_at: None,
            snapshot_age_s: None,
            snapshot_unix: None,
            summary_at: None,
            config_gap: false,
            flags: Vec::new(),
            hints: Vec::new(),
            summary: String::new(),
            alternative: None,
        }
    }

    /// The answer for a record at `at` of the same instant class as the
    /// one it was evaluated for: its snapshot age, the stale-inventory
    /// hint and the instant the summary names are the record's own.
    pub fn retime(&mut self, at: i64) {
        if let Some(snapshot) = self.snapshot_unix {
            self.snapshot_age_s = Some(at - snapshot);
            let stale = at - snapshot > 24 * 3600;
            let hinted = self.hints.iter().any(|h| h == "stale_inventory");
            if stale && !hinted {
                self.hints.push("stale_inventory".to_owned());
            } else if !stale && hinted {
                self.hints.retain(|h| h != "stale_inventory");
            }
        }
        if let Some(named) = self.summary_at.filter(|t| *t != at) {
            self.summary = self
                .summary
                .replace(&text::rfc3339(named), &text::rfc3339(at));
            self.summary_at = Some(at);
        }
    }
}

/// Explains one rejected record against the inventory.
pub fn explain(inventory: &Inventory, input: &RejectInput) -> Explanation {
    let earlier = World::build(inventory, input.at, Pick::Earlier);
    let later = World::build(inventory, input.at, Pick::Later);
    explain_in(&earlier, &later, input)
}

/// Explains against prebuilt worlds of the instant (`later`: gaps resolved
/// to the following versions, used only when the answer touched a gap).
/// Worlds are shared by every record of the same instant class.
pub fn explain_in(earlier: &World<'_>, later: &World<'_>, input: &RejectInput) -> Explanation {
    let first = evaluate(earlier, input);
    if !first.touched_gap {
        return first.explanation;
    }
    let second = evaluate(later, input);
    verdict::settle_gap(first.explanation, second.explanation)
}

/// One evaluation under one world, with whether it used an object in a gap.
pub(crate) struct Evaluated {
    pub(crate) explanation: Explanation,
    pub(crate) touched_gap: bool,
}

fn evaluate(world: &World<'_>, input: &RejectInput) -> Evaluated {
    let mut touched: Vec<ObjectKey> = Vec::new();
    let mut e = Explanation::empty(&input.interface_id, input.direction);
    let eni = world.enis.get(input.interface_id.as_str()).copied();
    touched.push((Kind::Eni, input.interface_id.clone()));
    if let Some(scope) = world.scope_of_eni(&input.interface_id)
        && let Some(at) = world.snapshot_at(scope)
    {
        e.snapshot_at = Some(text::rfc3339(at));
        e.snapshot_unix = Some(at);
        e.snapshot_age_s = Some(input.at - at);
    }
    let region = world
        .scope_of_eni(&input.interface_id)
        .map_or("", |s| s.1.as_str());
    e.owner = eni.map(|x| with_region(classify(x), region));

    let reason = input.reject_reason.as_deref().filter(|r| *r != "-");
    if reason == Some("BPA") {
        e.bpa = Some(controls::bpa_context(world, eni, &mut touched));
        verdict::bpa(&mut e);
        return finish(world, e, &touched, input);
    }
    let Some(eni) = eni else {
        e.verdict = Verdict::NoInventory;
        e.summary = format!(
            "{} is not in the inventory as of {}",
            input.interface_id,
            text::rfc3339(input.at)
        );
        e.summary_at = Some(input.at);
        return finish(world, e, &touched, input);
    };
    let direction = input.direction.or_else(|| {
        if input.dstaddr.is_some_and(|a| eni.owns(a)) {
            Some(Direction::Ingress)
        } else if input.srcaddr.is_some_and(|a| eni.owns(a)) {
            Some(Direction::Egress)
        } else {
            None
        }
    });
    e.direction = direction;
    let (Some(direction), Some(protocol)) = (direction, input.protocol) else {
        e.verdict = Verdict::UnknownDirection;
        e.summary = format!(
            "no flow-direction and neither address is {}'s as of {}",
            eni.id,
            text::rfc3339(input.at)
        );
        e.summary_at = Some(input.at);
        return finish(world, e, &touched, input);
    };
    let remote = match direction {
        Direction::Ingress => input.pkt_srcaddr.or(input.srcaddr),
        Direction::Egress => input.pkt_dstaddr.or(input.dstaddr),
    };
    let Some(remote) = remote else {
        e.verdict = Verdict::UnknownDirection;
        e.summary = "the record has no remote address".to_owned();
        return finish(world, e, &touched, input);
    };
    let packet = crate::matcher::Packet {
        protocol,
        port: input.dstport,
        remote,
    };
    let kind = packet_kind(input, protocol);
    e.packet_kind = Some(kind);
    let sg = (kind != PacketKind::Reply)
        .then(|| controls::security_groups(world, eni, direction, &packet, &mut touched));
    let acl = controls::network_acl(
        world,
        eni,
        direction,
        &packet,
        kind == PacketKind::Reply,
        &mut touched,
    );
    e.security_groups = sg;
    e.acl = Some(acl);
    verdict::combine(&mut e, kind, &packet);
    if let Some(other) = reason {
        e.verdict = Verdict::OtherReason;
        e.code = None;
        e.confidence = Confidence::Certain;
        e.summary = format!("reject-reason {other}: {}", e.summary);
    }
    finish(world, e, &touched, input)
}

pub(crate) fn packet_kind(input: &RejectInput, protocol: i32) -> PacketKind {
    let tcp = protocol == crate::proto::TCP;
    let flags = input.tcp_flags.unwrap_or(0);
    if input.has_companion || (tcp && matches!(flags, 18 | 19)) {
        PacketKind::Reply
    } else if tcp && matches!(flags, 0 | 1 | 4 | 5) && input.has_prior_accept {
        PacketKind::Late
    } else {
        PacketKind::New
    }
}

/// Certainty flags and hints from the objects the answer used.
fn finish(
    world: &World<'_>,
    mut e: Explanation,
    touched: &[ObjectKey],
    input: &RejectInput,
) -> Evaluated {
    let mut touched_gap = false;
    let mut changes_after = Vec::new();
    let mut before_first = false;
    for key in touched {
        let s = world.standing(key);
        match s.certainty {
            Certainty::Gap => touched_gap = true,
            Certainty::BeforeFirstSnapshot => before_first = true,
            Certainty::Certain | Certainty::Current => {}
        }
        if s.changes_after && !changes_after.contains(&key.1) {
            changes_after.push(key.1.clone());
        }
    }
    if before_first {
        e.flags.push("before_first_snapshot".to_owned());
        e.confidence = e.confidence.lower();
    }
    if e.snapshot_age_s.is_some_and(|age| age > 24 * 3600) {
        e.hints.push("stale_inventory".to_owned());
    }
    if e.verdict == Verdict::Unexplained && !changes_after.is_empty() {
        e.hints.push(format!(
            "config_changed_after: {} changed at a later snapshot",
            changes_after.join(", ")
        ));
    }
    if e.verdict == Verdict::Unexplained
        && (input.pkt_srcaddr.is_none() || input.pkt_dstaddr.is_none())
    {
        e.hints.push(
            "format lacks pkt-srcaddr/pkt-dstaddr: a secondary address may be involved".to_owned(),
        );
    }
    e.config_gap = touched_gap;
    Evaluated {
        explanation: e,
        touched_gap,
    }
}

/// The text form: a header line and the explanation (§2.7).
pub fn render_text(input: &RejectInput, e: &Explanation, srcport: Option<i32>) -> String {
    text::render(input, e, srcport)
}

#[cfg(test)]
mod tests;
