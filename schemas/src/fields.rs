//! THE table of flow-record fields: every field AWS defines for VPC flow logs
//! (versions 2 to 11) and Transit Gateway flow logs, with the lake column it
//! lands in and how its text is parsed.
//!
//! Everything else in flowlake (the format parser, the line parser, the lake's
//! Arrow schema, the Athena DDL, the README's schema table) is derived from
//! [`FIELDS`], so a field is added in exactly one place.
//!
//! # Adding a field
//! 1. Append a row to [`FIELDS`] (never reorder: [`FieldId`]s are indexes, and
//!    the lake's column order follows this table).
//! 2. Pick its [`ValueKind`]: numbers AWS documents as `INT_32`/`INT_64` in
//!    Parquet are `Int32`/`Int64`; everything else is text.
//! 3. Run `cargo test -p flowlake-schemas`: the tests check names are unique
//!    and the lake column is the AWS name with `-` replaced by `_`.
//!
//! Sources: `shared/spec/formats.md` §1.2 (VPC) and §2 (Transit Gateway).

use arrow::datatypes::DataType;

/// How a field's text is checked and stored. `-` is null for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text, stored as is (ids, names, ARNs, enumerations AWS may extend).
    Text,
    /// An IPv4 or IPv6 address; rejected when it is neither.
    Addr,
    /// A signed 32-bit integer (ports, protocol, flags, codes).
    Int32,
    /// A signed 64-bit integer (packets, bytes, times, loss counters).
    Int64,
    /// `ACCEPT` or `REJECT`; anything else is rejected.
    Action,
    /// `OK`, `NODATA` or `SKIPDATA`; anything else is rejected.
    LogStatus,
}

impl ValueKind {
    /// The Arrow type the lake stores this kind as.
    pub fn data_type(self) -> DataType {
        match self {
            ValueKind::Int32 => DataType::Int32,
            ValueKind::Int64 => DataType::Int64,
            ValueKind::Text | ValueKind::Addr | ValueKind::Action | ValueKind::LogStatus => {
                DataType::Utf8
            }
        }
    }
}

/// Which kind of flow log defines a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Only VPC (network interface, subnet, VPC, regional NAT gateway) flow logs.
    Vpc,
    /// Only Transit Gateway flow logs.
    Tgw,
    /// Both.
    Both,
}

/// One flow-record field as AWS defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name AWS writes in headers and `${…}` log formats, e.g. `pkt-srcaddr`.
    pub name: &'static str,
    /// The lake column, as AWS names it in Parquet delivery, e.g. `pkt_srcaddr`.
    pub column: &'static str,
    /// How the text is parsed and which Arrow type it becomes.
    pub kind: ValueKind,
    /// The flow-log version that introduced the field.
    pub version: u8,
    /// VPC, Transit Gateway or both.
    pub family: Family,
    /// One line for the README's schema table and the DDL comments.
    pub doc: &'static str,
}

/// Index of a field in [`FIELDS`]; cheap to copy and compare on the hot path.
pub type FieldId = u8;

const fn f(
    name: &'static str,
    column: &'static str,
    kind: ValueKind,
    version: u8,
    family: Family,
    doc: &'static str,
) -> Field {
    Field {
        name,
        column,
        kind,
        version,
        family,
        doc,
    }
}

use Family::{Both, Tgw, Vpc};
use ValueKind::{Action, Addr, Int32, Int64, LogStatus, Text};

