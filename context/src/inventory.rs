//! The inventory over time: snapshots merged per account and region into
//! one timeline per object (§1.5).

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::model::{
    BpaExclusion, BpaOptions, Eni, NetworkAcl, PrefixList, RouteTable, SecurityGroup, Subnet,
};
use crate::parse::{Kind, SnapshotContent};
use crate::timeline::{Observation, Timeline};

/// One imported snapshot's metadata (`inventory_snapshots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Digest of the capture metadata and the files' digests: importing the
    /// same files again is a no-op.
    pub id: String,
    /// Capture time, Unix seconds.
    pub captured_at: i64,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// `cli` or `config`.
    pub source: String,
    /// The raw files kept in the lake, with their digests.
    pub files: Vec<RawFile>,
}

/// A raw JSON file kept beside the tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFile {
    /// The name it was imported under.
    pub name: String,
    /// Its path in the lake.
    pub path: String,
    /// xxh3-64 of its bytes, hex.
    pub digest: String,
}

/// Account and region: the scope a snapshot speaks for.
pub type Scope = (String, String);

/// An object's timeline and the scope it belongs to.
#[derive(Debug, Clone)]
pub struct Tracked<T> {
    /// Account and region of the snapshots that saw it.
    pub scope: Scope,
    /// Its versions.
    pub timeline: Timeline<T>,
}

/// Everything known, over time.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
    /// Interfaces by id.
    pub enis: BTreeMap<String, Tracked<Eni>>,
    /// Security groups by id.
    pub groups: BTreeMap<String, Tracked<SecurityGroup>>,
    /// Network ACLs by id.
    pub acls: BTreeMap<String, Tracked<NetworkAcl>>,
    /// Subnets by id.
    pub subnets: BTreeMap<String, Tracked<Subnet>>,
    /// Route tables by id.
    pub route_tables: BTreeMap<String, Tracked<RouteTable>>,
    /// Prefix-list headers by id.
    pub prefix_lists: BTreeMap<String, Tracked<PrefixList>>,
    /// Prefix-list entries by (id, version): no time of their own.
    pub prefix_list_entries: BTreeMap<(String, i64), Vec<IpNet>>,
    /// Block Public Access options per scope.
    pub bpa: BTreeMap<Scope, Tracked<BpaOptions>>,
    /// Block Public Access exclusions by id.
    pub bpa_exclusions: BTreeMap<String, Tracked<BpaExclusion>>,
    /// Every distinct capture time, oldest first.
    pub times: Vec<i64>,
}

impl Inventory {
    /// Builds the timelines from snapshots and what they said. Snapshots of
    /// one scope taken at the same instant count as one (files imported
    /// in several calls).
    pub fn build(mut snapshots: Vec<(Snapshot, SnapshotContent)>) -> Inventory {
        snapshots.sort_by(|a, b| (a.0.captured_at, &a.0.id).cmp(&(b.0.captured_at, &b.0.id)));
        let mut merged: BTreeMap<(Scope, i64), (SnapshotContent, bool)> = BTreeMap::new();
        let mut inventory = Inventory::default();
        for (meta, content) in snapshots {
            let key = (
                (meta.account.clone(), meta.region.clone()),
                meta.captured_at,
            );
            let event = meta.source == "config";
            let slot = merged.entry(key).or_default();
            merge(&mut slot.0, content);
            slot.1 |= event;
            inventory.snapshots.push(meta);
        }
        let mut scopes: BTreeMap<Scope, Vec<(i64, &SnapshotContent, bool)>> = BTreeMap::new();
        for ((scope, at), (content, event)) in &merged {
            scopes
                .entry(scope.clone())
                .or_default()
                .push((*at, content, *event));
            for e in &content.prefix_list_entries {
                if let Some(v) = e.version {
                    inventory
                        .prefix_list_entries
                        .insert((e.id.clone(), v), e.cidrs.clone());
                }
            }
        }
        for (scope, snaps) in &scopes {
            track(&mut inventory.enis, scope, snaps, Kind::Eni, |c| {
                by_id(&c.enis, |e| &e.id)
            });
            track(
                &mut inventory.groups,
                scope,
                snaps,
                Kind::SecurityGroup,
                |c| by_id(&c.groups, |g| &g.id),
            );
            track(&mut inventory.acls, scope, snaps, Kind::NetworkAcl, |c| {
                by_id(&c.acls, |a| &a.id)
            });
            track(&mut inventory.subnets, scope, snaps, Kind::Subnet, |c| {
                by_id(&c.subnets, |s| &s.id)
            });
            track(
                &mut inventory.route_tables,
                scope,
                snaps,
                Kind::RouteTable,
                |c| by_id(&c.route_tables, |r| &r.id),
            );
            track(
                &mut inventory.prefix_lists,
                scope,
                snaps,
                Kind::PrefixList,
                |c| by_id(&c.prefix_lists, |p| &p.id),
            );
            track(
                &mut inventory.bpa_exclusions,
                scope,
                snaps,
                Kind::BpaExclusion,
                |c| by_id(&c.bpa_exclusions, |e| &e.id),
            );
            let mut bpa = BTreeMap::new();
            track(&mut bpa, scope, snaps, Kind::BpaOptions, |c| {
                c.bpa
                    .iter()
                    .map(|b| (String::new(), b.clone()))
                    .collect::<BTreeMap<_, _>>()
            });
            if let Some(t) = bpa.remove("") {
                inventory.bpa.insert(scope.clone(), t);
            }
        }
        let times: BTreeSet<i64> = inventory.snapshots.iter().map(|s| s.captured_at).collect();
        inventory.times = times.into_iter().collect();
        inventory
    }

