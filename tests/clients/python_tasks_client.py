#!/usr/bin/env python3
"""MCP tasks (revision 2025-11-25) through a running `toolgate demo`, with the official Python SDK's
task client (`session.experimental`, mcp 1.x: the 2.x line dropped it when tasks left the core
specification for the `io.modelcontextprotocol/tasks` extension).

Usage: python_tasks_client.py http://127.0.0.1:PORT/mcp

Checks: the server declares the tasks capability; `workflow_run` (an `operation:` tool of the
workflow example) is listed with `execution.taskSupport: optional`; calling it as a task answers
at once with a working task; `tasks/get` polled by the SDK (honouring `pollInterval`) reaches
`completed`; `tasks/result` gives the finished run; a second task cancelled with `tasks/cancel` is
`cancelled`, and so is its `tasks/get` afterwards; an unknown task id is an error.
Prints one PASS/FAIL line per check, ends with `tasks client: N passed, M failed`, and exits
non-zero on any failure.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

import anyio

TIMEOUT_S = float(os.environ.get("TOOLGATE_CLIENT_TIMEOUT", "120"))
RUN = {
    "template_id": "data_export",
    "parameters": {"dataset": "customers", "date_from": "2026-01-01", "date_to": "2026-01-31"},
}

passed = 0
failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    global passed
    if ok:
        passed += 1
        print(f"PASS: {name}", flush=True)
    else:
        failures.append(name)
        print(f"FAIL: {name}{' (' + detail + ')' if detail else ''}", flush=True)
    return ok


async def run(session) -> None:
    from mcp import types

    init = await session.initialize()
    print(f"connected, protocol {init.protocolVersion}", flush=True)
    tasks = init.capabilities.model_dump(exclude_none=True).get("tasks") or {}
    check("initialize declares tasks with tools/call requests",
          "call" in tasks.get("requests", {}).get("tools", {}), str(tasks))

    listed = {}
    cursor = None
    for _ in range(50):
        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
        listed.update({t.name: t for t in page.tools})
        cursor = page.nextCursor
        if not cursor:
            break
    tool = listed.get("workflow_run")
    support = tool and tool.execution and tool.execution.taskSupport
    check("workflow_run is listed with execution.taskSupport optional", support == "optional", str(support))

    started = time.monotonic()
    created = await session.experimental.call_tool_as_task("workflow_run", RUN)
    answered = time.monotonic() - started
    task_id = created.task.taskId
    check("tools/call as a task answers at once with a working task",
          created.task.status == "working" and answered < 2.0,
          f"status {created.task.status} after {answered:.2f}s")

    statuses = []
    async for status in session.experimental.poll_task(task_id):
        statuses.append(status.status)
    check("tasks/get polled to completed", statuses[-1:] == ["completed"] and len(statuses) >= 2, str(statuses))

    result = await session.experimental.get_task_result(task_id, types.CallToolResult)
    run_state = (result.structuredContent or {}).get("state")
    check("tasks/result gives the finished run", not result.isError and run_state == "succeeded",
          f"isError {result.isError}, state {run_state}")

    second = await session.experimental.call_tool_as_task("workflow_run", RUN)
    cancelled = await session.experimental.cancel_task(second.task.taskId)
    after = await session.experimental.get_task(second.task.taskId)
    check("tasks/cancel cancels a working task", cancelled.status == "cancelled" and after.status == "cancelled",
          f"cancel answered {cancelled.status}, then tasks/get {after.status}")

    try:
        await session.experimental.get_task(task_id + "x")
        check("an unknown task id is an error", False, "tasks/get answered")
    except Exception as e:  # noqa: BLE001 - the SDK raises McpError on a JSON-RPC error
        check("an unknown task id is an error", "task" in str(e).lower(), str(e))


async def main(url: str) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    with anyio.fail_after(TIMEOUT_S):
        async with streamablehttp_client(url) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await run(session)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} MCP_URL", file=sys.stderr)
        sys.exit(2)
    from importlib.metadata import version

    print(f"python mcp SDK {version('mcp')} (task client) -> {sys.argv[1]}", flush=True)
    try:
        anyio.run(main, sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - any escape is a failed check
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        check("client session ran to completion", False, f"{type(e).__name__}: {e}")
    print(f"tasks client: {passed} passed, {len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)
