//! AWS Config configuration items (§1.3): the two envelopes (the API's,
//! `configuration` a JSON string; the S3 file's, an object), their
//! camelCase `configuration` brought to the describe-* shapes of `cli.rs`
//! so that one set of conversions reads both, and the item fields that
//! place a change in time.
//!
//! A configuration item is a change event for one resource, not a sample
//! of the account: it says nothing about the other resources, so items
//! are kept per object (`SnapshotContent::changes`), never as coverage of
//! a kind.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Kind, ParseError, PrefixListEntries, SnapshotContent, cli};

/// The top-level keys that hold items: `get-resource-config-history` and
/// the S3 files (`configurationItems`), `batch-get-resource-config`
/// (`baseConfigurationItems`), a change notification (`configurationItem`).
pub const ITEM_KEYS: [&str; 3] = [
    "configurationItems",
    "baseConfigurationItems",
    "configurationItem",
];

/// What an item says happened to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `ResourceDiscovered`: the resource appears (created, or first
    /// recorded) with the item's configuration.
    Discovered,
    /// The resource exists with the item's configuration.
    Present,
    /// `ResourceDeleted` / `ResourceDeletedNotRecorded`: it ends here.
    Deleted,
    /// `ResourceNotRecorded`: Config stopped recording it, so what follows
    /// the previous item is unknown (a gap, not a deletion).
    Unrecorded,
}

/// One resource's change, ordered by `configurationStateId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// `configurationStateId` (orders one resource's items; 0 when absent).
    pub state_id: u128,
    /// What happened.
    pub kind: ChangeKind,
}

/// The envelope fields of one item: where and when it belongs.
#[derive(Debug, Clone)]
pub struct ItemHeader {
    /// `configurationItemCaptureTime`, Unix seconds.
    pub captured_at: i64,
    /// `accountId` (API) or `awsAccountId` (file).
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `configurationStateId`, 0 when absent.
    pub state_id: u128,
    /// `configurationItemStatus`.
    pub status: String,
}

impl ItemHeader {
    /// Reads the envelope fields; `Err` says which one is missing.
    pub fn read(item: &Value) -> Result<ItemHeader, String> {
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        let resource_type = text("resourceType").ok_or("no resourceType")?;
        let resource_id = text("resourceId").ok_or("no resourceId")?;
        let captured_at = item
            .get("configurationItemCaptureTime")
            .and_then(capture_time)
            .ok_or_else(|| format!("{resource_id}: no readable configurationItemCaptureTime"))?;
        let account = text("accountId")
            .or_else(|| text("awsAccountId"))
            .ok_or_else(|| format!("{resource_id}: no accountId or awsAccountId"))?;
        let region = text("awsRegion").ok_or_else(|| format!("{resource_id}: no awsRegion"))?;
        let state_id = match item.get("configurationStateId") {
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            Some(Value::Number(n)) => n.as_u64().map_or(0, u128::from),
            _ => 0,
        };
        Ok(ItemHeader {
            captured_at,
            account,
            region,
            resource_type,
            resource_id,
            state_id,
            status: text("configurationItemStatus").unwrap_or_else(|| "OK".to_owned()),
        })
    }

    /// The inventory kind of the resource type; `None` for types the
    /// evaluators do not read (they are skipped, not errors).
    pub fn kind(&self) -> Option<Kind> {
        Some(match self.resource_type.as_str() {
            "AWS::EC2::NetworkInterface" => Kind::Eni,
            "AWS::EC2::SecurityGroup" => Kind::SecurityGroup,
            "AWS::EC2::NetworkAcl" => Kind::NetworkAcl,
            "AWS::EC2::Subnet" => Kind::Subnet,
            "AWS::EC2::RouteTable" => Kind::RouteTable,
            "AWS::EC2::PrefixList" => Kind::PrefixList,
            "AWS::EC2::VPCBlockPublicAccessOptions" => Kind::BpaOptions,
            "AWS::EC2::VPCBlockPublicAccessExclusion" => Kind::BpaExclusion,
            _ => return None,
        })
    }

