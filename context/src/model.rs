//! The inventory's objects, normalised from whichever JSON shape carried
//! them (CLI PascalCase, AWS Config camelCase): what the evaluators read.
//! Everything else stays in the raw JSON kept in the lake.
//!
//! Each type is compared as a whole to decide whether an object changed
//! between two snapshots (`timeline.rs`), so it holds content only, never
//! the capture time.

use std::collections::BTreeMap;

use ipnet::IpNet;

/// One network interface as a snapshot saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Eni {
    /// `eni-…`.
    pub id: String,
    /// `InterfaceType` as printed (free text: AWS adds values).
    pub interface_type: Option<String>,
    /// `Description` (free text the user may set).
    pub description: Option<String>,
    /// `Status`.
    pub status: Option<String>,
    /// `RequesterId` (a service alias or role id for managed ENIs).
    pub requester_id: Option<String>,
    /// `RequesterManaged`.
    pub requester_managed: Option<bool>,
    /// `OwnerId`.
    pub owner_id: Option<String>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `SubnetId`.
    pub subnet_id: Option<String>,
    /// `SourceDestCheck`: false marks a forwarder.
    pub source_dest_check: Option<bool>,
    /// `Attachment.InstanceId`.
    pub instance_id: Option<String>,
    /// `Attachment.InstanceOwnerId`.
    pub instance_owner_id: Option<String>,
    /// `Groups[].GroupId`, sorted; empty for NAT/TGW ENIs.
    pub groups: Vec<String>,
    /// `TagSet`.
    pub tags: BTreeMap<String, String>,
    /// Every address and delegated prefix, primary first.
    pub addresses: Vec<EniAddress>,
}

/// One address (or delegated prefix) of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EniAddress {
    /// The address as a /32 or /128, or the delegated prefix.
    pub net: IpNet,
    /// What kind of address it is.
    pub kind: AddrKind,
    /// `Association.IpOwnerId` for a public address (`amazon` or an account).
    pub ip_owner: Option<String>,
}

/// How an address belongs to its interface (`inv_ip.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrKind {
    /// The primary private IPv4 (what `srcaddr`/`dstaddr` show).
    Primary,
    /// A secondary private IPv4.
    Secondary,
    /// An IPv6 address.
    Ipv6,
    /// An `Ipv4Prefixes` delegation (EKS prefix mode).
    Ipv4Prefix,
    /// An `Ipv6Prefixes` delegation.
    Ipv6Prefix,
    /// A public IPv4 associated with a private one.
    Public,
}

impl AddrKind {
    /// The name stored in the lake.
    pub fn as_str(self) -> &'static str {
        match self {
            AddrKind::Primary => "primary",
            AddrKind::Secondary => "secondary",
            AddrKind::Ipv6 => "ipv6",
            AddrKind::Ipv4Prefix => "ipv4_prefix",
            AddrKind::Ipv6Prefix => "ipv6_prefix",
            AddrKind::Public => "public",
        }
    }

    /// Private addresses are what a referenced security group stands for.
    pub fn is_private(self) -> bool {
        !matches!(self, AddrKind::Public)
    }
}

impl Eni {
    /// The primary private IPv4, which flow records print as `srcaddr`/`dstaddr`.
    pub fn primary(&self) -> Option<std::net::IpAddr> {
        self.addresses
            .iter()
            .find(|a| a.kind == AddrKind::Primary)
            .map(|a| a.net.addr())
    }

    /// Whether `ip` is one of this interface's addresses (prefixes by containment).
    pub fn owns(&self, ip: std::net::IpAddr) -> bool {
        self.addresses.iter().any(|a| a.net.contains(&ip))
    }
}

/// A security group and its rules, expanded one peer per rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// `GroupName`.
    pub name: Option<String>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `OwnerId`.
    pub owner_id: Option<String>,
    /// Inbound then outbound, in the file's order.
    pub rules: Vec<SgRule>,
}

/// One security-group rule with one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgRule {
    /// `sgr-…` when `describe-security-group-rules` named it.
    pub rule_id: Option<String>,
    /// Outbound rule.
    pub egress: bool,
    /// `IpProtocol` normalised to a number; -1 = all.
    pub protocol: i32,
    /// `FromPort` (ICMP: type); `None` or -1 = all.
    pub from_port: Option<i32>,
    /// `ToPort` (ICMP: code).
    pub to_port: Option<i32>,
    /// The peer.
    pub peer: Peer,
    /// The peer's `Description`.
    pub description: Option<String>,
}

