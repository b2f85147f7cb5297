"""Independent answers to flowlake's reports, computed from the raw flow-log
objects with nothing but the Python standard library (no flowlake code, no
Parquet): every test compares flowlake's report output with these.

Usage: raw_reports.py <folder of .log.gz/.log> [--from EPOCH] [--to EPOCH]
Prints one JSON object: {report name: [row, ...]}, rows as dicts.
"""
import gzip
import ipaddress
import json
import os
import sys
from collections import defaultdict

PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
PROTOCOLS = {0: "hopopt", 1: "icmp", 2: "igmp", 4: "ipv4", 6: "tcp", 8: "egp", 17: "udp", 27: "rdp", 33: "dccp",
             41: "ipv6", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 88: "eigrp", 89: "ospfigp",
             94: "ipip", 97: "etherip", 103: "pim", 112: "vrrp", 115: "l2tp", 132: "sctp", 136: "udplite",
             137: "mpls-in-ip"}
DEFAULT = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".split()
INTS = {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp-flags", "traffic-path"}


def private(addr):
    ip = ipaddress.ip_address(addr)
    return any(ip.version == n.version and ip in n for n in PRIVATE)


def records(folder):
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(".gz"):
                text = gzip.open(path, "rt").read()
            elif name.endswith(".log"):
                text = open(path).read()
            else:
                continue
            fields = DEFAULT
            for line in text.splitlines():
                tokens = line.split()
                if not tokens:
                    continue
                if all(t[0].islower() and not t[0].isdigit() for t in tokens) and tokens[0] in ("version", "account-id", "srcaddr", "interface-id", "action"):
                    fields = tokens
                    continue
                if len(tokens) != len(fields):
                    continue
                rec = {}
                for f, t in zip(fields, tokens):
                    if t == "-":
                        rec[f] = None
                    elif f in INTS:
                        try:
                            rec[f] = int(t)
                        except ValueError:
                            rec = None
                            break
                    else:
                        rec[f] = t
                if rec is not None:
                    yield rec


def add(a, b):
    if b is None:
        return a
    return b if a is None else a + b


def main():
    folder = sys.argv[1]
    t_from = t_to = None
    if "--from" in sys.argv:
        t_from = int(sys.argv[sys.argv.index("--from") + 1])
    if "--to" in sys.argv:
        t_to = int(sys.argv[sys.argv.index("--to") + 1])

    summary = defaultdict(lambda: {"flows": 0, "packets": None, "bytes": None, "src": set(), "dst": set()})
    src = defaultdict(lambda: {"bytes": None, "packets": None, "flows": 0, "dst": set(), "private": True})
    dst = defaultdict(lambda: {"bytes": None, "packets": None, "flows": 0, "src": set(), "private": True})
    pairs = defaultdict(lambda: {"bytes": None, "packets": None, "flows": 0, "ports": set()})
    rej_src = defaultdict(lambda: {"flows": 0, "packets": None, "targets": set(), "ports": set(), "first": None, "last": None})
    rej_port = defaultdict(lambda: {"flows": 0, "sources": set(), "targets": set(), "packets": None})
    ssh = defaultdict(lambda: {"flows": 0, "packets": None, "bytes": None})
    ifaces = defaultdict(lambda: {"flows": 0, "bytes": None, "packets": None, "accepted": 0, "rejected": 0, "src": set(), "dst": set()})
    status = defaultdict(lambda: {"records": 0, "ok": 0, "nodata": 0, "skipdata": 0})
    total = 0
    for r in records(folder):
        start = r.get("start")
        if t_from is not None and (start is None or start < t_from):
            continue
        if t_to is not None and (start is None or start >= t_to):
            continue
        total += 1
        action, log_status = r.get("action"), r.get("log-status")
        s, d = r.get("srcaddr"), r.get("dstaddr")
        b, p = r.get("bytes"), r.get("packets")
        label = action or ("(none)" if log_status == "OK" else log_status)
        e = summary[label]
        e["flows"] += 1; e["packets"] = add(e["packets"], p); e["bytes"] = add(e["bytes"], b)
        if s: e["src"].add(s)
        if d: e["dst"].add(d)
        if s:
            e = src[s]; e["bytes"] = add(e["bytes"], b); e["packets"] = add(e["packets"], p); e["flows"] += 1
            if d: e["dst"].add(d)
            e["private"] = e["private"] and private(s)
        if d:
            e = dst[d]; e["bytes"] = add(e["bytes"], b); e["packets"] = add(e["packets"], p); e["flows"] += 1
            if s: e["src"].add(s)
            e["private"] = e["private"] and private(d)
        if s and d:
            e = pairs[(s, d)]; e["bytes"] = add(e["bytes"], b); e["packets"] = add(e["packets"], p); e["flows"] += 1
            if r.get("dstport") is not None: e["ports"].add(r["dstport"])
        if action == "REJECT":
            e = rej_src[s]; e["flows"] += 1; e["packets"] = add(e["packets"], p)
            if d: e["targets"].add(d)
            if r.get("dstport") is not None: e["ports"].add(r["dstport"])
            if start is not None: e["first"] = start if e["first"] is None else min(e["first"], start)
            if r.get("end") is not None: e["last"] = r["end"] if e["last"] is None else max(e["last"], r["end"])
            proto = r.get("protocol")
            e = rej_port[(r.get("dstport"), PROTOCOLS.get(proto) if proto is not None else None)]
            e["flows"] += 1; e["packets"] = add(e["packets"], p)
            if s: e["sources"].add(s)
            if d: e["targets"].add(d)
        if r.get("protocol") == 6 and r.get("dstport") in (22, 3389) and s and not private(s):
            e = ssh[(s, d, "ssh" if r["dstport"] == 22 else "rdp", action)]
            e["flows"] += 1; e["packets"] = add(e["packets"], p); e["bytes"] = add(e["bytes"], b)
        if r.get("interface-id"):
            e = ifaces[(r.get("account-id"), r["interface-id"])]
            e["flows"] += 1; e["bytes"] = add(e["bytes"], b); e["packets"] = add(e["packets"], p)
            if action == "ACCEPT": e["accepted"] += b or 0
            if action == "REJECT": e["rejected"] += 1
            if s: e["src"].add(s)
            if d: e["dst"].add(d)
        e = status[(r.get("account-id"), r.get("interface-id"))]
        e["records"] += 1
        bucket = {"OK": "ok", "NODATA": "nodata", "SKIPDATA": "skipdata"}.get(log_status)
        if bucket:
            e[bucket] += 1

    out = {
        "total": total,
        "summary": [{"action": k, "flows": v["flows"], "packets": v["packets"], "bytes": v["bytes"],
                     "sources": len(v["src"]), "destinations": len(v["dst"])} for k, v in summary.items()],
        "top-sources": [{"srcaddr": k, "bytes": v["bytes"], "packets": v["packets"], "flows": v["flows"],
                         "destinations": len(v["dst"]), "private": v["private"]} for k, v in src.items()],
        "top-destinations": [{"dstaddr": k, "bytes": v["bytes"], "packets": v["packets"], "flows": v["flows"],
                              "sources": len(v["src"]), "private": v["private"]} for k, v in dst.items()],
        "top-pairs": [{"srcaddr": k[0], "dstaddr": k[1], "bytes": v["bytes"], "packets": v["packets"],
                       "flows": v["flows"], "ports": len(v["ports"])} for k, v in pairs.items()],
        "rejected-sources": [{"srcaddr": k, "flows": v["flows"], "packets": v["packets"], "targets": len(v["targets"]),
                              "ports": len(v["ports"]), "first_seen": v["first"], "last_seen": v["last"]} for k, v in rej_src.items()],
        "rejected-ports": [{"dstport": k[0], "protocol": k[1], "flows": v["flows"], "sources": len(v["sources"]),
                            "targets": len(v["targets"]), "packets": v["packets"]} for k, v in rej_port.items()],
        "ssh-rdp-external": [{"srcaddr": k[0], "dstaddr": k[1], "service": k[2], "action": k[3], "flows": v["flows"],
                              "packets": v["packets"], "bytes": v["bytes"]} for k, v in ssh.items()],
        "interfaces": [{"account_id": k[0], "interface_id": k[1], "flows": v["flows"], "bytes": v["bytes"],
                        "packets": v["packets"], "accepted_bytes": v["accepted"], "rejected_flows": v["rejected"],
                        "sources": len(v["src"]), "destinations": len(v["dst"])} for k, v in ifaces.items()],
        "log-status": [{"account_id": k[0], "interface_id": k[1], "records": v["records"], "ok": v["ok"],
                        "nodata": v["nodata"], "skipdata": v["skipdata"]} for k, v in status.items()],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
