#!/usr/bin/env python3
"""End-to-end check of the three bundled examples through a running `toolgate demo`, with the
official MCP Python SDK.

Usage: examples_client.py http://127.0.0.1:PORT/mcp

Lists the tools (every page) and calls each example tool twice: once with good arguments, which
must succeed and return what the demo upstream really holds, and once with bad arguments, which
must come back as a tool error (isError: true) naming invalid_parameters. A few upstream-level
failures (a write in SQL, an unknown table, cancelling a finished run) must be tool errors too.
Prints one PASS/FAIL line per check, ends with `examples client: N passed, M failed`, and exits
non-zero on any failure. Works with the v2 SDK (`mcp.Client`) and the v1 SDK (`ClientSession`).
"""

from __future__ import annotations

import json
import re
import os
import sys
import time
import traceback
from typing import Any, Awaitable, Callable

import anyio

TIMEOUT_S = float(os.environ.get("TOOLGATE_CLIENT_TIMEOUT", "120"))
EXAMPLE_TOOLS = {
    "crm": [
        "crm_search_customers",
        "crm_get_customer",
        "crm_get_interactions",
        "crm_create_note",
        "get_customer_data",
        "calculate_discount",
    ],
    "data-warehouse": ["dw_list_tables", "dw_get_schema", "dw_execute_query", "dw_export_results"],
    "workflow": ["workflow_list_templates", "workflow_start", "workflow_run", "workflow_status", "workflow_cancel"],
}
INVOICE = {
    "invoice_id": "INV-004211",
    "vendor": "Acme Office Supply",
    "amount": 12450.0,
    "currency": "EUR",
    "cost_center": "CC-1042",
}

passed = 0
failures: list[str] = []
CallTool = Callable[[str, dict], Awaitable[Any]]


def check(name: str, ok: bool, detail: str = "") -> bool:
    global passed
    print(f"{'PASS' if ok else 'FAIL'}: {name}{f' ({detail})' if detail else ''}", flush=True)
    if ok:
        passed += 1
    else:
        failures.append(name)
    return ok


