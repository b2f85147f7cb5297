//! Counting a conversation once (spec/network-context.md §4.6, E1–E4 and
//! E6): `flows_once` classes and counted sums through the binary, without
//! inventory, against the spec's expected values, and the invariants of
//! §4.7 (counted ≤ naive; adding another interface's records of the same
//! packets never changes the counted sum).

use std::path::PathBuf;

use serde_json::Value;

use crate::context_harness::fixture;
use crate::harness::*;

/// A lake of one example's records; `tag` keeps tests that run at once apart.
fn lake_of(case: &str) -> PathBuf {
    lake_tagged(case, "")
}

fn lake_tagged(case: &str, tag: &str) -> PathBuf {
    let lake = scratch(&format!("once-{case}{tag}")).join("lake");
    let (code, summary) = ingest_dir(&fixture().join("once").join(case), &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    lake
}

/// (naive, counted) byte sums.
fn sums(lake: &std::path::Path) -> (u64, u64) {
    let row = &sql_json(
        lake,
        "SELECT sum(bytes) AS naive, sum(CASE WHEN counted THEN bytes ELSE 0 END) AS counted FROM flows_once",
    )[0];
    (
        row["naive"].as_u64().unwrap(),
        row["counted"].as_u64().unwrap(),
    )
}

/// Observation per (interface, srcaddr, dstaddr).
fn classes(lake: &std::path::Path) -> Vec<(String, String, String, String)> {
    sql_json(
        lake,
        "SELECT interface_id, srcaddr, dstaddr, observation FROM flows_once ORDER BY interface_id, srcaddr, dstaddr",
    )
    .iter()
    .map(|r: &Value| {
        let s = |k: &str| r[k].as_str().unwrap().to_owned();
        (s("interface_id"), s("srcaddr"), s("dstaddr"), s("observation"))
    })
    .collect()
}

fn class_of(
    classes: &[(String, String, String, String)],
    eni: &str,
    src: &str,
    dst: &str,
) -> String {
    classes
        .iter()
        .find(|c| c.0 == eni && c.1 == src && c.2 == dst)
        .map(|c| c.3.clone())
        .unwrap_or_else(|| panic!("no record {eni} {src} → {dst} in {classes:?}"))
}

#[test]
fn e1_both_ends_monitored() {
    let lake = lake_of("e1");
    assert_eq!(sums(&lake), (170_000, 85_000));
    let c = classes(&lake);
    assert_eq!(class_of(&c, "eni-a", "10.0.1.10", "10.0.2.20"), "origin");
    assert_eq!(class_of(&c, "eni-b", "10.0.1.10", "10.0.2.20"), "duplicate");
    assert_eq!(class_of(&c, "eni-b", "10.0.2.20", "10.0.1.10"), "origin");
    assert_eq!(class_of(&c, "eni-a", "10.0.2.20", "10.0.1.10"), "duplicate");
}

#[test]
fn e2_nat_gateway_with_and_without_the_instance_log() {
    let nat = "eni-1235b8ca123456789";
    let both = lake_of("e2-both");
    assert_eq!(sums(&both), (153_000, 51_000));
    let c = classes(&both);
    assert_eq!(class_of(&c, nat, "10.0.1.5", "10.0.0.220"), "duplicate");
    assert_eq!(class_of(&c, nat, "10.0.0.220", "203.0.113.5"), "translated");
    assert_eq!(class_of(&c, nat, "203.0.113.5", "10.0.0.220"), "translated");
    assert_eq!(class_of(&c, nat, "10.0.0.220", "10.0.1.5"), "duplicate");
    assert_eq!(
        class_of(&c, "eni-1111aaaa2222bbbb3", "10.0.1.5", "203.0.113.5"),
        "origin"
    );
    assert_eq!(
        class_of(&c, "eni-1111aaaa2222bbbb3", "203.0.113.5", "10.0.1.5"),
        "destination"
    );
    let only = lake_of("e2-nat");
    assert_eq!(sums(&only), (102_000, 51_000));
    let c = classes(&only);
    assert_eq!(class_of(&c, nat, "10.0.1.5", "10.0.0.220"), "transit");
    assert_eq!(class_of(&c, nat, "10.0.0.220", "10.0.1.5"), "transit");
    // The "NAT processed" view: the outside legs.
    let processed = &sql_json(
        &only,
        "SELECT sum(bytes) AS b FROM flows_once WHERE observation = 'translated'",
    )[0];
    assert_eq!(processed["b"], 51_000);
}

#[test]
fn e3_transit_gateway_one_vpc_or_both() {
    let b = lake_of("e3-b");
    assert_eq!(sums(&b), (246_000, 123_000));
    let c = classes(&b);
    assert_eq!(
        class_of(&c, "eni-33333333333333333", "10.20.33.164", "10.40.2.236"),
        "destination"
    );
    assert_eq!(
        class_of(&c, "eni-11111111111111111", "10.40.1.175", "10.40.2.236"),
        "duplicate"
    );
    let both = lake_of("e3-both");
    assert_eq!(sums(&both), (492_000, 123_000));
    let c = classes(&both);
    assert_eq!(
        class_of(&c, "eni-33333333333333333", "10.20.33.164", "10.40.2.236"),
        "duplicate"
    );
    assert_eq!(
        class_of(&c, "eni-44444444444444444", "10.20.33.164", "10.40.2.236"),
        "origin"
    );
}

#[test]
fn e4_pod_addresses_on_a_node_are_endpoints() {
    let lake = lake_of("e4");
    assert_eq!(sums(&lake), (105_000, 73_000));
    let pairs = sql_json(
        &lake,
        "SELECT least(orig_src, orig_dst) AS a, greatest(orig_src, orig_dst) AS b, sum(bytes) AS bytes FROM flows_once WHERE counted GROUP BY 1, 2 ORDER BY 1, 2",
    );
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(
        (
            pairs[0]["a"].as_str(),
            pairs[0]["b"].as_str(),
            pairs[0]["bytes"].as_u64()
        ),
        (Some("10.0.3.5"), Some("198.51.100.7"), Some(41_000))
    );
    assert_eq!(
        (
            pairs[1]["a"].as_str(),
            pairs[1]["b"].as_str(),
            pairs[1]["bytes"].as_u64()
        ),
        (Some("10.0.3.77"), Some("10.0.4.9"), Some(32_000))
    );
}

#[test]
fn e6_transit_only_keeps_one_interface_per_key() {
    let lake = lake_of("e6");
    assert_eq!(sums(&lake), (246_000, 123_000));
    let kept = sql_json(
        &lake,
        "SELECT interface_id FROM flows_once WHERE counted ORDER BY interface_id",
    );
    let kept: Vec<&str> = kept
        .iter()
        .map(|r| r["interface_id"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["eni-11111111111111111", "eni-22222222222222222"]);
}

/// §4.7 (4): the classes and sums do not change when the inventory gives
/// the roles (NAT gateway, Transit Gateway attachments, EKS node).
#[test]
fn classes_are_the_same_with_and_without_inventory() {
    for (case, inventory) in [
        ("e2-both", "inventory-e2"),
        ("e2-nat", "inventory-e2"),
        ("e3-b", "inventory-e3"),
        ("e3-both", "inventory-e3"),
        ("e6", "inventory-e3"),
        ("e4", "inventory-e4"),
    ] {
        let lake = lake_tagged(case, "-inventory");
        let (before, before_sums) = (classes(&lake), sums(&lake));
        crate::context_harness::import(&lake, &[&format!("once/{inventory}")]);
        let roles = sql_json(&lake, "SELECT DISTINCT role_source FROM flows_once");
        assert!(
            roles.iter().any(|r| r["role_source"] == "inventory"),
            "{case}: {roles:?}"
        );
        assert_eq!(classes(&lake), before, "{case}");
        assert_eq!(sums(&lake), before_sums, "{case}");
    }
}

#[test]
fn top_talkers_counts_once_and_all_on_request() {
    let lake = lake_tagged("e2-both", "-talkers");
    let talk = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "top-talkers",
            "--lake",
            lake.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        json(&ok(&mut flowlake(&args))).as_array().cloned().unwrap()
    };
    let once = talk(&[]);
    let total: u64 = once.iter().map(|r| r["bytes"].as_u64().unwrap()).sum();
    assert_eq!(total, 51_000, "{once:?}");
    assert_eq!(once[0]["address_a"], "10.0.1.5");
    assert_eq!(once[0]["address_b"], "203.0.113.5");
    let all = talk(&["--count", "all"]);
    let total: u64 = all.iter().map(|r| r["bytes"].as_u64().unwrap()).sum();
    assert_eq!(total, 153_000, "{all:?}");
}

#[test]
fn top_talkers_falls_back_to_all_and_names_the_missing_fields() {
    // AWS's v2 ping lines: no pkt-* and no flow-direction, no inventory.
    let lake = scratch("once-v2").join("lake");
    let (code, s) = ingest_dir(&fixture().join("flows/doc-ping"), &lake, &[]);
    assert_eq!(code, 0, "{s}");
    let out = run(&mut flowlake(&[
        "report",
        "top-talkers",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pkt-srcaddr, pkt-dstaddr, flow-direction"),
        "{stderr}"
    );
    let rows = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0]["bytes"], 672);
}

/// `top-talkers --by owner` on E2 with its inventory, against sums worked
/// by hand from §4.6: counted once, the instance and the server each move
/// 51 000 bytes and the NAT gateway none (its legs are duplicates and
/// translations); every record counted, the NAT gateway's two outside legs
/// appear as its own and the instance's bytes double.
#[test]
fn top_talkers_by_owner_ranks_the_owners_of_both_ends() {
    let lake = lake_tagged("e2-both", "-owners");
    let lake_arg = lake.to_str().unwrap();
    let args = |extra: &[&'static str]| {
        let mut args = vec![
            "report",
            "top-talkers",
            "--by",
            "owner",
            "--lake",
            lake_arg,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        args
    };
    let out = run(&mut flowlake(&args(&[])));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("flowlake inventory import"), "{stderr}");

    crate::context_harness::import(&lake, &["once/inventory-e2"]);
    let owners = |extra: &[&'static str]| -> Vec<(String, String, u64, u64, u64)> {
        json(&ok(&mut flowlake(&args(extra))))
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["owner_kind"].as_str().unwrap().to_owned(),
                    r["owner"].as_str().unwrap().to_owned(),
                    r["bytes"].as_u64().unwrap(),
                    r["bytes_sent"].as_u64().unwrap(),
                    r["bytes_received"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let row = |kind: &str, owner: &str, sent: u64, received: u64| {
        (
            kind.to_owned(),
            owner.to_owned(),
            sent + received,
            sent,
            received,
        )
    };
    assert_eq!(
        owners(&[]),
        vec![
            row("ec2_instance", "i-01234567890123456", 1_000, 50_000),
            row("external", "203.0.113.5", 50_000, 1_000),
        ]
    );
    assert_eq!(
        owners(&["--count", "all"]),
        vec![
            row("external", "203.0.113.5", 150_000, 3_000),
            row("ec2_instance", "i-01234567890123456", 2_000, 100_000),
            row("nat_gateway", "nat-0e1fba3d48050974f", 1_000, 50_000),
        ]
    );
    let first = &json(&ok(&mut flowlake(&args(&[]))))[0];
    assert_eq!(first["certainty"], "certain", "{first}");
}
