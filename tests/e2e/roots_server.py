"""A session-protocol MCP backend (official Python SDK) that asks its client for `roots/list`,
for tests/e2e/test_roots.py.

    python roots_server.py NAME PORT

Listens on 127.0.0.1:PORT, endpoint /mcp (streamable HTTP, session protocol). It asks for the
client's roots in three ways, and records every answer it gets:

- tool `roots_in_call(tag)`: asks inside the call (`related_request_id` = the call's id), so
  the request travels on the call's own SSE response; answers JSON
  {"server", "tag", "roots": [uri, ...], "gateway_session"} (the last: the public gateway
  session id the gateway published to this server, `x-mcp-sessionid`);
- tool `ask_roots_later(tag, delay)`: answers at once, then, `delay` seconds later and outside
  any call, asks on the session's standalone GET stream;
- `notifications/roots/list_changed`: asks again, outside any call (GET stream);
- tool `gateway_session()`: the public gateway session id this call came with;
- tool `roots_seen()`: JSON list of every answer received, in order, each
  {"server", "trigger", "tag", "roots": [uri, ...]} (or "error" instead of "roots").

An ask outside a call is only delivered if the client's GET stream reaches this server already
(the gateway's broker attaches a backend's stream once the session uses that backend); the SDK
drops a request sent while no GET stream is open, so such an ask is retried a few times, each
waiting `ASK_TIMEOUT_S` for its answer.

DNS-rebinding protection is off: behind Envoy the Host header is whatever the proxy sends.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.message import ServerMessageMetadata

ASK_TIMEOUT_S = 3.0
ASK_TRIES = 8

SEEN: list[dict[str, Any]] = []
# Background asks (asyncio keeps only weak references to tasks).
TASKS: set[asyncio.Task] = set()


def uris(result: types.ListRootsResult) -> list[str]:
    return [str(r.uri) for r in result.roots]


def build(name: str) -> MCPServer:
    server = MCPServer(name=name, version="1.0.0")

    async def ask_outside_a_call(session: Any, trigger: str, tag: str | None) -> None:
        """roots/list with no related request: the SDK sends it on the standalone GET stream."""
        last_error = "no answer"
        for _ in range(ASK_TRIES):
            try:
                got = await asyncio.wait_for(
                    session.send_request(types.ListRootsRequest(), types.ListRootsResult), ASK_TIMEOUT_S
                )
            except asyncio.TimeoutError:
                last_error = f"no answer within {ASK_TIMEOUT_S}s"
                print(f"{name}: roots/list ({trigger}, {tag}): {last_error}, asking again", file=sys.stderr, flush=True)
                continue
            except Exception as e:  # noqa: BLE001 - recorded for the test to show
                last_error = f"{type(e).__name__}: {e}"
                print(f"{name}: roots/list ({trigger}, {tag}): {last_error}, asking again", file=sys.stderr, flush=True)
                continue
            SEEN.append({"server": name, "trigger": trigger, "tag": tag, "roots": uris(got)})
            return
        SEEN.append({"server": name, "trigger": trigger, "tag": tag, "error": last_error})

    def spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        TASKS.add(task)
        task.add_done_callback(TASKS.discard)

    @server.tool(description="Ask the client for its roots inside this call; report them.")
    async def roots_in_call(tag: str, ctx: Context) -> str:
        got = await ctx.session.send_request(
            types.ListRootsRequest(),
            types.ListRootsResult,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
        SEEN.append({"server": name, "trigger": "call", "tag": tag, "roots": uris(got)})
        session = (ctx.headers or {}).get("x-mcp-sessionid")
        return json.dumps({"server": name, "tag": tag, "roots": uris(got), "gateway_session": session})

    @server.tool(description="Answer now; `delay` seconds later ask for the roots outside any call.")
    async def ask_roots_later(tag: str, delay: float, ctx: Context) -> str:
        session = ctx.session

        async def later() -> None:
            await asyncio.sleep(delay)
            await ask_outside_a_call(session, "timer", tag)

        spawn(later())
        return f"{name} will ask in {delay}s"

    @server.tool(description="Every roots answer this server received, in order.")
    def roots_seen() -> str:
        return json.dumps(SEEN)

    @server.tool(description="The public gateway session id this call came with (x-mcp-sessionid).")
    def gateway_session(ctx: Context) -> str:
        return (ctx.headers or {}).get("x-mcp-sessionid") or ""

    async def on_roots_list_changed(ctx: Any, params: types.NotificationParams) -> None:
        # Not awaited here: the answer must be free to arrive while the handler would wait.
        spawn(ask_outside_a_call(ctx.session, "list_changed", None))

    server._lowlevel_server.add_notification_handler(  # noqa: SLF001 - MCPServer has no public hook
        "notifications/roots/list_changed", types.NotificationParams, on_roots_list_changed
    )
    return server


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit("usage: roots_server.py NAME PORT")
    name, port = argv[1], int(argv[2])
    build(name).run(
        transport="streamable-http",
        host="127.0.0.1",
        port=port,
        stateless_http=False,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


if __name__ == "__main__":
    main(sys.argv)
