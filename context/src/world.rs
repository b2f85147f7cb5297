//! The configuration as of one instant: every object's version then, with
//! how sure that is, and the derived lookups the evaluator needs (ACL of a
//! subnet, members of a group). Built once per distinct instant class and
//! shared by every record that falls in it.

use std::collections::{BTreeMap, HashMap};

use ipnet::IpNet;

use crate::inventory::{Inventory, Scope, Tracked};
use crate::model::{
    BpaExclusion, BpaOptions, Eni, NetworkAcl, PrefixList, RouteTable, SecurityGroup, Subnet,
};
use crate::parse::Kind;
use crate::timeline::{AsOf, Certainty};

/// Which version to take for an object in a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pick {
    /// The version carried forward (the earlier one).
    Earlier,
    /// The version that follows the gap.
    Later,
}

/// How one object stood at the instant.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// How sure.
    pub certainty: Certainty,
    /// The object changes at a later snapshot (hint `config_changed_after`).
    pub changes_after: bool,
}

/// An object a verdict depended on.
pub type ObjectKey = (Kind, String);

/// The configuration as of one instant.
#[derive(Debug)]
pub struct World<'a> {
    /// The instant the world was built for.
    pub at: i64,
    /// Which version gaps resolved to.
    pub pick: Pick,
    /// Interfaces present then.
    pub enis: HashMap<&'a str, &'a Eni>,
    /// Security groups present then.
    pub groups: HashMap<&'a str, &'a SecurityGroup>,
    /// Subnets present then.
    pub subnets: HashMap<&'a str, &'a Subnet>,
    /// The ACL associated with each subnet.
    pub acl_of_subnet: HashMap<&'a str, &'a NetworkAcl>,
    /// Route tables present then.
    pub route_tables: Vec<&'a RouteTable>,
    /// Prefix lists present then.
    pub prefix_lists: HashMap<&'a str, &'a PrefixList>,
    /// Block Public Access options per scope.
    pub bpa: HashMap<&'a Scope, &'a BpaOptions>,
    /// Exclusions present then.
    pub exclusions: Vec<&'a BpaExclusion>,
    /// Private addresses of each group's member interfaces.
    pub members: HashMap<&'a str, Vec<IpNet>>,
    /// Every object's standing.
    pub standing: HashMap<ObjectKey, Standing>,
    /// Groups some interface in a gap holds in either version: their
    /// membership is uncertain at this instant.
    pub members_uncertain: std::collections::HashSet<&'a str>,
    inventory: &'a Inventory,
}

