#!/usr/bin/env bash
# Report benchmark: every `flowlake report` against DuckDB running the same
# SQL file over the same lake files, in the same run, on high-cardinality
# traffic (clients reaching many internet hosts, scanners from many
# addresses). Prints wall time and peak RSS of each, and the ratio.
#
#   bench/reports.sh [RECORDS=3000000] [DISTINCT_DESTINATIONS=2000000] [DISTINCT_SOURCES=500000]
#
# Environment:
#   FLOWLAKE_BIN   the binary to measure (default: a release build,
#                  target-release/release/flowlake; it is not built here:
#                  a cold release build takes ~23 minutes on 2 cores)
#   MEMORY_LIMIT   passed as --memory-limit (default: flowlake's own default)
#   REPORTS        the reports to run (default: all of `flowlake report --list`)
#   LIMIT          rows per report for both engines (default 20)
#   BENCH_DIR      work folder (default $TMPDIR/flowlake-bench-reports)
# Needs the Python tools from .ci/run (for DuckDB) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-3000000}"
distinct_dst="${2:-2000000}"
distinct_src="${3:-500000}"
bin="${FLOWLAKE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-release}/release/flowlake}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-reports}"
limit="${LIMIT:-20}"
[ -x "$bin" ] || { echo "no flowlake binary at $bin: set FLOWLAKE_BIN" >&2; exit 2; }
mkdir -p "$work"

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

# Wall seconds and peak RSS (MiB) of a command: "seconds MiB", or "failed".
measure() {
  if /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>"$work/stderr.txt"; then
    awk '{ printf "%s %d\n", $1, $2 / 1024 }' "$work/time.txt"
  else
    echo "failed"
    tail -n 3 "$work/stderr.txt" >&2
  fi
}

memory_flag=()
[ -n "${MEMORY_LIMIT:-}" ] && memory_flag=(--memory-limit "$MEMORY_LIMIT")
if [ -n "${REPORTS:-}" ]; then
  read -r -a reports <<< "$REPORTS"
else
  mapfile -t reports < <("$bin" report --list | awk '{ print $1 }')
fi

duckdb_script='
import sys, duckdb
lake, sql_file, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"""CREATE VIEW flows AS SELECT * FROM read_parquet(\x27{lake}/flows/*/*/*.parquet\x27,
  hive_partitioning = true, hive_types = {{\x27day\x27: VARCHAR, \x27hour\x27: VARCHAR}})""")
sql = open(sql_file).read()
con.execute(f"SELECT * FROM ({sql}) AS report LIMIT {limit}").fetchall()
'

rows=$("$bin" sql --lake "$lake" --format csv "SELECT count(*), count(DISTINCT dstaddr), count(DISTINCT srcaddr) FROM flows" | tail -n 1)
echo "== lake: $rows (records, distinct destinations, distinct sources); flowlake $bin ${memory_flag[*]}"
printf '%-18s %18s %18s %8s\n' report "flowlake s / MiB" "DuckDB s / MiB" ratio
for name in "${reports[@]}"; do
  sync
  read -r fs fm < <(measure "$bin" report "$name" --lake "$lake" --limit "$limit" --format csv "${memory_flag[@]}") || true
  read -r ds dm < <(measure "$python" -c "$duckdb_script" "$lake" "query/src/reports/$name.sql" "$limit") || true
  ratio="-"
  if [ "$fs" != failed ] && [ "$ds" != failed ]; then
    ratio=$(awk -v a="$fs" -v b="$ds" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }')
  fi
  printf '%-18s %18s %18s %8s\n' "$name" "$fs ${fm:-}" "$ds ${dm:-}" "$ratio"
done
