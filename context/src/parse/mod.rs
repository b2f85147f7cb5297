//! Reading inventory files: each JSON document is recognised by its
//! top-level key, never by the file's name (§1.1). One file may hold
//! several documents (pages); unknown keys are warned about and skipped.
//! AWS Config items (`config.rs`) are read into the same shapes, as
//! per-object changes rather than a listing of a kind.

mod cli;
pub mod config;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    BpaExclusion, BpaOptions, Eni, NetworkAcl, PrefixList, RouteTable, SecurityGroup, Subnet,
};

/// What kind of object a document holds: a snapshot only says something
/// about the kinds it has a file for, so absence is judged per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `NetworkInterfaces`.
    Eni,
    /// `SecurityGroups` / `SecurityGroupRules`.
    SecurityGroup,
    /// `NetworkAcls`.
    NetworkAcl,
    /// `Subnets`.
    Subnet,
    /// `RouteTables`.
    RouteTable,
    /// `PrefixLists`.
    PrefixList,
    /// `VpcBlockPublicAccessOptions`.
    BpaOptions,
    /// `VpcBlockPublicAccessExclusions`.
    BpaExclusion,
}

/// The entries of one prefix-list version (placed in time only through a
/// snapshot whose `PrefixLists[].Version` names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListEntries {
    /// `pl-…`.
    pub id: String,
    /// The version; `None` when the file did not say (taken from the same
    /// snapshot's `PrefixLists`).
    pub version: Option<i64>,
    /// `Entries[].Cidr`.
    pub cidrs: Vec<ipnet::IpNet>,
}

/// Everything one snapshot's files said, normalised.
#[derive(Debug, Clone, Default)]
pub struct SnapshotContent {
    /// The kinds the snapshot has a file for.
    pub covers: BTreeSet<Kind>,
    /// Interfaces.
    pub enis: Vec<Eni>,
    /// Security groups.
    pub groups: Vec<SecurityGroup>,
    /// Network ACLs.
    pub acls: Vec<NetworkAcl>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// Route tables.
    pub route_tables: Vec<RouteTable>,
    /// Prefix-list headers (versions).
    pub prefix_lists: Vec<PrefixList>,
    /// Prefix-list entries by version.
    pub prefix_list_entries: Vec<PrefixListEntries>,
    /// Block Public Access options.
    pub bpa: Option<BpaOptions>,
    /// Block Public Access exclusions.
    pub bpa_exclusions: Vec<BpaExclusion>,
    /// AWS Config changes by object: what each item said happened to its
    /// resource. An object of a kind the snapshot does not cover is
    /// observed only through these.
    pub changes: BTreeMap<(Kind, String), config::Change>,
    /// AWS Config items of resource types the evaluators do not read.
    pub skipped_items: usize,
    /// What the reader had to say about the files (missing pages, unknown keys).
    pub warnings: Vec<String>,
}

/// The most a gzip-compressed inventory file may expand to: Config history
/// files are kilobytes to megabytes; anything larger is refused rather
/// than held in memory.
pub const MAX_INFLATED: u64 = 256 << 20;

