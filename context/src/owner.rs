//! Whose interface it is (§3.1): anchored rules over the description and
//! the interface type, first match wins. Descriptions are free text a user
//! can set, so every pattern is anchored at both ends and the rules that
//! carry no AWS id shape apply only to service-created interfaces.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::model::Eni;

/// The version of the rule table below, stored beside each answer.
pub const RULE_SET_VERSION: &str = "owner-rules-1";

/// The owner of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// `ec2_instance`, `nat_gateway`, `alb`, `lambda`, … or `unknown`.
    pub kind: String,
    /// The owning resource's id, when the evidence names it.
    pub id: Option<String>,
    /// Display name: Name tag > parsed description > id.
    pub name: Option<String>,
    /// The ARN, when it can be built (load balancers).
    pub arn: Option<String>,
    /// Which rule classified it (`3`, `7`, …), for answers to cite.
    pub rule: String,
    /// The host of an awsvpc ECS task on EC2.
    pub host_instance_id: Option<String>,
    /// Caveats (`shared` for Lambda Hyperplane ENIs, `fargate`).
    pub flags: Vec<String>,
}

impl Owner {
    /// `EC2 i-0web "web-1"`, for headers.
    pub fn label(&self) -> String {
        let kind = match self.kind.as_str() {
            "ec2_instance" => "EC2".to_owned(),
            other => other.to_owned(),
        };
        let mut out = kind;
        if let Some(id) = &self.id {
            out.push(' ');
            out.push_str(id);
        }
        if let Some(name) = self.name.as_ref().filter(|n| Some(*n) != self.id.as_ref()) {
            out.push_str(&format!(" \"{name}\""));
        }
        out
    }
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, tested below.
    #[allow(clippy::unwrap_used)]
    Regex::new(pattern).unwrap()
}

static ECS: LazyLock<Regex> =
    LazyLock::new(|| re(r"^arn:aws[a-z-]*:ecs:[^:]+:\d{12}:attachment/([0-9a-f-]+)$"));
static EKS_NODE: LazyLock<Regex> = LazyLock::new(|| re(r"^aws-K8S-(i-[0-9a-f]+)$"));
static EKS_BRANCH: LazyLock<Regex> = LazyLock::new(|| re(r"^aws-k8s-branch-eni.*$"));
static NAT: LazyLock<Regex> = LazyLock::new(|| re(r"^Interface for NAT Gateway (nat-[0-9a-f]+)$"));
static ELB_V2: LazyLock<Regex> =
    LazyLock::new(|| re(r"^ELB (app|net|gwy)/([A-Za-z0-9-]{1,32})/([0-9a-f]+)$"));
static ELB_CLASSIC: LazyLock<Regex> = LazyLock::new(|| re(r"^ELB ([A-Za-z0-9-]{1,32})$"));
static LAMBDA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^AWS Lambda VPC ENI-(.+?)(-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$",
    )
});
static ENDPOINT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^VPC Endpoint Interface:? (vpce-[0-9a-f]+)$"));
static TGW: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Network Interface for Transit Gateway Attachment (tgw-attach-[0-9a-f]+)$")
});
static EFS: LazyLock<Regex> =
    LazyLock::new(|| re(r"^EFS mount target for (fs-[0-9a-f]+) \((fsmt-[0-9a-f]+)\)$"));
static DB_PROXY: LazyLock<Regex> = LazyLock::new(|| re(r"^Network interface for DBProxy.*$"));
static EKS_CP: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Amazon EKS ([A-Za-z0-9][A-Za-z0-9_-]{0,99})$"));
static RGW: LazyLock<Regex> = LazyLock::new(|| re(r"^Resource Gateway Interface (rgw-[0-9a-f]+)$"));
static RESOURCE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z]+(-[a-z]+)*-[0-9a-f]{8,17}$"));

/// Rule 13's exact descriptions and prefixes (gated), with their kinds.
const SERVICE_EXACT: [(&str, &str); 3] = [
    ("ENI managed by APIGateway", "apigw"),
    ("DMSNetworkInterface", "dms"),
    ("RedshiftNetworkInterface", "redshift"),
];
const SERVICE_PREFIX: [(&str, &str); 7] = [
    ("AWS CodeStar Connections", "codestar"),
    ("DAX", "dax"),
    ("AWS created network interface for directory", "directory"),
    ("ElastiCache", "elasticache"),
    ("AWS ElasticMapReduce", "emr"),
    ("CloudHSM Managed Interface", "cloudhsm"),
    ("CloudHsm ENI", "cloudhsm"),
];
/// Rule 14: interface types that name their service alone.
const TYPE_ONLY: [&str; 12] = [
    "quicksight",
    "global_accelerator_managed",
    "iot_rules_managed",
    "aws_codestar_connections_managed",
    "ec2_instance_connect_endpoint",
    "efs",
    "evs",
    "api_gateway_managed",
    "load_balancer",
    "network_load_balancer",
    "gateway_load_balancer",
    "gateway_load_balancer_endpoint",
];

/// Created by a service rather than a user (§3.1): `RequesterManaged`
/// alone is not enough (EKS control-plane ENIs say false).
pub fn service_created(eni: &Eni) -> bool {
    eni.requester_managed == Some(true)
        || eni.requester_id.is_some()
        || eni
            .interface_type
            .as_deref()
            .is_some_and(|t| t != "interface")
        || eni
            .instance_owner_id
            .as_deref()
            .is_some_and(|o| Some(o) != eni.owner_id.as_deref())
}

