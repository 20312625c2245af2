#!/usr/bin/env python3
"""toolgate's benchmark: the orchestrator behind bench/run.sh (see bench/README.md).

Starts the bench upstream, nginx, toolgate (three instances) and FastMCP, drives them with wrk
(every response checked by bench/lua/check.lua), measures the extras (RSS, start-up, check,
tools/list and reload with 10,000 tools), profiles the hot path with callgrind, and writes
bench/results/<date>.md (+ .json). Uses only the standard library.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
RESULTS = BENCH / "results"
TOOLGATE = Path(os.environ.get("TOOLGATE_BIN") or ROOT / "target" / "release" / "toolgate")
UPSTREAM_BIN = BENCH / "target" / "release" / "bench-upstream"
LUA = BENCH / "lua" / "check.lua"
VENV_PY = BENCH / ".venv" / "bin" / "python"

HOST = "127.0.0.1"
PORT = {
    "upstream": 9300,
    "nginx": 9310,
    "mcp": 9311,
    "auth": 9312,
    "fastmcp": 9313,
    "big": 9314,
    "demo": 9315,
    "profile": 9316,
    "nginx0": 9320,
    "mcp0": 9321,
}
API_KEY = "bench-api-key-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOAD_CPU = "0"  # wrk, the upstream and this script
PROXY_CPU = "1"  # the proxy under test, alone

CUSTOMER_ID = "CUST-00042"
NOTE = {"customer_id": CUSTOMER_ID, "text": "Call back Friday", "pinned": True}
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}
GET_EXPECT = ['"id":"CUST-00042"', '"account_manager":"Grace Hopper"']
POST_EXPECT = ['"customer_id":"CUST-00042"', '"text":"Call back Friday"', '"pinned":true']
TOOL_ARGS = {
    "get": ("get_customer", {"customer_id": CUSTOMER_ID}),
    "post": ("create_note", NOTE),
}

TARGETS = [
    ("direct", "(a) upstream direct"),
    ("nginx", "(b) nginx proxy_pass"),
    ("mcp", "(c) toolgate MCP"),
    ("legacy", "(d) toolgate legacy"),
    ("auth", "(e) toolgate MCP + key + limit"),
    ("fastmcp", "(f) FastMCP from_openapi"),
]
TOOL_LABEL = {"get": "GET tool (get_customer)", "post": "POST tool, typed body (create_note)"}


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ---------------------------------------------------------------------------------------------
# Processes

class Proc:
    """A process this script started (pinned with taskset); ended by its pid only."""

    started: list["Proc"] = []

    def __init__(self, name: str, argv: list[str], cpu: str | None, env: dict | None = None,
                 log_file: Path | None = None):
        self.name = name
        full = (["taskset", "-c", cpu] if cpu is not None else []) + [str(a) for a in argv]
        out = open(log_file, "ab") if log_file else subprocess.DEVNULL
        self.popen = subprocess.Popen(full, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                      env={**os.environ, **(env or {})})
        self.pid = self.popen.pid  # taskset execs the program: same pid
        Proc.started.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, wait: float = 10.0) -> None:
        if self.alive():
            try:
                os.kill(self.pid, sig)
                self.popen.wait(wait)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                    self.popen.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        if self in Proc.started:
            Proc.started.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in list(reversed(cls.started)):
            proc.stop()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_jiffies() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per cpuN from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if re.match(r"cpu\d+ ", line):
            name, *vals = line.split()
            vals = [int(v) for v in vals[:8]]
            idle = vals[3] + vals[4]
            out[name] = (sum(vals) - idle, sum(vals))
    return out


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None, timeout: float = 5.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_ready(port: int, path: str = "/ready", timeout: float = 60.0, interval: float = 0.05,
               proc: Proc | None = None) -> float:
    """Polls until GET path answers 2xx; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}")
        try:
            status, _, _ = http_request(port, "GET", path, timeout=1.0)
            if 200 <= status < 300:
                return time.perf_counter() - start
        except OSError:
            pass
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"nothing ready on port {port}{path} after {timeout}s")
        time.sleep(interval)


def wait_port(port: int, timeout: float = 60.0, proc: Proc | None = None) -> None:
    """Waits until something answers HTTP on `port` (any status)."""
    start = time.perf_counter()
    while True:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}")
        try:
            http_request(port, "GET", "/", timeout=1.0)
            return
        except OSError:
            pass
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"nothing listening on port {port} after {timeout}s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# Load

def run_wrk(port: int, path: str, spec: dict, conns: int, duration: float,
            sample_pid: int | None = None) -> dict:
    """One wrk run pinned to the load CPU; returns the parsed BENCH_RESULT (+ rss_kb sampled
    at half time when `sample_pid` is given)."""
    env = {
        "BENCH_METHOD": spec["method"],
        "BENCH_BODY": spec.get("body", ""),
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in spec.get("headers", {}).items()),
        "BENCH_STATUS": str(spec.get("status", 200)),
        "BENCH_EXPECT": "\t".join(spec.get("expect", [])),
        "BENCH_FORBID": "\t".join(spec.get("forbid", [])),
    }
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s",
            "--timeout", "10s", "-s", str(LUA), f"http://{HOST}:{port}{path}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **env}, text=True)
    rss = None
    if sample_pid is not None:
        time.sleep(duration / 2)
        try:
            rss = status_kb(sample_pid, "VmRSS")
        except OSError:
            pass
    out, _ = proc.communicate(timeout=duration + 60)
    match = re.search(r"^BENCH_RESULT (\{.*\})$", out, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no result:\n{out}")
    result = json.loads(match.group(1))
    sample = re.search(r"^BENCH_SAMPLE (.*)$", out, re.M)
    result["sample"] = sample.group(1) if sample else None
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    # A call is good when wrk saw no socket error and the script's check passed.
    socket_errors = sum(result[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    result["bad"] = result["failed"] + socket_errors
    if rss is not None:
        result["rss_kb"] = rss
    return result


def measure(target: "Target", tool: str, conns: int, duration: float) -> dict:
    spec = target.spec(tool)
    pid = target.cpu_pid()
    cpus0 = cpu_jiffies()
    cpu0 = cpu_seconds(pid) if pid else None
    t0 = time.perf_counter()
    result = run_wrk(target.port, spec["path"], spec, conns, duration,
                     sample_pid=target.rss_pid())
    wall = time.perf_counter() - t0
    if pid:
        used = cpu_seconds(pid) - cpu0
        result["busy"] = used / wall
        result["cpu_us_per_call"] = used / max(result["requests"], 1) * 1e6
    cpus1 = cpu_jiffies()
    for name in cpus1:
        busy = cpus1[name][0] - cpus0[name][0]
        total = cpus1[name][1] - cpus0[name][1]
        result[f"{name}_busy"] = busy / total if total else 0.0
    return result


# ---------------------------------------------------------------------------------------------
# Targets

def mcp_body(tool: str) -> str:
    name, args = TOOL_ARGS[tool]
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}, separators=(",", ":"))


def legacy_body(tool: str) -> str:
    name, args = TOOL_ARGS[tool]
    return json.dumps({"method": "call_tool", "params": {"tool_name": name, "arguments": args}},
                      separators=(",", ":"))


class Target:
    def __init__(self, key: str, label: str, port: int, proc: Proc | None,
                 extra_headers: dict | None = None):
        self.key, self.label, self.port, self.proc = key, label, port, proc
        self.extra_headers = extra_headers or {}

    def cpu_pid(self) -> int | None:
        """The process whose CPU time is the proxy's (nginx: its one worker)."""
        if self.proc is None:
            return None
        if self.key == "nginx":
            workers = children(self.proc.pid)
            return workers[0] if workers else None
        return self.proc.pid

    def rss_pid(self) -> int | None:
        return self.cpu_pid()

    def spec(self, tool: str) -> dict:
        if self.key in ("direct", "nginx"):
            if tool == "get":
                return {"method": "GET", "path": f"/customers/{CUSTOMER_ID}", "status": 200,
                        "expect": GET_EXPECT}
            return {"method": "POST", "path": "/notes", "status": 201,
                    "body": json.dumps(NOTE, separators=(",", ":")),
                    "headers": {"Content-Type": "application/json"}, "expect": POST_EXPECT}
        expect = GET_EXPECT if tool == "get" else POST_EXPECT
        if self.key == "legacy":
            return {"method": "POST", "path": "/", "status": 200, "body": legacy_body(tool),
                    "headers": {"Content-Type": "application/json"},
                    "expect": ['{"result":{', *expect], "forbid": ['"error"']}
        return {"method": "POST", "path": "/mcp", "status": 200, "body": mcp_body(tool),
                "headers": {**MCP_HEADERS, **self.extra_headers},
                "expect": ['"isError":false', *expect], "forbid": ['"isError":true']}


def fastmcp_session(port: int) -> str:
    """The MCP handshake: initialize, read Mcp-Session-Id, notifications/initialized."""
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "toolgate-bench", "version": "1"}}}
    status, headers, _ = http_request(port, "POST", "/mcp", json.dumps(init).encode(),
                                      MCP_HEADERS, timeout=30)
    session = {k.lower(): v for k, v in headers.items()}.get("mcp-session-id")
    if status != 200 or not session:
        raise RuntimeError(f"FastMCP initialize failed: {status} {headers}")
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    http_request(port, "POST", "/mcp", json.dumps(note).encode(),
                 {**MCP_HEADERS, "Mcp-Session-Id": session}, timeout=30)
    return session


