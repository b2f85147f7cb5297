#!/usr/bin/env bash
# End-to-end ingest benchmark, every tool on the same gzip objects in the
# same run, at 1 and 2 threads (best of 3 each):
#
#   zcat                  decompression alone (the floor for any gzip reader)
#   flowlake dir          `flowlake ingest dir`
#   flowlake s3           `flowlake ingest s3` from s3s-fs on loopback
#   datafusion csv        DataFusion 55's own CSV reader (datafusion-python),
#                         columns read as text then CAST(NULLIF(col, '-')),
#                         written as zstd(1) Parquet: the obvious generic route
#   duckdb read_csv       DuckDB read_csv → zstd Parquet
#
# Prints seconds, records/s, peak RSS and flowlake's ratios against the
# DataFusion route and zcat.
#
#   bench/ingest.sh [MILLION_RECORDS=3] [OBJECTS=12] [THREADS="1 2"]
#
# Environment: FLOWLAKE_BIN (default: a quick-release build, made here),
# BENCH_S3=0 to skip S3, BENCH_DIR. Needs the venv of .ci/run (DuckDB,
# pyarrow); installs datafusion-python into it on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

millions="${1:-3}"
objects="${2:-12}"
threads_list="${3:-1 2}"
records=$((millions * 1000000))
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench}"
mkdir -p "$work"

source bench/common.sh
"$python" -c 'import datafusion' 2>/dev/null || {
  echo "== installing datafusion-python 55 into the venv (once)"
  "$python" -m pip install --quiet --disable-pip-version-check 'datafusion==55.*'
}

sample="$work/sample-${millions}m-${objects}"
if [ ! -f "$sample/manifest.json" ]; then
  echo "== generating $records records in $objects objects"
  rm -rf "$sample"
  "$bin" generate --records "$records" --objects "$objects" --default-format-only --out "$sample" >/dev/null
fi
mapfile -t files < <(find "$sample/AWSLogs" -name '*.log.gz' | sort)
gz_bytes=$(cat "${files[@]}" | wc -c)
printf '%s\n' "${files[@]}" > "$work/files.txt"

# Wall seconds and peak RSS (KiB) of a command.
measure() {
  sync
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>"$work/stderr.txt" \
    || { echo "failed: $*" >&2; tail -n 5 "$work/stderr.txt" >&2; exit 1; }
  tail -n 1 "$work/time.txt"
}
best() {   # best of 3 runs of run_$1 with $threads: "seconds rss"
  local best_s="" best_r=""
  for _ in 1 2 3; do
    read -r s r < <(run_"$1")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_r=$r; fi
  done
  echo "$best_s $best_r"
}

run_zcat() { measure xargs -a "$work/files.txt" -P "$threads" -n 1 zcat; }
run_flowlake() {
  rm -rf "$work/lake"
  measure "$bin" ingest dir "$sample" --lake "$work/lake" --threads "$threads" --quiet
}
cat > "$work/datafusion_csv.py" <<'PY'
import sys
import pyarrow as pa
from datafusion import SessionConfig, SessionContext
sample, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
columns = [("version", "INT"), ("account_id", "VARCHAR"), ("interface_id", "VARCHAR"),
           ("srcaddr", "VARCHAR"), ("dstaddr", "VARCHAR"), ("srcport", "INT"), ("dstport", "INT"),
           ("protocol", "INT"), ("packets", "BIGINT"), ("bytes", "BIGINT"), ("start", "BIGINT"),
           ("end", "BIGINT"), ("action", "VARCHAR"), ("log_status", "VARCHAR")]
config = (SessionConfig().with_target_partitions(threads)
          .set("datafusion.execution.listing_table_ignore_subdirectory", "false"))
ctx = SessionContext(config)
ctx.register_csv("raw", sample, schema=pa.schema([(c, pa.string()) for c, _ in columns]),
                 has_header=True, delimiter=" ", file_extension=".log.gz", file_compression_type="gzip")
select = ", ".join(f"CAST(NULLIF(\"{c}\", '-') AS {t}) AS \"{c}\"" for c, t in columns)
ctx.sql(f"COPY (SELECT {select} FROM raw) TO '{out}' STORED AS PARQUET "
        "OPTIONS (compression 'zstd(1)')").collect()
PY
run_datafusion() {
  rm -rf "$work/df-out"
  measure "$python" "$work/datafusion_csv.py" "$sample/AWSLogs/" "$work/df-out" "$threads"
}
run_duckdb() {
  rm -rf "$work/duck.parquet"
  measure "$python" -c "
import duckdb
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
  s3_port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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

tools=(zcat flowlake datafusion duckdb)
[ -n "$s3_port" ] && tools+=(flowlake_s3)
echo "== input: $records records, ${#files[@]} gzip objects, $((gz_bytes / 1000000)) MB; $(nproc) cores; $bin"
printf '%-8s %-16s %8s %14s %9s\n' threads tool seconds records/s "peak MiB"
for threads in $threads_list; do
  declare -A secs=()
  for tool in "${tools[@]}"; do
    read -r s r < <(best "$tool")
    secs[$tool]=$s
    printf '%-8s %-16s %8.2f %14.0f %9.0f\n' "$threads" "$tool" "$s" "$(awk -v n="$records" -v s="$s" 'BEGIN{print n/s}')" "$(awk -v r="$r" 'BEGIN{print r/1024}')"
  done
  awk -v t="$threads" -v n="$records" -v f="${secs[flowlake]}" -v d="${secs[datafusion]}" -v z="${secs[zcat]}" -v k="${secs[duckdb]}" -v s3="${secs[flowlake_s3]:-0}" 'BEGIN {
    printf "%s thread(s): flowlake dir %.2f s per million records; %.2fx the records/s of the DataFusion CSV route, %.2fx DuckDB'\''s; time / zcat time %.2f", t, f * 1e6 / n, d / f, k / f, f / z
    if (s3 > 0) printf "; s3 time / dir time %.2f", s3 / f
    printf "\n"
  }'
  unset secs
done

rows=$("$bin" sql --lake "$work/lake" --format csv "SELECT count(*) AS n FROM flows" | tail -n 1)
[ "$rows" = "$records" ] || { echo "flowlake wrote $rows rows, expected $records" >&2; exit 1; }
