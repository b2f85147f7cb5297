"""What the dashboards should show, computed with DuckDB straight from the
lake's Parquet files (never flowlake's code), as JSON:

{"totals": {flows, bytes, packets, rejected_flows},
 "top_sources": [[addr, bytes], ...15], "rejected_ports": [[port/proto, flows], ...15],
 "flows_by_action": {action: flows (log_status OK)},
 "log_health": {"account/interface": [nodata, skipdata]},
 "count": n}

Usage: dashboard_expected.py <lake> [FROM_EPOCH TO_EPOCH]
"""
import json
import os
import sys

import duckdb


def main():
    lake = sys.argv[1]
    where = "TRUE"
    if len(sys.argv) == 4:
        where = (f"start_time >= to_timestamp({int(sys.argv[2])}) "
                 f"AND start_time < to_timestamp({int(sys.argv[3])})")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = os.path.join(lake, "flows")
    con.execute(
        f"CREATE VIEW flows AS SELECT * FROM read_parquet('{table}/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'day': VARCHAR, 'hour': VARCHAR}, "
        f"union_by_name = true) WHERE {where}")
    q = lambda sql: con.execute(sql).fetchall()
    flows, total_bytes, packets, rejected = q(
        "SELECT count(*), sum(bytes), sum(packets), "
        "sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) FROM flows")[0]
    first, last = q("SELECT epoch(min(start_time)), epoch(max(start_time)) FROM flows")[0]
    out = {
        "count": flows,
        "first": int(first) if first is not None else None,
        "last": int(last) if last is not None else None,
        "totals": {"flows": flows, "bytes": int(total_bytes or 0),
                   "packets": int(packets or 0), "rejected_flows": int(rejected or 0)},
        "top_sources": [[a, int(b)] for a, b in q(
            "SELECT srcaddr, sum(bytes) AS v FROM flows WHERE srcaddr IS NOT NULL "
            "GROUP BY srcaddr ORDER BY v DESC NULLS LAST, srcaddr LIMIT 15")],
        "rejected_ports": [[p, int(n)] for p, n in q(
            "SELECT CAST(dstport AS VARCHAR) || '/' || coalesce(protocol_name, CAST(protocol AS VARCHAR)) AS l, "
            "count(*) AS v FROM flows WHERE action = 'REJECT' AND dstport IS NOT NULL "
            "GROUP BY l ORDER BY v DESC, l LIMIT 15")],
        "flows_by_action": {a: int(n) for a, n in q(
            "SELECT coalesce(action, log_status), count(*) FROM flows "
            "WHERE start_time IS NOT NULL AND log_status = 'OK' GROUP BY 1")},
        "log_health": {f"{acct}/{eni}": [int(nd), int(sd)] for acct, eni, nd, sd in q(
            "SELECT account_id, interface_id, "
            "sum(CASE WHEN log_status = 'NODATA' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN log_status = 'SKIPDATA' THEN 1 ELSE 0 END) FROM flows "
            "GROUP BY 1, 2 HAVING sum(CASE WHEN log_status <> 'OK' THEN 1 ELSE 0 END) > 0")},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