# ---------------------------------------------------------------------------------------------
# Starting everything

def start_upstream() -> Proc:
    proc = Proc("upstream", [UPSTREAM_BIN, f"{HOST}:{PORT['upstream']}"], LOAD_CPU,
                log_file=WORK / "upstream.log")
    wait_port(PORT["upstream"], proc=proc)
    return proc


def start_nginx(cpu: str = PROXY_CPU, port: int = PORT["nginx"], name: str = "nginx") -> Proc:
    ngx = WORK / name
    if ngx.exists():
        shutil.rmtree(ngx)
    (ngx / "body").mkdir(parents=True)
    (ngx / "proxy").mkdir()
    conf = (BENCH / "config" / "nginx.conf.in").read_text()
    conf = (conf.replace("@WORK@", str(ngx))
            .replace("@LISTEN@", f"{HOST}:{port}")
            .replace("@UPSTREAM@", f"{HOST}:{PORT['upstream']}"))
    (ngx / "nginx.conf").write_text(conf)
    proc = Proc(name, ["nginx", "-p", ngx, "-e", ngx / "error.log", "-c", ngx / "nginx.conf"],
                cpu, log_file=WORK / f"{name}.log")
    wait_port(port, proc=proc)
    return proc


def toolgate_env() -> dict:
    return {"BENCH_UPSTREAM": f"http://{HOST}:{PORT['upstream']}", "BENCH_API_KEY": API_KEY,
            "RUST_LOG": os.environ.get("RUST_LOG", "info")}


def start_toolgate(name: str, config: Path, port: int, cpu: str | None = PROXY_CPU,
                   wrapper: list[str] | None = None, workers: int | None = 1,
                   ready_timeout: float = 60.0) -> tuple[Proc, float]:
    argv = [*(wrapper or []), TOOLGATE, "serve", "--config", config,
            "--listen", f"{HOST}:{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    # Logs (one line per call at the default level) go to /dev/null unless BENCH_KEEP_LOGS.
    log_file = WORK / f"{name}.log" if os.environ.get("BENCH_KEEP_LOGS") else None
    t0 = time.perf_counter()
    proc = Proc(name, argv, cpu, env=toolgate_env(), log_file=log_file)
    wait_ready(port, proc=proc, timeout=ready_timeout, interval=0.002)
    return proc, time.perf_counter() - t0


def start_fastmcp() -> Proc:
    proc = Proc("fastmcp", [VENV_PY, BENCH / "fastmcp_server.py", "--port", str(PORT["fastmcp"]),
                            "--upstream", f"http://{HOST}:{PORT['upstream']}"],
                PROXY_CPU, log_file=WORK / "fastmcp.log")
    wait_port(PORT["fastmcp"], proc=proc, timeout=120)
    return proc


# ---------------------------------------------------------------------------------------------
# The matrix

def run_matrix(targets: list[Target], conns_list: list[int], reps: int, duration: float) -> list:
    runs = []
    log("warm-up: 1 s per target and tool, 16 connections")
    for tool in ("get", "post"):
        for target in targets:
            r = measure(target, tool, 16, 1)
            if r["bad"] or r["requests"] == 0:
                raise RuntimeError(f"warm-up of {target.label} {tool} failed: {r}")
    total = reps * len(conns_list) * 2 * len(targets)
    n = 0
    for rep in range(reps):
        for conns in conns_list:
            for tool in ("get", "post"):
                # Interleaved, and rotated each repetition so no target always runs first.
                order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                for target in order:
                    n += 1
                    r = measure(target, tool, conns, duration)
                    r.update(target=target.key, tool=tool, conns=conns, rep=rep)
                    runs.append(r)
                    log(f"{n:3d}/{total} rep{rep} {tool:4s} c={conns:<3d} {target.key:8s} "
                        f"{r['rps']:9.0f} req/s p50 {r['p50_us']:6d}us p99 {r['p99_us']:7d}us "
                        f"busy {r.get('busy', 0) * 100:5.1f}% "
                        f"{r.get('cpu_us_per_call', 0):6.1f}us/call bad {r['bad']}"
                        + (f"  SAMPLE {r['sample']}" if r["sample"] else ""))
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: list) -> dict:
    table = {}
    for r in runs:
        table.setdefault((r["tool"], r["conns"], r["target"]), []).append(r)
    out = {}
    for key, rs in table.items():
        out[key] = {
            "rps": median([r["rps"] for r in rs]),
            "p50_us": median([r["p50_us"] for r in rs]),
            "p99_us": median([r["p99_us"] for r in rs]),
            "busy": median([r.get("busy") for r in rs]),
            "cpu_us_per_call": median([r.get("cpu_us_per_call") for r in rs]),
            "cpu0_busy": median([r.get("cpu0_busy") for r in rs]),
            "cpu1_busy": median([r.get("cpu1_busy") for r in rs]),
            # What else ran on the proxy's core (the upstream of (a) runs on CPU 0).
            "other_cpu1": median([max(0.0, r.get("cpu1_busy", 0) - (r.get("busy", 0)
                                                                     if key[2] != "direct" else 0))
                                  for r in rs]),
            "rss_kb": max([r.get("rss_kb", 0) for r in rs]),
            "requests": sum(r["requests"] for r in rs),
            "bad": sum(r["bad"] for r in rs),
            "reps": len(rs),
            "rps_all": [round(r["rps"]) for r in rs],
        }
    return out


def same_core_latency(upstream: Proc, reps: int, duration: float) -> dict:
    """1-connection latency with the proxy on the load generator's core (CPU 0): no
    cross-core wake-ups, so what remains is the proxy's own work on the request path."""
    ngx = start_nginx(LOAD_CPU, PORT["nginx0"], "nginx0")
    tg, _ = start_toolgate("toolgate0", BENCH / "config" / "toolgate.yaml", PORT["mcp0"],
                           cpu=LOAD_CPU)
    targets = [Target("direct", dict(TARGETS)["direct"], PORT["upstream"], upstream),
               Target("nginx", dict(TARGETS)["nginx"], PORT["nginx0"], ngx),
               Target("mcp", dict(TARGETS)["mcp"], PORT["mcp0"], tg)]
    out: dict = {}
    for tool in ("get", "post"):
        for t in targets:
            run_wrk(t.port, t.spec(tool)["path"], t.spec(tool), 1, 1)  # warm-up
    for rep in range(reps):
        for tool in ("get", "post"):
            for t in targets:
                r = run_wrk(t.port, t.spec(tool)["path"], t.spec(tool), 1, duration)
                out.setdefault(f"{tool}/{t.key}", []).append(
                    {k: r[k] for k in ("rps", "p50_us", "p99_us", "bad", "requests")})
    tg.stop()
    ngx.stop()
    summary = {k: {"p50_us": median([r["p50_us"] for r in v]),
                   "p99_us": median([r["p99_us"] for r in v]),
                   "rps": median([r["rps"] for r in v]), "bad": sum(r["bad"] for r in v)}
               for k, v in out.items()}
    log("same-core latency: " + ", ".join(f"{k} p50 {v['p50_us']} us" for k, v in summary.items()))
    return summary


