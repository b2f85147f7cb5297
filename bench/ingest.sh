#!/usr/bin/env bash
# End-to-end ingest benchmark: flowlake against `zcat` (decompression alone)
# and DuckDB (read_csv → zstd Parquet) on the same files, same thread count,
# measured in the same run. Prints records/s, ratios and peak memory.
#
#   bench/ingest.sh [MILLION_RECORDS=1] [THREADS=all cores]
#
# Needs the Python tools from .ci/run (for DuckDB). Builds flowlake with the
# quick-release profile (a cold build takes ~23 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

millions="${1:-1}"
threads="${2:-$(nproc)}"
records=$((millions * 1000000))
objects=$((millions * 5))                       # ~200,000 records per object, as AWS writes big ones
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-release}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench}"

cargo build --quiet --profile quick-release --bin flowlake
bin="$CARGO_TARGET_DIR/quick-release/flowlake"

sample="$work/sample-${millions}m"
if [ ! -f "$sample/manifest.json" ]; then
  echo "== generating $records records in $objects objects"
  "$bin" generate --records "$records" --objects "$objects" --default-format-only --out "$sample" >/dev/null
fi
mapfile -t files < <(find "$sample/AWSLogs" -name '*.log.gz' | sort)
gz_bytes=$(cat "${files[@]}" | wc -c)
echo "== input: $records records, ${#files[@]} gzip objects, $((gz_bytes / 1000000)) MB, $threads thread(s)"

sync
# Wall seconds and peak RSS (MiB) of a command.
measure() {
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>"$work/stderr.txt" \
    || { echo "failed: $*" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  tail -n 1 "$work/time.txt"
}

best() {   # best of 3 runs: "seconds rss"
  local best_s="" best_r=""
  for _ in 1 2 3; do
    read -r s r < <(run_"$1")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_r=$r; fi
  done
  echo "$best_s $best_r"
}

printf '%s\n' "${files[@]}" > "$work/files.txt"
run_zcat() {
  measure xargs -a "$work/files.txt" -P "$threads" -n 1 zcat
}
run_flowlake() {
  rm -rf "$work/lake"
  measure "$bin" ingest dir "$sample" --lake "$work/lake" --threads "$threads" --quiet
}
run_duckdb() {
  rm -rf "$work/duck.parquet"
  measure "$python" -c "
import duckdb, sys
con = duckdb.connect()
con.execute('SET threads = $threads')
con.execute(\"\"\"COPY (SELECT * FROM read_csv('$sample/AWSLogs/**/*.log.gz', delim=' ', header=true, nullstr='-',
  columns={'version':'INTEGER','account_id':'VARCHAR','interface_id':'VARCHAR','srcaddr':'VARCHAR','dstaddr':'VARCHAR',
  'srcport':'INTEGER','dstport':'INTEGER','protocol':'INTEGER','packets':'BIGINT','bytes':'BIGINT','start':'BIGINT',
  'end':'BIGINT','action':'VARCHAR','log_status':'VARCHAR'}))
  TO '$work/duck.parquet' (FORMAT parquet, COMPRESSION zstd)\"\"\")
"
}

# The same objects served over S3 on loopback by s3s-fs (a Rust S3 server
# over a folder), to compare `ingest s3` with `ingest dir`.
s3_port=""
if [ "${BENCH_S3:-1}" = 1 ]; then
  s3s="$HOME/.cache/flowlake/bin/s3s-fs"
  if [ ! -x "$s3s" ]; then
    echo "== installing s3s-fs 0.14.1 (once, ~2 minutes)"
    cargo install --quiet s3s-fs --version 0.14.1 --locked --features binary --root "$HOME/.cache/flowlake"
  fi
  rm -rf "$work/s3root" && mkdir -p "$work/s3root/bench"
  cp -al "$sample/AWSLogs" "$work/s3root/bench/"
  s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$s3s" --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key benchsecret "$work/s3root" >/dev/null 2>&1 &
  s3_pid=$!
  trap 'kill $s3_pid 2>/dev/null' EXIT
  sleep 1
fi
run_flowlake_s3() {
  rm -rf "$work/lake-s3"
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    measure "$bin" ingest s3 s3://bench --lake "$work/lake-s3" --endpoint-url "http://127.0.0.1:$s3_port" \
    --threads "$threads" --quiet
}

read -r zs zr < <(best zcat)
read -r fs fr < <(best flowlake)
read -r ds dr < <(best duckdb)
ss=0; sr=0
if [ -n "$s3_port" ]; then read -r ss sr < <(best flowlake_s3); fi

rows=$("$bin" sql --lake "$work/lake" --format csv "SELECT count(*) AS n FROM flows" | tail -n 1)
[ "$rows" = "$records" ] || { echo "flowlake wrote $rows rows, expected $records" >&2; exit 1; }

awk -v n="$records" -v zs="$zs" -v fs="$fs" -v ds="$ds" -v ss="$ss" -v zr="$zr" -v fr="$fr" -v dr="$dr" -v sr="$sr" 'BEGIN {
  printf "%-18s %8s %14s %10s\n", "tool", "seconds", "records/s", "peak MiB"
  printf "%-18s %8.2f %14.0f %10.0f\n", "zcat (decompress)", zs, n / zs, zr / 1024
  printf "%-18s %8.2f %14.0f %10.0f\n", "flowlake dir", fs, n / fs, fr / 1024
  printf "%-18s %8.2f %14.0f %10.0f\n", "duckdb read_csv", ds, n / ds, dr / 1024
  if (ss > 0) printf "%-18s %8.2f %14.0f %10.0f\n", "flowlake s3", ss, n / ss, sr / 1024
  printf "flowlake dir vs DuckDB: %.2fx the records/s; flowlake dir time / zcat time: %.2f\n", ds / fs, fs / zs
  if (ss > 0) printf "flowlake s3 (loopback) time / flowlake dir time: %.2f\n", ss / fs
}'
