"""Prints the rows of every Parquet file under <lake>/flows/ (DuckDB, Hive
partitions as strings), for the given columns, as JSON lists of strings
(null as "-"), sorted. Never reads the lake with flowlake's code.

Usage: lake_rows.py <lake folder> <column,column,...>
"""
import json
import os
import sys

import duckdb


def main():
    lake, columns = sys.argv[1], sys.argv[2].split(",")
    table = os.path.join(lake, "flows")
    if not any(f.endswith(".parquet") for _, _, files in os.walk(table) for f in files):
        json.dump([], sys.stdout)
        return
    select = ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '-')" for c in columns)
    rows = duckdb.connect().execute(
        f"SELECT {select} FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'day': VARCHAR, 'hour': VARCHAR}, union_by_name = true)"
    ).fetchall()
    json.dump(sorted(list(r) for r in rows), sys.stdout)


if __name__ == "__main__":
    main()
