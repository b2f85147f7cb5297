#!/usr/bin/env bash
# CloudWatch Logs benchmark: `flowlake ingest cloudwatch` against moto's
# CloudWatch Logs server holding EVENTS default-format (v2) flow records in
# STREAMS streams of one log group (one record per event, the event's
# timestamp its record's start × 1000, all in the last 50 minutes). Prints
# records/s and wall time, flowlake's own CPU time (user+sys) apart from the
# wall time, moto's CPU time over the same run, flowlake's peak RSS, and the
# API requests made against the least the API allows: FilterLogEvents reads
# up to 100 streams a call, so ceil(events / 10,000); GetLogEvents, one
# stream a call, would need the sum over streams of ceil(events / 10,000), at
# least one per stream. Then the same for a second, immediate run: it
# re-reads the look-back window (1h) behind every cursor, so every event is
# read again as a duplicate and nothing is written.
#
#   bench/cloudwatch.sh [EVENTS=1000000] [STREAMS=50]
#
# moto, not flowlake, sets the wall time: for every page its FilterLogEvents
# filters, copies and sorts every event of the streams asked for, in Python,
# so a page costs time in proportion to all the events held, and a full read
# grows with EVENTS². Measured on 2 cores with the quick-release build:
# 1,000,000 events load in 28 s (150 PutLogEvents calls, the 1 MB cap
# binding; moto then holds ~0.5 GB, ~0.7 GB once it has served them) and a
# page takes ~2.3 s, so each run of 100 pages takes ~4 minutes, 98% of it
# moto's CPU and ~2% (5.5 s) flowlake's; the whole script takes ~8 minutes.
# 1,000,000 is the most that stays practical: each run grows with the square
# (2,000,000 would take ~16 minutes a run). 100,000 takes ~15 s in all.
# The second run re-reads every event only if loading took under 9 minutes
# (events reach 51 minutes back from the start of the load, the look-back 60
# minutes back from the first run's start); otherwise it says how many.
#
# Environment:
#   PROFILE    cargo profile (default quick-release; a cold build took 61
#              minutes on 2 shared cores; dev builds the AWS SDK at opt-level 0)
#   RPS        --requests-per-second (default 1000: the pacing, 5/s against
#              AWS, is not what is measured; the time it would impose is printed)
#   BENCH_DIR  work folder (default $TMPDIR/flowlake-bench-cloudwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

events="${1:-1000000}"
streams="${2:-50}"
profile="${PROFILE:-quick-release}"
rps="${RPS:-1000}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-cloudwatch}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-release}"
dir_of() { [ "$profile" = dev ] && echo debug || echo "$profile"; }

# --workspace: the same feature set as `cargo test --workspace`, so no dependency is rebuilt.
cargo build --quiet --profile "$profile" --workspace --bins --examples
bin="$CARGO_TARGET_DIR/$(dir_of)/flowlake"
mkdir -p "$work"
lake="$work/lake"
rm -rf "$lake"
group="/flowlake-bench/vpc-flow-logs"