impl<'a> World<'a> {
    /// The configuration as of `at`, gaps resolved by `pick`.
    pub fn build(inventory: &'a Inventory, at: i64, pick: Pick) -> World<'a> {
        let mut standing = HashMap::new();
        let enis = resolve(&inventory.enis, Kind::Eni, at, pick, &mut standing);
        let groups = resolve(
            &inventory.groups,
            Kind::SecurityGroup,
            at,
            pick,
            &mut standing,
        );
        let subnets = resolve(&inventory.subnets, Kind::Subnet, at, pick, &mut standing);
        let acls = resolve(&inventory.acls, Kind::NetworkAcl, at, pick, &mut standing);
        let tables = resolve(
            &inventory.route_tables,
            Kind::RouteTable,
            at,
            pick,
            &mut standing,
        );
        let prefix_lists = resolve(
            &inventory.prefix_lists,
            Kind::PrefixList,
            at,
            pick,
            &mut standing,
        );
        let exclusions = resolve(
            &inventory.bpa_exclusions,
            Kind::BpaExclusion,
            at,
            pick,
            &mut standing,
        );
        let mut bpa = HashMap::new();
        for (scope, tracked) in &inventory.bpa {
            let (content, s) = pick_version(tracked.timeline.as_of(at), pick);
            standing.insert((Kind::BpaOptions, format!("{}/{}", scope.0, scope.1)), s);
            if let Some(c) = content {
                bpa.insert(scope, c);
            }
        }
        let mut acl_of_subnet = HashMap::new();
        for acl in acls.values() {
            for s in &acl.subnets {
                acl_of_subnet.insert(s.as_str(), *acl);
            }
        }
        let mut members: HashMap<&str, Vec<IpNet>> = HashMap::new();
        for eni in enis.values() {
            for g in &eni.groups {
                members.entry(g.as_str()).or_default().extend(
                    eni.addresses
                        .iter()
                        .filter(|a| a.kind.is_private())
                        .map(|a| a.net),
                );
            }
        }
        let mut members_uncertain = std::collections::HashSet::new();
        for t in inventory.enis.values() {
            let a = t.timeline.as_of(at);
            if a.certainty != Certainty::Gap {
                continue;
            }
            for v in [Some(a.version), a.next].into_iter().flatten() {
                if let Some(e) = &v.content {
                    members_uncertain.extend(e.groups.iter().map(String::as_str));
                }
            }
        }
        World {
            at,
            pick,
            members_uncertain,
            enis,
            groups,
            subnets,
            acl_of_subnet,
            route_tables: tables.into_values().collect(),
            prefix_lists,
            bpa,
            exclusions: exclusions.into_values().collect(),
            members,
            standing,
            inventory,
        }
    }

    /// The object's standing (absent objects that were never seen: certain).
    pub fn standing(&self, key: &ObjectKey) -> Standing {
        self.standing.get(key).copied().unwrap_or(Standing {
            certainty: Certainty::Certain,
            changes_after: false,
        })
    }

    /// Whether the group membership of `group` is uncertain at this instant.
    pub fn members_in_gap(&self, group: &str) -> bool {
        self.members_uncertain.contains(group)
    }

    /// The entries of a prefix list's version in force (or an AWS service
    /// list's CIDRs); `None` when unknown.
    pub fn prefix_list_cidrs(&self, id: &str) -> Option<&'a [IpNet]> {
        let list = self.prefix_lists.get(id)?;
        if let Some(c) = &list.cidrs {
            return Some(c);
        }
        let version = list.version?;
        self.inventory
            .prefix_list_entries
            .get(&(id.to_owned(), version))
            .map(Vec::as_slice)
    }

    /// The latest capture time of `scope` at or before the instant (the
    /// first one when the instant is earlier).
    pub fn snapshot_at(&self, scope: &Scope) -> Option<i64> {
        let times = self.inventory.capture_times(scope);
        times
            .iter()
            .rev()
            .find(|t| **t <= self.at)
            .or(times.first())
            .copied()
    }

    /// The scope of an interface.
    pub fn scope_of_eni(&self, id: &str) -> Option<&'a Scope> {
        self.inventory.enis.get(id).map(|t| &t.scope)
    }
}

fn pick_version<T>(as_of: AsOf<'_, T>, pick: Pick) -> (Option<&T>, Standing) {
    let changes_after = as_of.version.valid_to.is_some();
    let version = match (pick, as_of.next) {
        (Pick::Later, Some(next)) => next,
        _ => as_of.version,
    };
    (
        version.content.as_ref(),
        Standing {
            certainty: as_of.certainty,
            changes_after,
        },
    )
}

fn resolve<'a, T>(
    objects: &'a BTreeMap<String, Tracked<T>>,
    kind: Kind,
    at: i64,
    pick: Pick,
    standing: &mut HashMap<ObjectKey, Standing>,
) -> HashMap<&'a str, &'a T>
where
    T: PartialEq + Clone,
{
    let mut out = HashMap::new();
    for (id, tracked) in objects {
        let (content, s) = pick_version(tracked.timeline.as_of(at), pick);
        standing.insert((kind, id.clone()), s);
        if let Some(c) = content {
            out.insert(id.as_str(), c);
        }
    }
    out
}
