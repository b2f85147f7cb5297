"""A realistic inventory for bench/explain.sh: the lake's own interfaces
(each with the address most of its records carry, so directions resolve)
plus filler interfaces up to ENIS, GROUPS security groups with a handful
of rules each (CIDRs, a prefix list, references to other groups), one
network ACL per subnet, written as the JSON `aws ec2 describe-*` prints.

    explain_inventory.py LAKE OUT GROUPS ENIS
"""
import json
import os
import random
import sys

import duckdb

lake, out, n_groups, n_enis = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(5)
os.makedirs(out, exist_ok=True)
rows = duckdb.sql(f"""
  WITH a AS (
    SELECT interface_id, addr, count(*) n FROM (
      SELECT interface_id, srcaddr addr FROM read_parquet('{lake}/flows/**/*.parquet')
      UNION ALL SELECT interface_id, dstaddr FROM read_parquet('{lake}/flows/**/*.parquet'))
    WHERE interface_id IS NOT NULL AND addr IS NOT NULL GROUP BY 1, 2)
  SELECT interface_id, arg_max(addr, n) FROM a GROUP BY 1 ORDER BY 1""").fetchall()
groups = [f"sg-{i:017x}" for i in range(n_groups)]
subnets = [f"subnet-{i:017x}" for i in range(20)]
enis = []
for i, (eni, addr) in enumerate(rows + [(f"eni-f{i:016x}", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}") for i in range(max(0, n_enis - len(rows)))]):
    enis.append({"NetworkInterfaceId": eni, "InterfaceType": "interface", "Description": "Primary network interface",
                 "OwnerId": "111122223333", "VpcId": "vpc-0bench", "SubnetId": subnets[i % len(subnets)],
                 "PrivateIpAddress": addr, "PrivateIpAddresses": [{"PrivateIpAddress": addr, "Primary": True}],
                 "Attachment": {"InstanceId": f"i-{i:017x}", "InstanceOwnerId": "111122223333"},
                 "Groups": [{"GroupId": g} for g in rng.sample(groups, 2)], "TagSet": [{"Key": "Name", "Value": f"host-{i}"}]})
def perm():
    port = rng.choice([22, 80, 443, 3306, 5432, 8080, 8443])
    peer = rng.random()
    p = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
    if peer < 0.5:
        p["IpRanges"].append({"CidrIp": rng.choice(["0.0.0.0/0", "10.0.0.0/8", "192.168.0.0/16", f"203.0.{rng.randrange(256)}.0/24"])})
    elif peer < 0.7:
        p["PrefixListIds"].append({"PrefixListId": "pl-0bench"})
    else:
        p["UserIdGroupPairs"].append({"GroupId": rng.choice(groups)})
    return p
sgs = [{"GroupId": g, "GroupName": g, "VpcId": "vpc-0bench", "OwnerId": "111122223333",
        "IpPermissions": [perm() for _ in range(rng.randrange(2, 8))],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]} for g in groups]
acls = [{"NetworkAclId": f"acl-{i:017x}", "VpcId": "vpc-0bench", "Associations": [{"SubnetId": s}],
         "Entries": [{"RuleNumber": 100, "Egress": False, "RuleAction": "allow", "Protocol": "6", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 1024, "To": 65535}},
                     {"RuleNumber": 110, "Egress": False, "RuleAction": "allow", "Protocol": "6", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 443}},
                     {"RuleNumber": 32767, "Egress": False, "RuleAction": "deny", "Protocol": "-1", "CidrBlock": "0.0.0.0/0"},
                     {"RuleNumber": 100, "Egress": True, "RuleAction": "allow", "Protocol": "-1", "CidrBlock": "0.0.0.0/0"},
                     {"RuleNumber": 32767, "Egress": True, "RuleAction": "deny", "Protocol": "-1", "CidrBlock": "0.0.0.0/0"}]}
        for i, s in enumerate(subnets)]
subs = [{"SubnetId": s, "VpcId": "vpc-0bench", "CidrBlock": f"10.{200 + i}.0.0/16"} for i, s in enumerate(subnets)]
json.dump({"NetworkInterfaces": enis}, open(f"{out}/enis.json", "w"))
json.dump({"SecurityGroups": sgs}, open(f"{out}/groups.json", "w"))
json.dump({"NetworkAcls": acls}, open(f"{out}/acls.json", "w"))
json.dump({"Subnets": subs}, open(f"{out}/subnets.json", "w"))
json.dump({"PrefixLists": [{"PrefixListId": "pl-0bench", "Version": 1}]}, open(f"{out}/lists.json", "w"))
json.dump({"PrefixListId": "pl-0bench", "Version": 1, "Entries": [{"Cidr": "10.0.0.0/8"}]}, open(f"{out}/pl.json", "w"))
json.dump({"captured_at": "2024-05-25T00:00:00Z", "account": "111122223333", "region": "us-east-1"}, open(f"{out}/_meta.json", "w"))
print(f"{len(enis)} interfaces ({len(rows)} from the lake), {len(sgs)} groups", file=sys.stderr)