/// Every field, VPC v2–v11 in AWS table order, then the Transit Gateway-only fields.
pub const FIELDS: &[Field] = &[
    f(
        "version",
        "version",
        Int32,
        2,
        Both,
        "highest version among the format's fields (says nothing about order)",
    ),
    f(
        "account-id",
        "account_id",
        Text,
        2,
        Both,
        "AWS account owning the interface (or transit gateway); may be `unknown`",
    ),
    f(
        "interface-id",
        "interface_id",
        Text,
        2,
        Vpc,
        "network interface (ENI) the traffic was recorded on",
    ),
    f(
        "srcaddr",
        "srcaddr",
        Addr,
        2,
        Both,
        "source address (the interface's primary address for some traffic; see pkt_srcaddr)",
    ),
    f("dstaddr", "dstaddr", Addr, 2, Both, "destination address"),
    f(
        "srcport",
        "srcport",
        Int32,
        2,
        Both,
        "source port (0 for ICMP)",
    ),
    f(
        "dstport",
        "dstport",
        Int32,
        2,
        Both,
        "destination port (0 for ICMP)",
    ),
    f(
        "protocol",
        "protocol",
        Int32,
        2,
        Both,
        "IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)",
    ),
    f(
        "packets",
        "packets",
        Int64,
        2,
        Both,
        "packets in the aggregation window",
    ),
    f(
        "bytes",
        "bytes",
        Int64,
        2,
        Both,
        "bytes in the aggregation window",
    ),
    f(
        "start",
        "start",
        Int64,
        2,
        Both,
        "Unix seconds of the window's first packet",
    ),
    f(
        "end",
        "end",
        Int64,
        2,
        Both,
        "Unix seconds of the window's last packet",
    ),
    f(
        "action",
        "action",
        Action,
        2,
        Vpc,
        "ACCEPT or REJECT (security group or network ACL); null on NODATA/SKIPDATA",
    ),
    f(
        "log-status",
        "log_status",
        LogStatus,
        2,
        Both,
        "OK, NODATA (no traffic) or SKIPDATA (records skipped)",
    ),
    f("vpc-id", "vpc_id", Text, 3, Vpc, "VPC of the interface"),
    f(
        "subnet-id",
        "subnet_id",
        Text,
        3,
        Vpc,
        "subnet of the interface",
    ),
    f(
        "instance-id",
        "instance_id",
        Text,
        3,
        Vpc,
        "instance owning the interface, if it is yours",
    ),
    f(
        "tcp-flags",
        "tcp_flags",
        Int32,
        3,
        Both,
        "OR of TCP flags in the window: 1 FIN, 2 SYN, 4 RST, 18 SYN-ACK",
    ),
    f("type", "type", Text, 3, Both, "IPv4, IPv6 or EFA"),
    f(
        "pkt-srcaddr",
        "pkt_srcaddr",
        Addr,
        3,
        Vpc,
        "packet-level (original) source address",
    ),
    f(
        "pkt-dstaddr",
        "pkt_dstaddr",
        Addr,
        3,
        Vpc,
        "packet-level (original) destination address",
    ),
    f("region", "region", Text, 4, Both, "Region of the interface"),
    f(
        "az-id",
        "az_id",
        Text,
        4,
        Vpc,
        "Availability Zone id of the interface",
    ),
    f(
        "sublocation-type",
        "sublocation_type",
        Text,
        4,
        Vpc,
        "wavelength, outpost or localzone",
    ),
    f(
        "sublocation-id",
        "sublocation_id",
        Text,
        4,
        Vpc,
        "id of that sublocation",
    ),
    f(
        "pkt-src-aws-service",
        "pkt_src_aws_service",
        Text,
        5,
        Both,
        "AWS service (ip-ranges name) of pkt_srcaddr",
    ),
    f(
        "pkt-dst-aws-service",
        "pkt_dst_aws_service",
        Text,
        5,
        Both,
        "AWS service (ip-ranges name) of pkt_dstaddr",
    ),
    f(
        "flow-direction",
        "flow_direction",
        Text,
        5,
        Both,
        "ingress or egress, relative to the interface",
    ),
    f(
        "traffic-path",
        "traffic_path",
        Int32,
        5,
        Vpc,
        "egress path code 1-8 (2 internet gateway, 4 peering, ...)",
    ),
    f(
        "ecs-cluster-arn",
        "ecs_cluster_arn",
        Text,
        7,
        Vpc,
        "ECS cluster ARN of the task",
    ),
    f(
        "ecs-cluster-name",
        "ecs_cluster_name",
        Text,
        7,
        Vpc,
        "ECS cluster name",
    ),
    f(
        "ecs-container-instance-arn",
        "ecs_container_instance_arn",
        Text,
        7,
        Vpc,
        "ECS container instance ARN (EC2 capacity)",
    ),
    f(
        "ecs-container-instance-id",
        "ecs_container_instance_id",
        Text,
        7,
        Vpc,
        "ECS container instance id",
    ),
    f(
        "ecs-container-id",
        "ecs_container_id",
        Text,
        7,
        Vpc,
        "runtime id of the task's first container",
    ),
    f(
        "ecs-second-container-id",
        "ecs_second_container_id",
        Text,
        7,
        Vpc,
        "runtime id of the task's second container",
    ),
    f(
        "ecs-service-name",
        "ecs_service_name",
        Text,
        7,
        Vpc,
        "ECS service that started the task",
    ),
    f(
        "ecs-task-definition-arn",
        "ecs_task_definition_arn",
        Text,
        7,
        Vpc,
        "ECS task definition ARN",
    ),
    f("ecs-task-arn", "ecs_task_arn", Text, 7, Vpc, "ECS task ARN"),
    f("ecs-task-id", "ecs_task_id", Text, 7, Vpc, "ECS task id"),
    f(
        "reject-reason",
        "reject_reason",
        Text,
        8,
        Vpc,
        "why traffic was rejected, e.g. BPA (VPC Block Public Access)",
    ),
    f(
        "resource-id",
        "resource_id",
        Text,
        9,
        Vpc,
        "resource the record is for, e.g. a regional NAT gateway",
    ),
    f(
        "encryption-status",
        "encryption_status",
        Int32,
        10,
        Vpc,
        "0 clear, 1 Nitro-encrypted, 2 application-encrypted, 3 both",
    ),
    f(
        "instance-tag",
        "instance_tag",
        Text,
        11,
        Vpc,
        "value of the first configured instance tag",
    ),
    f(
        "instance-tag-2",
        "instance_tag_2",
        Text,
        11,
        Vpc,
        "value of the second configured instance tag",
    ),
    f(
        "interface-tag",
        "interface_tag",
        Text,
        11,
        Vpc,
        "value of the first configured interface tag",
    ),
    f(
        "interface-tag-2",
        "interface_tag_2",
        Text,
        11,
        Vpc,
        "value of the second configured interface tag",
    ),
    f(
        "asg-tag",
        "asg_tag",
        Text,
        11,
        Vpc,
        "value of the first configured Auto Scaling group tag",
    ),
    f(
        "asg-tag-2",
        "asg_tag_2",
        Text,
        11,
        Vpc,
        "value of the second configured Auto Scaling group tag",
    ),
    f(
        "interface-type",
        "interface_type",
        Text,
        11,
        Vpc,
        "type of the recording interface, e.g. nat_gateway",
    ),
    f(
        "next-hop-interface-id",
        "next_hop_interface_id",
        Text,
        11,
        Vpc,
        "interface of the next hop",
    ),
    f(
        "next-hop-subnet-id",
        "next_hop_subnet_id",
        Text,
        11,
        Vpc,
        "subnet of the next hop",
    ),
    f(
        "next-hop-az-id",
        "next_hop_az_id",
        Text,
        11,
        Vpc,
        "Availability Zone id of the next hop",
    ),
    f(
        "next-hop-vpc-id",
        "next_hop_vpc_id",
        Text,
        11,
        Vpc,
        "VPC of the next hop",
    ),
    f(
        "next-hop-interface-type",
        "next_hop_interface_type",
        Text,
        11,
        Vpc,
        "type of the next hop, e.g. regional_nat_gateway",
    ),
    f(
        "resource-type",
        "resource_type",
        Text,
        6,
        Tgw,
        "TransitGateway or TransitGatewayAttachment",
    ),
    f("tgw-id", "tgw_id", Text, 6, Tgw, "transit gateway"),
    f(
        "tgw-attachment-id",
        "tgw_attachment_id",
        Text,
        6,
        Tgw,
        "transit gateway attachment",
    ),
    f(
        "tgw-src-vpc-account-id",
        "tgw_src_vpc_account_id",
        Text,
        6,
        Tgw,
        "account of the source VPC",
    ),
    f(
        "tgw-dst-vpc-account-id",
        "tgw_dst_vpc_account_id",
        Text,
        6,
        Tgw,
        "account of the destination VPC",
    ),
    f(
        "tgw-src-vpc-id",
        "tgw_src_vpc_id",
        Text,
        6,
        Tgw,
        "source VPC",
    ),
    f(
        "tgw-dst-vpc-id",
        "tgw_dst_vpc_id",
        Text,
        6,
        Tgw,
        "destination VPC",
    ),
    f(
        "tgw-src-subnet-id",
        "tgw_src_subnet_id",
        Text,
        6,
        Tgw,
        "source subnet",
    ),
    f(
        "tgw-dst-subnet-id",
        "tgw_dst_subnet_id",
        Text,
        6,
        Tgw,
        "destination subnet",
    ),
    f(
        "tgw-src-eni",
        "tgw_src_eni",
        Text,
        6,
        Tgw,
        "source attachment interface",
    ),
    f(
        "tgw-dst-eni",
        "tgw_dst_eni",
        Text,
        6,
        Tgw,
        "destination attachment interface",
    ),
    f(
        "tgw-src-az-id",
        "tgw_src_az_id",
        Text,
        6,
        Tgw,
        "source Availability Zone id",
    ),
    f(
        "tgw-dst-az-id",
        "tgw_dst_az_id",
        Text,
        6,
        Tgw,
        "destination Availability Zone id",
    ),
    f(
        "tgw-pair-attachment-id",
        "tgw_pair_attachment_id",
        Text,
        6,
        Tgw,
        "the flow's other (ingress or egress) attachment",
    ),
    f(
        "packets-lost-no-route",
        "packets_lost_no_route",
        Int64,
        6,
        Tgw,
        "packets dropped: no route",
    ),
    f(
        "packets-lost-blackhole",
        "packets_lost_blackhole",
        Int64,
        6,
        Tgw,
        "packets dropped: blackhole route",
    ),
    f(
        "packets-lost-mtu-exceeded",
        "packets_lost_mtu_exceeded",
        Int64,
        6,
        Tgw,
        "packets dropped: MTU exceeded",
    ),
    f(
        "packets-lost-ttl-expired",
        "packets_lost_ttl_expired",
        Int64,
        6,
        Tgw,
        "packets dropped: TTL expired",
    ),
];

