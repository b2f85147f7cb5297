#!/usr/bin/env python3
"""Writes the network-context fixture's CLI snapshots again as AWS Config
configuration items (spec/network-context.md §1.3), independently of
flowlake's reader, so the same cases can be imported both ways.

- vpc-0a1 (three snapshots) becomes S3 history files, one per resource type
  as Config delivers them (`{"fileVersion","configurationItems"}`, the
  configuration an object, `awsAccountId`, `ARN`); the ENI and security
  group files are gzipped, as in the bucket.
- vpc-0b2 (one snapshot) becomes `aws configservice
  get-resource-config-history` output: the API envelope, `configuration`
  a JSON string, `accountId`, newest first.

An object's first sighting is ResourceDiscovered, a changed content OK, a
disappearance ResourceDeleted. camelCase everywhere except PrefixList and
the Block Public Access types, which Config keeps PascalCase; security
group ranges appear both as `ipRanges` strings and `ipv4Ranges` objects;
Subnet `state` is `{value}`; ENI tags are the item's `tags`, not the
configuration's.

Run from this folder: python3 make.py
"""

import gzip
import json
import os
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TYPES = {
    "network-interfaces.json": ("NetworkInterfaces", "AWS::EC2::NetworkInterface", "NetworkInterfaceId"),
    "security-groups.json": ("SecurityGroups", "AWS::EC2::SecurityGroup", "GroupId"),
    "network-acls.json": ("NetworkAcls", "AWS::EC2::NetworkAcl", "NetworkAclId"),
    "subnets.json": ("Subnets", "AWS::EC2::Subnet", "SubnetId"),
    "route-tables.json": ("RouteTables", "AWS::EC2::RouteTable", "RouteTableId"),
}


def camel(value):
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def config_of(rtype, obj):
    """The Config form of one describe-* object, and its item-level tags."""
    obj = json.loads(json.dumps(obj))
    tags = {t["Key"]: t["Value"] for t in obj.pop("TagSet", []) + obj.pop("Tags", [])}
    if rtype == "AWS::EC2::SecurityGroup":
        for key in ("IpPermissions", "IpPermissionsEgress"):
            for perm in obj.get(key, []):
                ranges = perm.pop("IpRanges", [])
                perm["IpRanges"] = [r["CidrIp"] for r in ranges]
                perm["Ipv4Ranges"] = ranges
    if rtype == "AWS::EC2::Subnet" and "State" in obj:
        obj["State"] = {"Value": obj["State"]}
    return camel(obj), tags


def stamp(at, api):
    t = datetime.fromtimestamp(at, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00" if api else "%Y-%m-%dT%H:%M:%S.000Z")


def snapshots(scope):
    out = []
    for name in sorted(os.listdir(os.path.join(ROOT, scope))):
        folder = os.path.join(ROOT, scope, name)
        with open(os.path.join(folder, "_meta.json")) as f:
            meta = json.load(f)
        at = int(datetime.fromisoformat(meta["captured_at"].replace("Z", "+00:00")).timestamp())
        objects = {}
        for file, (key, rtype, id_key) in TYPES.items():
            path = os.path.join(folder, file)
            if os.path.exists(path):
                with open(path) as f:
                    for obj in json.load(f)[key]:
                        objects[(rtype, obj[id_key])] = config_of(rtype, obj)
        objects.update(prefix_lists(folder))
        objects.update(bpa(folder, meta))
        out.append((at, meta, objects))
    return out


def prefix_lists(folder):
    path = os.path.join(folder, "managed-prefix-lists.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        lists = json.load(f)["PrefixLists"]
    with open(os.path.join(folder, "prefix-list-entries.json")) as f:
        entries = json.load(f)
    out = {}
    for pl in lists:
        conf = dict(pl)
        if entries.get("PrefixListId") == pl["PrefixListId"] and entries.get("Version") == pl.get("Version"):
            conf["Entries"] = entries["Entries"]
        # The Config schema types Version as a string.
        conf["Version"] = str(pl["Version"])
        out[("AWS::EC2::PrefixList", pl["PrefixListId"])] = (conf, {})
    return out


def bpa(folder, meta):
    out = {}
    path = os.path.join(folder, "bpa-options.json")
    if os.path.exists(path):
        with open(path) as f:
            options = json.load(f)["VpcBlockPublicAccessOptions"]
        rid = f"{meta['account']}-{meta['region']}"
        out[("AWS::EC2::VPCBlockPublicAccessOptions", rid)] = (options, {})
    path = os.path.join(folder, "bpa-exclusions.json")
    if os.path.exists(path):
        with open(path) as f:
            for x in json.load(f)["VpcBlockPublicAccessExclusions"]:
                x = dict(x)
                arn = x.pop("ResourceArn", "")
                kind, _, rid = arn.rpartition(":")[2].partition("/")
                x["SubnetId" if kind == "subnet" else "VpcId"] = rid
                out[("AWS::EC2::VPCBlockPublicAccessExclusion", x["ExclusionId"])] = (x, {})
    return out


def items(scope, api):
    """Change events: first sighting, each changed content, deletion."""
    last = {}
    events = []
    for at, meta, objects in snapshots(scope):
        for key in sorted(set(objects) | set(last)):
            now = objects.get(key)
            if now == last.get(key):
                continue
            status = "ResourceDeleted" if now is None else ("OK" if key in last else "ResourceDiscovered")
            rtype, rid = key
            conf, tags = now if now is not None else (None, {})
            item = {
                "configurationItemCaptureTime": stamp(at, api),
                "configurationItemStatus": status,
                "configurationStateId": str(at * 1000 + len(events)),
                "resourceType": rtype,
                "resourceId": rid,
                "awsRegion": meta["region"],
                "relationships": [],
                "tags": tags,
            }
            arn = f"arn:aws:ec2:{meta['region']}:{meta['account']}:{rtype.split('::')[2].lower()}/{rid}"
            if api:
                item.update({"accountId": meta["account"], "arn": arn, "version": "1.3",
                             "configuration": json.dumps(conf) if conf is not None else None})
            else:
                item.update({"awsAccountId": meta["account"], "ARN": arn,
                             "configurationItemVersion": "1.3", "configuration": conf})
            events.append(item)
            if now is None:
                last.pop(key, None)
            else:
                last[key] = now
    return events


def write(path, doc, gz):
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    if gz:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def main():
    history = os.path.join(HERE, "vpc-0a1")
    os.makedirs(history, exist_ok=True)
    by_type = {}
    for item in items("vpc-0a1", api=False):
        by_type.setdefault(item["resourceType"], []).append(item)
    for rtype, group in sorted(by_type.items()):
        short = rtype.split("::")[2]
        gz = short in ("NetworkInterface", "SecurityGroup")
        name = f"111122223333_Config_eu-west-1_ConfigHistory_AWS::EC2::{short}.json" + (".gz" if gz else "")
        write(os.path.join(history, name.replace("::", "-")), {"fileVersion": "1.0", "configurationItems": group}, gz)
    api = os.path.join(HERE, "vpc-0b2")
    os.makedirs(api, exist_ok=True)
    newest_first = list(reversed(items("vpc-0b2", api=True)))
    write(os.path.join(api, "get-resource-config-history.json"), {"configurationItems": newest_first}, False)


if __name__ == "__main__":
    main()
