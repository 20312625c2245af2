#!/usr/bin/env bash
# End-to-end checks of the bundled examples (examples/*/gateway.yaml) with a built toolgate binary:
#   1. every example config passes `toolgate check` and `toolgate test`;
#   2. `toolgate demo` starts (three demo upstreams, one gateway) and its banner lists every
#      example's tools;
#   3. the official MCP Python SDK (tests/clients/examples_client.py) lists the tools and calls
#      each example tool once with good and once with bad arguments;
#   4. the legacy JSON protocol returns the warehouse's CSV export as text.
#
# Usage: .ci/examples-checks.sh path/to/toolgate
# Prints one PASS/FAIL line per check and ends with `examples-checks: N passed, M failed`;
# exits non-zero if any check failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ $# -lt 1 || ! -x "$1" ]]; then
  echo "usage: $0 path/to/toolgate" >&2
  exit 2
fi
BIN="$(realpath "$1")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-examples.XXXXXX")"
GW_PID=""
cleanup() {
  if [[ -n "$GW_PID" ]] && kill -0 "$GW_PID" 2>/dev/null; then
    kill "$GW_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$GW_PID" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T_START="$(now)"
PASSED=0
FAILED=0
declare -a SUMMARY=()
# check NAME CMD...: runs CMD, shows its output indented, records PASS/FAIL with the time taken.
check() {
  local name="$1"; shift
  local t0 rc=0 line
  t0="$(now)"
  echo
  echo "=== $name"
  if declare -F "$1" >/dev/null; then
    "$@" >"$WORK/out.log" 2>&1 || rc=$?
  else
    timeout --kill-after=10 180 "$@" >"$WORK/out.log" 2>&1 || rc=$?
  fi
  sed 's/^/  | /' "$WORK/out.log"
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1)); line="PASS: $name ($(since "$t0")s)"
  else
    FAILED=$((FAILED + 1)); line="FAIL: $name (exit $rc, $(since "$t0")s)"
  fi
  echo "$line"
  SUMMARY+=("$line")
}

# ---------- 1. check and test every example config ----------
for config in examples/*/gateway.yaml; do
  check "toolgate check --config $config" "$BIN" check --config "$config"
  check "toolgate test --config $config" "$BIN" test --config "$config"
done

# ---------- 2. the demo ----------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
start_demo() {
  local attempt port
  for attempt in 1 2 3; do
    port="$(free_port)"
    "$BIN" demo --listen "127.0.0.1:$port" >"$WORK/demo.out" 2>"$WORK/demo.err" &
    GW_PID=$!
    for _ in $(seq 300); do # up to 30 s
      if ! kill -0 "$GW_PID" 2>/dev/null; then
        wait "$GW_PID" 2>/dev/null
        GW_PID=""
        echo "toolgate demo exited on port $port (attempt $attempt):"
        sed 's/^/  | /' "$WORK/demo.err"
        break
      fi
      if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then
        PORT="$port"
        return 0
      fi
      sleep 0.1
    done
    [[ -n "$GW_PID" ]] && return 1
  done
  return 1
}
T0="$(now)"
if start_demo; then
  PASSED=$((PASSED + 1))
  SUMMARY+=("PASS: toolgate demo starts and answers /health ($(since "$T0")s)")
  echo
  echo "=== toolgate demo up on 127.0.0.1:$PORT in $(since "$T0")s"
  sleep 0.3 # let the banner reach the file
  banner_lists_tools() {
    local missing=0 tool
    for tool in crm_search_customers crm_get_customer crm_get_interactions crm_create_note \
                get_customer_data calculate_discount dw_list_tables dw_get_schema dw_execute_query \
                dw_export_results workflow_list_templates workflow_start workflow_run workflow_status workflow_cancel; do
      grep -q "$tool" "$WORK/demo.out" || { echo "banner does not mention $tool"; missing=1; }
    done
    grep -c "curl -s" "$WORK/demo.out" | sed 's/^/sample curl commands in the banner: /'
    cat "$WORK/demo.out"
    return $missing
  }
  check "demo banner lists every example's tools" banner_lists_tools
  check "health reports 15 tools" sh -c "curl -fsS http://127.0.0.1:$PORT/health | tee /dev/stderr | grep -q '\"tools_count\":15'"

  # ---------- 3. the Python SDK client ----------
  PY="$ROOT/tests/clients/.venv/bin/python"
  if ! "$PY" -c 'import mcp' >/dev/null 2>&1; then
    echo
    echo "=== installing the MCP clients (tests/clients/install.sh)"
    bash tests/clients/install.sh
  fi
  check "python-sdk examples client (tests/clients/examples_client.py)" \
    "$PY" tests/clients/examples_client.py "http://127.0.0.1:$PORT/mcp"

  # ---------- 4. the legacy protocol returns CSV as text ----------
  legacy_csv() {
    local body
    body="$(curl -fsS "http://127.0.0.1:$PORT/" -H 'Content-Type: application/json' -d '{"method":"call_tool","params":{"tool_name":"dw_export_results","arguments":{"sql":"SELECT region_id, name FROM regions ORDER BY region_id","max_rows":2}}}')" || return 1
    echo "$body"
    python3 - "$body" <<'PY'
import json, sys
result = json.loads(sys.argv[1])["result"]
assert isinstance(result, str), f"result is {type(result).__name__}, not text"
lines = result.splitlines()
assert lines[0] == "region_id,name", lines
assert lines[1] == "1,North America", lines
assert lines[3].startswith("# truncated after 2 rows"), lines
PY
  }
  check "legacy call_tool dw_export_results answers CSV text" legacy_csv
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    FAILED=$((FAILED + 1)); SUMMARY+=("FAIL: the demo process died during the checks")
  fi
  if [[ $FAILED -gt 0 ]]; then
    echo
    echo "=== demo stderr (last 40 lines)"
    tail -n 40 "$WORK/demo.err" | sed 's/^/  | /'
  fi
else
  FAILED=$((FAILED + 1))
  SUMMARY+=("FAIL: toolgate demo did not start")
fi

echo
echo "=== summary ($(since "$T_START")s total)"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "examples-checks: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