/// The field with this AWS name (`pkt-srcaddr`) or lake column name (`pkt_srcaddr`).
pub fn field_id(name: &str) -> Option<FieldId> {
    FIELDS
        .iter()
        .position(|f| f.name == name || f.column == name)
        .and_then(|i| FieldId::try_from(i).ok())
}

/// The field behind an id returned by [`field_id`].
pub fn field(id: FieldId) -> &'static Field {
    &FIELDS[usize::from(id)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_columns_follow_the_aws_rule() {
        let mut names = HashSet::new();
        for field in FIELDS {
            assert!(names.insert(field.name), "duplicate {}", field.name);
            assert_eq!(field.column, field.name.replace('-', "_"), "{}", field.name);
        }
        assert!(FIELDS.len() < usize::from(FieldId::MAX));
    }

    #[test]
    fn cumulative_vpc_counts_match_aws() {
        // "All fields" counts third-party parsers key on (spec §1.2).
        let vpc = |v: u8| {
            FIELDS
                .iter()
                .filter(|f| f.family != Family::Tgw && f.version <= v)
                .count()
        };
        assert_eq!(
            [vpc(2), vpc(3), vpc(4), vpc(5), vpc(7), vpc(8), vpc(11)],
            [14, 21, 25, 29, 39, 40, 54]
        );
        let tgw = FIELDS.iter().filter(|f| f.family != Family::Vpc).count();
        assert_eq!(tgw, 36, "Transit Gateway default format has 36 fields");
    }

    #[test]
    fn lookup_by_either_spelling() {
        assert_eq!(field_id("pkt-srcaddr"), field_id("pkt_srcaddr"));
        assert_eq!(field(field_id("log-status").unwrap()).column, "log_status");
        assert_eq!(field_id("nope"), None);
    }
}
