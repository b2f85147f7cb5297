//! `flowlake inventory import-config`: the fixture's snapshots written
//! again as AWS Config items (tests/data/context/config, made by its
//! make.py without flowlake's code) in both envelopes. The same cases get
//! the spec's answers; where a CLI snapshot could only say "changed
//! somewhere between 09:00 and 10:00", a Config item says when, and the
//! answers become certain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::context_harness::*;
use crate::harness::*;

/// `flowlake inventory import-config <paths> --json` (exit code and JSON).
fn import_config(lake: &Path, paths: &[PathBuf]) -> (i32, Value) {
    let mut args = vec![
        "inventory".to_owned(),
        "import-config".to_owned(),
        "--lake".to_owned(),
        lake.display().to_string(),
        "--json".to_owned(),
    ];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&mut flowlake(&args));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.trim().is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), json(&stdout))
}

fn config_fixture(part: &str) -> PathBuf {
    fixture().join("config").join(part)
}

/// The §2.11 records with vpc-0a1 from S3 history files and vpc-0b2 from
/// `get-resource-config-history` output.
fn config_lake() -> &'static Path {
    static LAKE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LAKE.get_or_init(|| {
        let lake = scratch("context-config").join("lake");
        let (code, summary) = ingest_dir(&fixture().join("flows/vpc-0a1"), &lake, &[]);
        assert_eq!(code, 0, "{summary}");
        let (code, s) = import_config(
            &lake,
            &[
                config_fixture("vpc-0a1"),
                config_fixture("vpc-0b2/get-resource-config-history.json"),
            ],
        );
        assert_eq!(code, 0, "{s:#}");
        lake
    })
}

