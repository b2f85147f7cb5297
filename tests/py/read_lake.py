"""Reads a flowlake lake back with independent Parquet readers (DuckDB and
pyarrow), never flowlake's own code, and prints what they see as JSON.

Usage: read_lake.py <lake folder> [SQL over view `flows`]
"""
import json
import os
import sys

import duckdb
import pyarrow.dataset as ds


def main():
    lake = sys.argv[1]
    table = os.path.join(lake, "flows")
    stray = []
    for root, _, files in os.walk(table):
        for f in files:
            if not f.endswith(".parquet") or f.startswith((".", "_")):
                stray.append(os.path.join(root, f))
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW flows AS SELECT * FROM read_parquet('{table}/*/*/*.parquet', hive_partitioning = true, "
        "hive_types = {'day': VARCHAR, 'hour': VARCHAR})"
    )
    out = {"stray_files": stray}
    out["rows"], out["bytes"], out["packets"] = con.execute(
        "SELECT count(*), sum(bytes)::BIGINT, sum(packets)::BIGINT FROM flows").fetchone()
    out["partitions"] = {f"{d}/{h}": n for d, h, n in con.execute(
        "SELECT day, hour, count(*) FROM flows GROUP BY 1, 2 ORDER BY 1, 2").fetchall()}
    # Every record sits in the partition of its own start time (UTC).
    out["misplaced"] = con.execute(
        "SELECT count(*) FROM flows WHERE start IS NOT NULL AND "
        "(strftime(to_timestamp(start) AT TIME ZONE 'UTC', '%Y-%m-%d') <> day OR "
        " strftime(to_timestamp(start) AT TIME ZONE 'UTC', '%H') <> hour)").fetchone()[0]
    out["duckdb_types"] = {name: str(t) for name, t in zip(
        [d[0] for d in con.execute("SELECT * FROM flows LIMIT 0").description],
        [d[1] for d in con.execute("SELECT * FROM flows LIMIT 0").description])}
    dataset = ds.dataset(table, format="parquet", partitioning="hive")
    out["pyarrow_rows"] = dataset.count_rows()
    out["pyarrow_types"] = {f.name: str(f.type) for f in dataset.schema}
    if len(sys.argv) > 2:
        out["query"] = [list(row) for row in con.execute(sys.argv[2]).fetchall()]
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
