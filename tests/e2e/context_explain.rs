//! The explanation cases of spec/network-context.md §2.11 (T1–T11 with
//! T9′/T9″) through the binary: fixture JSON imported with
//! `inventory import`, records ingested with `ingest dir`, answers from
//! `explain --format json`. Expected values are the spec's.

use std::path::Path;

use serde_json::Value;

use crate::context_harness::*;
use crate::harness::*;

/// The one explanation of the one record `filter` selects.
fn one(lake: &Path, filter: &str) -> Value {
    let rows = explain(lake, filter);
    assert_eq!(rows.len(), 1, "{filter}: {rows:#?}");
    rows.into_iter().next().unwrap()
}

fn expect(case: &str, e: &Value, verdict: &str, code: Option<&str>, confidence: &str) {
    assert_eq!(e["verdict"], verdict, "{case}: {e:#}");
    assert_eq!(e["code"].as_str(), code, "{case}: {e:#}");
    assert_eq!(e["confidence"], confidence, "{case}: {e:#}");
}

fn summary(e: &Value) -> &str {
    e["summary"].as_str().unwrap_or("")
}

#[test]
fn t1_security_group_with_the_nearest_rule() {
    let e = one(
        shared_case_lake(),
        "interface_id = 'eni-0web' AND dstport = 3389",
    );
    expect("T1", &e, "SG", Some("ENI_SG_RULES_MISMATCH"), "likely");
    let near = &e["security_groups"]["nearest_rule"];
    assert_eq!(
        (
            near["protocol"].as_str(),
            near["ports"].as_str(),
            near["peer"].as_str()
        ),
        (Some("tcp"), Some("22"), Some("203.0.113.0/24")),
        "{e:#}"
    );
    assert_eq!(near["mismatch"], serde_json::json!(["port"]));
    assert_eq!(e["acl"]["id"], "acl-0pub");
    assert_eq!(e["acl"]["result"], "allow");
    assert_eq!(e["acl"]["rule_number"], 120);
    assert_eq!(
        e["acl"]["rule"],
        "acl-0pub inbound rule 120 ALLOW TCP 1024-65535 0.0.0.0/0"
    );
    assert_eq!(
        summary(&e),
        "no rule of sg-0web allows inbound tcp/3389 from 203.0.113.9; nearest: tcp/22 from 203.0.113.0/24; acl-0pub admitted it by inbound rule 120"
    );
    assert_eq!(e["owner"]["kind"], "ec2_instance");
    assert_eq!(e["owner"]["id"], "i-0web");
    assert_eq!(e["owner"]["name"], "web-1");
    assert_eq!(e["snapshot_at"], "2026-11-20T10:00:00Z");
    assert_eq!(e["snapshot_age_s"], 300);
    assert_eq!(e["config_gap"], false);
}

#[test]
fn t2_network_acl_deny() {
    let e = one(
        shared_case_lake(),
        "srcaddr = '192.0.2.55' AND dstport = 443",
    );
    expect("T2", &e, "NACL", Some("SUBNET_ACL_RESTRICTION"), "likely");
    assert_eq!(
        e["acl"]["rule"],
        "acl-0pub inbound rule 50 DENY ALL 192.0.2.0/24"
    );
    assert_eq!(e["security_groups"]["result"], "allow");
    assert_eq!(e["security_groups"]["matching_rule"]["peer"], "0.0.0.0/0");
}

#[test]
fn t3_reply_denied_by_the_network_acl() {
    let e = one(
        shared_case_lake(),
        "action = 'REJECT' AND srcport = 443 AND dstport = 1500",
    );
    expect(
        "T3",
        &e,
        "NACL_RETURN",
        Some("SUBNET_ACL_RESTRICTION"),
        "likely",
    );
    assert_eq!(e["packet_kind"], "reply");
    assert!(
        e["security_groups"].is_null(),
        "a reply is not judged by the SG: {e:#}"
    );
    assert_eq!(
        e["acl"]["rule"],
        "acl-0pub outbound rule * DENY ALL 0.0.0.0/0"
    );
    assert_eq!(
        e["acl"]["nearest_allow"],
        "acl-0pub outbound rule 100 ALLOW TCP 32768-65535 0.0.0.0/0"
    );
    assert!(summary(&e).contains("1024-65535"), "{e:#}");
}

