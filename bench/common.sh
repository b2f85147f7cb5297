# Sourced by the bench scripts (after they set $work): the binary to measure,
# the Python tools, and measure/median.
#
#   FLOWLAKE_BIN          the flowlake binary (default: a quick-release build,
#                         made here in $CARGO_TARGET_DIR, by default
#                         ~/.cache/flowlake/target-bench)
#   FLOWLAKE_TEST_PYTHON  the venv's python from .ci/run (DuckDB, pyarrow)
if [ -z "${FLOWLAKE_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowlake/target-bench}"
  cargo build --quiet --profile quick-release --bin flowlake
  FLOWLAKE_BIN="$CARGO_TARGET_DIR/quick-release/flowlake"
fi
bin="$FLOWLAKE_BIN"
python="${FLOWLAKE_TEST_PYTHON:-$HOME/.cache/flowlake/venv/bin/python}"

# Wall seconds and peak RSS (MiB) of a command: "seconds MiB", or "failed".
measure() {
  if /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>"$work/stderr.txt"; then
    awk '{ printf "%s %d\n", $1, $2 / 1024 }' "$work/time.txt"
  else
    echo "failed 0"
    tail -n 3 "$work/stderr.txt" >&2
  fi
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "failed") }'; }