# ---------------------------------------------------------------------------------------------
# 10,000 tools

def big_tool_lines(i: int, n: int) -> list[str]:
    """One generated tool: 9 of 10 GET look-ups, 1 of 10 POSTs with a typed body."""
    name = f"tool_{i:05d}"
    if i % 10 == 9:
        return [
            f"  - name: {name}",
            f"    description: Add note kind {i} to a customer. Generated tool {i} of {n}",
            "      for the toolgate benchmark, with a typed JSON body.",
            "    input_schema:",
            "      type: object",
            "      properties:",
            '        customer_id: { type: string, pattern: "^CUST-[0-9]{5}$" }',
            "        text: { type: string, minLength: 1, maxLength: 2000 }",
            "        pinned: { type: boolean }",
            "      required: [ customer_id, text ]",
            "      additionalProperties: false",
            "    request:",
            "      upstream: bench",
            "      method: POST",
            "      path: /notes",
            "      body:",
            '        customer_id: "{{args.customer_id}}"',
            '        text: "{{args.text}}"',
            '        pinned: "{{args.pinned}}"',
            f"        kind: {i}",
        ]
    return [
        f"  - name: {name}",
        f"    description: Retrieve customer view {i} by ID. Generated tool {i} of {n}",
        "      for the toolgate benchmark.",
        "    input_schema:",
        "      type: object",
        "      properties:",
        '        customer_id: { type: string, pattern: "^CUST-[0-9]{5}$",'
        ' description: "The customer ID, e.g. CUST-00042" }',
        "        include: { type: string, enum: [ interactions, notes ] }",
        "        limit: { type: integer, minimum: 1, maximum: 50 }",
        "      required: [ customer_id ]",
        "      additionalProperties: false",
        "    annotations: { readOnlyHint: true }",
        "    request:",
        "      upstream: bench",
        "      method: GET",
        "      path: /customers/{{args.customer_id}}",
        '      query: { include: "{{args.include}}", limit: "{{args.limit}}", '
        f'view: "{i}" }}',
    ]


UPSTREAM_LINES = [
    "upstreams:",
    "  bench:",
    "    base_url: ${BENCH_UPSTREAM:-http://127.0.0.1:9300}",
    "    timeout: 10s",
]


def generate_big_config(folder: Path, n: int = 10_000, files: int = 10) -> tuple[Path, Path]:
    """The n-tool config twice: gateway.yaml including `files` files of tools (what is
    measured), and single.yaml with every tool in one file (only checked)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    head = ["# Generated by bench/bench.py: a config with many tools (start-up, check,",
            "# tools/list, reload under load)."]
    per = n // files
    for f in range(files):
        lines = ["tools:"]
        for i in range(f * per, (f + 1) * per):
            lines += big_tool_lines(i, n)
        (folder / f"tools-{f:02d}.yaml").write_text("\n".join(head + lines) + "\n")
    main = folder / "gateway.yaml"
    main.write_text("\n".join(head + UPSTREAM_LINES + ["include: [ \"tools-*.yaml\" ]"]) + "\n")
    single = folder / "single" / "gateway.yaml"
    single.parent.mkdir()
    lines = head + UPSTREAM_LINES + ["tools:"]
    for i in range(n):
        lines += big_tool_lines(i, n)
    single.write_text("\n".join(lines) + "\n")
    return main, single


def timed(argv: list, env: dict | None = None) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return time.perf_counter() - t0, done.returncode, done.stdout + done.stderr


def walk_tools_list(port: int) -> dict:
    """Pages through tools/list on one kept-alive connection; returns count and timings."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    cursor, count, pages, lat = None, 0, 0, []
    t0 = time.perf_counter()
    while True:
        params = {"cursor": cursor} if cursor else {}
        body = json.dumps({"jsonrpc": "2.0", "id": pages, "method": "tools/list",
                           "params": params}).encode()
        t = time.perf_counter()
        conn.request("POST", "/mcp", body=body, headers=MCP_HEADERS)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        lat.append(time.perf_counter() - t)
        count += len(data["result"]["tools"])
        pages += 1
        cursor = data["result"].get("nextCursor")
        if not cursor:
            break
    conn.close()
    return {"tools": count, "pages": pages, "total_s": time.perf_counter() - t0,
            "page_p50_ms": statistics.median(lat) * 1e3, "page_max_ms": max(lat) * 1e3}


def big_config_suite(duration: float, reps: int) -> dict:
    out: dict = {}
    config, single = generate_big_config(WORK / "big")
    out["config_bytes"] = sum(p.stat().st_size for p in config.parent.glob("*.yaml"))
    log(f"10,000-tool config: {config} + 10 included files ({out['config_bytes'] / 1e6:.1f} MB)")
    secs, code, text = timed(["taskset", "-c", PROXY_CPU, TOOLGATE, "check", "--config", single],
                             env=toolgate_env())
    out["single_file"] = {"seconds": secs, "exit": code, "output": text.strip()[-500:]}
    log(f"single-file 10,000-tool config: check exit {code} in {secs:.2f} s {text.strip()[-200:]}")

    checks = []
    for _ in range(3):
        secs, code, text = timed(["taskset", "-c", PROXY_CPU, TOOLGATE, "check", "--config",
                                  config], env=toolgate_env())
        if code != 0:
            raise RuntimeError(f"toolgate check failed on the generated config:\n{text[-2000:]}")
        checks.append(secs)
    out["check_s"] = checks

    starts, idle_rss, hwm = [], [], []
    proc = None
    for i in range(3):
        proc, secs = start_toolgate("big", config, PORT["big"])
        starts.append(secs)
        time.sleep(1.0)
        idle_rss.append(status_kb(proc.pid, "VmRSS"))
        hwm.append(status_kb(proc.pid, "VmHWM"))
        if i < 2:
            proc.stop()
    out["startup_s"], out["idle_rss_kb"], out["startup_hwm_kb"] = starts, idle_rss, hwm
    log(f"check {[round(c, 2) for c in checks]} s, start-up {[round(s, 2) for s in starts]} s, "
        f"idle RSS {[r // 1024 for r in idle_rss]} MB")

    call = {"method": "POST", "path": "/mcp", "status": 200, "headers": MCP_HEADERS,
            "body": json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "tool_05000", "arguments": {"customer_id": CUSTOMER_ID}}}),
            "expect": ['"isError":false', *GET_EXPECT], "forbid": ['"isError":true']}
    r = run_wrk(PORT["big"], "/mcp", call, 64, duration, sample_pid=proc.pid)
    out["load"] = {k: r[k] for k in ("rps", "p50_us", "p99_us", "bad", "requests", "rss_kb")}
    out["load_hwm_kb"] = status_kb(proc.pid, "VmHWM")

    first = {"method": "POST", "path": "/mcp", "status": 200, "headers": MCP_HEADERS,
             "body": '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
             "expect": ['"tools":[', '"name":"tool_00000"', '"nextCursor"']}
    cursor = base64.urlsafe_b64encode(b"offset:9950").decode().rstrip("=")
    last = {**first, "body": json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                         "params": {"cursor": cursor}}),
            "expect": ['"tools":[', '"name":"tool_09999"'], "forbid": ['"nextCursor"']}
    out["list_first"] = run_wrk(PORT["big"], "/mcp", first, 1, min(duration, 3))
    out["list_last"] = run_wrk(PORT["big"], "/mcp", last, 1, min(duration, 3))
    out["list_walk"] = walk_tools_list(PORT["big"])
    log(f"tools/list first page p50 {out['list_first']['p50_us']} us, "
        f"walk {out['list_walk']}")

    # p99 during reloads under load: 16 connections calling a tool for `span` seconds, with
    # the config file touched (no change: parsed, compiled, found equal) and then edited (a
    # comment: new content hash, compiled and swapped in) while the load runs.
    span = max(2 * duration, 6.0)
    steady, during = [], []
    original = config.read_text()
    for rep in range(reps):
        steady.append(run_wrk(PORT["big"], "/mcp", call, 16, span))
        before = json.loads(http_request(PORT["big"], "GET", "/health")[2])["config_version"]
        events: list = []

        def poke() -> None:
            time.sleep(span * 0.2)
            os.utime(config)
            events.append(("touch", time.perf_counter()))
            time.sleep(span * 0.3)
            with open(config, "a") as f:
                f.write(f"# reload {rep}-a\n")
            events.append(("edit", time.perf_counter()))
            time.sleep(span * 0.3)
            with open(config, "a") as f:
                f.write(f"# reload {rep}-b\n")
            events.append(("edit", time.perf_counter()))

        poker = threading.Thread(target=poke)
        poker.start()
        r = run_wrk(PORT["big"], "/mcp", call, 16, span)
        poker.join()
        time.sleep(1.0)
        health = json.loads(http_request(PORT["big"], "GET", "/health")[2])
        r["version_changed"] = health["config_version"] != before
        r["last_reload"] = health.get("last_reload")
        during.append(r)
        log(f"reload rep {rep}: steady p99 {steady[-1]['p99_us']} us, during reload "
            f"p99 {r['p99_us']} us max {r['lat_max_us']} us, bad {r['bad']}, "
            f"swapped {r['version_changed']}")
    config.write_text(original)
    out["reload"] = {"span_s": span, "steady": steady, "during": during}
    proc.stop()
    return out


