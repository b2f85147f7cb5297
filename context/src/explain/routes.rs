//! Silent drops (§2.8): an accepted egress flow that never got an answer,
//! from a subnet whose route table has no route to the destination (or a
//! blackhole). Flow logs never label routing drops; this is a candidate.

use std::net::IpAddr;

use super::{Confidence, Direction, Explanation, Verdict, controls, text};
use crate::matcher::Packet;
use crate::model::RouteTable;
use crate::owner::{classify, with_region};
use crate::world::World;

/// An unanswered accepted egress record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SilentInput {
    /// `interface_id`.
    pub interface_id: String,
    /// The packet's destination (`pkt-dstaddr`, else `dstaddr`).
    pub destination: IpAddr,
    /// `protocol`.
    pub protocol: i32,
    /// `dstport`.
    pub dstport: Option<i32>,
    /// `start`.
    pub at: i64,
}

/// The subnet's table: its explicit association, else the VPC's main
/// table; and how it was found.
fn table_of<'a>(
    world: &World<'a>,
    subnet: &str,
    vpc: Option<&str>,
) -> Option<(&'a RouteTable, &'static str)> {
    if let Some(t) = world
        .route_tables
        .iter()
        .find(|t| t.subnets.iter().any(|s| s == subnet))
    {
        return Some((t, "explicit association"));
    }
    world
        .route_tables
        .iter()
        .find(|t| t.main && t.vpc_id.as_deref() == vpc)
        .map(|t| (*t, "main table"))
}

/// The routing verdict for one unanswered egress record, or `None` when a
/// working route exists (or the inventory cannot say).
pub fn silent_drop(world: &World<'_>, input: &SilentInput) -> Option<Explanation> {
    let eni = world.enis.get(input.interface_id.as_str())?;
    let subnet = eni.subnet_id.as_deref()?;
    let (table, how) = table_of(world, subnet, eni.vpc_id.as_deref())?;
    let mut best: Option<(u8, &crate::model::Route)> = None;
    for route in &table.routes {
        let nets: Vec<ipnet::IpNet> = match (&route.cidr, &route.prefix_list) {
            (Some(c), _) => vec![*c],
            (None, Some(pl)) => world
                .prefix_list_cidrs(pl)
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        };
        for net in nets.iter().filter(|n| n.contains(&input.destination)) {
            if best.is_none_or(|(len, _)| net.prefix_len() > len) {
                best = Some((net.prefix_len(), route));
            }
        }
    }
    let verdict = match best {
        None => Verdict::NoRouteToDestination,
        Some((_, r)) if r.state == "blackhole" => Verdict::BadStateRoute,
        Some(_) => return None,
    };
    let mut e = Explanation::empty(&input.interface_id, Some(Direction::Egress));
    let scope = world.scope_of_eni(&input.interface_id);
    e.owner = Some(with_region(
        classify(eni),
        scope.map_or("", |s| s.1.as_str()),
    ));
    if let Some(at) = scope.and_then(|s| world.snapshot_at(s)) {
        e.snapshot_at = Some(text::rfc3339(at));
        e.snapshot_unix = Some(at);
        e.snapshot_age_s = Some(input.at - at);
    }
    let packet = Packet {
        protocol: input.protocol,
        port: input.dstport,
        remote: input.destination,
    };
    let mut touched = Vec::new();
    let sg = controls::security_groups(world, eni, Direction::Egress, &packet, &mut touched);
    let acl = controls::network_acl(world, eni, Direction::Egress, &packet, false, &mut touched);
    let routes: Vec<String> = table
        .routes
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.cidr.map_or_else(
                    || r.prefix_list.clone().unwrap_or_default(),
                    |c| c.to_string()
                ),
                r.target
            )
        })
        .collect();
    e.summary = match verdict {
        Verdict::BadStateRoute => format!(
            "accepted and never answered: the route to {} in {} ({how} of {subnet}) is a blackhole",
            input.destination, table.id
        ),
        _ => format!(
            "accepted and never answered: {} ({how} of {subnet}) has only {}; no route to {}",
            table.id,
            routes.join(", "),
            input.destination
        ),
    };
    e.code = Some(verdict.as_str().to_owned());
    e.verdict = verdict;
    e.confidence = Confidence::Possible;
    e.packet_kind = Some(super::PacketKind::New);
    e.security_groups = Some(sg);
    e.acl = Some(acl);
    Some(e)
}
