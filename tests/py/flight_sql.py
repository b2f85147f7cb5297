"""Talks to `flowlake serve flight-sql` with a real client, the ADBC Flight
SQL driver (never flowlake's code), and prints what it saw as JSON.

For each report SQL file given, the rows three ways: through Flight SQL
(ADBC), through `flowlake sql --format parquet` (read back with pyarrow),
and through DuckDB over the lake's Parquet files. Then what happens with a
wrong token, no token, write statements and reads of files outside the
lake.

Also runs every query of the Grafana dashboard JSON, its macros expanded
as the Flight SQL data source plugin does (over all time, 1 h steps).

Usage: flight_sql.py <grpc uri> <token> <flowlake binary> <lake> <copy target> <grafana.json> <report.sql>...
"""
import datetime
import decimal
import json
import os
import subprocess
import sys
import tempfile

import adbc_driver_flightsql.dbapi as flight
import duckdb
import pyarrow.parquet as pq


def connect(uri, token):
    kwargs = {}
    if token is not None:
        kwargs["adbc.flight.sql.authorization_header"] = f"Bearer {token}"
    return flight.connect(uri, db_kwargs=kwargs)


def norm(value):
    """One value, comparable across Arrow, DuckDB and Parquet round trips."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        f = float(value)
        return int(f) if f.is_integer() else round(f, 6)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    return str(value)


def rows_of(pylist):
    rows = [[norm(v) for v in row.values()] for row in pylist]
    return sorted(rows, key=lambda r: json.dumps(r))


def duck_rows(duck, sql):
    result = duck.execute(sql)
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row)) for row in result.fetchall()]


def attempt(conn, sql, update=False):
    """Runs `sql`; returns ("ok", n rows) or ("error", message)."""
    cur = conn.cursor()
    try:
        if update:
            cur.adbc_statement.set_sql_query(sql)
            cur.adbc_statement.execute_update()
            return ["ok", 0]
        cur.execute(sql)
        return ["ok", len(cur.fetchall())]
    except Exception as e:  # the driver raises its own error classes
        return ["error", f"{type(e).__name__}: {e}"]
    finally:
        cur.close()


def main():
    uri, token, binary, lake, copy_target, grafana = sys.argv[1:7]
    reports = sys.argv[7:]
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute(
        f"CREATE VIEW flows AS SELECT * FROM read_parquet('{os.path.join(lake, 'flows')}/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'day': VARCHAR, 'hour': VARCHAR}, union_by_name = true)")
    out = {"reports": {}}
    conn = connect(uri, token)
    for path in reports:
        name = os.path.basename(path).removesuffix(".sql")
        sql = open(path).read()
        cur = conn.cursor()
        cur.execute(sql)
        table = cur.fetch_arrow_table()
        cur.close()
        with tempfile.NamedTemporaryFile(suffix=".parquet") as f:
            subprocess.run([binary, "sql", "--lake", lake, "--format", "parquet", "-o", f.name, "--", sql],
                           check=True, env={**os.environ, "FLOWLAKE_LOG": "warn"})
            ours = pq.read_table(f.name)
        out["reports"][name] = {
            "columns": table.column_names,
            "flight": rows_of(table.to_pylist()),
            "flowlake_sql": rows_of(ours.to_pylist()),
            "duckdb": rows_of(duck_rows(duck, sql)),
        }
    # The Grafana dashboard's queries, macros expanded as the plugin does.
    out["grafana"] = {}
    for panel in json.load(open(grafana))["panels"]:
        for target in panel.get("targets", []):
            sql = (target["queryText"]
                   .replace("$__timeFilter(start_time)",
                            "start_time >= '2000-01-01T00:00:00Z' AND start_time <= '2100-01-01T00:00:00Z'")
                   .replace("$__timeFrom()", "'2000-01-01T00:00:00Z'")
                   .replace("$__timeTo()", "'2100-01-01T00:00:00Z'")
                   .replace("$__dateBin(start_time)",
                            "date_bin(interval '3600 second', start_time, timestamp '1970-01-01T00:00:00Z')")
                   .replace("$__interval_ms", "3600000"))
            cur = conn.cursor()
            try:
                cur.execute(sql)
                rows = cur.fetchall()
                out["grafana"][panel["title"]] = ["ok", [norm(v) for v in rows[0]] if rows else None]
            except Exception as e:
                out["grafana"][panel["title"]] = ["error", f"{type(e).__name__}: {e}"]
            finally:
                cur.close()
    out["duckdb_count"] = duck.execute("SELECT count(*) FROM flows").fetchone()[0]
    # A prepared statement (what JDBC and DBeaver use).
    cur = conn.cursor()
    cur.adbc_prepare("SELECT count(*) AS n FROM flows WHERE action = 'REJECT'")
    cur.execute("SELECT count(*) AS n FROM flows WHERE action = 'REJECT'")
    out["prepared_rejected"] = cur.fetchone()[0]
    cur.close()
    out["duckdb_rejected"] = duck.execute("SELECT count(*) FROM flows WHERE action = 'REJECT'").fetchone()[0]
    # Catalog browsing.
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    out["tables"] = sorted(t["table_name"] for c in objects for s in c["catalog_db_schemas"] or []
                           for t in s["db_schema_tables"] or [])
    out["refusals"] = {
        "insert": attempt(conn, "INSERT INTO flows (bytes) VALUES (1)"),
        "update_statement": attempt(conn, "DELETE FROM flows", update=True),
        "create_table": attempt(conn, "CREATE TABLE t AS SELECT 1"),
        "external_table": attempt(conn, "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'"),
        "copy": attempt(conn, f"COPY (SELECT 1 AS a) TO '{copy_target}' STORED AS CSV"),
        "file_path": attempt(conn, "SELECT * FROM '/etc/passwd'"),
        "set": attempt(conn, "SET datafusion.execution.batch_size = 1"),
    }
    conn.close()
    for label, t in [("wrong_token", "not-the-token"), ("no_token", None)]:
        c = connect(uri, t)
        out[label] = attempt(c, "SELECT count(*) FROM flows")
        c.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