# ---------------------------------------------------------------------------------------------
# Profile

def client_calls(port: int, body: bytes, n: int, headers: dict) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    for _ in range(n):
        conn.request("POST", "/mcp", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200 or b'"isError":false' not in data:
            raise RuntimeError(f"profile call failed: {resp.status} {data[:300]!r}")
    conn.close()


def split_file(entry: str) -> str:
    """callgrind_annotate prints `file:function [object]`: keep `function [object]`."""
    for i, ch in enumerate(entry):
        if ch == ":" and entry[i + 1:i + 2] != ":" and entry[i - 1:i] != ":":
            return entry[i + 1:]
    return entry


def annotate(path: Path, inclusive: bool, limit: int) -> tuple[int, list]:
    argv = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
            "--threshold=100", str(path)]
    text = subprocess.run(argv, capture_output=True, text=True).stdout
    total, rows = 0, []
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if m.group(2).strip() == "PROGRAM TOTALS":
            total = ir
            continue
        rows.append((ir, split_file(m.group(2).strip())))
    rows.sort(key=lambda r: -r[0])
    return total, rows[:limit]


# Parts of a call, by inclusive instructions of the function that does them (nested: the
# indentation shows what is inside what). Function names depend on inlining: n/a = inlined.
COMPONENTS = [
    ("POST /mcp handler, all of it (http::mcp::post)", r"^toolgate::http::mcp::post::\{\{closure\}\}$"),
    ("· parse the request JSON (http::parse_json)", r"^toolgate::http::parse_json$"),
    ("· Gateway::call_tool", r"^toolgate::gateway::Gateway::call_tool::\{\{closure\}\}$"),
    ("·· validate the arguments (validate::validate_arguments)", r"^toolgate::validate::validate_arguments$"),
    ("·· render the request (RequestTemplate::render_in)", r"^toolgate::render::RequestTemplate::render_in$"),
    ("··· the request URL (Upstream::request_url)", r"^toolgate::upstream::Upstream::request_url$"),
    ("·· forward: send, wait, read the answer (Forwarder::exchange_with_retries)", r"^toolgate::forward::Forwarder::exchange_with_retries::\{\{closure\}\}$"),
    ("··· the connection pool and the hand-over to the connection (UpstreamClient::send)", r"^toolgate::forward::client::UpstreamClient::send::\{\{closure\}\}$"),
    ("·· ResponseShape::shape (check and compact the upstream JSON)", r"^toolgate::shape::ResponseShape::shape$"),
    ("·· the per-call log line (tracing-subscriber fmt)", r"^<tracing_subscriber::fmt::Subscriber<.*>::event$"),
    ("· writing the reply (results::reply_to_call)", r"^toolgate::http::mcp::results::reply_to_call$"),
    ("the upstream connection's task: write the request (hyper Dispatcher::poll_write)", r"^hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_write$"),
    ("the upstream connection's task: parse the answer's head (hyper role::Client::parse)", r"^<hyper::proto::h1::role::Client as hyper::proto::h1::Http1Transaction>::parse$"),
    ("actix-http request head decode", r"^<actix_http::h1::codec::Codec as tokio_util::codec::decoder::Decoder>::decode$"),
    ("url::Url::parse, all callers", r"^url::parser::Parser::parse_url$"),
    ("serde_json::Value drops, all callers", r"^core::ptr::drop_in_place<serde_json::value::Value>$"),
]
# Self instructions summed over groups of functions.
SELF_GROUPS = [
    ("malloc/free (self, all callers; glibc or mimalloc)", r"^(malloc|free|_int_malloc|_int_free|malloc_consolidate|unlink_chunk.*|realloc|_int_realloc|cfree|__libc_malloc|__libc_free|_?mi_[a-z_]+)$"),
    ("memcpy/memmove/memset (self; rep-string iterations count one each)", r"^__mem(cpy|move|set)"),
]


def profile_callgrind(calls: int) -> dict:
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        return {"skipped": "valgrind is not installed"}
    outdir = WORK / "callgrind"
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    wrapper = ["valgrind", "--tool=callgrind", "--quiet",
               f"--callgrind-out-file={outdir}/callgrind.out.%p"]
    proc, _ = start_toolgate("profile", BENCH / "config" / "toolgate.yaml", PORT["profile"],
                             wrapper=wrapper, ready_timeout=300)
    result: dict = {"calls": calls}
    try:
        for tool in ("get", "post"):
            body = mcp_body(tool).encode()
            client_calls(PORT["profile"], body, 200, MCP_HEADERS)  # warm-up
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True,
                           check=True, timeout=60)
            client_calls(PORT["profile"], body, calls, MCP_HEADERS)
            subprocess.run(["callgrind_control", "-d", tool, str(proc.pid)],
                           capture_output=True, check=True, timeout=120)
            time.sleep(1)
            dumps = sorted(outdir.glob("callgrind.out.*"), key=lambda p: p.stat().st_mtime)
            dump = [d for d in dumps if d.name.split(".")[-1] != str(proc.pid)]
            path = dump[-1] if dump else dumps[-1]
            total, self_rows = annotate(path, False, 100000)
            _, incl_rows = annotate(path, True, 100000)
            saved = WORK / f"callgrind-{tool}.out"
            shutil.copy(path, saved)
            # Frames active when the counters were zeroed show ~100 % "self": not real costs.
            self_real = [r for r in self_rows if r[0] < 0.9 * total]
            handler = max((ir for ir, name in incl_rows
                           if name.startswith("toolgate::http::mcp::post")), default=total)
            incl_real = [r for r in incl_rows if r[0] <= handler]
            components = []
            for label, pattern in COMPONENTS:
                hits = [ir for ir, name in incl_rows if re.search(pattern, short(name, 100000))]
                components.append((label, max(hits) if hits else None))
            for label, pattern in SELF_GROUPS:
                hits = [ir for ir, name in self_real if re.search(pattern, short(name, 100000))]
                components.append((label, sum(hits) if hits else None))
            result[tool] = {"total_ir": total, "ir_per_call": total / calls,
                            "self": self_real[:25], "inclusive": incl_real[:35],
                            "components": components, "file": saved.name}
            log(f"callgrind {tool}: {total / calls:,.0f} instructions per call")
    finally:
        proc.stop(signal.SIGINT, wait=60)
    return result


