"""An independent security-group and network-ACL matcher: the rules of
spec/network-context.md §2.4 written as SQL in DuckDB, with address math
from Python's ipaddress module (never flowlake's code).

Input (argv[1], JSON): {"sg_rules": [...], "pl_entries": [...],
"acl_entries": [...], "packets": [...]}; prints
{"sg": {pid: 0|1|2}, "acl": {pid: {"result": ..., "decider": n|null}}}
where 0 = no rule matches, 1 = one may match, 2 = one matches.
"""
import ipaddress
import json
import sys

import duckdb


def span(cidr):
    net = ipaddress.ip_network(cidr, strict=False)
    return net.version, "%032x" % int(net.network_address), "%032x" % int(net.broadcast_address)


def addr(text):
    a = ipaddress.ip_address(text)
    return a.version, "%032x" % int(a)


def main():
    data = json.load(open(sys.argv[1]))
    con = duckdb.connect()
    con.execute("CREATE TABLE rules (rid INT, protocol INT, from_port INT, to_port INT, peer_kind TEXT, family INT, lo TEXT, hi TEXT, pl_id TEXT)")
    con.execute("CREATE TABLE pl (pl_id TEXT, family INT, lo TEXT, hi TEXT)")
    con.execute("CREATE TABLE entries (rule_number INT, egress BOOL, allow BOOL, protocol INT, family INT, lo TEXT, hi TEXT, port_from INT, port_to INT, icmp_type INT, icmp_code INT)")
    con.execute("CREATE TABLE packets (pid INT, protocol INT, port INT, family INT, addr TEXT, egress BOOL)")
    for r in data["sg_rules"]:
        fam, lo, hi = span(r["cidr"]) if r.get("cidr") else (None, None, None)
        con.execute("INSERT INTO rules VALUES (?,?,?,?,?,?,?,?,?)",
                    [r["rid"], r["protocol"], r.get("from_port"), r.get("to_port"),
                     "cidr" if r.get("cidr") else "pl", fam, lo, hi, r.get("pl_id")])
    for e in data["pl_entries"]:
        con.execute("INSERT INTO pl VALUES (?,?,?,?)", [e["pl_id"], *span(e["cidr"])])
    for e in data["acl_entries"]:
        fam, lo, hi = span(e["cidr"])
        con.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [e["rule_number"], e["egress"], e["allow"], e["protocol"], fam, lo, hi,
                     e.get("port_from"), e.get("port_to"), e.get("icmp_type"), e.get("icmp_code")])
    for p in data["packets"]:
        fam, a = addr(p["remote"])
        con.execute("INSERT INTO packets VALUES (?,?,?,?,?,?)",
                    [p["pid"], p["protocol"], p["port"], fam, a, p["egress"]])

    sg = con.execute("""
    WITH lists AS (SELECT DISTINCT pl_id FROM pl),
    m AS (
      SELECT p.pid,
        CASE WHEN r.protocol = -1 OR r.protocol = p.protocol THEN 2 ELSE 0 END AS proto_m,
        CASE
          WHEN NOT (r.protocol = -1 OR r.protocol = p.protocol) THEN 0
          WHEN r.protocol = -1 THEN 2
          WHEN r.protocol IN (6, 17) THEN
            CASE WHEN p.port BETWEEN (CASE WHEN r.from_port IS NULL OR r.from_port < 0 THEN 0 ELSE r.from_port END)
                                 AND (CASE WHEN r.to_port IS NULL OR r.to_port < 0 THEN 65535 ELSE r.to_port END)
                 THEN 2 ELSE 0 END
          WHEN r.protocol IN (1, 58) THEN
            CASE WHEN coalesce(r.from_port, -1) < 0 AND coalesce(r.to_port, -1) < 0 THEN 2 ELSE 1 END
          ELSE 2
        END AS port_m,
        CASE
          WHEN r.peer_kind = 'cidr' THEN
            CASE WHEN r.family = p.family AND p.addr BETWEEN r.lo AND r.hi THEN 2 ELSE 0 END
          WHEN r.pl_id NOT IN (SELECT pl_id FROM lists) THEN 1
          WHEN EXISTS (SELECT 1 FROM pl WHERE pl.pl_id = r.pl_id AND pl.family = p.family
                       AND p.addr BETWEEN pl.lo AND pl.hi) THEN 2
          ELSE 0
        END AS peer_m
      FROM packets p CROSS JOIN rules r
    )
    SELECT p.pid, coalesce(max(least(m.proto_m, m.port_m, m.peer_m)), 0) AS level
    FROM packets p LEFT JOIN m USING (pid) GROUP BY p.pid
    """).fetchall()

    acl = con.execute("""
    WITH m AS (
      SELECT p.pid, e.rule_number, e.allow,
        CASE
          WHEN NOT (e.family = p.family AND p.addr BETWEEN e.lo AND e.hi) THEN 0
          WHEN e.protocol = -1 THEN 2
          WHEN e.protocol <> p.protocol THEN 0
          WHEN e.protocol IN (6, 17) THEN
            CASE WHEN e.port_from IS NULL OR p.port BETWEEN e.port_from AND e.port_to THEN 2 ELSE 0 END
          WHEN e.protocol IN (1, 58) THEN
            CASE WHEN e.icmp_type IS NULL OR (e.icmp_type = -1 AND e.icmp_code = -1) THEN 2 ELSE 1 END
          ELSE 2
        END AS mt
      FROM packets p JOIN entries e ON e.egress = p.egress
    ),
    decider AS (
      SELECT pid, min(rule_number) AS n, arg_min(allow, rule_number) AS allow FROM m WHERE mt = 2 GROUP BY pid
    ),
    maybes AS (
      SELECT m.pid, bool_or(m.allow) AS maybe_allow, bool_or(NOT m.allow) AS maybe_deny
      FROM m LEFT JOIN decider d USING (pid)
      WHERE m.mt = 1 AND (d.n IS NULL OR m.rule_number < d.n)
      GROUP BY m.pid
    )
    SELECT p.pid, d.n,
      CASE
        WHEN coalesce(d.allow, false) AND coalesce(x.maybe_deny, false) THEN 'maybe'
        WHEN NOT coalesce(d.allow, false) AND coalesce(x.maybe_allow, false) THEN 'maybe'
        WHEN coalesce(d.allow, false) THEN 'allow'
        ELSE 'deny'
      END
    FROM packets p LEFT JOIN decider d USING (pid) LEFT JOIN maybes x USING (pid)
    """).fetchall()
    print(json.dumps({
        "sg": {str(pid): level for pid, level in sg},
        "acl": {str(pid): {"result": result, "decider": n} for pid, n, result in acl},
    }))


if __name__ == "__main__":
    main()
