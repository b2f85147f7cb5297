#!/usr/bin/env bash
# Query benchmark: every `flowlake report`, and a set of ad-hoc queries,
# against DuckDB running the same SQL over the same lake files, in the same
# run, on high-cardinality traffic (clients reaching many internet hosts,
# scanners from many addresses). Whole processes, each pair run RUNS times
# alternately; prints the median wall time and the peak RSS of each, and
# the ratio flowlake / DuckDB (below 1: flowlake is faster).
#
#   bench/query.sh [RECORDS=3000000] [DISTINCT_DESTINATIONS=2000000] [DISTINCT_SOURCES=500000]
#
# Environment:
#   FLOWLAKE_BIN   the binary to measure (default: a quick-release build, made here)
#   MEMORY_LIMIT   passed as --memory-limit (default: flowlake's own default)
#   REPORTS        the reports to run (default: all of `flowlake report --list`)
#   ADHOC=0        skip the ad-hoc queries
#   RUNS           runs per engine and query (default 3)
#   LIMIT          rows per report for both engines (default 20)
#   BENCH_DIR      work folder (default $TMPDIR/flowlake-bench-query)
# Needs the Python tools from .ci/run (for DuckDB) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-3000000}"
distinct_dst="${2:-2000000}"
distinct_src="${3:-500000}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-query}"
limit="${LIMIT:-20}"
runs="${RUNS:-3}"
mkdir -p "$work"
source bench/common.sh

sample="$work/sample-$records-$distinct_dst-$distinct_src"
lake="$sample.lake"
if [ ! -f "$sample/manifest.json" ]; then
  echo "== generating $records records: $distinct_dst distinct destinations, $distinct_src distinct sources"
  rm -rf "$sample" "$lake"
  "$bin" generate --records "$records" --distinct-destinations "$distinct_dst" \
    --distinct-sources "$distinct_src" --default-format-only --out "$sample" >/dev/null
fi
if [ ! -d "$lake/flows" ]; then
  echo "== ingesting into $lake"
  "$bin" ingest dir "$sample" --lake "$lake" --quiet >/dev/null
fi

memory_flag=()
[ -n "${MEMORY_LIMIT:-}" ] && memory_flag=(--memory-limit "$MEMORY_LIMIT")
if [ -n "${REPORTS:-}" ]; then
  read -r -a reports <<< "$REPORTS"
else
  mapfile -t reports < <("$bin" report --list | awk '{ print $1 }')
fi

cat > "$work/duckdb_query.py" <<'PY'
import sys, duckdb
lake, sql, limit = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
con = duckdb.connect()
con.execute(f"""CREATE VIEW flows AS SELECT * FROM read_parquet('{lake}/flows/*/*/*.parquet',
  hive_partitioning = true, hive_types = {{'day': VARCHAR, 'hour': VARCHAR}}, union_by_name = true)""")
con.execute(f"SELECT * FROM ({sql}) AS q LIMIT {limit}").fetchall()
PY

# Ad-hoc questions an engineer types, one per line: name|SQL.
cat > "$work/adhoc.txt" <<'SQL'
count|SELECT count(*) AS n FROM flows
bytes-by-hour|SELECT day, hour, sum(bytes) AS bytes, count(*) AS flows FROM flows GROUP BY day, hour ORDER BY day, hour
one-source|SELECT dstaddr, dstport, sum(bytes) AS bytes FROM flows WHERE srcaddr = '10.0.1.10' GROUP BY dstaddr, dstport ORDER BY bytes DESC
rejected-by-port|SELECT dstport, count(*) AS flows FROM flows WHERE action = 'REJECT' GROUP BY dstport ORDER BY flows DESC
distinct-destinations|SELECT count(DISTINCT dstaddr) AS n FROM flows
one-hour|SELECT action, sum(bytes) AS bytes FROM flows WHERE start_time >= TIMESTAMP '2024-05-25 02:00:00' AND start_time < TIMESTAMP '2024-05-25 03:00:00' GROUP BY action
SQL

rows=$("$bin" sql --lake "$lake" --format csv "SELECT count(*), count(DISTINCT dstaddr), count(DISTINCT srcaddr) FROM flows" | tail -n 1)
files=$(find "$lake/flows" -name '*.parquet' | wc -l)
echo "== lake: $rows (records, distinct destinations, distinct sources) in $files files; $bin ${memory_flag[*]}; median of $runs"
printf '%-22s %18s %18s %8s\n' query "flowlake s / MiB" "DuckDB s / MiB" ratio
compare() {   # name, flowlake command..., --, DuckDB SQL file
  local name=$1; shift
  local ours=() ; while [ "$1" != -- ]; do ours+=("$1"); shift; done; shift
  local sql_file=$1
  : > "$work/f.txt"; : > "$work/d.txt"
  for _ in $(seq "$runs"); do
    sync; measure "${ours[@]}" >> "$work/f.txt"
    sync; measure "$python" "$work/duckdb_query.py" "$lake" "$sql_file" "$limit" >> "$work/d.txt"
  done
  local fs ds fm dm ratio=-
  fs=$(awk '{print $1}' "$work/f.txt" | median); fm=$(awk '{print $2}' "$work/f.txt" | sort -n | tail -1)
  ds=$(awk '{print $1}' "$work/d.txt" | median); dm=$(awk '{print $2}' "$work/d.txt" | sort -n | tail -1)
  if [ "$fs" != failed ] && [ "$ds" != failed ]; then
    ratio=$(awk -v a="$fs" -v b="$ds" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  fi
  printf '%-22s %18s %18s %8s\n' "$name" "$fs $fm" "$ds $dm" "$ratio"
}
for name in "${reports[@]}"; do
  compare "$name" "$bin" report "$name" --lake "$lake" --limit "$limit" --format csv "${memory_flag[@]}" \
    -- "query/src/reports/$name.sql"
done
if [ "${ADHOC:-1}" = 1 ]; then
  while IFS='|' read -r name sql; do
    printf '%s\n' "$sql" > "$work/adhoc-$name.sql"
    compare "$name" "$bin" sql --lake "$lake" --format csv "${memory_flag[@]}" "SELECT * FROM ($sql) AS q LIMIT $limit" \
      -- "$work/adhoc-$name.sql"
  done < "$work/adhoc.txt"
fi