    /// The capture times of every snapshot of `scope`, oldest first.
    pub fn capture_times(&self, scope: &Scope) -> Vec<i64> {
        let mut times: Vec<i64> = self
            .snapshots
            .iter()
            .filter(|s| s.account == scope.0 && s.region == scope.1)
            .map(|s| s.captured_at)
            .collect();
        times.dedup();
        times
    }

    /// Every distinct capture time, oldest first: between two of them (and
    /// at each) the as-of answer of every object is the same.
    pub fn all_capture_times(&self) -> &[i64] {
        &self.times
    }
}

impl Inventory {
    /// The instant class of `t`: every object's as-of answer is the same
    /// for all instants of one class (before the first capture; exactly at
    /// capture i; strictly between captures i and i+1), so evaluations can
    /// be shared across records of one class.
    pub fn instant_class(&self, t: i64) -> i64 {
        let times = self.all_capture_times();
        let after = times.partition_point(|c| *c <= t);
        if after == 0 {
            return -1;
        }
        let i = (after - 1) as i64;
        if times[after - 1] == t {
            2 * i
        } else {
            2 * i + 1
        }
    }
}

fn merge(into: &mut SnapshotContent, from: SnapshotContent) {
    into.covers.extend(from.covers);
    into.enis.extend(from.enis);
    into.groups.extend(from.groups);
    into.acls.extend(from.acls);
    into.subnets.extend(from.subnets);
    into.route_tables.extend(from.route_tables);
    into.prefix_lists.extend(from.prefix_lists);
    into.prefix_list_entries.extend(from.prefix_list_entries);
    if from.bpa.is_some() {
        into.bpa = from.bpa;
    }
    into.bpa_exclusions.extend(from.bpa_exclusions);
    into.warnings.extend(from.warnings);
}

fn by_id<T: Clone>(items: &[T], id: impl Fn(&T) -> &String) -> BTreeMap<String, T> {
    items.iter().map(|i| (id(i).clone(), i.clone())).collect()
}

/// Adds one scope's observations of one kind: every snapshot that covers
/// the kind observes every object of it, present or absent.
fn track<T: Clone + PartialEq>(
    out: &mut BTreeMap<String, Tracked<T>>,
    scope: &Scope,
    snaps: &[(i64, &SnapshotContent, bool)],
    kind: Kind,
    objects: impl Fn(&SnapshotContent) -> BTreeMap<String, T>,
) {
    let seen: Vec<(i64, BTreeMap<String, T>, bool)> = snaps
        .iter()
        .filter(|(_, c, _)| c.covers.contains(&kind))
        .map(|(at, c, event)| (*at, objects(c), *event))
        .collect();
    let ids: BTreeSet<&String> = seen.iter().flat_map(|(_, m, _)| m.keys()).collect();
    for id in ids {
        let observations: Vec<Observation<T>> = seen
            .iter()
            .map(|(at, m, event)| Observation {
                at: *at,
                content: m.get(id).cloned(),
                event: *event,
            })
            .collect();
        if let Some(timeline) = Timeline::from_observations(observations) {
            out.insert(
                id.clone(),
                Tracked {
                    scope: scope.clone(),
                    timeline,
                },
            );
        }
    }
}
