"""A stateless MCP 2026-07-28 backend that serves the tasks extension (SEP-2663,
`io.modelcontextprotocol/tasks`), built on the official Python SDK 2.3.0, for test_tasks.py.

    python task_backend.py NAME PORT

The SDK has no tasks extension of its own, but its extension interface (`mcp.server.extension`)
has what one needs: `MethodBinding`s for `tasks/get`, `tasks/update` and `tasks/cancel`, and a
`tools/call` interceptor that answers a task-supporting tool with a `CreateTaskResult`
(`resultType: "task"`, which the SDK leaves to the extension that claims it). The tools are the
conformance suite's task fixtures:

- `greet(name)`                  -> sync only: "Hello, <name>!"
- `slow_compute(seconds, label)` -> a task that sleeps `seconds` then completes with
                                    "<NAME> computed <label>"; cancelled if `tasks/cancel`
                                    arrives first
- `failing_job()`                -> a task that completes with `isError: true` (a tool error)
- `protocol_error_job()`         -> a task that fails with a JSON-RPC error (status `failed`)

Task ids are `t-<n>`, counted per process: two instances mint the same ids, which is what
the gateway's namespacing is for. A task runs on the event loop, outliving the request that
created it (the stateless transport ends each request's own task group). Without the
extension in the request's `_meta` client capabilities, a task tool runs synchronously and
`tasks/*` are refused with -32021, as the extension says.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import datetime, timezone
from typing import Any

from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolRequestParams, RequestParams

EXTENSION = "io.modelcontextprotocol/tasks"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
INVALID_PARAMS = -32602
TASK_TOOLS = {"slow_compute", "failing_job", "protocol_error_job"}
TTL_MS = 300_000


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def declared(meta: Any) -> bool:
    """Whether the request's `_meta` client capabilities declare the tasks extension."""
    caps = (meta or {}).get(CLIENT_CAPABILITIES) or {}
    return EXTENSION in ((caps.get("extensions") if isinstance(caps, dict) else None) or {})


class TaskParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any] | None = None


class Tasks(Extension):
    identifier = EXTENSION

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids = itertools.count(1)
        self.tasks: dict[str, dict[str, Any]] = {}
        self.running: dict[str, asyncio.Task[None]] = {}

    # ---- tools/call -----------------------------------------------------------------------

    async def intercept_tool_call(self, params: CallToolRequestParams, ctx: Any, call_next: Any) -> Any:
        if params.name not in TASK_TOOLS or not declared(params.meta):
            return await call_next(ctx)
        task_id = f"t-{next(self.ids)}"
        stamp = now()
        task = {"taskId": task_id, "status": "working", "createdAt": stamp, "lastUpdatedAt": stamp, "ttlMs": TTL_MS, "pollIntervalMs": 100}
        self.tasks[task_id] = task
        self.running[task_id] = asyncio.get_running_loop().create_task(self.run(task, params.name, params.arguments or {}))
        return {"resultType": "task", **task}

    async def run(self, task: dict[str, Any], tool: str, arguments: dict[str, Any]) -> None:
        try:
            if tool == "slow_compute":
                await asyncio.sleep(float(arguments.get("seconds", 0)))
                self.settle(task, "completed", result={"content": [{"type": "text", "text": f"{self.name} computed {arguments.get('label', '')}"}], "isError": False})
            elif tool == "failing_job":
                await asyncio.sleep(0.3)
                self.settle(task, "completed", result={"content": [{"type": "text", "text": f"{self.name}: the job failed"}], "isError": True})
            else:
                await asyncio.sleep(0.3)
                self.settle(task, "failed", error={"code": -32603, "message": f"{self.name}: internal error in protocol_error_job"})
        except asyncio.CancelledError:
            self.settle(task, "cancelled")
        finally:
            self.running.pop(task["taskId"], None)

    @staticmethod
    def settle(task: dict[str, Any], status: str, **outcome: Any) -> None:
        if task["status"] in ("completed", "failed", "cancelled"):
            return
        task.update(status=status, lastUpdatedAt=now(), **outcome)

    # ---- tasks/* --------------------------------------------------------------------------

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskParams, self.get),
            MethodBinding("tasks/update", TaskParams, self.update),
            MethodBinding("tasks/cancel", TaskParams, self.cancel),
        ]

    def find(self, params: TaskParams) -> dict[str, Any]:
        if not declared(params.meta):
            raise MCPError(code=MISSING_REQUIRED_CLIENT_CAPABILITY, message=f"{EXTENSION} was not declared")
        task = self.tasks.get(params.task_id)
        if task is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown task {params.task_id!r}")
        return task

    async def get(self, ctx: Any, params: TaskParams) -> dict[str, Any]:
        return {"resultType": "complete", **self.find(params)}

    async def update(self, ctx: Any, params: TaskParams) -> dict[str, Any]:
        # No fixture asks for input: an update has nothing to resume.
        self.find(params)
        return {"resultType": "complete"}

    async def cancel(self, ctx: Any, params: TaskParams) -> dict[str, Any]:
        self.find(params)
        running = self.running.get(params.task_id)
        if running is not None:
            running.cancel()
        return {"resultType": "complete"}


def build(name: str) -> MCPServer:
    server = MCPServer(name=name, version="1.0.0", extensions=[Tasks(name)])

    @server.tool()
    def greet(name: str = "World") -> str:
        return f"Hello, {name}!"

    @server.tool()
    async def slow_compute(seconds: float = 0, label: str = "") -> str:
        await asyncio.sleep(seconds)
        return f"{server.name} computed {label}"

    @server.tool()
    def failing_job() -> str:
        raise ValueError("the job failed")

    @server.tool()
    def protocol_error_job() -> str:
        raise MCPError(code=-32603, message="internal error in protocol_error_job")

    return server


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit("usage: task_backend.py NAME PORT")
    build(argv[1]).run(
        transport="streamable-http",
        host="127.0.0.1",
        port=int(argv[2]),
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


if __name__ == "__main__":
    main(sys.argv)
