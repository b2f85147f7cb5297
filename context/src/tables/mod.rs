//! The inventory as flat tables (§1.6), for SQL in flowlake and in other
//! engines: one row per object version (and per rule, address, entry),
//! with `valid_from`, `last_seen` and `valid_to` (NULL while current) in
//! Unix seconds. Absent versions have no rows.

mod ip_owners;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use crate::inventory::{Inventory, Tracked};
use crate::owner::{RULE_SET_VERSION, classify, with_region};
use crate::proto;
use crate::timeline::Version;

/// Why a table could not be built.
pub type TableError = arrow::error::ArrowError;

/// One table: its name (the folder under `inventory/tables/`) and rows.
#[derive(Debug)]
pub struct Table {
    /// Table name, also the SQL name.
    pub name: &'static str,
    /// The rows.
    pub batch: RecordBatch,
}

fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

fn batch<T: Serialize>(fields: &[(&str, DataType)], rows: &[T]) -> Result<RecordBatch, TableError> {
    let schema = schema(fields);
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone()).build_decoder()?;
    decoder.serialize(rows)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

const S: DataType = DataType::Utf8;
const I: DataType = DataType::Int64;
const N: DataType = DataType::Int32;
const B: DataType = DataType::Boolean;

/// The validity columns every versioned table carries.
#[derive(Debug, Serialize)]
struct Valid {
    valid_from: i64,
    last_seen: i64,
    valid_to: Option<i64>,
}

fn valid<T>(v: &Version<T>) -> Valid {
    Valid {
        valid_from: v.valid_from,
        last_seen: v.last_seen,
        valid_to: v.valid_to,
    }
}

fn versions<T>(tracked: &Tracked<T>) -> impl Iterator<Item = (&T, Valid)> {
    tracked
        .timeline
        .versions
        .iter()
        .filter_map(|v| v.content.as_ref().map(|c| (c, valid(v))))
}

/// Every table of the inventory.
pub fn build(inventory: &Inventory) -> Result<Vec<Table>, TableError> {
    Ok(vec![
        Table {
            name: "inventory_snapshots",
            batch: snapshots(inventory)?,
        },
        Table {
            name: "inv_eni",
            batch: enis(inventory)?,
        },
        Table {
            name: "inv_ip",
            batch: addresses(inventory)?,
        },
        Table {
            name: "inv_ip_owner",
            batch: ip_owners::build(inventory)?,
        },
        Table {
            name: "inv_sg_rule",
            batch: sg_rules(inventory)?,
        },
        Table {
            name: "inv_nacl_entry",
            batch: acl_entries(inventory)?,
        },
        Table {
            name: "inv_subnet",
            batch: subnets(inventory)?,
        },
        Table {
            name: "inv_prefix_list_entry",
            batch: prefix_list_entries(inventory)?,
        },
        Table {
            name: "inv_bpa",
            batch: bpa(inventory)?,
        },
    ])
}

fn snapshots(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        snapshot_id: &'a str,
        captured_at: i64,
        account: &'a str,
        region: &'a str,
        source: &'a str,
        files: String,
    }
    let rows: Vec<Row<'_>> = inv
        .snapshots
        .iter()
        .map(|s| Row {
            snapshot_id: &s.id,
            captured_at: s.captured_at,
            account: &s.account,
            region: &s.region,
            source: &s.source,
            files: serde_json::to_string(&s.files).unwrap_or_default(),
        })
        .collect();
    batch(
        &[
            ("snapshot_id", S),
            ("captured_at", I),
            ("account", S),
            ("region", S),
            ("source", S),
            ("files", S),
        ],
        &rows,
    )
}

fn enis(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        eni_id: &'a str,
        #[serde(flatten)]
        valid: Valid,
        account: &'a str,
        region: &'a str,
        vpc_id: Option<&'a str>,
        subnet_id: Option<&'a str>,
        interface_type: Option<&'a str>,
        description: Option<&'a str>,
        requester_id: Option<&'a str>,
        requester_managed: Option<bool>,
        instance_id: Option<&'a str>,
        source_dest_check: Option<bool>,
        primary_ip: Option<String>,
        sg_ids: String,
        tags: String,
        owner_kind: String,
        owner_id: Option<String>,
        owner_name: Option<String>,
        owner_arn: Option<String>,
        owner_rule: String,
        owner_rule_set: &'static str,
    }
    let mut rows = Vec::new();
    for (id, t) in &inv.enis {
        for (e, valid) in versions(t) {
            let owner = with_region(classify(e), &t.scope.1);
            rows.push(Row {
                eni_id: id,
                valid,
                account: &t.scope.0,
                region: &t.scope.1,
                vpc_id: e.vpc_id.as_deref(),
                subnet_id: e.subnet_id.as_deref(),
                interface_type: e.interface_type.as_deref(),
                description: e.description.as_deref(),
                requester_id: e.requester_id.as_deref(),
                requester_managed: e.requester_managed,
                instance_id: e.instance_id.as_deref(),
                source_dest_check: e.source_dest_check,
                primary_ip: e.primary().map(|a| a.to_string()),
                sg_ids: e.groups.join(","),
                tags: serde_json::to_string(&e.tags).unwrap_or_default(),
                owner_kind: owner.kind,
                owner_id: owner.id,
                owner_name: owner.name,
                owner_arn: owner.arn,
                owner_rule: owner.rule,
                owner_rule_set: RULE_SET_VERSION,
            });
        }
    }
    batch(
        &[
            ("eni_id", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
            ("account", S),
            ("region", S),
            ("vpc_id", S),
            ("subnet_id", S),
            ("interface_type", S),
            ("description", S),
            ("requester_id", S),
            ("requester_managed", B),
            ("instance_id", S),
            ("source_dest_check", B),
            ("primary_ip", S),
            ("sg_ids", S),
            ("tags", S),
            ("owner_kind", S),
            ("owner_id", S),
            ("owner_name", S),
            ("owner_arn", S),
            ("owner_rule", S),
            ("owner_rule_set", S),
        ],
        &rows,
    )
}

