#!/usr/bin/env bash
# toolgate's benchmark, in one command:   bash bench/run.sh
#
# Installs what is missing (wrk, nginx, valgrind via apt-get; FastMCP via pip into
# bench/.venv), builds toolgate (cargo build --release) and the bench upstream
# (bench/upstream, into bench/target), then runs bench/bench.py: the side-by-side matrix,
# RSS, start-up, check, tools/list and reload with 10,000 tools, and a callgrind profile.
# Writes bench/results/<date>.md (+ .json) and prints the report. See bench/README.md.
#
# Environment: BENCH_DURATION (s per measurement, default 5), BENCH_REPS (default 3),
# BENCH_CONNS (default 1,16,64), BENCH_TARGETS (default direct,nginx,mcp,legacy,auth,fastmcp),
# BENCH_SKIP (any of matrix,samecore,demo,big,profile,perf), BENCH_WAIT_QUIET (seconds to wait
# for a load average < 0.5 before measuring, default 150), BENCH_KEEP_LOGS=1 (keep toolgate's
# logs in bench/work/), TOOLGATE_BIN (benchmark this binary instead of building
# target/release/toolgate). Extra arguments are passed to bench.py (try --help).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
cd "$ROOT"

say() { printf '\n== %s\n' "$*" >&2; }

if [ "$(nproc)" -lt 2 ]; then
  echo "bench/run.sh needs at least 2 CPUs (load generator and proxy on separate cores)" >&2
  exit 1
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ] || ! command -v perf >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # perf is optional: a sampled profile besides callgrind's.
  command -v perf >/dev/null ||
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-perf >/dev/null 2>&1 || true
fi

if [ ! -x "$BENCH/.venv/bin/python" ] || ! "$BENCH/.venv/bin/python" -c 'import fastmcp' 2>/dev/null; then
  say "installing FastMCP into bench/.venv (pip)"
  python3 -m venv "$BENCH/.venv"
  "$BENCH/.venv/bin/pip" install -q --upgrade pip
  "$BENCH/.venv/bin/pip" install -q fastmcp
fi

if [ -n "${TOOLGATE_BIN:-}" ]; then
  say "using TOOLGATE_BIN=$TOOLGATE_BIN (not building toolgate)"
else
  say "building toolgate (cargo build --release)"
  cargo build --release --bin toolgate
fi
say "building the bench upstream (bench/upstream → bench/target)"
CARGO_TARGET_DIR="$BENCH/target" cargo build --release --manifest-path "$BENCH/upstream/Cargo.toml"

load=$(cut -d' ' -f1 /proc/loadavg)
say "running the benchmark (load average now $load; < 0.5 gives the cleanest numbers)"
exec python3 "$BENCH/bench.py" "$@"