serve_moto="$PWD/tests/py/serve_moto.py"
coproc MOTO { cd "$work" && exec "$python" "$serve_moto" 2>"$work/moto.log"; }   # moto writes its recording to the cwd
read -r port <&"${MOTO[0]}"
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
tck=$(getconf CLK_TCK)
moto_cpu() { awk -v t="$tck" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$MOTO_PID/stat"; }
moto_rss() { awk '/VmHWM/ { printf "%d\n", $2 / 1024 }' "/proc/$MOTO_PID/status"; }

echo "== moto on $endpoint: loading $events events into $streams streams of $group"
"$python" bench/cwl_load.py "$endpoint" "$group" "$events" "$streams" > "$work/load.json"
"$python" - "$work/load.json" "$(moto_rss)" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
print(f"loaded in {l['seconds']:.1f} s: {l['events'] / l['seconds']:,.0f} events/s, {l['calls']} PutLogEvents calls, "
      f"{l['bytes'] / 1e6:.0f} MB of messages; moto's peak RSS now {int(sys.argv[2]):,} MiB")
EOF

# run <name>: one ingest; /usr/bin/time's "wall user sys KiB" in <name>.time,
# the JSON summary in <name>.json, moto's CPU seconds over the run in <name>.moto.
run() {
  local before
  before=$(moto_cpu)
  /usr/bin/time -o "$work/$1.time" -f '%e %U %S %M' "$bin" ingest cloudwatch --log-group "$group" \
    --lake "$lake" --endpoint-url "$endpoint" --requests-per-second "$rps" --json --quiet \
    >"$work/$1.json" 2>"$work/$1.stderr" || { echo "failed: ingest cloudwatch ($1)" >&2; cat "$work/$1.stderr" >&2; exit 1; }
  echo "$before $(moto_cpu)" | awk '{ printf "%.2f\n", $2 - $1 }' > "$work/$1.moto"
}
rows() { "$bin" sql --lake "$lake" --format csv "SELECT count(*) AS n FROM flows" | tail -n 1; }

echo "== first run: every event new"
run first
rows_first=$(rows)
echo "== second run, immediately: the look-back window re-read, nothing new"
run second
rows_second=$(rows)
[ "$rows_first" = "$events" ] || { echo "the first run left $rows_first rows, expected $events" >&2; exit 1; }
[ "$rows_second" = "$events" ] || { echo "the second run left $rows_second rows, expected $events" >&2; exit 1; }

"$python" - "$work" "$rps" "$(moto_rss)" <<'EOF'
import json, math, sys
work, rps, moto_rss = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
load = json.load(open(f"{work}/load.json"))
n, per_stream = load["events"], load["streams"].values()
runs = {}
for name in ("first", "second"):
    wall, user, sys_, kib = open(f"{work}/{name}.time").read().split()[-4:]
    runs[name] = dict(s=json.load(open(f"{work}/{name}.json")), wall=float(wall), cpu=float(user) + float(sys_),
                      user=float(user), sys=float(sys_), mib=int(kib) // 1024,
                      moto=float(open(f"{work}/{name}.moto").read()))

print(f"{'run':<7} {'wall s':>7} {'records/s':>10} {'events read/s':>13} {'written':>9} {'duplicates':>10}"
      f" {'flowlake CPU s = user + sys':>27} {'CPU/wall':>8} {'peak MiB':>8} {'moto CPU s':>10}")
for name, r in runs.items():
    e = r["s"]["events"]
    cpu = f"{r['cpu']:.2f} = {r['user']:.2f} + {r['sys']:.2f}"
    print(f"{name:<7} {r['wall']:7.2f} {r['s']['records_written'] / r['wall']:10,.0f} {e['read'] / r['wall']:13,.0f}"
          f" {r['s']['records_written']:9,} {e['duplicates']:10,} {cpu:>27}"
          f" {r['cpu'] / r['wall']:8.2f} {r['mib']:8,} {r['moto']:10.2f}")

f = runs["first"]
print(f"flowlake ingest cloudwatch: {f['s']['records_written'] / f['wall']:,.0f} records/s in {f['wall']:.2f} s wall, "
      f"of which flowlake's own CPU is {f['cpu']:.2f} s ({100 * f['cpu'] / f['wall']:.0f}% of one core); moto used "
      f"{f['moto']:.2f} s of CPU ({100 * f['moto'] / f['wall']:.0f}% of one core, one Python interpreter):"
      f" {'moto' if f['moto'] > f['cpu'] else 'flowlake'} is the bottleneck. moto's peak RSS: {moto_rss:,} MiB")

filter_min = math.ceil(n / 10_000)
get_min = sum(max(1, math.ceil(k / 10_000)) for k in per_stream)
page_1mb = 1_048_576 // (load["bytes"] / n + 26)
print(f"{'run':<7} {'FilterLogEvents':>15} {'Describe*':>9} {'attempts':>8} {'retried':>7} {'events/request':>14}"
      f" {'FilterLogEvents at 5/s':>22}")
for name, r in runs.items():
    q = r["s"]["requests"]
    print(f"{name:<7} {q['filter_log_events']:15,} {q['describe']:9,} {q['attempts']:8,} {q['retried']:7,}"
          f" {r['s']['events']['read'] / max(q['filter_log_events'], 1):14,.0f}"
          f" {q['filter_log_events'] / 5:20.1f} s")
print(f"least the API allows for {n:,} events in {len(load['streams'])} streams:"
      f" FilterLogEvents ceil({n:,} / 10,000) = {filter_min:,};"
      f" GetLogEvents per stream, sum of ceil(events / 10,000) = {get_min:,}")
print(f"  (AWS also caps a page at 1 MB: at ~{load['bytes'] / n + 26:.0f} bytes an event, message + 26, that is"
      f" {page_1mb:,.0f} events a page and at least {math.ceil(n / page_1mb):,} FilterLogEvents;"
      f" moto does not apply the cap)")
for name, r in runs.items():
    q = r["s"]["requests"]
    print(f"{name} run: {q['filter_log_events']:,} FilterLogEvents = {q['filter_log_events'] / filter_min:.2f}x the minimum,"
          f" {q['filter_log_events'] / get_min:.2f}x what GetLogEvents would need; +{q['describe']} Describe*")
if runs["second"]["s"]["events"]["duplicates"] != n:
    print(f"note: the second run re-read {runs['second']['s']['events']['duplicates']:,} of {n:,} events: the oldest were"
          f" already behind the look-back window (loading took over 9 minutes)")
if rps != 5:
    print(f"(paced at --requests-per-second {rps:g}; 'at 5/s' is the least time AWS's FilterLogEvents quota, 5 requests/s, allows)")
EOF
exec {MOTO[1]}>&-