    /// What the item says happened.
    pub fn change(&self) -> Change {
        let kind = match self.status.as_str() {
            "ResourceDeleted" | "ResourceDeletedNotRecorded" => ChangeKind::Deleted,
            "ResourceNotRecorded" => ChangeKind::Unrecorded,
            "ResourceDiscovered" => ChangeKind::Discovered,
            _ => ChangeKind::Present,
        };
        Change {
            state_id: self.state_id,
            kind,
        }
    }
}

/// RFC 3339 text (both envelopes) or epoch seconds (SDK output), floored
/// to the second.
fn capture_time(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp()),
        Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
        _ => None,
    }
}

/// The item's `configuration` in describe-* PascalCase, with the Config
/// differences undone (§1.3) and the item's own fields filled in where the
/// configuration lacks them (tags, ARNs). `Ok(None)` when the item holds
/// no configuration.
pub fn configuration(item: &Value, header: &ItemHeader) -> Result<Option<Value>, String> {
    let configuration = match item.get("configuration") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => {
            serde_json::from_str(s).map_err(|e| format!("configuration is not JSON: {e}"))?
        }
        Some(v) => v.clone(),
    };
    let Value::Object(mut map) = pascal(configuration) else {
        return Err("configuration is not an object".to_owned());
    };
    match header.kind() {
        Some(Kind::SecurityGroup) => {
            for key in ["IpPermissions", "IpPermissionsEgress"] {
                if let Some(Value::Array(perms)) = map.get_mut(key) {
                    perms.iter_mut().for_each(merge_ipv4_ranges);
                }
            }
        }
        Some(Kind::Eni) if !map.contains_key("TagSet") => {
            map.insert("TagSet".to_owned(), item_tags(item));
        }
        Some(Kind::Subnet) if !map.contains_key("SubnetArn") => {
            if let Some(arn) = item.get("arn").or_else(|| item.get("ARN")) {
                map.insert("SubnetArn".to_owned(), arn.clone());
            }
        }
        Some(Kind::BpaExclusion) if !map.contains_key("ResourceArn") => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
            let arn = text("SubnetId")
                .map(|s| format!("subnet/{s}"))
                .or_else(|| text("VpcId").map(|v| format!("vpc/{v}")))
                .map(|r| format!("arn:aws:ec2:{}:{}:{r}", header.region, header.account));
            if let Some(arn) = arn {
                map.insert("ResourceArn".to_owned(), Value::from(arn));
            }
        }
        _ => {}
    }
    Ok(Some(Value::Object(map)))
}

/// Reads a converted configuration into one of the describe-* shapes.
pub fn shape<T: DeserializeOwned>(configuration: Value) -> Result<T, String> {
    serde_json::from_value(configuration).map_err(|e| e.to_string())
}

/// camelCase keys to PascalCase, all the way down. PascalCase keys (the
/// PrefixList and Block Public Access types) pass unchanged. Keys whose
/// value is `null` are dropped, so the shapes' defaults apply as they do
/// for a field the CLI leaves out.
fn pascal(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (key, pascal(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(pascal).collect()),
        other => other,
    }
}

/// Config lists a permission's IPv4 peers twice, as `ipRanges` strings and
/// as `ipv4Ranges` objects (with descriptions); the describe-* shape has
/// `IpRanges` objects. The union, each CIDR once, described where either
/// form describes it.
fn merge_ipv4_ranges(perm: &mut Value) {
    let Some(perm) = perm.as_object_mut() else {
        return;
    };
    let mut ranges: Vec<Map<String, Value>> = Vec::new();
    let mut add = |range: Value| {
        let range = match range {
            Value::String(cidr) => {
                let mut m = Map::new();
                m.insert("CidrIp".to_owned(), Value::from(cidr));
                m
            }
            Value::Object(m) => m,
            _ => return,
        };
        let cidr = range.get("CidrIp").cloned();
        match ranges.iter_mut().find(|r| r.get("CidrIp") == cidr.as_ref()) {
            Some(r) if !r.contains_key("Description") => *r = range,
            Some(_) => {}
            None => ranges.push(range),
        }
    };
    for key in ["Ipv4Ranges", "IpRanges"] {
        if let Some(Value::Array(list)) = perm.remove(key) {
            list.into_iter().for_each(&mut add);
        }
    }
    perm.insert(
        "IpRanges".to_owned(),
        Value::Array(ranges.into_iter().map(Value::Object).collect()),
    );
}