/// Who held 10.0.2.50 (§3.5, address reuse) at 09:30 and at 10:30, and
/// how sure: one line per time, holders joined by commas.
fn holders_of_10_0_2_50(lake: &Path) -> Vec<String> {
    ["2026-11-20T09:30:00Z", "2026-11-20T10:30:00Z"]
        .iter()
        .map(|t| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            who(lake, "10.0.2.50", t, &[])
                .iter()
                .map(|a| format!("{} {}", text(&a["eni_id"]), text(&a["certainty"])))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// Each explained record by its flow key.
fn by_record(rows: Vec<Value>) -> BTreeMap<String, Value> {
    rows.into_iter()
        .map(|r| {
            let key = format!(
                "{} {}:{} > {}:{} @{}",
                r["interface_id"],
                r["srcaddr"],
                r["srcport"],
                r["dstaddr"],
                r["dstport"],
                r["start"]
            );
            (key, r)
        })
        .collect()
}

#[test]
fn import_reads_both_envelopes_and_says_what_it_read() {
    let lake = scratch("context-config-summary").join("lake");
    let (code, s) = import_config(
        &lake,
        &[
            config_fixture("vpc-0a1"),
            config_fixture("vpc-0b2/get-resource-config-history.json"),
        ],
    );
    assert_eq!(code, 0, "{s:#}");
    // make.py: vpc-0a1 changes at 09:00, 10:00 and 11:00; vpc-0b2 at 10:00.
    assert_eq!(s["snapshots"], 4, "{s:#}");
    assert_eq!(s["new_snapshots"], 4);
    assert_eq!(s["first_capture"], "2026-11-20T09:00:00Z");
    assert_eq!(s["last_capture"], "2026-11-20T11:00:00Z");
    assert_eq!(
        s["scopes"],
        serde_json::json!(["111122223333/eu-west-1", "444455556666/eu-west-1"])
    );
    assert_eq!(s["objects"]["deleted"], 1, "eni-0aaa: {s:#}");
    let ls = json(&ok(&mut flowlake(&[
        "inventory",
        "ls",
        "--lake",
        lake.to_str().unwrap(),
        "--json",
    ])));
    let sources: Vec<&str> = ls["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["config"; 4]);
}

#[test]
fn config_items_give_the_spec_answers() {
    let lake = config_lake();
    let t1 = explain(lake, "interface_id = 'eni-0web' AND dstport = 3389");
    assert_eq!(t1.len(), 1, "{t1:#?}");
    let e = &t1[0];
    assert_eq!(
        (&e["verdict"], &e["code"], &e["confidence"]),
        (
            &Value::from("SG"),
            &Value::from("ENI_SG_RULES_MISMATCH"),
            &Value::from("likely")
        ),
        "{e:#}"
    );
    let near = &e["security_groups"]["nearest_rule"];
    assert_eq!(
        (near["ports"].as_str(), near["peer"].as_str()),
        (Some("22"), Some("203.0.113.0/24")),
        "{e:#}"
    );
    assert_eq!(e["acl"]["rule_number"], 120);
    // The Name tag lives on the item, not in the configuration.
    assert_eq!(e["owner"]["id"], "i-0web");
    assert_eq!(e["owner"]["name"], "web-1");
    // T9: pl-0db at version 2 (Config types the version as text) holds
    // only 10.0.3.0/24 at 10:05.
    let t9 = explain(
        lake,
        "interface_id = 'eni-0app' AND dstport = 5432 AND start = 1795169100",
    );
    assert_eq!(t9[0]["verdict"], "SG", "{:#}", t9[0]);
    assert_eq!(
        t9[0]["security_groups"]["nearest_rule"]["peer"], "pl-0db",
        "{:#}",
        t9[0]
    );
    // Overlapping private ranges: vpc-0b2's account came from the API envelope.
    let both = who(lake, "10.0.2.20", "2026-11-20T10:05:00Z", &[]);
    let enis: Vec<&str> = both.iter().map(|a| a["eni_id"].as_str().unwrap()).collect();
    assert_eq!(enis, ["eni-0app", "eni-0other"]);
}

#[test]
fn config_items_answer_as_describe_snapshots_do_and_close_their_gaps() {
    let cli = by_record(explain(shared_case_lake(), "action = 'REJECT'"));
    let config = by_record(explain(config_lake(), "action = 'REJECT'"));
    assert_eq!(
        cli.keys().collect::<Vec<_>>(),
        config.keys().collect::<Vec<_>>()
    );
    let mut gaps = 0;
    for (key, c) in &cli {
        let g = &config[key];
        if c["config_gap"] == true {
            // A change event says when: no gap is left to guess across,
            // and the answer is one of the two the listings weighed (the
            // change fell at 10:00, so the earlier version held until then).
            gaps += 1;
            assert_eq!(g["config_gap"], false, "{key}: {g:#}");
            let weighed = [
                c["summary"].as_str().unwrap_or_default(),
                c["alternative"].as_str().unwrap_or_default(),
            ];
            let summary = g["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && weighed.iter().any(|w| w.ends_with(summary)),
                "{key}: config {summary:?} is neither of {weighed:?}"
            );
            continue;
        }
        for field in ["verdict", "code", "confidence", "summary", "owner"] {
            assert_eq!(
                c[field], g[field],
                "{key} {field}:\ncli {c:#}\nconfig {g:#}"
            );
        }
    }
    assert!(gaps > 0, "the fixture has records between two snapshots");
    // Address reuse (§3.5): eni-0aaa deleted at 10:00, where the listings
    // could only say "somewhere between 09:00 and 10:00".
    // eni-0bbb discovered at 11:00, two hours after recording began: it
    // did not exist at 10:30.
    assert_eq!(
        holders_of_10_0_2_50(config_lake()),
        ["eni-0aaa certain", ""]
    );
    let at = |t: &str| who(config_lake(), "10.0.2.50", t, &[]);
    let a = at("2026-11-20T11:05:00Z");
    assert_eq!(a[0]["eni_id"], "eni-0bbb", "{a:#?}");
}

/// The API envelope's items rewritten as an S3 history file: the
/// configuration as an object, the file's account field.
fn as_history_file(api: &Value) -> Value {
    let items: Vec<Value> = api["configurationItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let mut item = item.clone();
            let conf = item["configuration"].as_str().map(json);
            item["configuration"] = conf.unwrap_or(Value::Null);
            item["awsAccountId"] = item["accountId"].take();
            item.as_object_mut().unwrap().remove("accountId");
            item
        })
        .collect();
    serde_json::json!({"fileVersion": "1.0", "configurationItems": items})
}

#[test]
fn the_same_items_again_or_through_the_other_envelope_add_nothing() {
    let root = scratch("context-config-again");
    let lake = root.join("lake");
    let api_path = config_fixture("vpc-0b2/get-resource-config-history.json");
    let (_, first) = import_config(&lake, std::slice::from_ref(&api_path));
    assert_eq!(first["new_snapshots"], 1, "{first:#}");
    let api: Value = json(&std::fs::read_to_string(&api_path).unwrap());
    let file = root.join("history.json");
    std::fs::write(&file, as_history_file(&api).to_string()).unwrap();
    let (code, again) = import_config(&lake, &[file.clone(), api_path]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["new_snapshots"], 0, "{again:#}");
    assert!(again["duplicate_items"].as_u64().unwrap() > 0, "{again:#}");
    let raw_before = files_under(&lake.join("inventory"));
    let (_, third) = import_config(&lake, &[file]);
    assert_eq!(third["new_snapshots"], 0);
    assert_eq!(files_under(&lake.join("inventory")), raw_before);
}

#[test]
fn describe_snapshots_and_config_items_share_one_lake() {
    let root = scratch("context-config-mixed");
    let lake = root.join("lake");
    // vpc-0a1 both ways: listings at 09:00 and 10:00, Config items at
    // 09:00, 10:00 and 11:00 (the same instants: one observation each).
    import(&lake, &["vpc-0a1/s0900", "vpc-0a1/s1000"]);
    let (code, s) = import_config(&lake, &[config_fixture("vpc-0a1")]);
    assert_eq!(code, 0, "{s:#}");
    // The listings alone leave 09:00-10:00 a gap for eni-0aaa; the
    // deletion item says it held until 10:00. eni-0bbb: absent in the
    // 10:00 listing, discovered at 11:00: when it appeared in between is
    // unknown, as with the listings alone.
    assert_eq!(
        holders_of_10_0_2_50(&lake),
        ["eni-0aaa certain", "eni-0bbb uncertain"]
    );
    // Objects only the listings or only the items speak for stay.
    let web = who(&lake, "eni-0web", "2026-11-20T11:05:00Z", &[]);
    assert_eq!(web[0]["owner"]["name"], "web-1", "{web:#?}");
    let sources: std::collections::BTreeSet<String> = json(&ok(&mut flowlake(&[
        "inventory",
        "ls",
        "--lake",
        lake.to_str().unwrap(),
        "--json",
    ])))["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
}

#[test]
fn a_bad_item_is_named_and_the_rest_is_imported() {
    let root = scratch("context-config-bad");
    let lake = root.join("lake");
    let good = serde_json::json!({
        "configurationItemCaptureTime": "2026-11-20T10:00:00.000Z",
        "configurationItemStatus": "ResourceDiscovered", "configurationStateId": "1",
        "resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-9", "awsRegion": "eu-west-1",
        "awsAccountId": "111122223333",
        "configuration": {"subnetId": "subnet-9", "vpcId": "vpc-9", "cidrBlock": "10.9.0.0/24", "state": {"value": "available"}},
    });
    let mut no_time = good.clone();
    no_time["resourceId"] = Value::from("subnet-8");
    no_time
        .as_object_mut()
        .unwrap()
        .remove("configurationItemCaptureTime");
    let mut bad_conf = good.clone();
    bad_conf["resourceId"] = Value::from("subnet-7");
    bad_conf["configurationStateId"] = Value::from("2");
    bad_conf["configuration"] = Value::from("{not json");
    let other = serde_json::json!({
        "configurationItemCaptureTime": "2026-11-20T10:00:00.000Z", "configurationStateId": "3",
        "resourceType": "AWS::S3::Bucket", "resourceId": "b", "awsRegion": "eu-west-1",
        "awsAccountId": "111122223333", "configuration": {},
    });
    let file = root.join("mixed.json");
    std::fs::write(
        &file,
        serde_json::json!({"fileVersion": "1.0", "configurationItems": [good, no_time, bad_conf, other]})
            .to_string(),
    )
    .unwrap();
    let (code, s) = import_config(&lake, std::slice::from_ref(&file));
    assert_eq!(code, 1, "partial: {s:#}");
    let warnings: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    let name = file.display().to_string();
    assert!(
        warnings[0].starts_with(&format!("{name}: configuration item 1: "))
            && warnings[0].contains("configurationItemCaptureTime"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].starts_with(&format!("{name}: configuration item 2: "))
            && warnings[1].contains("subnet-7"),
        "{warnings:#?}"
    );
    assert_eq!(s["skipped_resource_types"]["AWS::S3::Bucket"], 1);
    assert_eq!(s["objects"]["subnets"], 1, "{s:#}");
    // Not JSON at all: the import names the file and writes nothing.
    let broken = root.join("broken.json");
    std::fs::write(&broken, b"{\"configurationItems\": [").unwrap();
    let fresh = root.join("fresh");
    let out = run(&mut flowlake(&[
        "inventory",
        "import-config",
        "--lake",
        fresh.to_str().unwrap(),
        broken.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fresh.join("inventory/snapshots").exists());
    // Config items given to the describe-* importer: refused, pointing the way.
    let out = run(&mut flowlake(&[
        "inventory",
        "import",
        "--lake",
        fresh.to_str().unwrap(),
        "--captured-at",
        "2026-11-20T10:00:00Z",
        "--account",
        "111122223333",
        "--region",
        "eu-west-1",
        file.to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("mixed.json") && stderr.contains("inventory import-config"),
        "{stderr}"
    );
    assert!(!fresh.join("inventory/snapshots").exists());
}
