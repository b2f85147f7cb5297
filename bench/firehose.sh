#!/usr/bin/env bash
# Firehose sink load test: `flowlake serve firehose` on loopback, CLIENTS
# concurrent clients (one keep-alive connection each, one request at a time)
# for SECONDS, first with requests of 1 MiB, then of 4 MiB, of direct
# flow-log records (`{"message":"<line>"}` + newline, base64 in
# `records[].data`, gzip Content-Encoding, as Firehose sends them). A fresh
# sink and lake for each size. Prints requests/s, records/s, p50/p99
# latency of the 200s, the sink's peak RSS (VmHWM) and CPU, the spool left
# to flush at the end and how long that final flush took, the load
# generator's own CPU, and a baseline from the same run: the same kind of
# records, as gzip files, through `flowlake ingest dir`.
#
#   bench/firehose.sh [CLIENTS=8] [SECONDS=30] [TARGET=200000]
#
# Each size runs closed-loop (every client sends its next request as soon
# as it has its answer: the most the sink takes, and a latency that is just
# clients / throughput), and 1 MiB runs once more paced at TARGET records/s
# offered (the issue's aim), for the latency at that load.
#
# The sink runs with its defaults (flush at 64 MiB spooled or 60 s), so
# flushes into the lake happen during the load and compete with it for the
# same 2 cores, as they would in service. The generator
# (bench/firehose_load.py) builds and gzips the records once; per request
# it gzips only a tiny member with the request id, and its CPU time is
# printed beside the sink's so that it can be seen not to be the bottleneck.
#
# Environment:
#   PROFILE    cargo profile (default quick-release)
#   BENCH_DIR  work folder (default $TMPDIR/flowlake-bench-firehose)
set -euo pipefail
cd "$(dirname "$0")/.."

clients="${1:-8}"
seconds="${2:-30}"
target="${3:-200000}"
profile="${PROFILE:-quick-release}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-firehose}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-bench}"
dir_of() { [ "$profile" = dev ] && echo debug || echo "$profile"; }