/// The file's bytes, gunzipped when they start with the gzip magic (Config
/// delivers `.json.gz`).
pub fn inflate<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>, ParseError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| ParseError {
            file: name.to_owned(),
            message: format!("not gzip: {e}"),
        })?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(ParseError {
            file: name.to_owned(),
            message: format!("expands past {} MiB; refused", MAX_INFLATED >> 20),
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// A file that cannot be read as inventory.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ParseError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl SnapshotContent {
    /// Reads one file's documents into the snapshot. `name` is used for
    /// messages and, for prefix-list entries without a wrapper, as the list
    /// id (`pl-….json`).
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ParseError> {
        let error = |message: String| ParseError {
            file: name.to_owned(),
            message,
        };
        let bytes = inflate(name, bytes)?;
        let mut rules_only = Vec::new();
        for doc in serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>() {
            let doc = doc.map_err(|e| error(format!("not JSON: {e}")))?;
            let Value::Object(map) = doc else {
                return Err(error("not a JSON object".to_owned()));
            };
            if map.get("NextToken").is_some_and(|t| !t.is_null()) {
                self.warnings.push(format!(
                    "{name}: the document still has a NextToken: a page is missing"
                ));
            }
            let mut known = false;
            if let Some(items) = config::items_of(&map) {
                known = true;
                for (i, item) in items.into_iter().enumerate() {
                    if let Err(e) = self.add_config_item(item) {
                        self.warnings
                            .push(config::item_error(name, i, e).to_string());
                    }
                }
            }
            for (key, value) in &map {
                known |= self.add_key(name, key, value, &map, &mut rules_only)?;
            }
            if !known {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                self.warnings.push(format!(
                    "{name}: no inventory key (found {}); skipped",
                    keys.join(", ")
                ));
            }
        }
        self.merge_group_rules(rules_only);
        Ok(())
    }

    fn add_key(
        &mut self,
        name: &str,
        key: &str,
        value: &Value,
        doc: &serde_json::Map<String, Value>,
        rules_only: &mut Vec<cli::CliGroupRule>,
    ) -> Result<bool, ParseError> {
        match key {
            "NetworkInterfaces" => {
                self.covers.insert(Kind::Eni);
                let items: Vec<cli::CliEni> = items(name, key, value)?;
                self.enis.extend(items.into_iter().map(|e| e.into_model()));
            }
            "SecurityGroups" => {
                self.covers.insert(Kind::SecurityGroup);
                let items: Vec<cli::CliGroup> = items(name, key, value)?;
                self.groups
                    .extend(items.into_iter().map(|g| g.into_model()));
            }
            "SecurityGroupRules" => {
                self.covers.insert(Kind::SecurityGroup);
                rules_only.extend(items::<cli::CliGroupRule>(name, key, value)?);
            }
            "NetworkAcls" => {
                self.covers.insert(Kind::NetworkAcl);
                let items: Vec<cli::CliAcl> = items(name, key, value)?;
                self.acls.extend(items.into_iter().map(|a| a.into_model()));
            }
            "Subnets" => {
                self.covers.insert(Kind::Subnet);
                let items: Vec<cli::CliSubnet> = items(name, key, value)?;
                self.subnets
                    .extend(items.into_iter().map(|s| s.into_model()));
            }
            "RouteTables" => {
                self.covers.insert(Kind::RouteTable);
                let items: Vec<cli::CliRouteTable> = items(name, key, value)?;
                self.route_tables
                    .extend(items.into_iter().map(|r| r.into_model()));
            }
            "PrefixLists" => {
                self.covers.insert(Kind::PrefixList);
                let items: Vec<cli::CliPrefixList> = items(name, key, value)?;
                self.prefix_lists
                    .extend(items.into_iter().map(|p| p.into_model()));
            }
            "Entries" => {
                let wrapper: cli::CliPlEntries = serde_json::from_value(Value::Object(doc.clone()))
                    .map_err(|e| ParseError {
                        file: name.to_owned(),
                        message: format!("Entries: {e}"),
                    })?;
                let stem = std::path::Path::new(name)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|s| s.starts_with("pl-"));
                let Some(id) = wrapper.prefix_list_id.or(stem.map(str::to_owned)) else {
                    return Err(ParseError {
                        file: name.to_owned(),
                        message: "prefix-list entries that do not name their list: wrap them as {\"PrefixListId\":\"pl-…\",\"Version\":N,\"Entries\":[…]} or name the file pl-….json".to_owned(),
                    });
                };
                self.prefix_list_entries.push(PrefixListEntries {
                    id,
                    version: wrapper.version,
                    cidrs: wrapper
                        .entries
                        .iter()
                        .filter_map(|e| e.cidr.parse().ok())
                        .collect(),
                });
            }
            "VpcBlockPublicAccessOptions" => {
                self.covers.insert(Kind::BpaOptions);
                let options: cli::CliBpaOptions =
                    serde_json::from_value(value.clone()).map_err(|e| ParseError {
                        file: name.to_owned(),
                        message: format!("{key}: {e}"),
                    })?;
                self.bpa = Some(options.into_model());
            }
            "VpcBlockPublicAccessExclusions" => {
                self.covers.insert(Kind::BpaExclusion);
                let items: Vec<cli::CliBpaExclusion> = items(name, key, value)?;
                self.bpa_exclusions
                    .extend(items.into_iter().map(|e| e.into_model()));
            }
            // Page and wrapper fields beside the keys above.
            "NextToken" | "PrefixListId" | "Version" => return Ok(false),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `SecurityGroupRules` only adds `sgr-` ids to groups read from
    /// `SecurityGroups` (matched on the whole rule); with no such group,
    /// the group is built from the rules (§1.4).
    fn merge_group_rules(&mut self, rules: Vec<cli::CliGroupRule>) {
        for raw in rules {
            let group_id = raw.group_id.clone();
            let Some(rule) = raw.into_model() else {
                continue;
            };
            if let Some(group) = self.groups.iter_mut().find(|g| g.id == group_id) {
                let same = |r: &crate::model::SgRule| {
                    r.egress == rule.egress
                        && r.protocol == rule.protocol
                        && r.peer == rule.peer
                        && r.from_port.unwrap_or(-1) == rule.from_port.unwrap_or(-1)
                        && r.to_port.unwrap_or(-1) == rule.to_port.unwrap_or(-1)
                };
                let matches: Vec<usize> = (0..group.rules.len())
                    .filter(|&i| same(&group.rules[i]))
                    .collect();
                if let [i] = matches[..] {
                    group.rules[i].rule_id = rule.rule_id;
                }
            } else {
                self.groups.push(SecurityGroup {
                    id: group_id,
                    rules: vec![rule],
                    ..SecurityGroup::default()
                });
            }
        }
    }

    /// Fills in the version of entries files that did not name one, from
    /// this snapshot's `PrefixLists`; entries whose version stays unknown
    /// are dropped with a warning.
    pub fn settle_prefix_list_versions(&mut self) {
        let lists = &self.prefix_lists;
        let warnings = &mut self.warnings;
        self.prefix_list_entries.retain_mut(|e| {
            if e.version.is_none() {
                e.version = lists.iter().find(|p| p.id == e.id).and_then(|p| p.version);
            }
            if e.version.is_none() {
                warnings.push(format!(
                    "{}: entries without a version and no PrefixLists file saying which; skipped",
                    e.id
                ));
            }
            e.version.is_some()
        });
    }
}

fn items<T: DeserializeOwned>(name: &str, key: &str, value: &Value) -> Result<Vec<T>, ParseError> {
    serde_json::from_value(value.clone()).map_err(|e| ParseError {
        file: name.to_owned(),
        message: format!("{key}: {e}"),
    })
}

#[cfg(test)]
mod tests;
