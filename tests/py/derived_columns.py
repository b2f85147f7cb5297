"""Checks a lake's derived columns against an independent computation from
the raw flow-log text: Python's ipaddress for the private flags, the IANA
protocol-numbers registry (tests/data/iana/protocol-keywords.csv) for
protocol names, Python's datetime for timestamps and partitions. The lake is
read with DuckDB, never with flowlake.

Usage: derived_columns.py <raw .log file> <lake folder> <iana keywords csv>

Prints JSON: {"raw_records": n, "lake_rows": m, "mismatches": [...],
"missing": [...], "extra": [...], "seen": {...}}. Rows are matched on
`interface-id`, which the fixture makes unique per line.
"""
import csv
import ipaddress
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone

import duckdb

# flowlake's "private" (README): RFC 1918 and IPv6 unique local (fc00::/7)
# only. Not Python's is_private, which also counts loopback, link-local,
# documentation and other special-purpose space.
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
# README: "IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)": these must be named.
MUST_NAME = {1, 6, 17, 58}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def private(text):
    if text == "-":
        return None
    addr = ipaddress.ip_address(text)
    # `in` is False across address families, so an IPv4-mapped IPv6 address
    # (::ffff:10.0.0.1) is not inside 10.0.0.0/8: exactly the listed blocks.
    return any(addr in net for net in PRIVATE)


def when(text):
    """README: start/end are Unix seconds; values above 10^11 are milliseconds."""
    if text == "-":
        return None
    value = int(text)
    if value > 10**11:
        return EPOCH + timedelta(milliseconds=value)
    return EPOCH + timedelta(seconds=value)


def object_time(path):
    """The time in an AWS object name (..._20240525T0505Z_...), for records without a start."""
    m = re.search(r"_(\d{8}T\d{4})Z_", os.path.basename(path))
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=timezone.utc)


def main():
    raw_path, lake, iana_path = sys.argv[1:4]
    with open(iana_path, newline="") as f:
        iana = {int(r["number"]): r["keyword"] for r in csv.DictReader(f)}
    expected = {}
    fields = None
    with open(raw_path) as f:
        for line in f:
            tokens = line.split()
            if not tokens:
                continue
            if tokens[0] == "version":
                fields = tokens
                continue
            r = dict(zip(fields, tokens))
            start, end = when(r["start"]), when(r["end"])
            partition_time = start or object_time(raw_path)
            expected[r["interface-id"]] = {
                "srcaddr_is_private": private(r["srcaddr"]),
                "dstaddr_is_private": private(r["dstaddr"]),
                "protocol": None if r["protocol"] == "-" else int(r["protocol"]),
                "start_time": start,
                "end_time": end,
                "day": partition_time.strftime("%Y-%m-%d"),
                "hour": partition_time.strftime("%H"),
            }

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT interface_id, srcaddr_is_private, dstaddr_is_private, protocol, protocol_name, "
        f"epoch_ms(start_time), epoch_ms(end_time), day, hour "
        f"FROM read_parquet('{lake}/flows/**/*.parquet', hive_partitioning = true, "
        f"hive_types = {{'day': VARCHAR, 'hour': VARCHAR}})"
    ).fetchall()

    def ts(ms):
        return None if ms is None else EPOCH + timedelta(milliseconds=ms)

    mismatches, extra, seen = [], [], set()
    for eni, src_p, dst_p, proto, name, start_ms, end_ms, day, hour in rows:
        want = expected.get(eni)
        if want is None or eni in seen:
            extra.append(eni)
            continue
        seen.add(eni)
        got = {
            "srcaddr_is_private": src_p,
            "dstaddr_is_private": dst_p,
            "protocol": proto,
            "start_time": ts(start_ms),
            "end_time": ts(end_ms),
            "day": day,
            "hour": hour,
        }
        for column, value in want.items():
            if got[column] != value:
                mismatches.append({"row": eni, "column": column, "lake": str(got[column]), "expected": str(value)})
        # protocol_name: the IANA keyword (lower case) or null; never another
        # name; never null for the protocols the README names.
        if proto is None:
            if name is not None:
                mismatches.append({"row": eni, "column": "protocol_name", "lake": name, "expected": "None"})
        elif name is not None and name != iana.get(proto):
            mismatches.append({"row": eni, "column": "protocol_name", "protocol": proto, "lake": name,
                               "expected": iana.get(proto, "None (no IANA keyword)")})
        elif name is None and proto in MUST_NAME:
            mismatches.append({"row": eni, "column": "protocol_name", "protocol": proto, "lake": "None",
                               "expected": iana[proto]})
    missing = sorted(set(expected) - seen)
    json.dump({
        "raw_records": len(expected),
        "lake_rows": len(rows),
        "mismatches": mismatches,
        "missing": missing,
        "extra": extra,
        # What the fixture exercised, so the test can insist on its edge cases.
        "seen": {
            "private_true": sum(1 for w in expected.values() for c in ("srcaddr_is_private", "dstaddr_is_private") if w[c] is True),
            "private_false": sum(1 for w in expected.values() for c in ("srcaddr_is_private", "dstaddr_is_private") if w[c] is False),
            "private_null": sum(1 for w in expected.values() for c in ("srcaddr_is_private", "dstaddr_is_private") if w[c] is None),
            "unassigned_protocols": sorted({w["protocol"] for w in expected.values() if w["protocol"] is not None and w["protocol"] not in iana}),
            "millisecond_times": sum(1 for w in expected.values() if w["start_time"] and w["start_time"].microsecond),
        },
    }, sys.stdout)


if __name__ == "__main__":
    main()