# --workspace: the same feature set as the tests, so no dependency is rebuilt.
cargo build --quiet --profile "$profile" --workspace --bins
bin="$CARGO_TARGET_DIR/$(dir_of)/flowlake"
rm -rf "$work"
mkdir -p "$work"
tck=$(getconf CLK_TCK)
cpu_of() { awk -v t="$tck" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$1/stat"; }
hwm_of() { awk '/VmHWM/ { printf "%d\n", $2 / 1024 }' "/proc/$1/status"; }
export FLOWLAKE_BENCH_KEY=bench-access-key
echo "== $(nproc) cores; $clients clients for ${seconds} s per size; $bin"

# load <name> <request bytes> [records/s]: one sink, one lake, one load run.
load() {
  local name=$1 bytes=$2 rate=${3:-} lake="$work/lake-$1" pid addr cpu0 started
  coproc SINK { exec "$bin" serve firehose --lake "$lake" --listen 127.0.0.1:0 \
    --access-key-env FLOWLAKE_BENCH_KEY 2>"$work/$name.sink.log"; }
  pid=$SINK_PID
  read -r line <&"${SINK[0]}"
  addr=${line#listening on }
  cpu0=$(cpu_of "$pid")
  "$python" bench/firehose_load.py load "$addr" "$FLOWLAKE_BENCH_KEY" "$seconds" "$clients" "$bytes" $rate \
    > "$work/$name.load.json"
  echo "$(cpu_of "$pid") $cpu0" | awk '{ printf "%.2f\n", $1 - $2 }' > "$work/$name.cpu"
  "$python" -c "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "http://$addr/metrics" > "$work/$name.metrics"
  hwm_of "$pid" > "$work/$name.hwm"
  started=$(date +%s.%N)
  kill -TERM "$pid"
  wait "$pid" || { echo "the sink exited non-zero" >&2; cat "$work/$name.sink.log" >&2; exit 1; }
  echo "$(date +%s.%N) $started" | awk '{ printf "%.2f\n", $1 - $2 }' > "$work/$name.drain"
  "$bin" sql --lake "$lake" --format csv "SELECT count(*) AS n FROM flows" | tail -n 1 > "$work/$name.rows"
}

echo "== 1 MiB requests"
load 1mib $((1 << 20))
echo "== 1 MiB requests, $target records/s offered"
load 1mib@target $((1 << 20)) "$target"
echo "== 4 MiB requests"
load 4mib $((4 << 20))

echo "== baseline: the same kind of records through ingest dir"
"$python" bench/firehose_load.py sample "$work/sample" 2000000 8 > /dev/null
/usr/bin/time -o "$work/ingest.time" -f '%e %U %S %M' "$bin" ingest dir "$work/sample" \
  --lake "$work/lake-ingest" --json --quiet > "$work/ingest.json" 2> "$work/ingest.stderr" \
  || { echo "ingest dir failed" >&2; cat "$work/ingest.stderr" >&2; exit 1; }

"$python" - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
wall, user, sys_, kib = open(f"{work}/ingest.time").read().split()[-4:]
summary = json.load(open(f"{work}/ingest.json"))
base = summary["records_written"] / float(wall)
print(f"baseline ingest dir: {summary['records_written']:,} records in {float(wall):.2f} s = {base:,.0f} records/s,"
      f" CPU {float(user) + float(sys_):.2f} s, peak {int(kib) // 1024} MiB")
print(f"{'run':<11} {'body KiB':>8} {'gzip KiB':>8} {'lines/req':>9} {'req/s':>7} {'records/s':>10} {'p50 ms':>7}"
      f" {'p99 ms':>7} {'max ms':>7} {'non-200':>7} {'sink CPU':>8} {'gen CPU':>7} {'peak MiB':>8}"
      f" {'spool left MiB':>14} {'drain s':>7} {'lake rows':>10} {'sustained/s':>11} {'x ingest dir':>12}")
for name in ("1mib", "1mib@target", "4mib"):
    l = json.load(open(f"{work}/{name}.load.json"))
    metrics = {}
    for line in open(f"{work}/{name}.metrics"):
        if not line.startswith("#") and line.strip():
            k, v = line.rsplit(" ", 1)
            metrics[k] = float(v)
    cpu = float(open(f"{work}/{name}.cpu").read())
    rate = l["lines_ok"] / l["seconds"]
    bad = l["requests"] - l["ok"] + l["failures"]
    rows = int(open(f"{work}/{name}.rows").read())
    drain = float(open(f"{work}/{name}.drain").read())
    # Accepted and flushed: every row in the lake over the load and the final flush.
    sustained = rows / (l["seconds"] + drain)
    print(f"{name:<11} {l['request_body_bytes'] / 1024:8,.0f} {l['request_gzip_bytes'] / 1024:8,.0f} {l['lines_per_request']:9,}"
          f" {l['ok'] / l['seconds']:7.1f} {rate:10,.0f} {l['p50_ms']:7.1f} {l['p99_ms']:7.1f} {l['max_ms']:7.1f} {bad:7}"
          f" {cpu / l['seconds']:7.2f}c {l['generator_cpu_s'] / l['seconds']:6.2f}c {int(open(f'{work}/{name}.hwm').read()):8,}"
          f" {metrics.get('flowlake_firehose_spool_pending_bytes', 0) / 2**20:14,.0f} {drain:7.2f}"
          f" {rows:10,} {sustained:11,.0f} {sustained / base:11.2f}x")
    if rows < l["lines_ok"]:
        sys.exit(f"{name}: the lake has {rows:,} rows, {l['lines_ok']:,} were acknowledged")
print("CPU in cores (CPU seconds / wall seconds) over the load; the sink's includes its flushes during the load,"
      " not the final one (drain s). records/s is what was acknowledged; sustained/s is the lake's rows over the"
      " load plus the final flush, and the ratio to ingest dir is of that")
EOF
