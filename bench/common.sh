# Sourced by the bench scripts: the binary to measure and the Python tools.
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