def massif_sites(path: Path, limit: int = 12) -> tuple[int, list]:
    """Heap at massif's peak snapshot, attributed to the first toolgate function on each
    allocation's stack (with the function it called): [(bytes, "callee ← toolgate fn")]."""
    lines = path.read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l == "heap_tree=peak")
    nodes = []  # (depth, bytes, function)
    for line in lines[start + 1:]:
        m = re.match(r"^( *)n\d+: (\d+) (.*)$", line)
        if not m:
            break
        func = re.sub(r"^0x[0-9A-F]+: ", "", m.group(3))
        func = re.sub(r" \(in [^)]*\)$", "", func)
        nodes.append((len(m.group(1)), int(m.group(2)), func))
    total = nodes[0][1]
    sites: dict = {}
    stack: list = []
    skip_below = None
    for depth, size, func in nodes[1:]:
        if skip_below is not None and depth > skip_below:
            continue
        skip_below = None
        stack = stack[:depth - 1] + [func]
        if func.startswith("toolgate::") or func.startswith("<toolgate::"):
            callee = stack[-2] if len(stack) > 1 else "?"
            key = f"{short(callee, 70)} ← {short(func, 70)}"
            sites[key] = sites.get(key, 0) + size
            skip_below = depth
    attributed = sum(sites.values())
    rows = sorted(((b, k) for k, b in sites.items()), reverse=True)[:limit]
    rows.append((total - attributed, "(not under a toolgate function, or below massif's threshold)"))
    return total, rows


def profile_massif(tools: int = 1000) -> dict:
    """Heap profile of `serve` with a `tools`-tool config, after start-up (idle)."""
    folder = WORK / "massif"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    lines = ["# Generated by bench/bench.py", *UPSTREAM_LINES, "tools:"]
    for i in range(tools):
        lines += big_tool_lines(i, tools)
    config = folder / "gateway.yaml"
    config.write_text("\n".join(lines) + "\n")
    out = folder / "massif.out"
    wrapper = ["valgrind", "--tool=massif", "--quiet", "--depth=30", f"--massif-out-file={out}"]
    proc, _ = start_toolgate("massif", config, PORT["profile"], wrapper=wrapper,
                             ready_timeout=300)
    time.sleep(2.0)
    proc.stop(signal.SIGINT, wait=120)
    total, rows = massif_sites(out)
    log(f"massif: {total / 1e6:.1f} MB of heap at peak with {tools} tools")
    return {"tools": tools, "peak_heap": total, "sites": rows}


def syscalls_per_call(target: Target, tool: str, conns: int, duration: float) -> dict:
    """System calls the proxy makes per call (perf stat on the raw_syscalls tracepoint)."""
    if not shutil.which("perf"):
        return {"skipped": "perf is not installed"}
    out = WORK / f"syscalls-{target.key}.csv"
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-o", str(out), "-e",
                             "raw_syscalls:sys_enter", "-p", str(target.cpu_pid())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    r = run_wrk(target.port, target.spec(tool)["path"], target.spec(tool), conns, duration)
    time.sleep(0.2)
    perf.send_signal(signal.SIGINT)
    perf.wait(30)
    count = None
    for line in out.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and "raw_syscalls" in line and parts[0].strip().isdigit():
            count = int(parts[0])
    if count is None:
        return {"skipped": "perf stat gave no syscall count (no tracepoint access?)"}
    return {"syscalls": count, "requests": r["requests"], "per_call": count / r["requests"],
            "rps": r["rps"], "conns": conns}


def strace_breakdown(target: Target, tool: str, duration: float) -> dict:
    """Which system calls toolgate makes per call, at 1 connection (strace -c)."""
    if not shutil.which("strace"):
        return {"skipped": "strace is not installed"}
    out = WORK / "strace.txt"
    st = subprocess.Popen(["strace", "-c", "-f", "-o", str(out), "-p", str(target.cpu_pid())],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    r = run_wrk(target.port, target.spec(tool)["path"], target.spec(tool), 1, duration)
    time.sleep(0.2)
    st.send_signal(signal.SIGINT)
    st.wait(30)
    rows = []
    for line in out.read_text().splitlines():
        m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$", line)
        if m and m.group(3) != "total":
            rows.append((int(m.group(1)) / max(r["requests"], 1), m.group(3)))
    rows.sort(reverse=True)
    return {"requests": r["requests"], "rows": rows}


def profile_perf(target: Target, duration: float) -> dict:
    """A sampled (cpu-clock) profile of the MCP GET call under load, kernel included when
    allowed: shows the share of syscalls and the network stack, which callgrind cannot."""
    if not shutil.which("perf"):
        return {"skipped": "perf is not installed"}
    data = WORK / "perf.data"
    perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "4999", "-o", str(data),
                             "-p", str(target.proc.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    r = run_wrk(target.port, "/mcp", target.spec("get"), 64, duration)
    perf.send_signal(signal.SIGINT)
    perf.wait(30)
    rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                          "--sort", "dso,symbol", "--percent-limit", "0.7"],
                         capture_output=True, text=True).stdout
    rows = []
    for line in rep.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
        if m:
            sym = re.sub(r"\s+-\s+-\s*$", "", m.group(4)).strip()
            rows.append((float(m.group(1)), m.group(2), m.group(3), sym))
    by_dso: dict = {}
    for line in subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                "--sort", "dso"], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)", line)
        if m:
            by_dso[m.group(2)] = float(m.group(1))
    return {"rows": rows[:40], "by_dso": by_dso, "rps": r["rps"], "bad": r["bad"]}


# ---------------------------------------------------------------------------------------------
# Report

