#!/usr/bin/env bash
# Peak memory against hostile input: builds each input, ingests it with
# `flowlake ingest dir` under `/usr/bin/time -v`, and prints exit code, wall
# time and peak RSS per case. The cases are those of tests/e2e/hostile.rs,
# larger:
#
#   bomb-size    1 MB of gzip that inflates to 4 GiB (--max-decompressed-bytes 256M)
#   bomb-ratio   the same object with default limits (stopped by the ratio)
#   long-line    a 1 GiB line without a newline, between good lines
#   hours        records spread over 2,000 hours (default --max-open-partitions)
#   large-file   a 512 MiB plain-text file (streamed above --max-whole-bytes)
#   whole-file   the same file read whole (--max-whole-bytes 2G), for comparison
#   rejects      2 million rejected lines in one object (quarantine on disk)
#
#   bench/hostile.sh [THREADS=2]
#
# Uses the debug build by default (no release build needed; set
# FLOWLAKE_BIN to time another). Needs python3 and ~2 GB of scratch disk.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="${1:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/flowlake-hostile}"
if [ -z "${FLOWLAKE_BIN:-}" ]; then
  cargo build --quiet --bin flowlake
  FLOWLAKE_BIN="$CARGO_TARGET_DIR/debug/flowlake"
fi
bin="$FLOWLAKE_BIN"
mkdir -p "$work"

# Inputs, built once.
python3 - "$work" <<'PY'
import gzip, os, sys
work = sys.argv[1]
T0 = 1716595200
def line(start, dst="198.51.100.7"):
    return f"2 123456789010 eni-0a1b2c3d 10.0.0.5 {dst} 443 49152 6 10 840 {start} {start + 60} ACCEPT OK\n".encode()
def member(data):
    return gzip.compress(data, 9)
def build(name, write):
    d = os.path.join(work, name)
    if os.path.isdir(d):
        return
    os.makedirs(d + ".tmp", exist_ok=True)
    write(d + ".tmp")
    os.rename(d + ".tmp", d)
def bomb(d):
    with open(f"{d}/bomb.log.gz", "wb") as f:
        f.write(member(b"\0" * (1 << 20)) * 4096)
    with open(f"{d}/good.log.gz", "wb") as f:
        f.write(member(b"".join(line(T0 + i) for i in range(1000))))
def long_line(d):
    with open(f"{d}/long.log.gz", "wb") as f:
        f.write(member(b"".join(line(T0 + i) for i in range(10))))
        f.write(member(b"7" * (1 << 20)) * 1024)
        f.write(member(b"\n" + b"".join(line(T0 + i) for i in range(10))))
def hours(d):
    with open(f"{d}/hours.log.gz", "wb") as f:
        f.write(member(b"".join(line(T0 + h * 3600 + n) for h in range(2000) for n in range(3))))
def large(d):
    with open(f"{d}/large.log", "wb") as f:
        block = b"".join(line(T0 + i) for i in range(10000))
        while f.tell() < 512 << 20:
            f.write(block)
def rejects(d):
    with gzip.open(f"{d}/rejects.log.gz", "wb", 6) as f:
        bad = line(T0, "not-an-address")
        for _ in range(20):
            f.write(bad * 100000)
build("bomb", bomb); build("long-line", long_line); build("hours", hours)
build("large", large); build("rejects", rejects)
PY

printf '%-12s %5s %9s %12s  %s\n' case exit seconds "peak MiB" "input"
run_case() {
  local name="$1" input="$2"; shift 2
  rm -rf "$work/lake-$name"
  local code=0
  /usr/bin/time -v "$bin" ingest dir "$work/$input" --lake "$work/lake-$name" \
    --threads "$threads" --json --quiet "$@" >"$work/$name.json" 2>"$work/$name.time" || code=$?
  local rss secs
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$work/$name.time")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.time")
  printf '%-12s %5s %9s %12s  %s\n' "$name" "$code" "$secs" "$rss" "$(du -sh "$work/$input" | cut -f1) $*"
}
run_case bomb-size  bomb      --max-decompressed-bytes 256M
run_case bomb-ratio bomb
run_case long-line  long-line --max-decompression-ratio 2000
run_case hours      hours
run_case large-file large
run_case whole-file large     --max-whole-bytes 2G
run_case rejects    rejects
echo "summaries: $work/<case>.json; /usr/bin/time output: $work/<case>.time"