#[test]
fn t4_aws_ping_example_is_a_reply_not_both() {
    let root = scratch("context-t4");
    let lake = root.join("lake");
    let (code, s) = ingest_dir(&fixture().join("flows/doc-ping"), &lake, &[]);
    assert_eq!(code, 0, "{s}");
    import(&lake, &["doc-ping/s1600"]);
    let e = one(&lake, "action = 'REJECT'");
    expect(
        "T4",
        &e,
        "NACL_RETURN",
        Some("SUBNET_ACL_RESTRICTION"),
        "likely",
    );
    assert_eq!(
        e["direction"], "egress",
        "direction from the inventory: {e:#}"
    );
    assert_eq!(e["packet_kind"], "reply");
    assert_eq!(
        e["acl"]["rule"],
        "acl-0doc outbound rule * DENY ALL 0.0.0.0/0"
    );
}

#[test]
fn t5_referenced_group_members_at_the_time() {
    let e = one(
        shared_case_lake(),
        "interface_id = 'eni-0app' AND dstport = 8080",
    );
    expect("T5", &e, "SG", Some("ENI_SG_RULES_MISMATCH"), "likely");
    assert_eq!(e["security_groups"]["nearest_rule"]["peer"], "sg-0web");
    assert_eq!(e["acl"]["result"], "allow");
    assert_eq!(e["acl"]["rule_number"], 100);
}

#[test]
fn t6_block_public_access_named_by_the_record() {
    let e = one(shared_case_lake(), "reject_reason = 'BPA'");
    expect(
        "T6",
        &e,
        "BPA",
        Some("VPC_BLOCK_PUBLIC_ACCESS_ENABLED"),
        "certain",
    );
    assert_eq!(e["bpa"]["mode"], "block-bidirectional");
    assert!(e["bpa"]["exclusion"].is_null());
    assert!(e["flags"].as_array().unwrap().is_empty(), "{e:#}");
}

#[test]
fn t6_holds_without_inventory_and_the_rest_say_so() {
    let lake = case_lake("context-no-inventory", false);
    let e = one(&lake, "reject_reason = 'BPA'");
    expect(
        "T6 without inventory",
        &e,
        "BPA",
        Some("VPC_BLOCK_PUBLIC_ACCESS_ENABLED"),
        "certain",
    );
    let e = one(&lake, "interface_id = 'eni-0web' AND dstport = 3389");
    assert_eq!(e["verdict"], "NO_INVENTORY", "{e:#}");
}

#[test]
fn t7_both_deny() {
    let e = one(
        shared_case_lake(),
        "srcaddr = '192.0.2.55' AND dstport = 22",
    );
    expect(
        "T7",
        &e,
        "BOTH",
        Some("SUBNET_ACL_RESTRICTION,ENI_SG_RULES_MISMATCH"),
        "likely",
    );
    assert!(
        summary(&e)
            .starts_with("acl-0pub inbound rule 50 DENY ALL 192.0.2.0/24 and no rule of sg-0web"),
        "{e:#}"
    );
}

#[test]
fn t8_group_without_outbound_rules() {
    let e = one(shared_case_lake(), "interface_id = 'eni-0task'");
    expect("T8", &e, "SG", Some("SG_HAS_NO_RULES"), "likely");
    assert!(
        summary(&e).starts_with("sg-0task has no outbound rules"),
        "{e:#}"
    );
    assert_eq!(e["acl"]["rule_number"], 100);
    assert_eq!(e["owner"]["kind"], "ecs_task");
    assert_eq!(e["owner"]["id"], "7e1c2a43-9a3b-4f3e-8d8e-2b6a1f0c5d9e");
}

#[test]
fn t9_prefix_list_version_in_force() {
    let lake = shared_case_lake();
    let at = |start: i64| one(lake, &format!("dstport = 5432 AND \"start\" = {start}"));
    let e = at(1_795_169_100);
    expect("T9", &e, "SG", Some("ENI_SG_RULES_MISMATCH"), "likely");
    assert_eq!(e["acl"]["result"], "skipped_intra_subnet");
    assert_eq!(e["security_groups"]["nearest_rule"]["peer"], "pl-0db");
    assert_eq!(e["config_gap"], false);

    // T9′: at S@09:00 itself, version 1 holds 10.0.2.0/24: allowed.
    let e = at(1_795_165_200);
    assert_eq!(e["verdict"], "UNEXPLAINED", "T9′: {e:#}");
    assert!(
        e["hints"].as_array().unwrap().iter().any(|h| h
            .as_str()
            .unwrap()
            .starts_with("config_changed_after")
            && h.as_str().unwrap().contains("pl-0db")),
        "T9′: {e:#}"
    );

    // T9″: between the last sighting of version 1 and the first of version 2.
    let e = at(1_795_168_500);
    expect("T9″", &e, "SG", Some("ENI_SG_RULES_MISMATCH"), "possible");
    assert_eq!(e["config_gap"], true);
    assert!(
        e["alternative"]
            .as_str()
            .unwrap()
            .contains("earlier version"),
        "T9″: {e:#}"
    );
}

