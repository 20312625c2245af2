#!/usr/bin/env python3
"""End-to-end check of a running toolgate gateway with the official MCP Python SDK.

Usage: python_client.py http://127.0.0.1:PORT/mcp

Works with the v2 SDK (`mcp.Client`, whose default mode="auto" first probes
`server/discover` and falls back to `initialize`) and with the v1 SDK
(`streamablehttp_client` + `ClientSession`). Prints one PASS/FAIL line per check,
the negotiated protocol version, and exits non-zero on any failure.
Set TOOLGATE_CLIENT_DEBUG=1 to log every HTTP request the SDK makes.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from typing import Any

import anyio

EXPECTED_TOOLS = {
    "crm_search_customers",
    "crm_get_customer",
    "crm_get_interactions",
    "crm_create_note",
    "get_customer_data",
    "calculate_discount",
}
GOOD_ID = "CUST-00042"
MAX_PAGES = 50
TIMEOUT_S = float(os.environ.get("TOOLGATE_CLIENT_TIMEOUT", "60"))

failures: list[str] = []


class _HttpLog(logging.Handler):
    """Collects the SDK's per-request log lines (httpx2 in v2, httpx in v1) as "METHOD STATUS"."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.exchanges: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("HTTP Request: "):
            m = re.match(r"HTTP Request: (\S+) \S+ \"HTTP/[\d.]+ (\d+)", msg)
            self.exchanges.append(f"{m.group(1)} {m.group(2)}" if m else msg)


HTTP_LOG = _HttpLog()


def check(name: str, ok: bool, detail: str = "") -> bool:
    line = f"{'PASS' if ok else 'FAIL'}: {name}"
    if detail:
        line += f" ({detail})"
    print(line, flush=True)
    if not ok:
        failures.append(name)
    return ok


