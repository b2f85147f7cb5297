#!/usr/bin/env bash
# explain benchmark: `flowlake explain` over RECORDS generated records with
# a realistic inventory (GROUPS security groups, ENIS interfaces, the
# sample's own interfaces among them with their addresses). Prints wall
# time, peak RSS, records explained and distinct evaluations.
#
#   bench/explain.sh [RECORDS=10000000] [GROUPS=300] [ENIS=3000]
#
# Environment: FLOWLAKE_BIN (default: target-release/release/flowlake),
# BENCH_DIR (default $TMPDIR/flowlake-bench-explain). Needs the Python
# tools from .ci/run (DuckDB) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-10000000}"
groups="${2:-300}"
enis="${3:-3000}"
bin="${FLOWLAKE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-release}/release/flowlake}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-explain}"
[ -x "$bin" ] || { echo "no flowlake binary at $bin: set FLOWLAKE_BIN" >&2; exit 2; }
mkdir -p "$work"

if [ ! -d "$work/lake-$records/flows" ]; then
  rm -rf "$work/sample" "$work/lake-$records"
  "$bin" generate --records "$records" --out "$work/sample" --seed 17 >/dev/null
  "$bin" ingest dir "$work/sample" --lake "$work/lake-$records" >/dev/null
  rm -rf "$work/sample"
fi
lake="$work/lake-$records"
rm -rf "$lake/inventory" "$work/inventory"
"$python" bench/explain_inventory.py "$lake" "$work/inventory" "$groups" "$enis"
"$bin" inventory import --lake "$lake" "$work/inventory" >/dev/null

/usr/bin/time -f "wall %e s, peak RSS %M KiB" \
  env FLOWLAKE_LOG=info "$bin" explain --lake "$lake" --format parquet --output "$work/explain.parquet" 2>&1 \
  | grep -E "Explained|wall"
"$python" -c "import duckdb,sys; print(duckdb.sql(f\"SELECT verdict, count(*) n FROM '{sys.argv[1]}' GROUP BY 1 ORDER BY 2 DESC\"))" "$work/explain.parquet"
