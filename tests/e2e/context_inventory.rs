//! Inventory import (validity intervals in the lake, read back by DuckDB)
//! and `flowlake who` over the §3.5 cases: intervals, address reuse,
//! overlapping private ranges, delegated prefixes.

use serde_json::Value;

use crate::context_harness::*;
use crate::harness::*;

const S0900: i64 = 1_795_165_200;
const S1000: i64 = 1_795_168_800;
const S1100: i64 = 1_795_172_400;

#[test]
fn import_is_idempotent_and_keeps_the_raw_json() {
    let root = scratch("context-import");
    let lake = root.join("lake");
    let first = import(&lake, &["vpc-0a1/s0900"]);
    assert_eq!(first[0]["new"], true, "{first}");
    assert_eq!(first[0]["objects"]["network_interfaces"], 7);
    assert_eq!(first[0]["objects"]["security_groups"], 6);
    assert_eq!(first[0]["captured_at"], "2026-11-20T09:00:00Z");
    let again = import(&lake, &["vpc-0a1/s0900"]);
    assert_eq!(again[0]["new"], false, "{again}");
    assert_eq!(again[0]["snapshot_id"], first[0]["snapshot_id"]);
    let raw: Vec<String> = files_under(&lake.join("inventory/raw"));
    assert_eq!(raw.len(), 9, "{raw:?}");
    let original = std::fs::read(fixture().join("vpc-0a1/s0900/security-groups.json")).unwrap();
    let kept = raw
        .iter()
        .find(|f| f.ends_with("security-groups.json"))
        .unwrap();
    assert_eq!(
        std::fs::read(lake.join("inventory/raw").join(kept)).unwrap(),
        original
    );
    // Without capture metadata the CLI refuses rather than guess from mtimes.
    let out = run(&mut flowlake(&[
        "inventory",
        "import",
        "--lake",
        lake.to_str().unwrap(),
        fixture()
            .join("vpc-0a1/s0900/subnets.json")
            .to_str()
            .unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--captured-at"));
}

#[test]
fn validity_intervals_as_other_engines_read_them() {
    let Some(python) = python() else { return };
    let lake = shared_case_lake();
    let sql = "SELECT eni_id, valid_from, last_seen, valid_to, owner_kind, owner_name FROM read_parquet('{}/inventory/tables/inv_eni/*.parquet') WHERE eni_id IN ('eni-0aaa','eni-0bbb','eni-0web','eni-0db') ORDER BY eni_id";
    let code = format!(
        "import duckdb,sys,json; print(json.dumps(duckdb.sql(\"{}\".format(sys.argv[1])).fetchall()))",
        sql.replace('"', "\\\"")
    );
    let rows: Value =
        serde_json::from_str(&py_inline(&python, &code, &[lake.to_str().unwrap()])).unwrap();
    let expected = serde_json::json!([
        ["eni-0aaa", S0900, S0900, S1000, "ec2_instance", "batch-1"],
        ["eni-0bbb", S1100, S1100, null, "ec2_instance", "batch-2"],
        ["eni-0db", S0900, S1100, null, "rds", null],
        ["eni-0web", S0900, S1100, null, "ec2_instance", "web-1"],
    ]);
    assert_eq!(rows, expected);
    // Prefix-list entries placed in time through the lists' versions.
    let code = "import duckdb,sys,json; print(json.dumps(duckdb.sql(f\"SELECT version, cidr, valid_from, last_seen, valid_to FROM read_parquet('{sys.argv[1]}/inventory/tables/inv_prefix_list_entry/*.parquet') ORDER BY version\").fetchall()))";
    let rows: Value =
        serde_json::from_str(&py_inline(&python, code, &[lake.to_str().unwrap()])).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            [1, "10.0.2.0/24", S0900, S0900, S1000],
            [2, "10.0.3.0/24", S1000, S1100, null]
        ])
    );
    // The address 10.0.2.50 changed hands: never two owners at one instant.
    let code = "import duckdb,sys,json; print(json.dumps(duckdb.sql(f\"SELECT eni_id, valid_from, valid_to FROM read_parquet('{sys.argv[1]}/inventory/tables/inv_ip/*.parquet') WHERE address = '10.0.2.50' ORDER BY valid_from\").fetchall()))";
    let rows: Value =
        serde_json::from_str(&py_inline(&python, code, &[lake.to_str().unwrap()])).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([["eni-0aaa", S0900, S1000], ["eni-0bbb", S1100, null]])
    );
}

