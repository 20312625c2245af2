#!/usr/bin/env python3
"""The Compose topology without containers: two gateway replicas serving deploy/compose/gateway.yaml,
the demo upstreams and a real redis-server, all on 127.0.0.1 — to check what deploy/README.md
promises behind a load balancer.

Usage: compose_smoke.py TOOLGATE_BIN DEMO_UPSTREAMS_BIN
Checks: API keys are required; a key's allow-list shapes tools/list; an MCP session opened on one
replica is accepted by the other (shared session_secret); a caller's rate limit is shared by both
replicas (rate_limits.backend: redis); the examples' tools answer through the replicas.
Prints one PASS/FAIL line per check, ends with `compose-smoke: N passed, M failed`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN, DEMO = sys.argv[1], sys.argv[2]
OPS_KEY = "smoke-ops-team-key-0123456789"
JUNIS_KEY = "smoke-junis-agent-key-0123456789"
passed, failed = 0, 0


def check(name: str, ok: bool, detail: str = "") -> None:
    global passed, failed
    print(f"{'PASS' if ok else 'FAIL'}: {name}{f' ({detail})' if detail else ''}", flush=True)
    passed += ok
    failed += not ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def post(url: str, body: dict, key: str | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json, text/event-stream")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def main() -> None:
    procs: list[subprocess.Popen] = []
    logs = tempfile.mkdtemp(prefix="toolgate-compose-smoke.")
    try:
        redis_port, crm, dw, wf = free_port(), free_port(), free_port(), free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no"],
                                 stdout=open(f"{logs}/redis.log", "w"), stderr=subprocess.STDOUT)
        procs.append(redis)
        demo = subprocess.Popen([DEMO, "--crm-port", str(crm), "--dw-port", str(dw), "--workflow-port", str(wf)],
                                stdout=open(f"{logs}/demo.log", "w"), stderr=subprocess.STDOUT)
        procs.append(demo)
        env = dict(os.environ,
                   TOOLGATE_SESSION_SECRET="smoke-shared-session-secret-0123456789",
                   OPS_TEAM_KEY=OPS_KEY, JUNIS_AGENT_KEY=JUNIS_KEY,
                   REDIS_URL=f"redis://127.0.0.1:{redis_port}",
                   CRM_BASE_URL=f"http://127.0.0.1:{crm}", CRM_TOKEN_URL=f"http://127.0.0.1:{crm}/oauth2/token",
                   DW_BASE_URL=f"http://127.0.0.1:{dw}",
                   WORKFLOW_BASE_URL=f"http://127.0.0.1:{wf}", RUST_LOG="warn")
        replicas = []
        for name in ("a", "b"):
            port = free_port()
            gw = subprocess.Popen([BIN, "serve", "--config", str(ROOT / "deploy/compose/gateway.yaml"),
                                   "--listen", f"127.0.0.1:{port}"],
                                  env=env, stdout=open(f"{logs}/gateway-{name}.log", "w"), stderr=subprocess.STDOUT)
            procs.append(gw)
            replicas.append((gw, f"http://127.0.0.1:{port}"))
        up = all(wait_http(f"{url}/ready", gw) for gw, url in replicas) and wait_http(f"http://127.0.0.1:{dw}/health", demo)
        check("redis-server, demo_upstreams and two gateway replicas start", up, f"logs in {logs}")
        if not up:
            for f in sorted(Path(logs).iterdir()):
                print(f"--- {f.name}\n{f.read_text()[-2000:]}")
            return
        (_, a), (_, b) = replicas

        status, headers, _ = post(f"{a}/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        check("no API key: 401 with WWW-Authenticate", status == 401 and any(k.lower() == "www-authenticate" for k in headers), f"HTTP {status}")

        def tool_names(url: str, key: str) -> list[str]:
            status, _, body = post(f"{url}/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, key)
            return [t["name"] for t in json.loads(body)["result"]["tools"]] if status == 200 else []

        ops, junis = tool_names(a, OPS_KEY), tool_names(b, JUNIS_KEY)
        check("ops-team sees all 15 example tools", len(ops) == 15, f"{len(ops)} tools")
        check("junis-agent sees only its allow-list (9 tools, no writes, no workflows)",
              len(junis) == 9 and "crm_create_note" not in junis and not any(n.startswith("workflow_") for n in junis),
              ", ".join(junis))
        status, _, body = post(f"{b}/", {"method": "call_tool", "params": {"tool_name": "crm_create_note",
                               "arguments": {"customer_id": "CUST-00042", "text": "x"}}}, JUNIS_KEY)
        check("junis-agent calling a tool outside its allow-list: tool_not_found", status == 404 and "tool_not_found" in body, f"HTTP {status}")

        # A session opened on replica a, used on replica b.
        status, headers, body = post(f"{a}/mcp", {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "smoke", "version": "1"}}}, OPS_KEY)
        sid = next((v for k, v in headers.items() if k.lower() == "mcp-session-id"), None)
        check("initialize on replica a issues a session id", status == 200 and bool(sid), f"HTTP {status}")
        session = {"Mcp-Session-Id": sid or "", "MCP-Protocol-Version": "2025-11-25"}
        post(f"{b}/mcp", {"jsonrpc": "2.0", "method": "notifications/initialized"}, OPS_KEY, session)
        status, _, body = post(f"{b}/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "dw_execute_query", "arguments": {"sql": "SELECT count(*) FROM orders"}}}, OPS_KEY, session)
        ok = status == 200 and json.loads(body).get("result", {}).get("structuredContent", {}).get("rows") == [[3000]]
        check("replica b accepts replica a's session and answers a tool call", ok, f"HTTP {status} {body[:160]}")
        status, _, body = post(f"{b}/mcp", {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, OPS_KEY,
                               {"Mcp-Session-Id": (sid or "") + "x", "MCP-Protocol-Version": "2025-11-25"})
        check("a tampered session id is refused", status in (400, 404), f"HTTP {status}")

        # One caller, both replicas, one bucket (standard tier: burst 20, 10/s).
        admitted = limited = 0
        t0 = time.monotonic()
        for i in range(60):
            url = a if i % 2 == 0 else b
            status, _, body = post(f"{url}/", {"method": "call_tool", "params": {"tool_name": "calculate_discount",
                                   "arguments": {"customer_tier": "basic", "purchase_amount": 100}}}, OPS_KEY)
            if status == 200:
                admitted += 1
            elif status == 429 and "rate_limit_exceeded" in body:
                limited += 1
        elapsed = time.monotonic() - t0
        budget = 20 + 10 * elapsed + 2
        check("the rate limit is shared by both replicas through Redis",
              limited > 0 and admitted <= budget,
              f"60 calls alternating a/b in {elapsed:.2f}s: {admitted} admitted, {limited} limited; one shared bucket admits at most {budget:.0f}, two separate ones {2 * budget - 2:.0f}")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        check("compose smoke ran to completion", False, f"{type(e).__name__}: {e}")
    print(f"compose-smoke: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
