#!/usr/bin/env bash
# Ledger benchmark: a lake that already holds N committed objects (a year of
# a large account, 10^5-10^6 objects) and a scheduled run that finds one new
# one. Measures the run's wall time on a local lake, with --from (what a
# cron job passes) and without (the whole tree: the baseline, in the same
# run), and counts the LIST requests the run sends to an S3 lake (moto,
# recorded by moto itself).
#
#   bench/ledger.sh [N=200000] [N_S3=20000]
#
# Seeding writes the ledger entries directly (ingest/examples/seed_ledger.rs)
# so the set-up takes seconds, not hours; the source is a tree of N tiny
# AWS-named objects, 4 flow logs every 5 minutes, the newest one not seeded.
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-200000}"
n_s3="${2:-20000}"
profile="${PROFILE:-dev}"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-bench-ledger}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target}"
dir_of() { [ "$profile" = dev ] && echo debug || echo "$profile"; }

# --workspace: the same feature set as `cargo test --workspace`, so no dependency is rebuilt.
cargo build --quiet --profile "$profile" --workspace --bins --examples
bin="$CARGO_TARGET_DIR/$(dir_of)/flowlake"
seed="$CARGO_TARGET_DIR/$(dir_of)/examples/seed_ledger"
mkdir -p "$work"

make_tree() {  # make_tree <dir> <objects>: tiny AWS deliveries, newest last
  [ -f "$1/.done" ] && return
  rm -rf "$1"
  "$python" - "$1" "$2" <<'EOF'
import gzip, os, sys, datetime
root, n = sys.argv[1], int(sys.argv[2])
acct, region = "123456789012", "us-east-1"
end = datetime.datetime(2025, 6, 1, tzinfo=datetime.timezone.utc)
header = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
for i in range(n):
    stamp = end - datetime.timedelta(minutes=5 * ((n - 1 - i) // 4))
    fl = f"fl-{i % 4:08x}"
    d = os.path.join(root, "AWSLogs", acct, "vpcflowlogs", region, stamp.strftime("%Y/%m/%d"))
    os.makedirs(d, exist_ok=True)
    t = int(stamp.timestamp())
    line = f"2 {acct} eni-{i:08x} 10.0.0.{i % 250} 10.1.0.{i % 200} 443 {1024 + i % 60000} 6 1 60 {t} {t + 30} ACCEPT OK\n"
    name = f"{acct}_vpcflowlogs_{region}_{fl}_{stamp.strftime('%Y%m%dT%H%MZ')}_{i:08x}.log.gz"
    with open(os.path.join(d, name), "wb") as f:
        f.write(gzip.compress(header + line.encode(), mtime=0))
EOF
  touch "$1/.done"
}

# Wall seconds of a command, and its JSON summary's "ingested" count.
timed() {
  local start end out
  start=$(date +%s.%N)
  out=$("$@" --json --quiet 2>"$work/stderr.txt") || { cat "$work/stderr.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '%.2f %s\n' "$(echo "$end - $start" | bc)" \
    "$(echo "$out" | "$python" -c 'import json,sys; o=json.load(sys.stdin)["objects"]; print(o["ingested"], o["already_done"], o["listed"])')"
}

src="$work/tree-$n"
echo "== $n objects in $src"
make_tree "$src" "$n"
from="2025-06-01T00:00:00Z"

lake="$work/lake-$n"
rm -rf "$lake"
echo "== seeding a local lake with $((n - 1)) committed objects"
"$seed" "$src" "$lake" 1 >/dev/null
cp -a "$lake" "$lake.orig"
read -r t_from ingested done listed < <(timed "$bin" ingest dir "$src" --lake "$lake" --from "$from")
echo "local, --from $from: ${t_from} s, ingested $ingested, already in the lake $done (of $listed listed in the window)"
rm -rf "$lake"; cp -a "$lake.orig" "$lake"
read -r t_all ingested done listed < <(timed "$bin" ingest dir "$src" --lake "$lake")
echo "local, whole tree:   ${t_all} s, ingested $ingested, already in the lake $done (of $listed listed)"
rm -rf "$lake" "$lake.orig"

echo "== S3 lake (moto) with $((n_s3 - 1)) committed objects"
src_s3="$work/tree-$n_s3"
make_tree "$src_s3" "$n_s3"
serve_moto="$PWD/tests/py/serve_moto.py"
coproc MOTO { cd "$work" && "$python" "$serve_moto"; }   # moto writes its recording to the cwd
read -r port <&"${MOTO[0]}"
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
"$python" -c "import boto3; boto3.client('s3', endpoint_url='$endpoint').create_bucket(Bucket='ledger-bench')"
AWS_ENDPOINT_URL="$endpoint" "$seed" "$src_s3" s3://ledger-bench/lake 1 >/dev/null
lists() {  # LIST requests moto served while running "$@"
  curl -s -X POST "$endpoint/moto-api/recorder/reset-recording" >/dev/null
  curl -s -X POST "$endpoint/moto-api/recorder/start-recording" >/dev/null
  "$@" >/dev/null 2>"$work/stderr.txt" || { cat "$work/stderr.txt" >&2; exit 1; }
  curl -s -X POST "$endpoint/moto-api/recorder/stop-recording" >/dev/null
  curl -s "$endpoint/moto-api/recorder/download-recording" | "$python" -c '
import json, sys
n = 0
for line in sys.stdin:
    if line.strip():
        r = json.loads(line)
        q = r.get("querystring") or r.get("qs") or ""
        if r.get("method") == "GET" and ("list-type" in str(q) or "list-type" in r.get("url", "")):
            n += 1
print(n)'
}
run_s3() { "$bin" ingest dir "$src_s3" --lake s3://ledger-bench/lake --endpoint-url "$endpoint" --quiet "$@"; }
l_from=$(lists run_s3 --from "$from")
echo "S3 lake, --from $from: $l_from LIST requests"
l_all=$(lists run_s3)
echo "S3 lake, whole tree:   $l_all LIST requests (the baseline: every shard)"
exec {MOTO[1]}>&-