#[test]
fn inventory_ls_says_what_was_in_force_and_how_old() {
    let lake = shared_case_lake();
    let out = json(&ok(&mut flowlake(&[
        "inventory",
        "ls",
        "--lake",
        lake.to_str().unwrap(),
        "--at",
        "2026-11-20T10:05:00Z",
        "--json",
    ])));
    assert_eq!(out["snapshots"].as_array().unwrap().len(), 4);
    let f = &out["in_force"];
    // eni-0aaa is gone by 10:00 and eni-0bbb not there yet; eni-0other is in vpc-0b2.
    assert_eq!(f["network_interfaces"], 7, "{f}");
    let scope = f["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["account"] == "111122223333")
        .unwrap();
    assert_eq!(scope["snapshot_at"], "2026-11-20T10:00:00Z");
    assert_eq!(scope["age_s"], 300);
}

#[test]
fn who_follows_intervals_and_address_reuse() {
    let lake = shared_case_lake();
    let at = |t: &str| who(lake, "10.0.2.50", t, &[]);
    let a = at("2026-11-20T09:30:00Z");
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(
        (
            a[0]["eni_id"].as_str(),
            a[0]["owner"]["name"].as_str(),
            a[0]["certainty"].as_str()
        ),
        (Some("eni-0aaa"), Some("batch-1"), Some("uncertain"))
    );
    let a = at("2026-11-20T10:30:00Z");
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(
        (a[0]["eni_id"].as_str(), a[0]["certainty"].as_str()),
        (Some("eni-0bbb"), Some("uncertain"))
    );
    let a = at("2026-11-20T11:05:00Z");
    assert_eq!(
        (a[0]["eni_id"].as_str(), a[0]["certainty"].as_str()),
        (Some("eni-0bbb"), Some("current"))
    );
    let a = at("2026-11-20T10:00:00Z");
    assert!(a.is_empty(), "nobody holds it at 10:00: {a:#?}");
}

#[test]
fn who_keeps_overlapping_private_ranges_apart_and_matches_prefixes() {
    let lake = shared_case_lake();
    let both = who(lake, "10.0.2.20", "2026-11-20T10:05:00Z", &[]);
    let enis: Vec<&str> = both.iter().map(|a| a["eni_id"].as_str().unwrap()).collect();
    assert_eq!(enis, ["eni-0app", "eni-0other"]);
    let one = who(
        lake,
        "10.0.2.20",
        "2026-11-20T10:05:00Z",
        &["--vpc", "vpc-0a1"],
    );
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["owner"]["id"], "i-0app");
    let prefix = who(lake, "10.0.2.101", "2026-11-20T10:05:00Z", &[]);
    assert_eq!(prefix.len(), 1, "{prefix:#?}");
    assert_eq!(
        (
            prefix[0]["eni_id"].as_str(),
            prefix[0]["address_kind"].as_str(),
            prefix[0]["certainty"].as_str()
        ),
        (Some("eni-0node2"), Some("ipv4_prefix"), Some("certain"))
    );
    let eni = who(lake, "eni-0db", "2026-11-20T10:05:00Z", &[]);
    assert_eq!(eni[0]["owner"]["kind"], "rds");
}

#[test]
fn flows_enriched_names_owners_as_of_each_flow() {
    let lake = shared_case_lake();
    let rows = sql_json(
        lake,
        "SELECT srcport, interface_owner_kind, interface_owner_name, dst_eni_id, dst_owner_name, dst_certainty, dst_flag \
         FROM flows_enriched WHERE interface_id = 'eni-0web' AND srcport BETWEEN 41001 AND 41006 ORDER BY srcport",
    );
    let got: Vec<(i64, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["interface_owner_kind"], "ec2_instance");
            assert_eq!(r["interface_owner_name"], "web-1");
            assert!(r["dst_flag"].is_null(), "{r}");
            (
                r["srcport"].as_i64().unwrap(),
                r["dst_eni_id"].as_str().unwrap(),
                r["dst_owner_name"].as_str().unwrap(),
                r["dst_certainty"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // 09:30: last seen 09:00, absent at 10:00.
            (41001, "eni-0aaa", "batch-1", "uncertain"),
            // 10:30: first seen 11:00, but eni-0bbb's own record at 10:30 proves it.
            (41002, "eni-0bbb", "batch-2", "certain"),
            // 11:05: the last snapshot is 5 minutes old.
            (41004, "eni-0bbb", "batch-2", "current"),
            // 10:05: 10.0.2.20 is eni-0app in this VPC, never eni-0other in vpc-0b2.
            (41005, "eni-0app", "app-1", "certain"),
            // 10:05: inside eni-0node2's delegated /28.
            (41006, "eni-0node2", "node-2", "certain"),
        ]
    );
    // Without the evidence record, 10:30 stays uncertain: the interval alone cannot say.
    let alone = sql_json(
        lake,
        "SELECT d.certainty FROM inv_ip_owner d WHERE d.address = '10.0.2.50' AND d.vpc_id = 'vpc-0a1' AND d.from_t <= 1795170600 AND 1795170600 < d.to_t",
    );
    assert_eq!(alone[0]["certainty"], "uncertain");
    // An internet address is external.
    let ext = sql_json(
        lake,
        "SELECT DISTINCT src_owner_kind FROM flows_enriched WHERE srcaddr = '203.0.113.9'",
    );
    assert_eq!(ext[0]["src_owner_kind"], "external");
}
