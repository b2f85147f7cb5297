use super::*;

#[test]
fn documents_are_recognised_by_their_key_and_pages_accumulate() {
    let mut c = SnapshotContent::default();
    let pages = br#"{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","PrivateIpAddress":"10.0.0.5",
        "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.5","Primary":true,"Association":{"PublicIp":"198.51.100.1","IpOwnerId":"amazon"}},
                              {"PrivateIpAddress":"10.0.0.6","Primary":false}],
        "Ipv4Prefixes":[{"Ipv4Prefix":"10.0.0.96/28"}],"Groups":[{"GroupId":"sg-b"},{"GroupId":"sg-a"}]}],"NextToken":"x"}
        {"NetworkInterfaces":[{"NetworkInterfaceId":"eni-2"}]}"#;
    c.add_file("page.json", pages).unwrap();
    assert_eq!(c.enis.len(), 2);
    let e = &c.enis[0];
    assert_eq!(e.groups, ["sg-a", "sg-b"]);
    let kinds: Vec<&str> = e.addresses.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["primary", "public", "secondary", "ipv4_prefix"]);
    assert!(c.warnings.iter().any(|w| w.contains("NextToken")));
    c.add_file("other.json", br#"{"Reservations":[]}"#).unwrap();
    assert!(c.warnings.iter().any(|w| w.contains("no inventory key")));
    assert!(c.add_file("bad.json", b"{").is_err());
}

#[test]
fn group_rules_expand_per_peer_and_take_rule_ids() {
    let mut c = SnapshotContent::default();
    c.add_file(
        "sg.json",
        br#"{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,
            "IpRanges":[{"CidrIp":"10.0.0.0/8"},{"CidrIp":"192.0.2.0/24"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}],
            "PrefixListIds":[{"PrefixListId":"pl-1"}],"UserIdGroupPairs":[{"GroupId":"sg-2"}]}],
            "IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}
          {"SecurityGroupRules":[{"SecurityGroupRuleId":"sgr-9","GroupId":"sg-1","IsEgress":true,"IpProtocol":"-1",
            "FromPort":-1,"ToPort":-1,"CidrIpv4":"0.0.0.0/0"}]}"#,
    )
    .unwrap();
    let g = &c.groups[0];
    assert_eq!(g.rules.len(), 6);
    assert_eq!(g.rules[5].rule_id.as_deref(), Some("sgr-9"));
    assert!(
        g.rules[..5]
            .iter()
            .all(|r| r.rule_id.is_none() && r.protocol == 6)
    );
}

#[test]
fn prefix_list_entries_need_their_list() {
    let mut c = SnapshotContent::default();
    assert!(
        c.add_file("entries.json", br#"{"Entries":[{"Cidr":"10.0.0.0/24"}]}"#)
            .is_err()
    );
    c.add_file("pl-0db.json", br#"{"Entries":[{"Cidr":"10.0.0.0/24"}]}"#)
        .unwrap();
    c.add_file(
        "lists.json",
        br#"{"PrefixLists":[{"PrefixListId":"pl-0db","Version":3}]}"#,
    )
    .unwrap();
    c.settle_prefix_list_versions();
    assert_eq!(c.prefix_list_entries[0].version, Some(3));
}

/// One Config item of `kind` for `id` at `at` (seconds), in the file
/// envelope's field names.
fn item(
    rtype: &str,
    id: &str,
    at: &str,
    state: u64,
    status: &str,
    conf: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "configurationItemCaptureTime": at, "configurationItemStatus": status,
        "configurationStateId": state.to_string(), "resourceType": rtype, "resourceId": id,
        "awsRegion": "eu-west-1", "awsAccountId": "111122223333",
        "tags": {"Name": "web-1"}, "configuration": conf,
    })
}