def attr(obj: Any, *names: str, default: Any = None) -> Any:
    """First present attribute among snake_case / camelCase spellings (v2 vs v1 models)."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def contains_string(value: Any, needle: str) -> bool:
    if isinstance(value, str):
        return needle in value
    if isinstance(value, dict):
        return any(contains_string(k, needle) or contains_string(v, needle) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_string(v, needle) for v in value)
    return False


def text_of(result: Any) -> str:
    parts = []
    for block in attr(result, "content", default=[]) or []:
        t = getattr(block, "text", None)
        if t:
            parts.append(t)
    return " | ".join(parts)


def short(v: Any, n: int = 300) -> str:
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


async def prompt_checks(list_prompts, get_prompt) -> None:
    # 4. prompts/list and prompts/get of the CRM example's prompt
    listed = await list_prompts()
    names = [p.name for p in (attr(listed, "prompts", default=[]) or [])]
    check("prompts/list includes crm_account_brief", "crm_account_brief" in names, f"{names}")
    got = await get_prompt("crm_account_brief", {"customer_id": GOOD_ID, "tone": "upbeat"})
    messages = attr(got, "messages", default=[]) or []
    text = ""
    if messages:
        content = attr(messages[0], "content")
        text = attr(content, "text", default="") or ""
    check(
        "prompts/get crm_account_brief fills its arguments",
        GOOD_ID in text and "upbeat tone" in text,
        short(text, 200),
    )


async def run_checks(client: Any, call_tool, list_tools) -> None:
    # 1. tools/list with pagination
    names: list[str] = []
    cursor: str | None = None
    pages = 0
    seen_cursors: set[str] = set()
    while True:
        pages += 1
        page = await list_tools(cursor)
        tools = attr(page, "tools", default=[]) or []
        names.extend(t.name for t in tools)
        for t in tools:
            schema = attr(t, "input_schema", "inputSchema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                check(f"tool {t.name} has an object inputSchema", False, short(schema))
        cursor = attr(page, "next_cursor", "nextCursor")
        if not cursor:
            break
        if cursor in seen_cursors or pages >= MAX_PAGES:
            check("tools/list pagination terminates", False, f"cursor {cursor!r} after {pages} pages")
            break
        seen_cursors.add(cursor)
    missing = sorted(EXPECTED_TOOLS - set(names))
    check(
        "tools/list returns the six demo tools",
        not missing,
        f"{len(names)} tools in {pages} page(s)" + (f"; missing {missing}" if missing else ""),
    )
    dupes = sorted({n for n in names if names.count(n) > 1})
    check("tools/list has no duplicate names", not dupes, f"duplicates {dupes}" if dupes else "")

    # 2. a successful call
    result = await call_tool("crm_get_customer", {"customer_id": GOOD_ID})
    is_error = attr(result, "is_error", "isError")
    structured = attr(result, "structured_content", "structuredContent")
    ok = is_error is False or is_error is None
    check("crm_get_customer(CUST-00042) isError is false", bool(ok), f"isError={is_error!r} text={text_of(result)[:200]!r}")
    got_id = structured.get("id") if isinstance(structured, dict) else None
    check(
        "crm_get_customer(CUST-00042) structuredContent.id == CUST-00042",
        got_id == GOOD_ID,
        f"structuredContent={short(structured, 200)}",
    )

    # 3. invalid arguments -> tool execution error, not a protocol error
    try:
        bad = await call_tool("crm_get_customer", {"customer_id": "bad"})
    except Exception as e:  # a JSON-RPC error here is the wrong shape for input validation (SEP-1303)
        check("crm_get_customer(bad) returns isError result", False, f"raised {type(e).__name__}: {e}")
        return
    bad_is_error = attr(bad, "is_error", "isError")
    bad_structured = attr(bad, "structured_content", "structuredContent")
    check("crm_get_customer(bad) isError is true", bad_is_error is True, f"isError={bad_is_error!r}")
    check(
        "crm_get_customer(bad) structuredContent names invalid_parameters",
        contains_string(bad_structured, "invalid_parameters"),
        f"structuredContent={short(bad_structured, 300)}",
    )


async def main_v2(url: str) -> None:
    from mcp import Client  # v2 API

    print("python SDK API: v2 mcp.Client (mode=auto: server/discover probe, initialize fallback)", flush=True)
    async with Client(url) as client:
        version = client.protocol_version
        session = client.session
        era = "initialize handshake" if getattr(session, "initialize_result", None) is not None else "server/discover"
        info = client.server_info
        print(f"negotiated protocol version: {version} (via {era}; server {getattr(info, 'name', None)} "
              f"{getattr(info, 'version', None)})", flush=True)
        print(f"connect exchanges: {', '.join(HTTP_LOG.exchanges) or 'none logged'}"
              " (first POST 4xx = server/discover probe refused -> initialize fallback)", flush=True)
        check("connected and negotiated a protocol version", bool(version), f"{version}")

        async def list_tools(cursor):
            return await client.list_tools(cursor=cursor)

        async def call_tool(name, args):
            return await client.call_tool(name, args)

        await run_checks(client, call_tool, list_tools)
        await prompt_checks(client.list_prompts, client.get_prompt)


async def main_v1(url: str) -> None:
    from mcp import ClientSession  # v1 API
    from mcp.types import PaginatedRequestParams  # type: ignore

    try:
        from mcp.client.streamable_http import streamable_http_client as transport_factory  # >= 1.2x
    except ImportError:
        from mcp.client.streamable_http import streamablehttp_client as transport_factory  # type: ignore

    print(f"python SDK API: v1 ClientSession + {transport_factory.__name__}", flush=True)
    async with transport_factory(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            version = attr(init, "protocolVersion", "protocol_version")
            info = attr(init, "serverInfo", "server_info")
            print(f"negotiated protocol version: {version} (via initialize handshake; server "
                  f"{getattr(info, 'name', None)} {getattr(info, 'version', None)})", flush=True)
            print(f"connect exchanges: {', '.join(HTTP_LOG.exchanges) or 'none logged'}", flush=True)
            check("connected and negotiated a protocol version", bool(version), f"{version}")

            async def list_tools(cursor):
                if cursor is None:
                    return await session.list_tools()
                try:
                    return await session.list_tools(params=PaginatedRequestParams(cursor=cursor))
                except TypeError:
                    return await session.list_tools(cursor=cursor)  # older v1 signature

            async def call_tool(name, args):
                return await session.call_tool(name, args)

            await run_checks(session, call_tool, list_tools)
            await prompt_checks(session.list_prompts, session.get_prompt)


async def main(url: str) -> None:
    try:
        from mcp import Client  # noqa: F401
        runner = main_v2
    except ImportError:
        runner = main_v1
    with anyio.fail_after(TIMEOUT_S):
        await runner(url)


def sdk_version() -> str:
    try:
        from importlib.metadata import version

        return version("mcp")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} MCP_URL", file=sys.stderr)
        sys.exit(2)
    debug = bool(os.environ.get("TOOLGATE_CLIENT_DEBUG"))
    if debug:
        logging.basicConfig(level=logging.WARNING, format="  [%(name)s] %(message)s")
    for http_logger in ("httpx2", "httpx"):
        lg = logging.getLogger(http_logger)
        lg.setLevel(logging.INFO)
        lg.addHandler(HTTP_LOG)
        lg.propagate = debug
    print(f"python mcp SDK {sdk_version()} on Python {sys.version.split()[0]} -> {sys.argv[1]}", flush=True)
    try:
        anyio.run(main, sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - any escape is a failed check
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        check("client session ran to completion", False, f"{type(e).__name__}: {e}")
    n_fail = len(failures)
    print(f"python client: {'OK' if n_fail == 0 else f'{n_fail} check(s) failed: {failures}'}", flush=True)
    sys.exit(1 if n_fail else 0)
