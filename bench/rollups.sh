#!/usr/bin/env bash
# Rollup benchmark: a month of flow logs with high-cardinality traffic,
# every report read from the per-hour rollups and from flows (--no-rollups),
# against DuckDB running the report's own SQL over flows and its rollup
# twin over the rollup tables, in the same run; then the dashboards over the
# whole month, with and without rollups. Whole processes, RUNS runs each,
# median wall seconds and peak RSS; ratios against DuckDB over flows.
#
#   bench/rollups.sh [RECORDS=30000000] [HOURS=720] [OBJECTS=1440]
#
# Environment: FLOWLAKE_BIN, FLOWLAKE_TEST_PYTHON (see bench/common.sh),
# RUNS (default 3), LIMIT (default 20), BENCH_DIR,
# DISTINCT_DESTINATIONS / DISTINCT_SOURCES (default RECORDS/15 and RECORDS/60).
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-30000000}"
hours="${2:-720}"
objects="${3:-1440}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-rollups}"
limit="${LIMIT:-20}"
runs="${RUNS:-3}"
dst="${DISTINCT_DESTINATIONS:-$((records / 15))}"
src="${DISTINCT_SOURCES:-$((records / 60))}"
mkdir -p "$work"
sample="$work/sample-$records-$hours"
lake="$sample.lake"
source bench/common.sh

if [ ! -f "$sample/manifest.json" ]; then
  echo "== generating $records records over $hours hours in $objects objects ($dst distinct destinations, $src scanning sources)"
  rm -rf "$sample" "$lake"
  "$bin" generate --records "$records" --hours "$hours" --objects "$objects" --default-format-only \
    --distinct-destinations "$dst" --distinct-sources "$src" --out "$sample" >/dev/null
fi
if [ ! -d "$lake/flows" ]; then
  echo "== ingesting"
  measure "$bin" ingest dir "$sample" --lake "$lake" --quiet | awk '{ printf "   ingest: %s s, %s MiB peak\n", $1, $2 }'
fi

cat > "$work/duckdb_query.py" <<'PY'
import sys, duckdb
lake, sql, limit = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
con = duckdb.connect()
for t in ("flows", "traffic_hourly", "talkers_hourly"):
    con.execute(f"""CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/{t}/*/*/*.parquet',
      hive_partitioning = true, hive_types = {{'day': VARCHAR, 'hour': VARCHAR}})""")
con.execute(f"SELECT * FROM ({sql}) AS q LIMIT {limit}").fetchall()
PY

size() { du -sm "$lake/$1" | awk '{ print $1 }'; }
rows() { "$bin" sql --lake "$lake" --format csv "SELECT $1 FROM $2" | tail -n 1; }
echo "== lake: $(rows 'count(*)' flows) records in $(find "$lake/flows" -name '*.parquet' | wc -l) files, $(size flows) MiB;" \
  "traffic_hourly $(rows 'count(*)' traffic_hourly) rows, $(size traffic_hourly) MiB;" \
  "talkers_hourly $(rows 'count(*)' talkers_hourly) rows, $(size talkers_hourly) MiB"
echo "== $bin; median of $runs; seconds / peak MiB; ratio = against DuckDB over flows"
printf '%-18s %14s %14s %14s %14s %9s %9s\n' report rollups flows duckdb-flows duckdb-rollup "r/duck" "r/flows"

stat_of() { awk '{print $1}' "$1" | median; }
peak_of() { awk '{print $2}' "$1" | sort -n | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "failed" || b == "failed" || b == 0) print "-"; else printf "%.3f", a / b }'; }

mapfile -t reports < <("$bin" report --list | awk '{ print $1 }')
for name in "${reports[@]}"; do
  [ -f "query/src/reports/$name.rollup.sql" ] || continue
  for f in r f d dr; do : > "$work/$f.txt"; done
  for _ in $(seq "$runs"); do
    measure "$bin" report "$name" --lake "$lake" --limit "$limit" --format csv >> "$work/r.txt"
    measure "$bin" report "$name" --lake "$lake" --limit "$limit" --format csv --no-rollups >> "$work/f.txt"
    measure "$python" "$work/duckdb_query.py" "$lake" "query/src/reports/$name.sql" "$limit" >> "$work/d.txt"
    measure "$python" "$work/duckdb_query.py" "$lake" "query/src/reports/$name.rollup.sql" "$limit" >> "$work/dr.txt"
  done
  r=$(stat_of "$work/r.txt"); f=$(stat_of "$work/f.txt"); d=$(stat_of "$work/d.txt"); dr=$(stat_of "$work/dr.txt")
  printf '%-18s %14s %14s %14s %14s %9s %9s\n' "$name" "$r $(peak_of "$work/r.txt")" "$f $(peak_of "$work/f.txt")" \
    "$d $(peak_of "$work/d.txt")" "$dr $(peak_of "$work/dr.txt")" "$(ratio "$r" "$d")" "$(ratio "$r" "$f")"
done

echo "== dashboards over the whole lake (every built-in dashboard, one page)"
for f in r f; do : > "$work/$f.txt"; done
for _ in $(seq "$runs"); do
  measure "$bin" dashboard render --lake "$lake" --out "$work/page.html" >> "$work/r.txt"
  measure "$bin" dashboard render --lake "$lake" --out "$work/page-flows.html" --no-rollups >> "$work/f.txt"
done
r=$(stat_of "$work/r.txt"); f=$(stat_of "$work/f.txt")
printf 'render: rollups %s s (%s MiB), flows %s s (%s MiB), ratio %s\n' "$r" "$(peak_of "$work/r.txt")" "$f" "$(peak_of "$work/f.txt")" "$(ratio "$r" "$f")"
grep -o 'data-source="[a-z]*"' "$work/page.html" | sort | uniq -c
