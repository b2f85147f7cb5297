//! The JSON that `aws ec2 describe-*` prints (`--output json`, PascalCase):
//! serde shapes for the fields the importer reads, and their conversion to
//! the model. Every field is optional (older CLI output lacks some, managed
//! interfaces lack others).

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Deserialize;

use crate::model::{
    AclEntry, AddrKind, BpaExclusion, BpaOptions, Eni, EniAddress, NetworkAcl, Peer, PrefixList,
    Route, RouteTable, SecurityGroup, SgRule, Subnet,
};
use crate::proto::{parse_protocol, parse_protocol_number};

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Tag {
    key: String,
    value: String,
}

fn tags(set: Vec<Tag>) -> BTreeMap<String, String> {
    set.into_iter().map(|t| (t.key, t.value)).collect()
}

/// A number printed as a number (describe-*) or as text (AWS Config types
/// `Version` as a string).
fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn host(text: &str) -> Option<IpNet> {
    text.parse::<std::net::IpAddr>().ok().map(IpNet::from)
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliEni {
    network_interface_id: String,
    interface_type: Option<String>,
    description: Option<String>,
    status: Option<String>,
    requester_id: Option<String>,
    requester_managed: Option<bool>,
    owner_id: Option<String>,
    vpc_id: Option<String>,
    subnet_id: Option<String>,
    source_dest_check: Option<bool>,
    private_ip_address: Option<String>,
    private_ip_addresses: Vec<CliPrivateIp>,
    ipv6_addresses: Vec<CliIpv6>,
    ipv4_prefixes: Vec<CliIpv4Prefix>,
    ipv6_prefixes: Vec<CliIpv6Prefix>,
    association: Option<CliAssociation>,
    attachment: Option<CliAttachment>,
    groups: Vec<CliGroupRef>,
    tag_set: Vec<Tag>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliPrivateIp {
    private_ip_address: String,
    primary: bool,
    association: Option<CliAssociation>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliAssociation {
    public_ip: Option<String>,
    ip_owner_id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliIpv6 {
    ipv6_address: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliIpv4Prefix {
    ipv4_prefix: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliIpv6Prefix {
    ipv6_prefix: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliAttachment {
    instance_id: Option<String>,
    instance_owner_id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliGroupRef {
    group_id: String,
}

impl CliEni {
    pub(crate) fn into_model(self) -> Eni {
        let mut addresses = Vec::new();
        let mut push = |net: Option<IpNet>, kind, ip_owner: Option<String>| {
            if let Some(net) = net
                && !addresses.iter().any(|a: &EniAddress| a.net == net)
            {
                addresses.push(EniAddress {
                    net,
                    kind,
                    ip_owner,
                });
            }
        };
        let primary = self.private_ip_address.as_deref().and_then(host);
        // Primary first, whichever list names it.
        let mut private = self.private_ip_addresses;
        private.sort_by_key(|p| !p.primary);
        if private.is_empty() {
            push(primary, AddrKind::Primary, None);
        }
        for p in &private {
            let net = host(&p.private_ip_address);
            let kind = if p.primary || (net.is_some() && net == primary) {
                AddrKind::Primary
            } else {
                AddrKind::Secondary
            };
            push(net, kind, None);
            if let Some(a) = &p.association {
                push(
                    a.public_ip.as_deref().and_then(host),
                    AddrKind::Public,
                    a.ip_owner_id.clone(),
                );
            }
        }
        if let Some(a) = &self.association {
            push(
                a.public_ip.as_deref().and_then(host),
                AddrKind::Public,
                a.ip_owner_id.clone(),
            );
        }
        for a in &self.ipv6_addresses {
            push(host(&a.ipv6_address), AddrKind::Ipv6, None);
        }
        for p in &self.ipv4_prefixes {
            push(p.ipv4_prefix.parse().ok(), AddrKind::Ipv4Prefix, None);
        }
        for p in &self.ipv6_prefixes {
            push(p.ipv6_prefix.parse().ok(), AddrKind::Ipv6Prefix, None);
        }
        let mut groups: Vec<String> = self.groups.into_iter().map(|g| g.group_id).collect();
        groups.sort();
        groups.dedup();
        let (instance_id, instance_owner_id) = self
            .attachment
            .map(|a| (a.instance_id, a.instance_owner_id))
            .unwrap_or_default();
        Eni {
            id: self.network_interface_id,
            interface_type: self.interface_type,
            description: self.description,
            status: self.status,
            requester_id: self.requester_id,
            requester_managed: self.requester_managed,
            owner_id: self.owner_id,
            vpc_id: self.vpc_id,
            subnet_id: self.subnet_id,
            source_dest_check: self.source_dest_check,
            instance_id,
            instance_owner_id,
            groups,
            tags: tags(self.tag_set),
            addresses,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliGroup {
    group_id: String,
    group_name: Option<String>,
    vpc_id: Option<String>,
    owner_id: Option<String>,
    ip_permissions: Vec<CliPermission>,
    ip_permissions_egress: Vec<CliPermission>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliPermission {
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    ip_ranges: Vec<CliRange4>,
    ipv6_ranges: Vec<CliRange6>,
    prefix_list_ids: Vec<CliPlRef>,
    user_id_group_pairs: Vec<CliPair>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliRange4 {
    cidr_ip: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliRange6 {
    cidr_ipv6: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliPlRef {
    prefix_list_id: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliPair {
    group_id: String,
    user_id: Option<String>,
    vpc_id: Option<String>,
    description: Option<String>,
}

impl CliGroup {
    /// Expands each permission into one rule per peer (§1.2).
    pub(crate) fn into_model(self) -> SecurityGroup {
        let mut rules = Vec::new();
        for (egress, perms) in [
            (false, self.ip_permissions),
            (true, self.ip_permissions_egress),
        ] {
            for p in perms {
                let Some(protocol) = parse_protocol(&p.ip_protocol) else {
                    tracing::warn!(group = %self.group_id, protocol = %p.ip_protocol, "Rule with an unknown protocol skipped.");
                    continue;
                };
                let rule = |peer: Peer, description: Option<String>| SgRule {
                    rule_id: None,
                    egress,
                    protocol,
                    from_port: p.from_port,
                    to_port: p.to_port,
                    peer,
                    description,
                };
                let mut expanded = Vec::new();
                for r in &p.ip_ranges {
                    if let Ok(cidr) = r.cidr_ip.parse() {
                        expanded.push(rule(Peer::Cidr { cidr }, r.description.clone()));
                    }
                }
                for r in &p.ipv6_ranges {
                    if let Ok(cidr) = r.cidr_ipv6.parse() {
                        expanded.push(rule(Peer::Cidr { cidr }, r.description.clone()));
                    }
                }
                for r in &p.prefix_list_ids {
                    expanded.push(rule(
                        Peer::PrefixList {
                            id: r.prefix_list_id.clone(),
                        },
                        r.description.clone(),
                    ));
                }
                for r in &p.user_id_group_pairs {
                    expanded.push(rule(
                        Peer::Group {
                            id: r.group_id.clone(),
                            user_id: r.user_id.clone(),
                            vpc_id: r.vpc_id.clone(),
                        },
                        r.description.clone(),
                    ));
                }
                rules.extend(expanded);
            }
        }
        SecurityGroup {
            id: self.group_id,
            name: self.group_name,
            vpc_id: self.vpc_id,
            owner_id: self.owner_id,
            rules,
        }
    }
}

/// One row of `describe-security-group-rules`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliGroupRule {
    security_group_rule_id: Option<String>,
    pub(crate) group_id: String,
    is_egress: bool,
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    cidr_ipv4: Option<String>,
    cidr_ipv6: Option<String>,
    prefix_list_id: Option<String>,
    referenced_group_info: Option<CliPair>,
    description: Option<String>,
}

impl CliGroupRule {
    /// The rule in model form; `None` when its protocol or peer is unreadable.
    pub(crate) fn into_model(self) -> Option<SgRule> {
        let protocol = parse_protocol(&self.ip_protocol)?;
        let peer = if let Some(c) = self.cidr_ipv4.or(self.cidr_ipv6) {
            Peer::Cidr {
                cidr: c.parse().ok()?,
            }
        } else if let Some(id) = self.prefix_list_id {
            Peer::PrefixList { id }
        } else {
            let g = self.referenced_group_info?;
            Peer::Group {
                id: g.group_id,
                user_id: g.user_id,
                vpc_id: g.vpc_id,
            }
        };
        // This call prints -1 ports for "all"; the other prints none.
        let port = |p: Option<i32>| if protocol == -1 { None } else { p };
        Some(SgRule {
            rule_id: self.security_group_rule_id,
            egress: self.is_egress,
            protocol,
            from_port: port(self.from_port),
            to_port: port(self.to_port),
            peer,
            description: self.description,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliAcl {
    network_acl_id: String,
    vpc_id: Option<String>,
    is_default: bool,
    associations: Vec<CliAclAssoc>,
    entries: Vec<CliAclEntry>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliAclAssoc {
    subnet_id: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliAclEntry {
    rule_number: i32,
    egress: bool,
    rule_action: String,
    protocol: String,
    cidr_block: Option<String>,
    ipv6_cidr_block: Option<String>,
    port_range: Option<CliPortRange>,
    icmp_type_code: Option<CliIcmp>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliPortRange {
    from: Option<i32>,
    to: Option<i32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliIcmp {
    r#type: Option<i32>,
    code: Option<i32>,
}

impl CliAcl {
    pub(crate) fn into_model(self) -> NetworkAcl {
        let mut entries: Vec<AclEntry> = self
            .entries
            .into_iter()
            .filter_map(|e| {
                let cidr = e.cidr_block.or(e.ipv6_cidr_block)?.parse().ok()?;
                Some(AclEntry {
                    rule_number: e.rule_number,
                    egress: e.egress,
                    allow: e.rule_action.eq_ignore_ascii_case("allow"),
                    protocol: parse_protocol_number(&e.protocol)?,
                    cidr,
                    ports: e
                        .port_range
                        .map(|p| (p.from.unwrap_or(0), p.to.unwrap_or(65535))),
                    icmp: e
                        .icmp_type_code
                        .map(|i| (i.r#type.unwrap_or(-1), i.code.unwrap_or(-1))),
                })
            })
            .collect();
        entries.sort_by_key(|e| (e.egress, e.rule_number, e.cidr.addr().is_ipv6()));
        let mut subnets: Vec<String> = self
            .associations
            .into_iter()
            .map(|a| a.subnet_id)
            .filter(|s| !s.is_empty())
            .collect();
        subnets.sort();
        NetworkAcl {
            id: self.network_acl_id,
            vpc_id: self.vpc_id,
            is_default: self.is_default,
            subnets,
            entries,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliSubnet {
    subnet_id: String,
    vpc_id: Option<String>,
    cidr_block: Option<String>,
    ipv6_cidr_block_association_set: Vec<CliIpv6Block>,
    owner_id: Option<String>,
    subnet_arn: Option<String>,
    block_public_access_states: Option<CliBpaStates>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliIpv6Block {
    ipv6_cidr_block: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliBpaStates {
    internet_gateway_block_mode: Option<String>,
}

impl CliSubnet {
    pub(crate) fn into_model(self) -> Subnet {
        let cidrs = self
            .cidr_block
            .iter()
            .map(String::as_str)
            .chain(
                self.ipv6_cidr_block_association_set
                    .iter()
                    .map(|b| b.ipv6_cidr_block.as_str()),
            )
            .filter_map(|c| c.parse().ok())
            .collect();
        Subnet {
            id: self.subnet_id,
            vpc_id: self.vpc_id,
            cidrs,
            owner_id: self.owner_id,
            arn: self.subnet_arn,
            bpa_mode: self
                .block_public_access_states
                .and_then(|b| b.internet_gateway_block_mode),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliRouteTable {
    route_table_id: String,
    vpc_id: Option<String>,
    associations: Vec<CliRtAssoc>,
    routes: Vec<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CliRtAssoc {
    subnet_id: Option<String>,
    main: bool,
}

/// Route fields that name the target, in the order AWS documents them.
const ROUTE_TARGETS: [&str; 10] = [
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "NetworkInterfaceId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
];

impl CliRouteTable {
    pub(crate) fn into_model(self) -> RouteTable {
        let text = |r: &BTreeMap<String, serde_json::Value>, k: &str| {
            r.get(k).and_then(|v| v.as_str()).map(str::to_owned)
        };
        let routes = self
            .routes
            .iter()
            .map(|r| Route {
                cidr: text(r, "DestinationCidrBlock")
                    .or_else(|| text(r, "DestinationIpv6CidrBlock"))
                    .and_then(|c| c.parse().ok()),
                prefix_list: text(r, "DestinationPrefixListId"),
                target: ROUTE_TARGETS
                    .iter()
                    .find_map(|k| text(r, k))
                    .unwrap_or_default(),
                state: text(r, "State").unwrap_or_else(|| "active".to_owned()),
            })
            .collect();
        let mut subnets: Vec<String> = self
            .associations
            .iter()
            .filter_map(|a| a.subnet_id.clone())
            .collect();
        subnets.sort();
        RouteTable {
            id: self.route_table_id,
            vpc_id: self.vpc_id,
            main: self.associations.iter().any(|a| a.main),
            subnets,
            routes,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliPrefixList {
    prefix_list_id: String,
    prefix_list_name: Option<String>,
    #[serde(deserialize_with = "lenient_i64")]
    version: Option<i64>,
    cidrs: Option<Vec<String>>,
}

impl CliPrefixList {
    pub(crate) fn into_model(self) -> PrefixList {
        PrefixList {
            id: self.prefix_list_id,
            name: self.prefix_list_name,
            version: self.version,
            cidrs: self
                .cidrs
                .map(|c| c.iter().filter_map(|c| c.parse().ok()).collect()),
        }
    }
}

/// `get-managed-prefix-list-entries`, optionally wrapped with its list (§1.4).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliPlEntries {
    pub(crate) prefix_list_id: Option<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub(crate) version: Option<i64>,
    pub(crate) entries: Vec<CliPlEntry>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliPlEntry {
    pub(crate) cidr: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliBpaOptions {
    internet_gateway_block_mode: Option<String>,
    exclusions_allowed: Option<String>,
}

impl CliBpaOptions {
    pub(crate) fn into_model(self) -> BpaOptions {
        BpaOptions {
            mode: self
                .internet_gateway_block_mode
                .unwrap_or_else(|| "off".to_owned()),
            exclusions_allowed: self.exclusions_allowed,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CliBpaExclusion {
    exclusion_id: String,
    internet_gateway_exclusion_mode: String,
    resource_arn: String,
    state: String,
}

impl CliBpaExclusion {
    pub(crate) fn into_model(self) -> BpaExclusion {
        BpaExclusion {
            id: self.exclusion_id,
            mode: self.internet_gateway_exclusion_mode,
            resource_arn: self.resource_arn,
            state: self.state,
        }
    }
}
