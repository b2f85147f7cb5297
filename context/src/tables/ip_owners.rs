//! `inv_ip_owner`: who held each address over time, as non-overlapping
//! segments per (address, vpc) so that an as-of join returns at most one
//! row: the earliest candidate, its certainty, and how many candidates
//! there were. Rows with `vpc_id` `*` answer for an address looked up
//! across every VPC (`other_vpc`, or `ambiguous`). Delegated IPv4 prefixes
//! of /24 or longer are expanded to their addresses.
//!
//! Built from each interface's own timeline, not from every capture
//! instant of the lake: an interface's as-of answer changes only where one
//! of its versions begins or its last sighting ends, so the work grows
//! with versions, not with snapshots × interfaces (a week of AWS Config
//! history has tens of thousands of capture instants).

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use serde::Serialize;

use super::{I, S, TableError, batch};
use crate::inventory::Inventory;
use crate::owner::{classify, with_region};
use crate::timeline::Certainty;

#[derive(Serialize, Clone, PartialEq)]
struct Row {
    address: String,
    vpc_id: String,
    from_t: Option<i64>,
    to_t: Option<i64>,
    eni_id: String,
    address_kind: &'static str,
    owner_kind: String,
    owner_id: Option<String>,
    owner_name: Option<String>,
    owner_arn: Option<String>,
    certainty: &'static str,
    candidates: usize,
}

/// One interface's claim on one address over `[from, to)` (`i64::MIN` and
/// `i64::MAX` for the open ends).
struct Claim {
    from: i64,
    to: i64,
    row: Row,
}

pub(super) fn build(inv: &Inventory) -> Result<RecordBatch, TableError> {
    let mut claims: BTreeMap<(String, String), Vec<Claim>> = BTreeMap::new();
    for (id, t) in &inv.enis {
        let mut points: Vec<i64> = t
            .timeline
            .versions
            .iter()
            .flat_map(|v| [v.valid_from, v.last_seen.saturating_add(1)])
            .collect();
        points.sort_unstable();
        points.dedup();
        let bounds: Vec<i64> = std::iter::once(i64::MIN)
            .chain(points.iter().copied())
            .chain(std::iter::once(i64::MAX))
            .collect();
        for w in bounds.windows(2) {
            let (from, to) = (w[0], w[1]);
            let at = if from == i64::MIN { to - 1 } else { from };
            let a = t.timeline.as_of(at);
            for v in [Some(a.version), a.next].into_iter().flatten() {
                let Some(eni) = &v.content else { continue };
                let owner = with_region(classify(eni), &t.scope.1);
                let vpc = eni.vpc_id.clone().unwrap_or_default();
                for addr in &eni.addresses {
                    for host in hosts(addr.net) {
                        let row = Row {
                            address: host.to_string(),
                            vpc_id: vpc.clone(),
                            from_t: None,
                            to_t: None,
                            eni_id: id.clone(),
                            address_kind: addr.kind.as_str(),
                            owner_kind: owner.kind.clone(),
                            owner_id: owner.id.clone(),
                            owner_name: owner.name.clone(),
                            owner_arn: owner.arn.clone(),
                            certainty: a.certainty.as_str(),
                            candidates: 1,
                        };
                        for scope in [vpc.clone(), "*".to_owned()] {
                            claims
                                .entry((row.address.clone(), scope))
                                .or_default()
                                .push(Claim {
                                    from,
                                    to,
                                    row: row.clone(),
                                });
                        }
                    }
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (key, list) in claims {
        rows.extend(segments(&key, list));
    }
    batch(
        &[
            ("address", S),
            ("vpc_id", S),
            ("from_t", I),
            ("to_t", I),
            ("eni_id", S),
            ("address_kind", S),
            ("owner_kind", S),
            ("owner_id", S),
            ("owner_name", S),
            ("owner_arn", S),
            ("certainty", S),
            ("candidates", I),
        ],
        &rows,
    )
}

/// The addresses a binding covers: a host, or every address of a /24 or
/// longer delegated IPv4 prefix.
fn hosts(net: ipnet::IpNet) -> Vec<std::net::IpAddr> {
    match net {
        n if n.prefix_len() == n.max_prefix_len() => vec![n.addr()],
        ipnet::IpNet::V4(n) if n.prefix_len() >= 24 => {
            let mut all: Vec<std::net::IpAddr> = n
                .hosts()
                .map(Into::into)
                .chain([n.network().into(), n.broadcast().into()])
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        }
        _ => Vec::new(),
    }
}

/// One key's claims as non-overlapping rows: a sweep over the claims'
/// boundaries, one row per stretch where the set of claims holds still,
/// neighbours that differ only in time merged.
fn segments(key: &(String, String), mut claims: Vec<Claim>) -> Vec<Row> {
    let mut bounds: Vec<i64> = claims.iter().flat_map(|c| [c.from, c.to]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    claims.sort_by_key(|c| c.from);
    let mut next = 0;
    let mut active: Vec<&Claim> = Vec::new();
    let mut out: Vec<Row> = Vec::new();
    for w in bounds.windows(2) {
        let (from, to) = (w[0], w[1]);
        active.retain(|c| c.to > from);
        while next < claims.len() && claims[next].from <= from {
            active.push(&claims[next]);
            next += 1;
        }
        if active.is_empty() {
            continue;
        }
        let mut candidates: Vec<&Row> = active.iter().map(|c| &c.row).collect();
        candidates.sort_by(|a, b| (&a.vpc_id, &a.eni_id).cmp(&(&b.vpc_id, &b.eni_id)));
        candidates.dedup_by(|a, b| a.eni_id == b.eni_id);
        let n = candidates.len();
        let mut row = candidates[0].clone();
        row.candidates = n;
        row.from_t = (from != i64::MIN).then_some(from);
        row.to_t = (to != i64::MAX).then_some(to);
        if key.1 == "*" {
            let vpcs: std::collections::BTreeSet<&str> =
                candidates.iter().map(|c| c.vpc_id.as_str()).collect();
            if vpcs.len() > 1 {
                row.owner_kind = "ambiguous".to_owned();
                row.owner_id = None;
                row.owner_name = Some(format!("{n} interfaces in {} VPCs", vpcs.len()));
            }
            row.vpc_id = "*".to_owned();
        }
        if n > 1 {
            row.certainty = Certainty::Gap.as_str();
        }
        // Merge with the previous stretch when nothing but the time changed.
        if let Some(last) = out.last_mut()
            && last.to_t == row.from_t
            && same_but_time(last, &row)
        {
            last.to_t = row.to_t;
            continue;
        }
        out.push(row);
    }
    out
}

fn same_but_time(a: &Row, b: &Row) -> bool {
    let untimed = |r: &Row| Row {
        from_t: None,
        to_t: None,
        ..r.clone()
    };
    untimed(a) == untimed(b)
}