/// The item's `tags` (a map in both envelopes, a `{key,value}` list in
/// some exports) as a describe-* `TagSet`.
fn item_tags(item: &Value) -> Value {
    let pair =
        |k: &str, v: &Value| serde_json::json!({"Key": k, "Value": v.as_str().unwrap_or_default()});
    match item.get("tags") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| pair(k, v)).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| {
                let key = t.get("key").or_else(|| t.get("Key"))?.as_str()?;
                let value = t.get("value").or_else(|| t.get("Value"))?;
                Some(pair(key, value))
            })
            .collect(),
        _ => Value::Array(Vec::new()),
    }
}

/// The items of one document, whichever envelope holds them.
pub fn items_of(doc: &Map<String, Value>) -> Option<Vec<&Value>> {
    let mut found = None;
    for key in ITEM_KEYS {
        match doc.get(key) {
            Some(Value::Array(list)) => found.get_or_insert_with(Vec::new).extend(list.iter()),
            Some(item @ Value::Object(_)) => found.get_or_insert_with(Vec::new).push(item),
            _ => {}
        }
    }
    found
}

/// A ParseError for one item of a file.
pub fn item_error(file: &str, index: usize, message: String) -> ParseError {
    ParseError {
        file: file.to_owned(),
        message: format!("configuration item {index}: {message}"),
    }
}

/// The describe-* key that names each kind's object, filled from
/// `resourceId` when the configuration leaves it out.
fn id_key(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Eni => "NetworkInterfaceId",
        Kind::SecurityGroup => "GroupId",
        Kind::NetworkAcl => "NetworkAclId",
        Kind::Subnet => "SubnetId",
        Kind::RouteTable => "RouteTableId",
        Kind::PrefixList => "PrefixListId",
        Kind::BpaExclusion => "ExclusionId",
        Kind::BpaOptions => return None,
    })
}

impl SnapshotContent {
    /// Adds one configuration item as a change of its object. Of two items
    /// of one resource in one snapshot, the higher `configurationStateId`
    /// wins. Items of other resource types are counted and skipped.
    pub(crate) fn add_config_item(&mut self, item: &Value) -> Result<(), String> {
        let header = ItemHeader::read(item)?;
        let Some(kind) = header.kind() else {
            self.skipped_items += 1;
            return Ok(());
        };
        // One options object per account and region, whatever its id.
        let id = match kind {
            Kind::BpaOptions => String::new(),
            _ => header.resource_id.clone(),
        };
        let change = header.change();
        let key = (kind, id);
        if self
            .changes
            .get(&key)
            .is_some_and(|seen| seen.state_id > change.state_id)
        {
            return Ok(());
        }
        // Read it whole before touching what an earlier item added.
        let mut read = SnapshotContent::default();
        if matches!(change.kind, ChangeKind::Present | ChangeKind::Discovered) {
            let what = |e: String| format!("{} {}: {e}", header.resource_type, header.resource_id);
            let mut conf = configuration(item, &header)
                .map_err(what)?
                .ok_or_else(|| what("no configuration".to_owned()))?;
            if let (Some(field), Value::Object(map)) = (id_key(kind), &mut conf) {
                map.entry(field)
                    .or_insert_with(|| Value::from(header.resource_id.clone()));
            }
            read.add_shaped(kind, conf).map_err(what)?;
        }
        read.changes.insert(key, change);
        self.absorb(read);
        Ok(())
    }

