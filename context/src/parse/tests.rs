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
