//! The classification golden table of §3.5 (C1–C18) and its decoys (D1–D6).

use super::*;

const OWNER: &str = "111122223333";

fn eni(description: &str) -> Eni {
    Eni {
        id: "eni-x".to_owned(),
        description: Some(description.to_owned()),
        owner_id: Some(OWNER.to_owned()),
        ..Eni::default()
    }
}

fn managed(mut e: Eni, requester: &str) -> Eni {
    e.requester_managed = Some(true);
    e.requester_id = Some(requester.to_owned());
    e
}

fn typed(mut e: Eni, t: &str) -> Eni {
    e.interface_type = Some(t.to_owned());
    e
}

fn named(mut e: Eni, name: &str) -> Eni {
    e.tags.insert("Name".to_owned(), name.to_owned());
    e
}

fn attached(mut e: Eni, instance: &str) -> Eni {
    e.instance_id = Some(instance.to_owned());
    e.instance_owner_id = Some(OWNER.to_owned());
    e
}

fn check(case: &str, e: Eni, kind: &str, id: Option<&str>, name: Option<&str>) -> Owner {
    let o = with_region(classify(&e), "eu-west-1");
    assert_eq!(o.kind, kind, "{case}: {o:?}");
    assert_eq!(o.id.as_deref(), id, "{case}: {o:?}");
    if let Some(name) = name {
        assert_eq!(o.name.as_deref(), Some(name), "{case}: {o:?}");
    }
    o
}

const ECS_ARN: &str =
    "arn:aws:ecs:eu-west-1:111122223333:attachment/7e1c2a43-9a3b-4f3e-8d8e-2b6a1f0c5d9e";
const ECS_ID: &str = "7e1c2a43-9a3b-4f3e-8d8e-2b6a1f0c5d9e";