    /// The AWS Config changes of one kind's objects, by id.
    pub fn changes_of(&self, kind: Kind) -> impl Iterator<Item = (&String, &Change)> {
        self.changes
            .range((kind, String::new())..)
            .take_while(move |((k, _), _)| *k == kind)
            .map(|((_, id), change)| (id, change))
    }

    /// Takes in what another reading of the same instant holds: for an
    /// object both have AWS Config changes for, the higher
    /// `configurationStateId` decides the content as well as the change.
    pub(crate) fn absorb(&mut self, mut from: SnapshotContent) {
        for (key, change) in std::mem::take(&mut from.changes) {
            let keep_ours = self
                .changes
                .get(&key)
                .is_some_and(|ours| ours.state_id > change.state_id);
            if keep_ours {
                from.remove_object(key.0, &key.1);
            } else if self.changes.insert(key.clone(), change).is_some() {
                // Ours was older: its content goes with it.
                self.remove_object(key.0, &key.1);
            }
        }
        self.covers.extend(from.covers);
        self.enis.extend(from.enis);
        self.groups.extend(from.groups);
        self.acls.extend(from.acls);
        self.subnets.extend(from.subnets);
        self.route_tables.extend(from.route_tables);
        self.prefix_lists.extend(from.prefix_lists);
        self.prefix_list_entries.extend(from.prefix_list_entries);
        if from.bpa.is_some() {
            self.bpa = from.bpa;
        }
        self.bpa_exclusions.extend(from.bpa_exclusions);
        self.skipped_items += from.skipped_items;
        self.warnings.extend(from.warnings);
    }

    fn add_shaped(&mut self, kind: Kind, conf: Value) -> Result<(), String> {
        match kind {
            Kind::Eni => self.enis.push(shape::<cli::CliEni>(conf)?.into_model()),
            Kind::SecurityGroup => self.groups.push(shape::<cli::CliGroup>(conf)?.into_model()),
            Kind::NetworkAcl => self.acls.push(shape::<cli::CliAcl>(conf)?.into_model()),
            Kind::Subnet => self
                .subnets
                .push(shape::<cli::CliSubnet>(conf)?.into_model()),
            Kind::RouteTable => self
                .route_tables
                .push(shape::<cli::CliRouteTable>(conf)?.into_model()),
            Kind::PrefixList => {
                // Config keeps the list's entries beside its version.
                let has_entries = conf.get("Entries").is_some_and(Value::is_array);
                let entries: cli::CliPlEntries = shape(conf.clone())?;
                let list = shape::<cli::CliPrefixList>(conf)?.into_model();
                if has_entries {
                    self.prefix_list_entries.push(PrefixListEntries {
                        id: list.id.clone(),
                        version: list.version,
                        cidrs: entries
                            .entries
                            .iter()
                            .filter_map(|e| e.cidr.parse().ok())
                            .collect(),
                    });
                }
                self.prefix_lists.push(list);
            }
            Kind::BpaOptions => self.bpa = Some(shape::<cli::CliBpaOptions>(conf)?.into_model()),
            Kind::BpaExclusion => self
                .bpa_exclusions
                .push(shape::<cli::CliBpaExclusion>(conf)?.into_model()),
        }
        Ok(())
    }

    /// Forgets what an earlier item of the same resource added.
    fn remove_object(&mut self, kind: Kind, id: &str) {
        match kind {
            Kind::Eni => self.enis.retain(|e| e.id != id),
            Kind::SecurityGroup => self.groups.retain(|g| g.id != id),
            Kind::NetworkAcl => self.acls.retain(|a| a.id != id),
            Kind::Subnet => self.subnets.retain(|s| s.id != id),
            Kind::RouteTable => self.route_tables.retain(|r| r.id != id),
            Kind::PrefixList => {
                self.prefix_lists.retain(|p| p.id != id);
                self.prefix_list_entries.retain(|p| p.id != id);
            }
            Kind::BpaOptions => self.bpa = None,
            Kind::BpaExclusion => self.bpa_exclusions.retain(|x| x.id != id),
        }
    }
}