/// Classifies an interface by the rules of §3.1.
pub fn classify(eni: &Eni) -> Owner {
    let mut owner = match_rules(eni);
    let tag = eni
        .tags
        .get("Name")
        .filter(|n| !n.is_empty() && !RESOURCE_ID.is_match(n));
    if let Some(tag) = tag {
        owner.name = Some(tag.clone());
    } else if owner.name.is_none() {
        owner.name = owner.id.clone();
    }
    owner
}

fn owner(kind: &str, id: Option<String>, rule: &str) -> Owner {
    Owner {
        kind: kind.to_owned(),
        id,
        name: None,
        arn: None,
        rule: rule.to_owned(),
        host_instance_id: None,
        flags: Vec::new(),
    }
}

fn group(c: &regex::Captures<'_>, i: usize) -> Option<String> {
    c.get(i).map(|m| m.as_str().to_owned())
}

fn match_rules(eni: &Eni) -> Owner {
    let d = eni.description.as_deref().unwrap_or("");
    let t = eni.interface_type.as_deref().unwrap_or("");
    let gated = service_created(eni);
    if let Some(c) = ECS.captures(d) {
        let mut o = owner("ecs_task", group(&c, 1), "1");
        match &eni.instance_id {
            Some(host) => o.host_instance_id = Some(host.clone()),
            None => o.flags.push("fargate".to_owned()),
        }
        return o;
    }
    if let Some(c) = EKS_NODE.captures(d) {
        return owner("eks_node", group(&c, 1), "2");
    }
    if gated && EKS_BRANCH.is_match(d) {
        return owner("eks_pod_branch", None, "2b");
    }
    if let Some(instance) = &eni.instance_id {
        return owner("ec2_instance", Some(instance.clone()), "3");
    }
    if t == "natGateway" || t == "nat_gateway" || NAT.is_match(d) {
        return owner(
            "nat_gateway",
            NAT.captures(d).and_then(|c| group(&c, 1)),
            "4",
        );
    }
    if let Some(c) = ELB_V2.captures(d) {
        let kind = match c.get(1).map(|m| m.as_str()) {
            Some("app") => "alb",
            Some("net") => "nlb",
            _ => "gwlb",
        };
        let mut o = owner(kind, group(&c, 2), "5");
        o.name = group(&c, 2);
        o.arn = Some(format!(
            "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/{}/{}/{}",
            "{region}",
            eni.owner_id.as_deref().unwrap_or(""),
            &c[1],
            &c[2],
            &c[3]
        ));
        return o;
    }
    if gated && let Some(c) = ELB_CLASSIC.captures(d) {
        return owner("classic_elb", group(&c, 1), "6");
    }
    let lambda = (gated || t == "lambda")
        .then(|| LAMBDA.captures(d))
        .flatten();
    if t == "lambda" || lambda.is_some() {
        let mut o = owner("lambda", None, "7");
        if let Some(function) = lambda.as_ref().and_then(|c| group(c, 1)) {
            o.name = Some(format!("Lambda (e.g. {function})"));
            o.id = Some(function);
        }
        o.flags.push("shared".to_owned());
        return o;
    }
    if let Some(c) = ENDPOINT.captures(d) {
        return owner("vpc_endpoint", group(&c, 1), "8");
    }
    if t == "transit_gateway" || TGW.is_match(d) {
        return owner(
            "tgw_attachment",
            TGW.captures(d).and_then(|c| group(&c, 1)),
            "9",
        );
    }
    if let Some(c) = EFS.captures(d) {
        let mut o = owner("efs", group(&c, 1), "10");
        o.flags.push(format!("mount_target {}", &c[2]));
        return o;
    }
    if d == "RDSNetworkInterface" || (gated && DB_PROXY.is_match(d)) {
        return owner("rds", None, "11");
    }
    if gated && let Some(c) = EKS_CP.captures(d) {
        return owner("eks_control_plane", group(&c, 1), "12");
    }
    if gated {
        if let Some((_, kind)) = SERVICE_EXACT.iter().find(|(s, _)| *s == d) {
            return owner(kind, None, "13");
        }
        if let Some((_, kind)) = SERVICE_PREFIX.iter().find(|(p, _)| d.starts_with(p)) {
            return owner(kind, None, "13");
        }
        if let Some(c) = RGW.captures(d) {
            return owner("resource_gateway", group(&c, 1), "13");
        }
    }
    if TYPE_ONLY.contains(&t) {
        return owner(t, None, "14");
    }
    let mut o = owner("unknown", None, "15");
    o.name = eni.requester_id.clone();
    o
}

/// Fills in the region of an ARN built without it (the interface does
/// not carry its region; the snapshot does).
pub fn with_region(mut owner: Owner, region: &str) -> Owner {
    if let Some(arn) = &owner.arn {
        owner.arn = Some(arn.replace("{region}", region));
    }
    owner
}

/// Whether an address is public (not private, shared, loopback or
/// link-local): such an address outside the inventory is `external`.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            let shared = a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64;
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || shared
                || a.is_unspecified())
        }
        std::net::IpAddr::V6(a) => {
            let unique_local = (a.segments()[0] & 0xfe00) == 0xfc00;
            let link_local = (a.segments()[0] & 0xffc0) == 0xfe80;
            !(unique_local || link_local || a.is_loopback() || a.is_unspecified())
        }
    }
}

#[cfg(test)]
mod tests;