#[test]
fn golden_table_c1_to_c18() {
    let c1 = check("C1", eni(ECS_ARN), "ecs_task", Some(ECS_ID), None);
    assert!(c1.flags.contains(&"fargate".to_owned()));
    let c2 = check(
        "C2",
        attached(eni(ECS_ARN), "i-0host"),
        "ecs_task",
        Some(ECS_ID),
        None,
    );
    assert_eq!(c2.host_instance_id.as_deref(), Some("i-0host"));
    check(
        "C3",
        attached(eni("aws-K8S-i-0123456789abcdef0"), "i-0123456789abcdef0"),
        "eks_node",
        Some("i-0123456789abcdef0"),
        None,
    );
    check(
        "C4",
        named(
            attached(eni("Primary network interface"), "i-0web"),
            "web-1",
        ),
        "ec2_instance",
        Some("i-0web"),
        Some("web-1"),
    );
    let nat = "Interface for NAT Gateway nat-0e1fba3d48050974f";
    check(
        "C5",
        typed(eni(nat), "nat_gateway"),
        "nat_gateway",
        Some("nat-0e1fba3d48050974f"),
        None,
    );
    check(
        "C6",
        named(typed(eni(nat), "natGateway"), "prod-nat-eni-1a"),
        "nat_gateway",
        Some("nat-0e1fba3d48050974f"),
        Some("prod-nat-eni-1a"),
    );
    let c7 = check(
        "C7",
        managed(
            eni("ELB app/my-load-balancer/50dc6c495c0c9188"),
            "amazon-elb",
        ),
        "alb",
        Some("my-load-balancer"),
        None,
    );
    assert_eq!(
        c7.arn.as_deref(),
        Some(
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/my-load-balancer/50dc6c495c0c9188"
        )
    );
    check(
        "C8",
        typed(
            eni("ELB net/my-nlb/0123456789abcdef"),
            "network_load_balancer",
        ),
        "nlb",
        Some("my-nlb"),
        None,
    );
    check(
        "C9",
        managed(eni("ELB my-classic-lb"), "amazon-elb"),
        "classic_elb",
        Some("my-classic-lb"),
        None,
    );
    let c10 = check(
        "C10",
        typed(
            eni("AWS Lambda VPC ENI-orders-api-ffc2815b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
            "lambda",
        ),
        "lambda",
        Some("orders-api"),
        Some("Lambda (e.g. orders-api)"),
    );
    assert!(c10.flags.contains(&"shared".to_owned()));
    let mut c11 = eni("AWS Lambda VPC ENI-sf_metrics-lambda-uat");
    c11.requester_managed = Some(true);
    check(
        "C11",
        c11,
        "lambda",
        Some("sf_metrics-lambda-uat"),
        Some("Lambda (e.g. sf_metrics-lambda-uat)"),
    );
    check(
        "C12",
        typed(
            eni("VPC Endpoint Interface: vpce-0f00567fa8477a1e6"),
            "interface",
        ),
        "vpc_endpoint",
        Some("vpce-0f00567fa8477a1e6"),
        None,
    );
    check(
        "C13",
        typed(
            eni("VPC Endpoint Interface vpce-0f00567fa8477a1e6"),
            "vpc_endpoint",
        ),
        "vpc_endpoint",
        Some("vpce-0f00567fa8477a1e6"),
        None,
    );
    check(
        "C14",
        typed(
            eni("Network Interface for Transit Gateway Attachment tgw-attach-06bf47fa39e5d1578"),
            "transit_gateway",
        ),
        "tgw_attachment",
        Some("tgw-attach-06bf47fa39e5d1578"),
        None,
    );
    let c15 = check(
        "C15",
        eni("EFS mount target for fs-0dcdbf56073416b82 (fsmt-0852ce334db888836)"),
        "efs",
        Some("fs-0dcdbf56073416b82"),
        None,
    );
    assert!(
        c15.flags
            .contains(&"mount_target fsmt-0852ce334db888836".to_owned())
    );
    check(
        "C16",
        managed(eni("RDSNetworkInterface"), "amazon-rds"),
        "rds",
        None,
        None,
    );
    let mut c17 = eni("Amazon EKS net410-eks-cluster");
    c17.requester_managed = Some(false);
    c17.requester_id = Some("AROAIORXPPLFOF7XU4KUQ:AmazonEKS".to_owned());
    c17.instance_owner_id = Some("298800981437".to_owned());
    c17.interface_type = Some("interface".to_owned());
    check(
        "C17",
        c17,
        "eks_control_plane",
        Some("net410-eks-cluster"),
        None,
    );
    check(
        "C18",
        typed(eni(""), "quicksight"),
        "quicksight",
        None,
        None,
    );
}

#[test]
fn decoys_d1_to_d6_stay_unknown() {
    check(
        "D1",
        named(eni("Amazon EKS notes"), "scratch"),
        "unknown",
        None,
        Some("scratch"),
    );
    check("D2", eni("ELB my notes"), "unknown", None, None);
    check(
        "D3",
        typed(
            eni("Interface for NAT Gateway nat-0e1fba3d48050974f (old)"),
            "interface",
        ),
        "unknown",
        None,
        None,
    );
    check(
        "D4",
        eni("ELB app/my-load-balancer/50dc6c495c0c9188 copy"),
        "unknown",
        None,
        None,
    );
    check("D5", eni(&format!("see {ECS_ARN}")), "unknown", None, None);
    check(
        "D6",
        eni("RDSNetworkInterface for testing"),
        "unknown",
        None,
        None,
    );
}

#[test]
fn a_name_tag_that_looks_like_an_id_is_not_a_name() {
    let o = classify(&named(attached(eni(""), "i-0abc"), "i-0123456789abcdef0"));
    assert_eq!(o.name.as_deref(), Some("i-0abc"));
}

#[test]
fn public_and_private_addresses() {
    assert!(is_public("203.0.113.9".parse().unwrap()));
    assert!(!is_public("10.0.1.10".parse().unwrap()));
    assert!(!is_public("100.64.0.1".parse().unwrap()));
    assert!(is_public("2001:db8::1".parse().unwrap()));
    assert!(!is_public("fd00::1".parse().unwrap()));
}