def attr(obj: Any, *names: str, default: Any = None) -> Any:
    """First present attribute among snake_case / camelCase spellings (v2 vs v1 models)."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def text_of(result: Any) -> str:
    return "".join(getattr(b, "text", "") or "" for b in attr(result, "content", default=[]) or [])


def structured(result: Any) -> Any:
    data = attr(result, "structured_content", "structuredContent")
    if data is None:  # arrays and text results travel only as text
        try:
            data = json.loads(text_of(result))
        except ValueError:
            data = None
    return data


def is_error(result: Any) -> bool:
    return attr(result, "is_error", "isError") is True


def short(v: Any, n: int = 240) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= n else s[:n] + "..."


def error_code(result: Any) -> str | None:
    """The error code: structuredContent.error.code, or, for tools that declare an output
    schema (whose error results carry no structuredContent), the "(code)" the text ends with."""
    data = attr(result, "structured_content", "structuredContent")
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return data["error"].get("code")
    found = re.search(r"\(([a-z_]+)\)(?:: retry after \d+ ms)?$", text_of(result) or "")
    return found.group(1) if found else None


async def good(call_tool: CallTool, name: str, args: dict, expect: Callable[[Any, str], bool], what: str) -> Any:
    t0 = time.monotonic()
    result = await call_tool(name, args)
    ms = (time.monotonic() - t0) * 1000
    data = structured(result)
    ok = not is_error(result) and expect(data, text_of(result))
    check(f"{name} {short(args, 90)} -> {what}", ok,
          f"{ms:.0f} ms" if ok else f"isError={is_error(result)} {short(text_of(result))}")
    return data


async def bad(call_tool: CallTool, name: str, args: dict, code: str = "invalid_parameters") -> None:
    try:
        result = await call_tool(name, args)
    except Exception as e:  # noqa: BLE001 - a JSON-RPC error is the wrong shape for bad arguments
        check(f"{name} {short(args, 90)} -> isError {code}", False, f"raised {type(e).__name__}: {e}")
        return
    got = error_code(result)
    check(f"{name} {short(args, 90)} -> isError {code}", is_error(result) and got == code,
          f"isError={is_error(result)} code={got} {short(text_of(result), 160)}")


async def crm(call_tool: CallTool) -> None:
    await good(call_tool, "crm_search_customers", {"company": "northwind", "limit": 2},
               lambda d, _: len(d["customers"]) == 2 and all("Northwind" in c["company"] for c in d["customers"]),
               "Northwind customers")
    await bad(call_tool, "crm_search_customers", {"limit": 500})
    await good(call_tool, "crm_get_customer", {"customer_id": "CUST-00042", "include": "notes"},
               lambda d, _: d["id"] == "CUST-00042" and isinstance(d.get("notes"), list), "profile with notes")
    await bad(call_tool, "crm_get_customer", {"customer_id": "42"})
    await good(call_tool, "crm_get_interactions", {"customer_id": "CUST-00007", "limit": 3},
               lambda d, _: "interactions" in d and len(d["interactions"]) <= 3, "at most 3 interactions")
    await bad(call_tool, "crm_get_interactions", {"customer_id": "CUST-00007", "type": "fax"})
    await good(call_tool, "crm_create_note",
               {"customer_id": "CUST-00042", "text": "examples client was here", "pinned": True},
               lambda d, _: d["text"] == "examples client was here" and d["pinned"] is True, "created note")
    await bad(call_tool, "crm_create_note", {"customer_id": "CUST-00042"})
    await good(call_tool, "get_customer_data", {"customer_id": "CUST-00001"},
               lambda d, _: d["id"] == "CUST-00001", "customer CUST-00001")
    await bad(call_tool, "get_customer_data", {"customer_id": "CUST-1"})
    await good(call_tool, "calculate_discount", {"customer_tier": "premium", "purchase_amount": 250},
               lambda d, _: d["final_amount"] == 225.0, "225.0 after 10 %")
    await bad(call_tool, "calculate_discount", {"customer_tier": "gold", "purchase_amount": -3})


async def warehouse(call_tool: CallTool) -> None:
    await good(call_tool, "dw_list_tables", {},
               lambda d, _: [t["name"] for t in d["tables"]] == ["regions", "products", "customers", "orders", "order_items"],
               "five tables")
    await bad(call_tool, "dw_list_tables", {"table": "orders"})
    await good(call_tool, "dw_get_schema", {"table": "orders"},
               lambda d, _: d["row_count"] == 3000 and d["columns"][0]["name"] == "order_id", "orders: 3000 rows")
    await bad(call_tool, "dw_get_schema", {"table": "orders; DROP TABLE orders"})
    sql = "SELECT order_id, order_date, total_amount FROM orders ORDER BY order_id"
    first = await good(call_tool, "dw_execute_query", {"sql": sql, "limit": 5},
                       lambda d, _: d["row_count"] == 5 and d["has_more"] and d["next_cursor"], "page 1 with a cursor")
    if isinstance(first, dict) and first.get("next_cursor"):
        await good(call_tool, "dw_execute_query", {"sql": sql, "limit": 5, "cursor": first["next_cursor"]},
                   lambda d, _: d["rows"][0][0] == 6, "page 2 starts at order 6")
    await good(call_tool, "dw_execute_query",
               {"sql": "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY orders DESC"},
               lambda d, _: sum(r[1] for r in d["rows"]) == 3000, "status counts add up to 3000")
    await bad(call_tool, "dw_execute_query", {"sql": "SELECT 1", "limit": 5000})
    await good(call_tool, "dw_export_results",
               {"sql": "SELECT sku, name, unit_price FROM products WHERE category = 'Networking' ORDER BY sku", "max_rows": 3},
               lambda _, t: t.startswith("sku,name,unit_price\n") and "# truncated after 3 rows" in t, "CSV text, cut at 3 rows")
    await bad(call_tool, "dw_export_results", {"sql": "SELECT 1", "max_rows": 0})
    # Refused by the warehouse itself: tool errors carrying the upstream's status.
    await bad(call_tool, "dw_execute_query", {"sql": "DELETE FROM orders"}, "upstream_error")
    await bad(call_tool, "dw_get_schema", {"table": "invoices"}, "upstream_error")


async def workflow(call_tool: CallTool) -> None:
    await good(call_tool, "workflow_list_templates", {},
               lambda d, _: {t["id"] for t in d["templates"]} == {"customer_onboarding", "invoice_approval", "data_export", "incident_escalation"},
               "four templates")
    await bad(call_tool, "workflow_list_templates", {"verbose": True})
    run = await good(call_tool, "workflow_start", {"template_id": "invoice_approval", "parameters": INVOICE},
                     lambda d, _: d["state"] == "running" and d["run_id"].startswith("run-"), "a running run")
    await bad(call_tool, "workflow_start", {"template_id": "payroll_run", "parameters": {}})
    # Parameters the template refuses: the engine's 400 names the field.
    result = await call_tool("workflow_start", {"template_id": "invoice_approval", "parameters": {**INVOICE, "invoice_id": "42"}})
    # The engine's answer travels in structuredContent.error.details.excerpt.
    details = json.dumps(attr(result, "structured_content", "structuredContent"))
    check("workflow_start with a bad invoice_id -> isError upstream_error naming parameters.invoice_id",
          is_error(result) and error_code(result) == "upstream_error" and "parameters.invoice_id" in details,
          short(details, 300))
    run_id = run.get("run_id") if isinstance(run, dict) else None
    if not run_id:
        check("workflow run id available", False)
        return
    await good(call_tool, "workflow_status", {"run_id": run_id},
               lambda d, _: d["run_id"] == run_id and d["state"] in ("running", "succeeded") and d["steps_total"] == 5,
               "status of the run")
    await bad(call_tool, "workflow_status", {"run_id": "../templates"})
    await good(call_tool, "workflow_cancel", {"run_id": run_id},
               lambda d, _: d["state"] == "cancelled", "cancelled")
    await good(call_tool, "workflow_cancel", {"run_id": run_id},
               lambda d, _: d["state"] == "cancelled", "cancelled again (idempotent)")
    await bad(call_tool, "workflow_cancel", {"run_id": "RUN-1"})
    await bad(call_tool, "workflow_status", {"run_id": "run-000000000000"}, "upstream_error")
    # One call that waits for the run's end (operation: in the YAML); last, as it takes seconds
    # (the run started above must still be running when it is cancelled).
    await good(call_tool, "workflow_run", {"template_id": "data_export",
                                          "parameters": {"dataset": "customers", "date_from": "2026-01-01", "date_to": "2026-01-31"}},
               lambda d, _: d["state"] == "succeeded" and d["progress"] == 100, "a run waited for to its end")
    await bad(call_tool, "workflow_run", {"template_id": "payroll_run", "parameters": {}})


async def run_checks(call_tool: CallTool, list_tools: Callable[[str | None], Awaitable[Any]]) -> None:
    names: list[str] = []
    cursor = None
    for _ in range(50):
        page = await list_tools(cursor)
        names += [t.name for t in attr(page, "tools", default=[]) or []]
        cursor = attr(page, "next_cursor", "nextCursor")
        if not cursor:
            break
    for example, tools in EXAMPLE_TOOLS.items():
        missing = [t for t in tools if t not in names]
        check(f"tools/list has the {example} example's {len(tools)} tools", not missing,
              f"missing {missing}" if missing else "")
    for part in (crm, warehouse, workflow):
        try:
            await part(call_tool)
        except Exception as e:  # noqa: BLE001 - report and go on with the next example
            traceback.print_exc()
            check(f"{part.__name__} checks ran to completion", False, f"{type(e).__name__}: {e}")


async def main(url: str) -> None:
    with anyio.fail_after(TIMEOUT_S):
        try:
            from mcp import Client  # v2 API
        except ImportError:
            Client = None
        if Client is not None:
            async with Client(url) as client:
                print(f"connected (v2 SDK), protocol {client.protocol_version}", flush=True)
                await run_checks(lambda n, a: client.call_tool(n, a),
                                 lambda c: client.list_tools(cursor=c))
            return
        from mcp import ClientSession  # v1 API
        from mcp.client.streamable_http import streamablehttp_client

        async with streamablehttp_client(url) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                init = await session.initialize()
                print(f"connected (v1 SDK), protocol {attr(init, 'protocolVersion')}", flush=True)
                await run_checks(lambda n, a: session.call_tool(n, a),
                                 lambda c: session.list_tools(cursor=c) if c else session.list_tools())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} MCP_URL", file=sys.stderr)
        sys.exit(2)
    try:
        from importlib.metadata import version

        sdk = version("mcp")
    except Exception:  # noqa: BLE001
        sdk = "unknown"
    print(f"python mcp SDK {sdk} -> {sys.argv[1]}", flush=True)
    try:
        anyio.run(main, sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - any escape is a failed check
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        check("client session ran to completion", False, f"{type(e).__name__}: {e}")
    print(f"examples client: {passed} passed, {len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)