/// One address bound to one interface over one interval: consecutive
/// interface versions that all hold the address are one binding, so a
/// change elsewhere on the interface (a tag) does not split it.
fn addresses(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row {
        address: String,
        prefix_len: u8,
        eni_id: String,
        kind: &'static str,
        ip_owner: Option<String>,
        vpc_id: Option<String>,
        account: String,
        region: String,
        #[serde(flatten)]
        valid: Valid,
    }
    let mut rows = Vec::new();
    for (id, t) in &inv.enis {
        let mut open: Vec<(crate::model::EniAddress, Option<String>, Valid)> = Vec::new();
        let close =
            |rows: &mut Vec<Row>,
             (a, vpc, valid): (crate::model::EniAddress, Option<String>, Valid)| {
                rows.push(Row {
                    address: a.net.addr().to_string(),
                    prefix_len: a.net.prefix_len(),
                    eni_id: id.clone(),
                    kind: a.kind.as_str(),
                    ip_owner: a.ip_owner,
                    vpc_id: vpc,
                    account: t.scope.0.clone(),
                    region: t.scope.1.clone(),
                    valid,
                });
            };
        for v in &t.timeline.versions {
            let held: Vec<&crate::model::EniAddress> =
                v.content.iter().flat_map(|e| e.addresses.iter()).collect();
            let vpc = v.content.as_ref().and_then(|e| e.vpc_id.clone());
            let (kept, ended): (Vec<_>, Vec<_>) =
                open.into_iter().partition(|(a, _, _)| held.contains(&a));
            for mut run in ended {
                run.2.valid_to = Some(v.valid_from);
                close(&mut rows, run);
            }
            open = kept;
            for run in &mut open {
                run.2.last_seen = v.last_seen;
                run.2.valid_to = v.valid_to;
            }
            for a in held {
                if !open.iter().any(|(o, _, _)| o == a) {
                    open.push(((*a).clone(), vpc.clone(), valid(v)));
                }
            }
        }
        for run in open {
            close(&mut rows, run);
        }
    }
    batch(
        &[
            ("address", S),
            ("prefix_len", N),
            ("eni_id", S),
            ("kind", S),
            ("ip_owner", S),
            ("vpc_id", S),
            ("account", S),
            ("region", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
        ],
        &rows,
    )
}

fn sg_rules(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        group_id: &'a str,
        #[serde(flatten)]
        valid: Valid,
        vpc_id: Option<&'a str>,
        rule_index: usize,
        sgr_id: Option<&'a str>,
        is_egress: bool,
        ip_protocol: String,
        from_port: Option<i32>,
        to_port: Option<i32>,
        peer_kind: &'static str,
        peer: String,
        description: Option<&'a str>,
    }
    let mut rows = Vec::new();
    for (id, t) in &inv.groups {
        for v in &t.timeline.versions {
            let Some(g) = &v.content else { continue };
            for (i, r) in g.rules.iter().enumerate() {
                rows.push(Row {
                    group_id: id,
                    valid: valid(v),
                    vpc_id: g.vpc_id.as_deref(),
                    rule_index: i,
                    sgr_id: r.rule_id.as_deref(),
                    is_egress: r.egress,
                    ip_protocol: proto::name(r.protocol),
                    from_port: r.from_port,
                    to_port: r.to_port,
                    peer_kind: r.peer.kind(),
                    peer: r.peer.text(),
                    description: r.description.as_deref(),
                });
            }
        }
    }
    batch(
        &[
            ("group_id", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
            ("vpc_id", S),
            ("rule_index", N),
            ("sgr_id", S),
            ("is_egress", B),
            ("ip_protocol", S),
            ("from_port", N),
            ("to_port", N),
            ("peer_kind", S),
            ("peer", S),
            ("description", S),
        ],
        &rows,
    )
}

fn acl_entries(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        nacl_id: &'a str,
        #[serde(flatten)]
        valid: Valid,
        vpc_id: Option<&'a str>,
        subnet_ids: String,
        rule_number: i32,
        egress: bool,
        rule_action: &'static str,
        protocol: i32,
        cidr: String,
        port_from: Option<i32>,
        port_to: Option<i32>,
        icmp_type: Option<i32>,
        icmp_code: Option<i32>,
    }
    let mut rows = Vec::new();
    for (id, t) in &inv.acls {
        for v in &t.timeline.versions {
            let Some(a) = &v.content else { continue };
            for e in &a.entries {
                rows.push(Row {
                    nacl_id: id,
                    valid: valid(v),
                    vpc_id: a.vpc_id.as_deref(),
                    subnet_ids: a.subnets.join(","),
                    rule_number: e.rule_number,
                    egress: e.egress,
                    rule_action: if e.allow { "allow" } else { "deny" },
                    protocol: e.protocol,
                    cidr: e.cidr.to_string(),
                    port_from: e.ports.map(|p| p.0),
                    port_to: e.ports.map(|p| p.1),
                    icmp_type: e.icmp.map(|p| p.0),
                    icmp_code: e.icmp.map(|p| p.1),
                });
            }
        }
    }
    batch(
        &[
            ("nacl_id", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
            ("vpc_id", S),
            ("subnet_ids", S),
            ("rule_number", N),
            ("egress", B),
            ("rule_action", S),
            ("protocol", N),
            ("cidr", S),
            ("port_from", N),
            ("port_to", N),
            ("icmp_type", N),
            ("icmp_code", N),
        ],
        &rows,
    )
}

fn subnets(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        subnet_id: &'a str,
        #[serde(flatten)]
        valid: Valid,
        vpc_id: Option<&'a str>,
        cidr: String,
        account: &'a str,
        region: &'a str,
        bpa_mode: Option<&'a str>,
    }
    let mut rows = Vec::new();
    for (id, t) in &inv.subnets {
        for v in &t.timeline.versions {
            let Some(s) = &v.content else { continue };
            for c in &s.cidrs {
                rows.push(Row {
                    subnet_id: id,
                    valid: valid(v),
                    vpc_id: s.vpc_id.as_deref(),
                    cidr: c.to_string(),
                    account: &t.scope.0,
                    region: &t.scope.1,
                    bpa_mode: s.bpa_mode.as_deref(),
                });
            }
        }
    }
    batch(
        &[
            ("subnet_id", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
            ("vpc_id", S),
            ("cidr", S),
            ("account", S),
            ("region", S),
            ("bpa_mode", S),
        ],
        &rows,
    )
}

/// Entries by version, placed in time through the lists' headers: a
/// version's entries are valid while some snapshot says the list was at it.
fn prefix_list_entries(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        pl_id: &'a str,
        version: i64,
        cidr: String,
        valid_from: Option<i64>,
        last_seen: Option<i64>,
        valid_to: Option<i64>,
    }
    let mut rows = Vec::new();
    for ((id, version), cidrs) in &inv.prefix_list_entries {
        let placed: Vec<Valid> = inv
            .prefix_lists
            .get(id)
            .map(|t| {
                versions(t)
                    .filter(|(p, _)| p.version == Some(*version))
                    .map(|(_, v)| v)
                    .collect()
            })
            .unwrap_or_default();
        for c in cidrs {
            if placed.is_empty() {
                rows.push(Row {
                    pl_id: id,
                    version: *version,
                    cidr: c.to_string(),
                    valid_from: None,
                    last_seen: None,
                    valid_to: None,
                });
            }
            for v in &placed {
                rows.push(Row {
                    pl_id: id,
                    version: *version,
                    cidr: c.to_string(),
                    valid_from: Some(v.valid_from),
                    last_seen: Some(v.last_seen),
                    valid_to: v.valid_to,
                });
            }
        }
    }
    batch(
        &[
            ("pl_id", S),
            ("version", I),
            ("cidr", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
        ],
        &rows,
    )
}

fn bpa(inv: &Inventory) -> Result<RecordBatch, TableError> {
    #[derive(Serialize)]
    struct Row<'a> {
        account: &'a str,
        region: &'a str,
        mode: &'a str,
        #[serde(flatten)]
        valid: Valid,
    }
    let mut rows = Vec::new();
    for ((account, region), t) in &inv.bpa {
        for (b, valid) in versions(t) {
            rows.push(Row {
                account,
                region,
                mode: &b.mode,
                valid,
            });
        }
    }
    batch(
        &[
            ("account", S),
            ("region", S),
            ("mode", S),
            ("valid_from", I),
            ("last_seen", I),
            ("valid_to", I),
        ],
        &rows,
    )
}
