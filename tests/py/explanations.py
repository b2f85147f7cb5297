"""What DuckDB sees in a lake's saved explanations and flows, with no
flowlake code: the REJECT records per day of flows/ (action REJECT,
log_status OK or null, as spec/network-context.md §2.3 takes them), every
row of reject_explanations/**/*.parquet with its Hive `day`, and, given a
report's .sql file, that file's rows over reject_explanations.

Usage: explanations.py <lake folder> [report.sql]
Prints {"rejects_by_day": {day: n}, "rows": [{column: value}],
        "report": {"columns": [...], "rows": [[text or null]]}}.
"""
import json
import os
import sys

import duckdb


def has_parquet(folder):
    return any(f.endswith(".parquet") for _, _, files in os.walk(folder) for f in files)


def main():
    lake = sys.argv[1]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    out = {"rejects_by_day": {}, "rows": [], "report": None}
    flows = os.path.join(lake, "flows")
    if has_parquet(flows):
        out["rejects_by_day"] = dict(con.execute(
            f"SELECT day, count(*) FROM read_parquet('{flows}/**/*.parquet', hive_partitioning = true, "
            "hive_types = {'day': VARCHAR, 'hour': VARCHAR}, union_by_name = true) "
            "WHERE action = 'REJECT' AND (log_status IS NULL OR log_status = 'OK') GROUP BY day"
        ).fetchall())
    table = os.path.join(lake, "reject_explanations")
    if not has_parquet(table):
        json.dump(out, sys.stdout)
        return
    con.execute(
        f"CREATE VIEW reject_explanations AS SELECT * FROM read_parquet('{table}/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'day': VARCHAR})")
    cur = con.execute("SELECT * FROM reject_explanations")
    names = [d[0] for d in cur.description]
    out["rows"] = [dict(zip(names, row)) for row in cur.fetchall()]
    if len(sys.argv) > 2:
        cur = con.execute(open(sys.argv[2]).read())
        out["report"] = {
            "columns": [d[0] for d in cur.description],
            "rows": [[None if v is None else str(v) for v in row] for row in cur.fetchall()],
        }
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
