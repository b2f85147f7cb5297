//! The inventory over time: snapshots merged per account and region into
//! one timeline per object (§1.5).

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::model::{
    BpaExclusion, BpaOptions, Eni, NetworkAcl, PrefixList, RouteTable, SecurityGroup, Subnet,
};
use crate::parse::config::ChangeKind;
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
    /// The distinct capture times of each scope, oldest first.
    pub scope_times: BTreeMap<Scope, Vec<i64>>,
}

impl Inventory {
    /// Builds the timelines from snapshots and what they said. Snapshots of
    /// one scope taken at the same instant count as one (files imported
    /// in several calls).
    pub fn build(mut snapshots: Vec<(Snapshot, SnapshotContent)>) -> Inventory {
        snapshots.sort_by(|a, b| (a.0.captured_at, &a.0.id).cmp(&(b.0.captured_at, &b.0.id)));
        // Samples and change events of one instant stay apart: a listing
        // speaks for every object of its kinds, an event only for its own.
        let mut merged: BTreeMap<(Scope, i64, bool), SnapshotContent> = BTreeMap::new();
        let mut inventory = Inventory::default();
        for (meta, content) in snapshots {
            let key = (
                (meta.account.clone(), meta.region.clone()),
                meta.captured_at,
                meta.source == "config",
            );
            merged.entry(key).or_default().absorb(content);
            inventory.snapshots.push(meta);
        }
        let mut scopes: BTreeMap<Scope, Vec<(i64, &SnapshotContent, bool)>> = BTreeMap::new();
        for ((scope, at, event), content) in &merged {
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
        for s in &inventory.snapshots {
            let times = inventory
                .scope_times
                .entry((s.account.clone(), s.region.clone()))
                .or_default();
            if times.last() != Some(&s.captured_at) {
                times.push(s.captured_at);
            }
        }
        inventory
    }

    /// The capture times of every snapshot of `scope`, oldest first.
    pub fn capture_times(&self, scope: &Scope) -> &[i64] {
        self.scope_times.get(scope).map_or(&[], Vec::as_slice)
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

fn by_id<T: Clone>(items: &[T], id: impl Fn(&T) -> &String) -> BTreeMap<String, T> {
    items.iter().map(|i| (id(i).clone(), i.clone())).collect()
}

/// Adds one scope's observations of one kind: a snapshot that covers the
/// kind (a describe-* listing) observes every object of it, present or
/// absent; an AWS Config change observes only its own object.
fn track<T: Clone + PartialEq>(
    out: &mut BTreeMap<String, Tracked<T>>,
    scope: &Scope,
    snaps: &[(i64, &SnapshotContent, bool)],
    kind: Kind,
    objects: impl Fn(&SnapshotContent) -> BTreeMap<String, T>,
) {
    let seen: Vec<(i64, BTreeMap<String, T>, &SnapshotContent, bool)> = snaps
        .iter()
        .filter(|(_, c, _)| c.covers.contains(&kind) || c.changes_of(kind).next().is_some())
        .map(|(at, c, event)| (*at, objects(c), *c, *event))
        .collect();
    let mut observations: BTreeMap<String, Vec<Observation<T>>> = seen
        .iter()
        .flat_map(|(_, m, _, _)| m.keys())
        .map(|id| (id.clone(), Vec::new()))
        .collect();
    // When recording of this kind began in the scope, as far as the lake knows.
    let first_event = seen
        .iter()
        .find(|(_, _, c, event)| *event && c.changes_of(kind).next().is_some())
        .map(|(at, _, _, _)| *at);
    for (at, m, content, event) in &seen {
        if content.covers.contains(&kind) {
            for (id, list) in observations.iter_mut() {
                let content = m.get(id).cloned();
                // A listing that only confirms what a Config item said keeps
                // the item's no-gap meaning: it does not split its interval.
                let confirms = list
                    .last()
                    .is_some_and(|last| last.event && last.content == content);
                observe(list, *at, content, *event || confirms);
            }
            continue;
        }
        for (id, change) in content.changes_of(kind) {
            let Some(list) = observations.get_mut(id) else {
                continue;
            };
            if change.kind == ChangeKind::Unrecorded {
                // Recording went on, without a change, until this item; what
                // held after it is unknown: a sample here, so the next
                // change leaves a gap.
                if let Some(last) = list.last().map(|o| o.content.clone()) {
                    observe(list, *at, last, false);
                }
                continue;
            }
            // Discovered well after recording of its kind began: created
            // then, so absent before. Within the first hour it is taken as
            // part of the initial discovery sweep, which spreads over
            // minutes: no claim about before its item.
            if let Some(since) = first_event.filter(|t| {
                change.kind == ChangeKind::Discovered
                    && list.is_empty()
                    && *at - *t > DISCOVERY_SWEEP_S
            }) {
                observe(list, since, None, true);
            }
            observe(list, *at, m.get(id).cloned(), true);
        }
    }
    for (id, list) in observations {
        if let Some(timeline) = Timeline::from_observations(list) {
            out.insert(
                id,
                Tracked {
                    scope: scope.clone(),
                    timeline,
                },
            );
        }
    }
}

/// How long after recording of a kind begins AWS Config may still be
/// discovering what already existed (§1.5 gives no figure; the initial
/// sweep takes minutes).
const DISCOVERY_SWEEP_S: i64 = 3600;

/// Adds one observation in time order. Two at one instant (a listing and a
/// Config item of the same second) are one: the later replaces it, rather
/// than rewriting a version that began earlier.
fn observe<T>(list: &mut Vec<Observation<T>>, at: i64, content: Option<T>, event: bool) {
    match list.last_mut() {
        Some(last) if last.at == at => {
            last.content = content;
            last.event = event;
        }
        _ => list.push(Observation { at, content, event }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Certainty;

    /// A snapshot of account 1, region r, read from one document.
    fn snapshot(source: &str, at: i64, doc: serde_json::Value) -> (Snapshot, SnapshotContent) {
        let mut content = SnapshotContent::default();
        content
            .add_file("doc.json", doc.to_string().as_bytes())
            .unwrap();
        let meta = Snapshot {
            id: format!("{source}{at}"),
            captured_at: at,
            account: "1".to_owned(),
            region: "r".to_owned(),
            source: source.to_owned(),
            files: Vec::new(),
        };
        (meta, content)
    }

    fn config_snapshot(at: i64, items: serde_json::Value) -> (Snapshot, SnapshotContent) {
        snapshot(
            "config",
            at,
            serde_json::json!({ "configurationItems": items }),
        )
    }

    fn eni(id: &str, at: i64, state: u64, status: &str, ip: &str) -> serde_json::Value {
        let time = chrono::DateTime::from_timestamp(at, 0)
            .unwrap()
            .to_rfc3339();
        serde_json::json!({"configurationItemCaptureTime": time, "configurationItemStatus": status,
            "configurationStateId": state.to_string(), "resourceType": "AWS::EC2::NetworkInterface",
            "resourceId": id, "awsRegion": "r", "accountId": "1",
            "configuration": if status == "OK" || status == "ResourceDiscovered" { serde_json::json!({"privateIpAddress": ip}) } else { serde_json::Value::Null }})
    }

    #[test]
    fn config_changes_speak_only_for_their_own_object() {
        let inv = Inventory::build(vec![
            config_snapshot(
                100,
                serde_json::json!([
                    eni("eni-a", 100, 1, "OK", "10.0.0.1"),
                    eni("eni-b", 100, 2, "OK", "10.0.0.2")
                ]),
            ),
            config_snapshot(
                200,
                serde_json::json!([
                    eni("eni-a", 200, 3, "OK", "10.0.0.3"),
                    eni("eni-c", 200, 3, "ResourceDiscovered", "10.0.0.4")
                ]),
            ),
            config_snapshot(
                300,
                serde_json::json!([eni("eni-b", 300, 4, "ResourceDeleted", "")]),
            ),
            config_snapshot(
                400,
                serde_json::json!([eni("eni-a", 400, 5, "ResourceNotRecorded", "")]),
            ),
            config_snapshot(
                500,
                serde_json::json!([eni("eni-a", 500, 6, "OK", "10.0.0.5")]),
            ),
        ]);
        let a = &inv.enis["eni-a"].timeline;
        let b = &inv.enis["eni-b"].timeline;
        // eni-b is untouched by eni-a's change at 200, certain until it is deleted.
        assert_eq!(b.versions.len(), 2, "{b:#?}");
        assert_eq!(b.as_of(250).certainty, Certainty::Certain);
        assert!(b.as_of(250).version.content.is_some());
        assert!(b.as_of(300).version.content.is_none());
        // A change event leaves no gap; recording went on until the
        // NotRecorded item at 400, and only after it the next change leaves a gap.
        assert_eq!(a.as_of(150).certainty, Certainty::Certain);
        assert_eq!(a.as_of(300).certainty, Certainty::Certain);
        assert_eq!(a.as_of(400).certainty, Certainty::Certain);
        assert_eq!(a.as_of(450).certainty, Certainty::Gap);
        assert_eq!(a.as_of(450).next.map(|v| v.valid_from), Some(500));
        assert_eq!(
            inv.capture_times(&("1".to_owned(), "r".to_owned())),
            [100, 200, 300, 400, 500]
        );
        // Discovered within the first hour of recording: part of the
        // initial sweep, so nothing is claimed about before its item.
        let c = &inv.enis["eni-c"].timeline;
        assert_eq!(c.as_of(150).certainty, Certainty::BeforeFirstSnapshot);
        assert!(c.as_of(200).version.content.is_some());
    }

    fn listing(at: i64, enis: serde_json::Value) -> (Snapshot, SnapshotContent) {
        snapshot("cli", at, serde_json::json!({ "NetworkInterfaces": enis }))
    }

    fn cli_eni(ip: &str) -> serde_json::Value {
        serde_json::json!([{"NetworkInterfaceId": "eni-a", "PrivateIpAddress": ip}])
    }

    fn ip_of(t: &Timeline<crate::model::Eni>, at: i64) -> Option<String> {
        t.as_of(at)
            .version
            .content
            .as_ref()
            .map(|e| e.addresses[0].net.addr().to_string())
    }

    #[test]
    fn a_late_discovery_was_absent_before() {
        let inv = Inventory::build(vec![
            config_snapshot(
                100,
                serde_json::json!([eni("eni-a", 100, 1, "ResourceDiscovered", "10.0.0.1")]),
            ),
            config_snapshot(
                10_000,
                serde_json::json!([eni("eni-d", 10_000, 2, "ResourceDiscovered", "10.0.0.4")]),
            ),
        ]);
        let d = &inv.enis["eni-d"].timeline;
        assert_eq!(d.as_of(5_000).certainty, Certainty::Certain, "{d:#?}");
        assert!(d.as_of(5_000).version.content.is_none());
        assert!(d.as_of(10_000).version.content.is_some());
    }

    #[test]
    fn two_readings_of_one_instant_agree_on_content_and_state() {
        // The same second imported twice: state 2 (deleted) beats state 1,
        // whichever snapshot sorts first.
        for order in [[1, 2], [2, 1]] {
            let snaps = order
                .iter()
                .map(|&s| {
                    let status = if s == 2 { "ResourceDeleted" } else { "OK" };
                    let (mut meta, content) = config_snapshot(
                        100,
                        serde_json::json!([eni("eni-a", 100, s, status, "10.0.0.1")]),
                    );
                    meta.id = format!("x{s}");
                    (meta, content)
                })
                .collect();
            let inv = Inventory::build(snaps);
            let present = inv
                .enis
                .get("eni-a")
                .is_some_and(|t| t.timeline.as_of(150).version.content.is_some());
            assert!(!present, "{order:?}: {:#?}", inv.enis.get("eni-a"));
        }
    }

    #[test]
    fn listings_and_items_of_one_object_do_not_rewrite_or_split_each_other() {
        // Listings at 100 and 200 say .1; an item at 200 says .2: .1 held on [100, 200).
        let inv = Inventory::build(vec![
            listing(100, cli_eni("10.0.0.1")),
            listing(200, cli_eni("10.0.0.1")),
            config_snapshot(
                200,
                serde_json::json!([eni("eni-a", 200, 1, "OK", "10.0.0.2")]),
            ),
        ]);
        let a = &inv.enis["eni-a"].timeline;
        assert_eq!(ip_of(a, 150).as_deref(), Some("10.0.0.1"), "{a:#?}");
        assert_eq!(ip_of(a, 200).as_deref(), Some("10.0.0.2"));
        // Items at 100 (.1) and 200 (.2) with a listing at 150 confirming .1:
        // the item still holds until 200 with no gap.
        let inv = Inventory::build(vec![
            config_snapshot(
                100,
                serde_json::json!([eni("eni-a", 100, 1, "OK", "10.0.0.1")]),
            ),
            listing(150, cli_eni("10.0.0.1")),
            config_snapshot(
                200,
                serde_json::json!([eni("eni-a", 200, 2, "OK", "10.0.0.2")]),
            ),
        ]);
        let a = &inv.enis["eni-a"].timeline;
        assert_eq!(a.as_of(175).certainty, Certainty::Certain, "{a:#?}");
        assert_eq!(ip_of(a, 175).as_deref(), Some("10.0.0.1"));
    }
}