#[test]
fn t10_ipv6_rules_apart_from_ipv4() {
    let e = one(shared_case_lake(), "srcaddr = '2001:db8:ffff::5'");
    expect("T10", &e, "SG", Some("ENI_SG_RULES_MISMATCH"), "likely");
    let near = &e["security_groups"]["nearest_rule"];
    assert_eq!(
        (near["ports"].as_str(), near["peer"].as_str()),
        (Some("443"), Some("0.0.0.0/0"))
    );
    assert_eq!(e["acl"]["rule_number"], 140, "{e:#}");
    assert!(summary(&e).contains("::/0"), "{e:#}");
}

#[test]
fn t11_after_close() {
    let e = one(shared_case_lake(), "action = 'REJECT' AND srcport = 50010");
    expect("T11", &e, "AFTER_CLOSE", None, "possible");
    assert_eq!(e["packet_kind"], "late");
    assert_eq!(e["acl"]["rule_number"], 110);
}

#[test]
fn text_and_parquet_forms() {
    let lake = shared_case_lake();
    let text = ok(&mut flowlake(&[
        "explain",
        "--lake",
        lake.to_str().unwrap(),
        "--where",
        "dstport = 3389",
    ]));
    assert!(text.starts_with("REJECT ingress tcp 203.0.113.9:51515 → 10.0.1.10:3389 on eni-0web (EC2 i-0web \"web-1\") 2026-11-20T10:05:00Z\n"), "{text}");
    assert!(
        text.contains("config: snapshot 2026-11-20T10:00:00Z (5 min before)"),
        "{text}"
    );
    let Some(python) = python() else { return };
    let out = scratch("context-parquet").join("explain.parquet");
    ok(&mut flowlake(&[
        "explain",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "parquet",
        "--output",
        out.to_str().unwrap(),
    ]));
    let counts = py_inline(
        &python,
        "import duckdb,sys,json; print(json.dumps(dict(duckdb.sql(f\"SELECT verdict, count(*) FROM '{sys.argv[1]}' GROUP BY verdict\").fetchall())))",
        &[out.to_str().unwrap()],
    );
    let counts: Value = serde_json::from_str(&counts).unwrap();
    // T1, T5, T8, T9, T9″, T10 are SG; T2 NACL; T3 NACL_RETURN; T6 BPA; T7 BOTH; T9′ UNEXPLAINED; T11 AFTER_CLOSE.
    assert_eq!(counts["SG"], 6, "{counts}");
    for v in [
        "NACL",
        "NACL_RETURN",
        "BPA",
        "BOTH",
        "UNEXPLAINED",
        "AFTER_CLOSE",
    ] {
        assert_eq!(counts[v], 1, "{v}: {counts}");
    }
}

#[test]
fn t12_silent_drop_without_a_route() {
    let lake = shared_case_lake();
    let rows = ok(&mut flowlake(&[
        "explain",
        "--lake",
        lake.to_str().unwrap(),
        "--silent-drops",
        "--format",
        "json",
    ]));
    let rows = json(&rows);
    let rows = rows.as_array().unwrap();
    // The three windows of eni-0app → 10.9.0.5:443, nothing else (the
    // §3.5 records to 10.0.2.x have a local route).
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for e in rows {
        expect(
            "T12",
            e,
            "NO_ROUTE_TO_DESTINATION",
            Some("NO_ROUTE_TO_DESTINATION"),
            "possible",
        );
        assert_eq!(e["dstaddr"], "10.9.0.5");
        assert_eq!(e["security_groups"]["result"], "allow");
        assert_eq!(e["acl"]["result"], "allow");
        assert!(
            summary(e).contains(
                "rtb-0app (explicit association of subnet-0app) has only 10.0.0.0/16 local"
            ),
            "{e:#}"
        );
    }
}

/// A cache of two answers evicts on almost every record: the answers, all
/// of them and in the same order, are those of the default cache, for
/// rejects and for silent drops.
#[test]
fn a_tiny_answer_cache_changes_nothing() {
    let lake = shared_case_lake();
    for extra in [&[][..], &["--silent-drops"][..]] {
        let run = |cache: &str| {
            let mut args = vec![
                "explain",
                "--lake",
                lake.to_str().unwrap(),
                "--format",
                "json",
                "--cache-entries",
                cache,
            ];
            args.extend_from_slice(extra);
            json(&ok(&mut flowlake(&args)))
        };
        let (default, tiny) = (run("100000"), run("2"));
        assert!(
            default.as_array().is_some_and(|a| a.len() >= 3),
            "{default:#}"
        );
        assert_eq!(tiny, default, "{extra:?}");
    }
}