/// What a security-group rule admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// `IpRanges` / `Ipv6Ranges`.
    Cidr {
        /// The range.
        cidr: IpNet,
    },
    /// `PrefixListIds`: the entries of the list's version in force.
    PrefixList {
        /// `pl-…`.
        id: String,
    },
    /// `UserIdGroupPairs`: the private addresses of the group's members.
    Group {
        /// `sg-…`.
        id: String,
        /// The group's account, when another.
        user_id: Option<String>,
        /// The group's VPC, when peered.
        vpc_id: Option<String>,
    },
}

impl Peer {
    /// The peer as printed in explanations and stored in `inv_sg_rule.peer`.
    pub fn text(&self) -> String {
        match self {
            Peer::Cidr { cidr } => cidr.to_string(),
            Peer::PrefixList { id } | Peer::Group { id, .. } => id.clone(),
        }
    }

    /// `inv_sg_rule.peer_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Peer::Cidr { cidr: IpNet::V4(_) } => "cidr4",
            Peer::Cidr { cidr: IpNet::V6(_) } => "cidr6",
            Peer::PrefixList { .. } => "prefix_list",
            Peer::Group { .. } => "sg",
        }
    }
}

/// A network ACL with its entries and subnet associations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkAcl {
    /// `acl-…`.
    pub id: String,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `IsDefault`.
    pub is_default: bool,
    /// `Associations[].SubnetId`, sorted.
    pub subnets: Vec<String>,
    /// Entries sorted by (egress, rule number).
    pub entries: Vec<AclEntry>,
}

/// One network-ACL entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// `RuleNumber`; 32767 and 32768 are the `*` rules.
    pub rule_number: i32,
    /// `Egress`.
    pub egress: bool,
    /// `RuleAction` = allow.
    pub allow: bool,
    /// `Protocol` as a number; -1 = all.
    pub protocol: i32,
    /// `CidrBlock` or `Ipv6CidrBlock`.
    pub cidr: IpNet,
    /// `PortRange` (From, To); `None` = all.
    pub ports: Option<(i32, i32)>,
    /// `IcmpTypeCode` (Type, Code); -1 = all.
    pub icmp: Option<(i32, i32)>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `CidrBlock` and the associated IPv6 blocks.
    pub cidrs: Vec<IpNet>,
    /// `OwnerId`.
    pub owner_id: Option<String>,
    /// `SubnetArn`.
    pub arn: Option<String>,
    /// `BlockPublicAccessStates.InternetGatewayBlockMode`.
    pub bpa_mode: Option<String>,
}

/// A route table with its routes and associations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTable {
    /// `rtb-…`.
    pub id: String,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// Some association has `Main: true`.
    pub main: bool,
    /// Explicitly associated subnets, sorted.
    pub subnets: Vec<String>,
    /// The routes.
    pub routes: Vec<Route>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination CIDR, or `None` with a prefix list.
    pub cidr: Option<IpNet>,
    /// `DestinationPrefixListId`.
    pub prefix_list: Option<String>,
    /// The target id (`local`, `igw-…`, `nat-…`, …).
    pub target: String,
    /// `State`: active or blackhole.
    pub state: String,
}

/// A prefix list's header as a snapshot saw it (its version then).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrefixList {
    /// `pl-…`.
    pub id: String,
    /// `PrefixListName`.
    pub name: Option<String>,
    /// `Version` (managed lists).
    pub version: Option<i64>,
    /// `Cidrs` (AWS service lists, `describe-prefix-lists`): no versions.
    pub cidrs: Option<Vec<IpNet>>,
}

/// Block Public Access options of one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BpaOptions {
    /// `InternetGatewayBlockMode`: off, block-bidirectional, block-ingress.
    pub mode: String,
    /// `ExclusionsAllowed`.
    pub exclusions_allowed: Option<String>,
}

/// One Block Public Access exclusion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BpaExclusion {
    /// `ExclusionId`.
    pub id: String,
    /// `InternetGatewayExclusionMode`: allow-bidirectional or allow-egress.
    pub mode: String,
    /// `ResourceArn` of the excluded VPC or subnet.
    pub resource_arn: String,
    /// `State`.
    pub state: String,
}

impl BpaExclusion {
    /// Whether the exclusion is in force (§1.2: in-progress counts, flagged).
    pub fn in_effect(&self) -> bool {
        !matches!(
            self.state.as_str(),
            "create-failed" | "delete-complete" | "disable-complete"
        )
    }
}
