"""Checks a lake's per-hour rollup tables against its flows with DuckDB
alone (no flowlake code): every rollup table, summed by its keys and hour,
must equal the same aggregate computed from the flows records.

Usage: rollups_agree.py <lake folder>
Prints {table: {"groups": n, "rows": n, "missing": n, "extra": n,
"records": n}, "flows": n}: groups the flows have that the rollup lacks or
gets wrong ("missing"), the reverse ("extra"), and the rollup's rows (more
than its groups when a file holds a group in several partial rows).
"""
import json
import os
import sys

import duckdb

TABLES = {
    "traffic_hourly": "account_id, interface_id, action, log_status, flow_direction, protocol, protocol_name",
    "talkers_hourly": "account_id, interface_id, action, log_status, flow_direction, protocol, protocol_name, "
    "srcaddr, dstaddr, dstport, srcaddr_is_private, dstaddr_is_private",
    "sources_hourly": "account_id, action, log_status, srcaddr, srcaddr_is_private",
    "destinations_hourly": "account_id, action, log_status, dstaddr, dstaddr_is_private",
    "ports_hourly": "account_id, action, log_status, protocol, protocol_name, dstport",
}


def parquet(lake, table):
    folder = os.path.join(lake, table)
    return (f"read_parquet('{folder}/*/*/*.parquet', hive_partitioning = true, "
            "hive_types = {'day': VARCHAR, 'hour': VARCHAR})")


def main():
    lake = sys.argv[1]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    flows = parquet(lake, "flows")
    out = {"flows": con.execute(f"SELECT count(*) FROM {flows}").fetchone()[0]}
    for table, keys in TABLES.items():
        if not os.path.isdir(os.path.join(lake, table)):
            out[table] = None
            continue
        rollup = parquet(lake, table)
        from_flows = (f"SELECT date_trunc('hour', start_time) AS h, {keys}, count(*) AS n, sum(packets) AS p, "
                      f"sum(bytes) AS b, min(start_time) AS fs, max(start_time) AS ls, max(end_time) AS le "
                      f"FROM {flows} GROUP BY ALL")
        from_rollup = (f"SELECT hour_start AS h, {keys}, sum(records) AS n, sum(packets) AS p, sum(bytes) AS b, "
                       f"min(first_start) AS fs, max(last_start) AS ls, max(last_end) AS le "
                       f"FROM {rollup} GROUP BY ALL")
        count = lambda q: con.execute(f"SELECT count(*) FROM ({q})").fetchone()[0]
        out[table] = {
            "groups": count(from_flows),
            "rows": con.execute(f"SELECT count(*) FROM {rollup}").fetchone()[0],
            "missing": count(f"{from_flows} EXCEPT ALL {from_rollup}"),
            "extra": count(f"{from_rollup} EXCEPT ALL {from_flows}"),
            "records": con.execute(f"SELECT coalesce(sum(records), 0) FROM {rollup}").fetchone()[0],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
