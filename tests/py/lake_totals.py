"""Prints the row count, the sum and the number of distinct values of one
integer column over every Parquet file under <lake>/flows/ (DuckDB), as
JSON: {"rows": n, "sum": s, "distinct": d}. Never reads the lake with
flowlake's code.

Usage: lake_totals.py <lake folder> <column>
"""
import json
import os
import sys

import duckdb


def main():
    lake, column = sys.argv[1], sys.argv[2]
    table = os.path.join(lake, "flows")
    if not any(f.endswith(".parquet") for _, _, files in os.walk(table) for f in files):
        json.dump({"rows": 0, "sum": 0, "distinct": 0}, sys.stdout)
        return
    rows, total, distinct = duckdb.connect().execute(
        f"SELECT count(*), coalesce(sum(\"{column}\"), 0), count(DISTINCT \"{column}\") "
        f"FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'day': VARCHAR, 'hour': VARCHAR}, union_by_name = true)"
    ).fetchone()
    json.dump({"rows": rows, "sum": int(total), "distinct": distinct}, sys.stdout)


if __name__ == "__main__":
    main()