def fmt(v, spec="{:,.0f}"):
    return "n/a" if v is None else spec.format(v)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def render_report(meta: dict, summary: dict, conns_list: list[int], extras: dict) -> str:
    L = []
    L.append(f"# toolgate benchmark, {meta['date']}\n")
    L.append(f"Command: `{meta['command']}`. {meta['reps']} interleaved repetitions of "
             f"{meta['duration']} s per cell; medians shown. wrk (1 thread, every response "
             f"checked by `bench/lua/check.lua`) and the upstream on CPU {LOAD_CPU}; the proxy "
             f"under test alone on CPU {PROXY_CPU} (toolgate `--workers 1`, nginx 1 worker, "
             f"FastMCP 1 process).\n")
    L.append("Machine: " + meta["machine"] + "\n")
    L.append(f"Load average (1 min) when the measurements started: {meta['load_start']:.2f}"
             + (" **(the machine was busy with other work: expect noise)**"
                if meta['load_start'] > 0.5 else "") + f"; after the matrix "
             f"{meta['load_after_matrix']:.2f}, at the end {meta['load_end']:.2f} (the benchmark "
             "itself keeps about two processes busy, so these say little; the \"other on CPU 1\" "
             "column shows what else ran on the proxy's core).\n")
    L.append("Versions: " + meta["versions"] + "\n")

    L.append("## Throughput, latency and CPU per call\n")
    L.append("busy = the proxy process's CPU time (utime+stime from /proc/<pid>/stat) ÷ wall "
             "time, on its own core; CPU/call = that CPU time ÷ calls. For (a) the columns "
             "are the upstream's. bad = calls whose check failed or socket errors, out of all "
             "calls of all repetitions. load core % = how busy CPU 0 (wrk + upstream) was: near 100 "
             "means the load side, not the proxy, was the limit. other on CPU 1 % = CPU 1's busy share "
             "minus the proxy's: work of other processes on the proxy's core (noise).\n")
    for tool in ("get", "post"):
        L.append(f"### {TOOL_LABEL[tool]}\n")
        L.append("| conns | target | req/s | p50 µs | p99 µs | busy % | CPU µs/call | RSS MB "
                 "| load core % | other on CPU 1 % | bad / calls |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for conns in conns_list:
            for key, label in TARGETS:
                s = summary.get((tool, conns, key))
                if not s:
                    continue
                L.append(f"| {conns} | {label} | {fmt(s['rps'])} | {fmt(s['p50_us'])} | "
                         f"{fmt(s['p99_us'])} | {fmt(s['busy'] and s['busy'] * 100, '{:.0f}')} | "
                         f"{fmt(s['cpu_us_per_call'], '{:.1f}')} | "
                         f"{fmt(s['rss_kb'] / 1024 if s['rss_kb'] else None, '{:.1f}')} | "
                         f"{fmt(s['cpu0_busy'] and s['cpu0_busy'] * 100, '{:.0f}')} | "
                         f"{fmt(s.get('other_cpu1') and s['other_cpu1'] * 100, '{:.1f}')} | "
                         f"{s['bad']} / {s['requests']:,} |")
        L.append("")

    # Targets
    def g(tool, conns, key, field):
        s = summary.get((tool, conns, key))
        return s[field] if s else None

    top = max(conns_list)
    rows = []
    # Issue 12's targets are ratios and instruction counts: they hold on every machine.
    profile = extras.get("callgrind") or {}
    for tool in ("get", "post"):
        ir = (profile.get(tool) or {}).get("ir_per_call")
        rows.append((f"callgrind instructions per MCP tools/call, {tool.upper()} tool", "≤ 100,000",
                     fmt(ir), verdict(ir <= 100_000 if ir is not None else None)))
    for tool in ("get", "post"):
        parts, worst_ratio = [], None
        for conns in [c for c in conns_list if c > 1]:
            m, n = g(tool, conns, "mcp", "cpu_us_per_call"), g(tool, conns, "nginx", "cpu_us_per_call")
            ratio = m / n if m and n else None
            parts.append(f"{conns} conns: {fmt(m, '{:.1f}')} ÷ {fmt(n, '{:.1f}')} µs = "
                         f"{fmt(ratio, '{:.1f}')}×")
            if ratio is not None:
                worst_ratio = ratio if worst_ratio is None else max(worst_ratio, ratio)
        rows.append((f"CPU per MCP tools/call ÷ nginx's CPU per proxied request, {tool.upper()} tool",
                     "≤ 2.5×", "; ".join(parts),
                     verdict(worst_ratio <= 2.5 if worst_ratio is not None else None)))
    for tool in ("get", "post"):
        a, c = g(tool, 1, "direct", "p50_us"), g(tool, 1, "mcp", "p50_us")
        n = g(tool, 1, "nginx", "p50_us")
        added = c - a if a is not None and c is not None else None
        nginx_added = n - a if n is not None and a is not None else None
        ratio = added / nginx_added if added is not None and nginx_added else None
        rows.append((f"Added latency at 1 conn (p50 − direct p50), {tool.upper()}: toolgate ÷ nginx",
                     "≤ 2×", f"{fmt(added, '{:.0f}')} µs ÷ {fmt(nginx_added, '{:.0f}')} µs = "
                     f"{fmt(ratio, '{:.1f}')}× ({fmt(c)} − {fmt(a)}; nginx {fmt(n)})",
                     verdict(ratio <= 2 if ratio is not None else None)))
    worst = None
    detail = []
    for tool in ("get", "post"):
        for conns in conns_list:
            m, l = g(tool, conns, "mcp", "rps"), g(tool, conns, "legacy", "rps")
            if m and l:
                ratio = l / m
                if conns > 1:  # 1 connection is latency-bound: too noisy to judge on
                    worst = ratio if worst is None else min(worst, ratio)
                detail.append(f"{tool}/{conns}: {ratio:.2f}")
    rows.append(("Legacy no slower than MCP (legacy req/s ÷ MCP req/s; verdict on the worst "
                 "cell at > 1 conn)", "≥ 1.00 (± 3 % noise)",
                 fmt(worst, "{:.2f}") + " (" + ", ".join(detail) + ")",
                 verdict(worst >= 0.97 if worst is not None else None)))
    for tool in ("get", "post"):
        parts, verdict_extra = [], None
        for conns in conns_list:
            if conns == 1:
                continue
            m, e = g(tool, conns, "mcp", "cpu_us_per_call"), g(tool, conns, "auth", "cpu_us_per_call")
            mr, er = g(tool, conns, "mcp", "rps"), g(tool, conns, "auth", "rps")
            extra = (e / m - 1) * 100 if m and e else None
            slower = (1 - er / mr) * 100 if mr and er else None
            parts.append(f"{conns} conns: CPU/call {fmt(extra, '{:+.1f}')} %, req/s "
                         f"{fmt(slower if slower is None else -slower, '{:+.1f}')} %")
            if conns == top:
                verdict_extra = extra
        rows.append((f"Auth + non-triggering rate limit, {tool.upper()} (extra CPU per call vs (c); "
                     f"verdict at {top} conns)", "≤ 5 %", "; ".join(parts),
                     verdict(verdict_extra <= 5 if verdict_extra is not None else None)))
    for tool in ("get", "post"):
        ratios = []
        for conns in conns_list:
            m, f = g(tool, conns, "mcp", "rps"), g(tool, conns, "fastmcp", "rps")
            if m and f:
                ratios.append((conns, m / f))
        best = max((r for _, r in ratios), default=None)
        at_top = dict(ratios).get(top)
        rows.append((f"Throughput vs FastMCP, {tool.upper()} (toolgate MCP ÷ FastMCP req/s)", "≥ 60×",
                     ", ".join(f"{c} conns {r:.0f}×" for c, r in ratios),
                     verdict(at_top >= 60 if at_top is not None else None)))
    demo = extras.get("demo_rss_kb")
    rows.append(("RSS idle, demo config (config/gateway.yaml, default workers)", "≤ 30 MB",
                 fmt(demo and demo / 1024, "{:.1f} MB"), verdict(demo / 1024 <= 30 if demo else None)))
    big = extras.get("big", {})
    if big:
        idle = median(big["idle_rss_kb"]) / 1024
        load = big["load"]["rss_kb"] / 1024
        hwm = max(big["load_hwm_kb"], *big["startup_hwm_kb"]) / 1024
        rows.append(("RSS with 10,000 tools, idle (under load / peak incl. start-up)", "≤ 150 MB",
                     f"{idle:.0f} MB ({load:.0f} / {hwm:.0f} MB)", verdict(idle <= 150)))
        chk, start = median(big["check_s"]), median(big["startup_s"])
        rows.append(("10,000-tool config: `toolgate check` / start-up to /ready", "≤ 1 s",
                     f"{chk:.2f} s / {start:.2f} s", verdict(max(chk, start) <= 1)))
        rl = big["reload"]
        sp99 = median([r["p99_us"] for r in rl["steady"]])
        dp99 = median([r["p99_us"] for r in rl["during"]])
        bad = sum(r["bad"] for r in rl["during"])
        calls = sum(r["requests"] for r in rl["during"])
        rows.append(("Reload of the 10,000-tool config under load (16 conns): p99 vs steady, failed calls",
                     "≤ 3×, 0 failed", f"{dp99 / 1000:.2f} ms vs {sp99 / 1000:.2f} ms = "
                     f"{dp99 / sp99:.1f}×; {bad} failed of {calls:,}",
                     verdict(dp99 <= 3 * sp99 and bad == 0)))
    L.append("## Targets\n")
    L.append("| what | target | measured | |")
    L.append("|---|---|---|---|")
    for r in rows:
        L.append("| " + " | ".join(r) + " |")
    L.append("")

    sc = extras.get("same_core")
    if sc:
        L.append("## Latency at 1 connection with the proxy on the load generator's core\n")
        L.append("The targets above pin the proxy to CPU 1, so every call crosses cores four "
                 "times (wrk → proxy → upstream → proxy → wrk), and each crossing wakes an idle "
                 "vCPU. Here the proxy runs on CPU 0 with wrk and the upstream (same tools, "
                 f"{meta['reps']} × {min(meta['duration'], 3):.0f} s, medians), which leaves the "
                 "proxy's own work on the request path:\n")
        L.append("| tool | direct p50 / p99 µs | nginx p50 / p99 µs (added p50) | toolgate MCP p50 / p99 µs (added p50) |")
        L.append("|---|---|---|---|")
        for tool in ("get", "post"):
            d, n, m = sc.get(f"{tool}/direct"), sc.get(f"{tool}/nginx"), sc.get(f"{tool}/mcp")
            if d and n and m:
                L.append(f"| {tool.upper()} | {d['p50_us']:.0f} / {d['p99_us']:.0f} | "
                         f"{n['p50_us']:.0f} / {n['p99_us']:.0f} (+{n['p50_us'] - d['p50_us']:.0f}) | "
                         f"{m['p50_us']:.0f} / {m['p99_us']:.0f} (+{m['p50_us'] - d['p50_us']:.0f}) |")
        L.append("")
    if big:
        L.append("## 10,000 tools\n")
        L.append(f"Generated config: 10,000 tools in a main file including 10 files of 1,000 "
                 f"({big['config_bytes'] / 1e6:.1f} MB of YAML; 9 of 10 GET tools with a pattern, an "
                 "enum, an integer range and a query, 1 of 10 POST tools with a typed body).\n")
        L.append("| measurement | result |")
        L.append("|---|---|")
        sf = big.get("single_file")
        if sf:
            msg = sf["output"].replace("|", "\\|").replace("\n", " ")
            L.append(f"| the same 10,000 tools in ONE file: `toolgate check` | exit {sf['exit']} in "
                     f"{sf['seconds']:.2f} s: `{msg[-200:]}` |")
        L.append(f"| `toolgate check` (3 runs) | {', '.join(f'{s:.2f}' for s in big['check_s'])} s |")
        L.append(f"| `serve` start-up to first 200 on /ready (3 runs) | "
                 f"{', '.join(f'{s:.2f}' for s in big['startup_s'])} s |")
        L.append(f"| RSS idle after start-up / peak (VmHWM) during start-up | "
                 f"{median(big['idle_rss_kb']) / 1024:.0f} MB / {max(big['startup_hwm_kb']) / 1024:.0f} MB |")
        ld = big["load"]
        L.append(f"| tools/call of tool_05000 at 64 conns | {ld['rps']:,.0f} req/s, p50 {ld['p50_us']} µs, "
                 f"p99 {ld['p99_us']} µs, {ld['bad']} bad; RSS {ld['rss_kb'] / 1024:.0f} MB |")
        for key, what in (("list_first", "first page (no cursor)"), ("list_last", "last page (cursor at 9,950)")):
            r = big[key]
            L.append(f"| tools/list {what}, 1 conn, page_size 50 | {r['rps']:,.0f} req/s, p50 "
                     f"{r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, {r['bad']} bad |")
        w = big["list_walk"]
        L.append(f"| all of tools/list, following nextCursor | {w['tools']:,} tools in {w['pages']} pages, "
                 f"{w['total_s']:.2f} s (page p50 {w['page_p50_ms']:.2f} ms, max {w['page_max_ms']:.2f} ms) |")
        rl = big["reload"]
        for i, (s, d) in enumerate(zip(rl["steady"], rl["during"])):
            L.append(f"| reload rep {i + 1}: {rl['span_s']:.0f} s at 16 conns, steady vs touch + 2 edits | "
                     f"p99 {s['p99_us'] / 1000:.2f} → {d['p99_us'] / 1000:.2f} ms, max "
                     f"{s['lat_max_us'] / 1000:.1f} → {d['lat_max_us'] / 1000:.1f} ms, "
                     f"{s['rps']:,.0f} → {d['rps']:,.0f} req/s, {d['bad']} failed, "
                     f"swapped: {d['version_changed']} |")
        L.append("")

    prof = extras.get("callgrind")
    if prof and "skipped" not in prof:
        L.append("## Profile (callgrind)\n")
        L.append(f"toolgate under `valgrind --tool=callgrind`, `--workers 1`, default logging to "
                 f"/dev/null; counters zeroed after 200 warm-up calls, then {prof['calls']} MCP "
                 "tools/call on one kept-alive connection. The dumps are in bench/work/ "
                 "(`callgrind_annotate FILE`).\n")
        for tool in ("get", "post"):
            p = prof.get(tool)
            if not p:
                continue
            L.append(f"### {TOOL_LABEL[tool]}: {p['ir_per_call']:,.0f} instructions per call\n")
            L.append("Where they go (inclusive instructions of the function doing each part; "
                     "nested parts are indented with dots):\n")
            L.append("| part | Ir/call | % of call |")
            L.append("|---|---:|---:|")
            for label, ir in p["components"]:
                L.append(f"| {label} | {fmt(ir and ir / prof['calls'])} | "
                         f"{fmt(ir and ir / p['total_ir'] * 100, '{:.1f}')} |")
            L.append("\nTop functions by inclusive instructions (runtime frames above the handler "
                     "left out):\n")
            L.append("| Ir/call | % | function |")
            L.append("|---:|---:|---|")
            for ir, name in p["inclusive"][:30]:
                L.append(f"| {ir / prof['calls']:,.0f} | {ir / p['total_ir'] * 100:.1f} | `{short(name)}` |")
            L.append("\nTop functions by self instructions:\n")
            L.append("| Ir/call | % | function |")
            L.append("|---:|---:|---|")
            for ir, name in p["self"][:20]:
                L.append(f"| {ir / prof['calls']:,.0f} | {ir / p['total_ir'] * 100:.1f} | `{short(name)}` |")
            L.append("")
    elif prof:
        L.append(f"## Profile\n\nskipped: {prof['skipped']}\n")
    mas = extras.get("massif")
    if mas:
        L.append(f"## Heap profile (massif), {mas['tools']:,} tools\n")
        L.append(f"`toolgate serve` with a generated {mas['tools']:,}-tool config under "
                 f"`valgrind --tool=massif`: {mas['peak_heap'] / 1e6:.1f} MB of heap at the peak "
                 f"({mas['peak_heap'] / mas['tools'] / 1024:.1f} KiB per tool), by the first toolgate "
                 "function on the allocation's stack (← the function it called):\n")
        L.append("| MB | allocated by |")
        L.append("|---:|---|")
        for size, site in mas["sites"]:
            L.append(f"| {size / 1e6:.2f} | `{site}` |")
        L.append("")
    perf = extras.get("perf")
    if perf and "skipped" not in perf:
        L.append("## Profile (perf, cpu-clock samples under load)\n")
        L.append(f"perf record -e cpu-clock on toolgate during a {meta['duration']} s MCP GET run at "
                 f"64 connections ({perf['rps']:,.0f} req/s). Share of samples by object:\n")
        L.append(", ".join(f"{k} {v:.1f} %" for k, v in list(perf["by_dso"].items())[:8]) + "\n")
        L.append("| % | object | function |")
        L.append("|---:|---|---|")
        for pct, dso, _, sym in perf["rows"][:30]:
            L.append(f"| {pct:.1f} | {dso} | `{short(sym)}` |")
        L.append("")
    sysc = extras.get("syscalls")
    if sysc:
        L.append("## System calls per call\n")
        L.append("`perf stat -e raw_syscalls:sys_enter -p <proxy pid>` during a run at "
                 f"{max(conns_list)} connections:\n")
        L.append("| target | tool | syscalls / call | req/s during the count |")
        L.append("|---|---|---:|---:|")
        for key, v in sysc.items():
            t, tool = key.split("/")
            if "skipped" in v:
                L.append(f"| {dict(TARGETS)[t]} | {tool.upper()} | n/a: {v['skipped']} | |")
            else:
                L.append(f"| {dict(TARGETS)[t]} | {tool.upper()} | {v['per_call']:.1f} | {v['rps']:,.0f} |")
        L.append("")
    stb = extras.get("strace")
    if stb and "skipped" not in stb:
        L.append("toolgate's system calls per MCP GET call at 1 connection (`strace -c -f`, "
                 f"{stb['requests']:,} calls): " + ", ".join(
                     f"{name} {n:.2f}" for n, name in stb["rows"] if n >= 0.01) + "\n")
    if extras.get("notes"):
        L.append("## Notes\n")
        for n in extras["notes"]:
            L.append(f"- {n}")
        L.append("")
    return "\n".join(L)


def short(name: str, width: int = 140) -> str:
    """A readable function name: no hash suffix, no object file, table-safe."""
    name = re.sub(r"::h[0-9a-f]{16}", "", name)
    name = re.sub(r"\s*\[[^\]]*\]$", "", name)
    name = name.replace("|", "\\|").replace("`", "'")
    return name if len(name) <= width else name[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------

def machine_info() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return (f"{os.cpu_count()} CPUs ({model}), {int(mem) / 1024 / 1024:.0f} GiB, "
            f"Linux {platform.release()}")


def versions() -> str:
    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return "?"
    rev = out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src",
                            "Cargo.toml", "Cargo.lock"], capture_output=True, text=True).stdout
    fm = out([str(VENV_PY), "-c", "import fastmcp; print(fastmcp.__version__)"])
    built = dt.datetime.fromtimestamp(TOOLGATE.stat().st_mtime).strftime("%H:%M")
    return (f"toolgate {rev}{' + uncommitted changes in src/' if dirty.strip() else ''} "
            f"({TOOLGATE.relative_to(ROOT) if TOOLGATE.is_relative_to(ROOT) else TOOLGATE}, "
            f"built {built}); "
            f"{out(['wrk', '-v'])}; {out(['nginx', '-v'])}; FastMCP {fm}; "
            f"{out(['rustc', '--version'])}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 5)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--conns", default=os.environ.get("BENCH_CONNS", "1,16,64"))
    ap.add_argument("--targets", default=os.environ.get("BENCH_TARGETS",
                                                        ",".join(k for k, _ in TARGETS)))
    ap.add_argument("--skip", default=os.environ.get("BENCH_SKIP", ""),
                    help="comma-separated: matrix,samecore,demo,big,profile,perf")
    ap.add_argument("--profile-calls", type=int, default=2000)
    ap.add_argument("--command", default="bash bench/run.sh")
    ap.add_argument("--wait-quiet", type=float, default=float(os.environ.get("BENCH_WAIT_QUIET", 150)),
                    help="wait up to this many seconds for the 1-minute load average to fall "
                         "below 0.5 before measuring (0: don't wait)")
    ap.add_argument("--render", metavar="JSON", help="only re-render the report of a results "
                    "JSON file (written beside it as .md) and print it")
    args = ap.parse_args()
    if args.render:
        raw = json.loads(Path(args.render).read_text())
        summary = summarise(raw["runs"]) if raw["runs"] else {}
        conns = sorted({r["conns"] for r in raw["runs"]}) or [1, 16, 64]
        report = render_report(raw["meta"], summary, conns, raw["extras"])
        Path(args.render).with_suffix(".md").write_text(report)
        print(report)
        return 0
    skip = {s for s in args.skip.split(",") if s}
    conns_list = [int(c) for c in args.conns.split(",")]
    wanted = [k for k in args.targets.split(",") if k]

    if (os.cpu_count() or 1) < 2:
        sys.exit("this benchmark needs 2 CPUs (load generator and proxy on separate cores)")
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    waited = time.time()
    while loadavg() >= 0.5 and time.time() - waited < args.wait_quiet:
        if int(time.time() - waited) % 30 == 0:
            log(f"load average {loadavg():.2f}: waiting for < 0.5 (at most {args.wait_quiet:.0f} s)")
        time.sleep(1)
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    meta = {"date": started.strftime("%Y-%m-%d %H:%M"), "command": args.command,
            "duration": args.duration, "reps": args.reps, "machine": machine_info(),
            "versions": versions(), "load_start": loadavg()}
    extras: dict = {"notes": [
        "agentgateway was not measured: it cannot be fetched here. It ships as a GitHub release "
        "binary and a container image; this machine reaches only crates.io, PyPI, npm and "
        "Debian's archive, and agentgateway is not on crates.io (the PyPI package of that name "
        "is an unrelated project).",
    ]}
    try:
        probe = subprocess.run(["perf", "stat", "-e", "instructions", "true"], capture_output=True,
                               text=True, timeout=30).stderr
        if "not supported" in probe or "<not counted>" in probe:
            extras["notes"].append(
                "Hardware counters are not available in this VM (`perf stat -e instructions "
                "true` says `<not supported>`), so instruction counts come from callgrind "
                "(exact, user space only, ~50× slower run) and perf is used only for cpu-clock "
                "sampling and syscall counts.")
    except (OSError, subprocess.TimeoutExpired):
        pass
    extras["notes"].append(
        "callgrind appears to count each iteration of a `rep stos`/`rep movs` string instruction as one "
        "instruction, so memset/memcpy of large buffers weigh more in callgrind than in real "
        "time (stock actix-http zeroed a 3 KiB header array on every decode attempt, about six "
        "a call: 18,600 instructions; toolgate builds a patched copy, see vendor/README.md).")
    log(f"load average {meta['load_start']:.2f}; {meta['machine']}")

    def on_signal(signum, frame):
        Proc.stop_all()
        sys.exit(130)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    runs: list = []
    summary: dict = {}
    try:
        upstream = start_upstream()
        if "matrix" not in skip:
            targets = []
            if "direct" in wanted:
                targets.append(Target("direct", dict(TARGETS)["direct"], PORT["upstream"],
                                      upstream))
            if "nginx" in wanted:
                targets.append(Target("nginx", dict(TARGETS)["nginx"], PORT["nginx"], start_nginx()))
            tg = None
            if "mcp" in wanted or "legacy" in wanted:
                tg, _ = start_toolgate("toolgate", BENCH / "config" / "toolgate.yaml", PORT["mcp"])
                for key in ("mcp", "legacy"):
                    if key in wanted:
                        targets.append(Target(key, dict(TARGETS)[key], PORT["mcp"], tg))
            if "auth" in wanted:
                ta, _ = start_toolgate("toolgate-auth", BENCH / "config" / "toolgate-auth.yaml",
                                       PORT["auth"])
                targets.append(Target("auth", dict(TARGETS)["auth"], PORT["auth"], ta,
                                      {"Authorization": f"Bearer {API_KEY}"}))
            if "fastmcp" in wanted:
                fm = start_fastmcp()
                session = fastmcp_session(PORT["fastmcp"])
                targets.append(Target("fastmcp", dict(TARGETS)["fastmcp"], PORT["fastmcp"], fm,
                                      {"Mcp-Session-Id": session}))
            runs = run_matrix(targets, conns_list, args.reps, args.duration)
            summary = summarise(runs)
            if tg is not None:
                extras["toolgate_hwm_kb"] = status_kb(tg.pid, "VmHWM")
                if "perf" not in skip:
                    mcp_target = next(t for t in targets if t.key == "mcp")
                    try:
                        extras["perf"] = profile_perf(mcp_target, args.duration)
                    except Exception as e:  # noqa: BLE001
                        extras["perf"] = {"skipped": f"perf failed: {e}"}
                    sys_rows = {}
                    for t in targets:
                        if t.key in ("direct", "fastmcp"):
                            continue
                        for tool in ("get", "post"):
                            try:
                                sys_rows[f"{t.key}/{tool}"] = syscalls_per_call(
                                    t, tool, max(conns_list), min(args.duration, 3))
                            except Exception as e:  # noqa: BLE001
                                sys_rows[f"{t.key}/{tool}"] = {"skipped": str(e)}
                    extras["syscalls"] = sys_rows
                    try:
                        extras["strace"] = strace_breakdown(mcp_target, "get", 2)
                    except Exception as e:  # noqa: BLE001
                        extras["strace"] = {"skipped": str(e)}
            for t in targets:
                if t.proc is not None and t.key not in ("direct", "legacy") and t.proc.alive():
                    t.proc.stop()
        meta["load_after_matrix"] = loadavg()

        if "samecore" not in skip:
            extras["same_core"] = same_core_latency(upstream, args.reps, min(args.duration, 3))
        if "demo" not in skip:
            demo, _ = start_toolgate("demo", ROOT / "config" / "gateway.yaml", PORT["demo"],
                                     workers=None)
            time.sleep(1.0)
            extras["demo_rss_kb"] = status_kb(demo.pid, "VmRSS")
            demo.stop()
        if "big" not in skip:
            extras["big"] = big_config_suite(args.duration, args.reps)
        if "profile" not in skip:
            extras["callgrind"] = profile_callgrind(args.profile_calls)
            extras["massif"] = profile_massif()
    finally:
        Proc.stop_all()
    meta["load_end"] = loadavg()
    meta.setdefault("load_after_matrix", meta["load_end"])

    stamp = started.strftime("%Y-%m-%d_%H%M")
    report = render_report(meta, summary, conns_list, extras)
    (RESULTS / f"{stamp}.md").write_text(report)
    raw = {"meta": meta, "runs": runs, "extras": extras,
           "summary": {f"{k[0]}/{k[1]}/{k[2]}": v for k, v in summary.items()}}
    (RESULTS / f"{stamp}.json").write_text(json.dumps(raw, indent=1, default=str))
    print(report)
    log(f"wrote bench/results/{stamp}.md and .json in {(dt.datetime.now() - started).seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