#[test]
fn config_items_read_in_both_envelopes_into_the_describe_shapes() {
    let sg = serde_json::json!({"groupId":"sg-1","ipPermissions":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,
        "ipRanges":["10.0.0.0/8","192.0.2.0/24"],
        "ipv4Ranges":[{"cidrIp":"10.0.0.0/8","description":"office"}],
        "ipv6Ranges":[{"cidrIpv6":"::/0"}],"userIdGroupPairs":[{"groupId":"sg-2","userId":"111122223333"}]}],
        "ipPermissionsEgress":[{"ipProtocol":"-1","ipRanges":[],"ipv4Ranges":[{"cidrIp":"0.0.0.0/0"}]}]});
    let file = serde_json::json!({"fileVersion":"1.0","configurationItems":[
        item("AWS::EC2::SecurityGroup","sg-1","2026-11-20T10:00:00.000Z",5,"OK",sg.clone())]});
    let mut api_item = item(
        "AWS::EC2::SecurityGroup",
        "sg-1",
        "2026-11-20T10:00:00.000000+00:00",
        5,
        "OK",
        serde_json::Value::from(sg.to_string()),
    );
    api_item["accountId"] = api_item["awsAccountId"].take();
    let api = serde_json::json!({"configurationItems":[api_item]});
    let mut from_file = SnapshotContent::default();
    from_file
        .add_file("history.json", file.to_string().as_bytes())
        .unwrap();
    let mut from_api = SnapshotContent::default();
    from_api
        .add_file("api.json", api.to_string().as_bytes())
        .unwrap();
    assert_eq!(from_file.groups, from_api.groups);
    let g = &from_file.groups[0];
    let peers: Vec<String> = g
        .rules
        .iter()
        .map(|r| format!("{:?} {:?}", r.peer, r.description))
        .collect();
    // 10.0.0.0/8 once, with the description only ipv4Ranges had.
    assert_eq!(g.rules.len(), 5, "{peers:#?}");
    assert_eq!(
        g.rules
            .iter()
            .filter(|r| r.description.as_deref() == Some("office"))
            .count(),
        1
    );
    assert!(
        from_file.covers.is_empty(),
        "an item is no listing of its kind"
    );
    assert_eq!(from_file.changes.len(), 1);
}

#[test]
fn config_items_fill_ids_tags_and_versions_and_the_later_state_wins() {
    let eni = |ip: &str| {
        serde_json::json!({"privateIpAddress": ip, "interfaceType": "nat_gateway",
        "privateIpAddresses": [{"privateIpAddress": ip, "primary": true,
            "association": {"publicIp": "198.51.100.7", "ipOwnerId": "amazon"}}]})
    };
    let pl =
        serde_json::json!({"PrefixListId":"pl-1","Version":"3","Entries":[{"Cidr":"10.0.3.0/24"}]});
    let doc = serde_json::json!({"configurationItems":[
        item("AWS::EC2::NetworkInterface","eni-1","2026-11-20T10:00:00Z",9,"OK",eni("10.0.0.9")),
        item("AWS::EC2::NetworkInterface","eni-1","2026-11-20T10:00:00Z",8,"OK",eni("10.0.0.8")),
        item("AWS::EC2::PrefixList","pl-1","2026-11-20T10:00:00Z",1,"OK",pl),
        item("AWS::EC2::Subnet","subnet-1","2026-11-20T10:00:00Z",1,"ResourceDeleted",serde_json::Value::Null),
        item("AWS::EC2::Instance","i-1","2026-11-20T10:00:00Z",1,"OK",serde_json::json!({})),
        serde_json::json!({"resourceType":"AWS::EC2::Subnet"}),
    ]});
    let mut c = SnapshotContent::default();
    c.add_file("items.json", doc.to_string().as_bytes())
        .unwrap();
    c.settle_prefix_list_versions();
    assert_eq!(c.enis.len(), 1);
    let e = &c.enis[0];
    assert_eq!(e.id, "eni-1");
    assert_eq!(
        e.addresses[0].net.to_string(),
        "10.0.0.9/32",
        "state 9 beats state 8"
    );
    assert_eq!(e.tags.get("Name").map(String::as_str), Some("web-1"));
    assert_eq!(c.prefix_lists[0].version, Some(3));
    assert_eq!(c.prefix_list_entries[0].version, Some(3));
    assert_eq!(
        c.changes
            .get(&(Kind::Subnet, "subnet-1".to_owned()))
            .map(|ch| ch.kind),
        Some(config::ChangeKind::Deleted)
    );
    assert_eq!(c.skipped_items, 1);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("items.json: configuration item 5"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn gzip_files_are_read_and_broken_gzip_is_an_error() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(br#"{"Subnets":[{"SubnetId":"subnet-1","CidrBlock":"10.0.0.0/24"}]}"#)
        .unwrap();
    let bytes = gz.finish().unwrap();
    let mut c = SnapshotContent::default();
    c.add_file("subnets.json.gz", &bytes).unwrap();
    assert_eq!(c.subnets[0].cidrs[0].to_string(), "10.0.0.0/24");
    let err = c
        .add_file("cut.json.gz", &bytes[..bytes.len() / 2])
        .unwrap_err();
    assert!(err.to_string().starts_with("cut.json.gz: "), "{err}");
}
