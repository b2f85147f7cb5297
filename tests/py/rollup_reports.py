"""Runs each report's two SQL files, `<name>.sql` over flows and
`<name>.rollup.sql` over the per-hour rollup tables, in DuckDB over the same
lake (no flowlake code), and prints both answers so a test can check that
the rollup form gives the same rows.

Usage: rollup_reports.py <lake folder> <reports folder>
Prints {name: {"flows": [rows], "rollups": [rows]}}, rows sorted, as text.
"""
import glob
import json
import os
import sys

import duckdb


def main():
    lake, reports = sys.argv[1:3]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in ("flows", "traffic_hourly", "talkers_hourly", "sources_hourly", "destinations_hourly", "ports_hourly"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{os.path.join(lake, table)}/*/*/*.parquet', "
            "hive_partitioning = true, hive_types = {'day': VARCHAR, 'hour': VARCHAR})")
    out = {}
    for path in sorted(glob.glob(os.path.join(reports, "*.rollup.sql"))):
        name = os.path.basename(path).removesuffix(".rollup.sql")
        answers = {}
        for kind, file in (("flows", os.path.join(reports, f"{name}.sql")), ("rollups", path)):
            rows = con.execute(open(file).read()).fetchall()
            answers[kind] = sorted(json.dumps([str(v) for v in row]) for row in rows)
        out[name] = answers
    print(json.dumps(out))


if __name__ == "__main__":
    main()
