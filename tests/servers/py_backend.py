"""A small MCP backend built on the official Python SDK, for the gateway's end-to-end tests.

    python py_backend.py NAME PORT [--stateless]

Listens on 127.0.0.1:PORT, endpoint /mcp (streamable HTTP). Two instances with different
NAMEs expose the *same* tool, prompt and resource names, so a test can only tell them apart
through the gateway's prefixes:

- tool `echo(text)`      -> JSON {"server": NAME, "text": text}
- tool `whoami()`        -> NAME
- tool `headers()`       -> JSON object of the HTTP request headers this backend received
- tool `called_as()`     -> JSON {"server": NAME, "name": params.name as received, "method": ...}
- tool `sleep(seconds)`   -> "<NAME> slept <seconds>" (outlives Envoy's default route timeout)
- tools `danger()`, `forbidden()` -> denied by the RBAC example before they get here
- tools declaring hints (tests/e2e/test_governance_hints.py): `read_notes()` read-only, closed
  world; `wipe_notes()` destructive; `append_note()` neither destructive nor open-world;
  `tidy_notes()` claims read-only. Each -> JSON {"server", "tool", "hints": the
  x-mcp-toolhints header it received}
- prompt `greet(who)`    -> one user message "<NAME> greets <who>"
- prompt `show_headers()` / template `headers://{tag}` -> the request headers received, as JSON
- resource `info://server`          -> "server=<NAME>"
- template `item://{item_id}/data`  -> "<NAME> item <item_id>"

Server-to-client flows (tests/e2e/test_flows.py; need a session-protocol backend):

- tool `progress_steps(steps)`    -> reports progress 1..steps (total=steps), then "<NAME> did <steps> steps"
- tool `ask(question)`            -> elicits {answer: str}; JSON {"server", "action", "answer"}
- tool `sample(prompt)`           -> sampling/createMessage; JSON {"server", "model", "text"}
- tool `wait_cancellable(tag)`    -> sleeps up to 60 s; a cancellation is recorded under `tag`
- tool `cancellations(tag)`       -> JSON {"server", "tag", "started", "cancelled"} for that tag
- tool `blob(size, seed)`         -> `size` deterministic printable bytes (see `blob_text`)

Plain HTTP (not MCP, so reading it opens no session): `GET /sessions` -> JSON {"live": N}, the
session-protocol sessions this server holds now (the gateway's lazy backend sessions are
counted with it, tests/e2e/test_lazy_sessions.py).

DNS-rebinding protection is off: behind Envoy the Host header is whatever the proxy sends
(the test configs rewrite it to 127.0.0.1:PORT anyway).
"""

from __future__ import annotations

import hashlib
import json
import sys

import anyio

from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel


def blob_text(size: int, seed: str) -> str:
    """`size` printable ASCII characters derived from `seed` (hex of a SHA-256 chain): a test
    can rebuild the same text and compare byte for byte."""
    out: list[str] = []
    block = seed.encode()
    n = 0
    while n < size:
        block = hashlib.sha256(block).digest()
        h = block.hex()
        out.append(h)
        n += len(h)
    return "".join(out)[:size]


class Answer(BaseModel):
    answer: str


# tag -> {"started": bool, "cancelled": bool}: what wait_cancellable saw (per process).
CANCELLATIONS: dict[str, dict[str, bool]] = {}


def build(name: str) -> MCPServer:
    server = MCPServer(name=name, version="1.0.0")

    @server.custom_route("/sessions", methods=["GET"])
    async def sessions(request):  # noqa: ANN001, ARG001
        from starlette.responses import JSONResponse

        try:
            live = len(server.session_manager._server_instances)  # noqa: SLF001
        except (AttributeError, RuntimeError):
            live = 0
        return JSONResponse({"live": live})

    @server.tool(description="Echo the text back, with the name of the server that answered.")
    def echo(text: str) -> str:
        return json.dumps({"server": name, "text": text})

    @server.tool(description="The name of the server that answered.")
    def whoami() -> str:
        return name

    @server.tool(description="The HTTP request headers this server received, as a JSON object.")
    def headers(ctx: Context) -> str:
        received = ctx.headers or {}
        return json.dumps({k.lower(): v for k, v in received.items()})

    @server.tool(description="The tool name this server was called under (params.name as received).")
    def called_as(ctx: Context) -> str:
        rc = ctx.request_context
        params = dict(rc.params or {})
        return json.dumps({"server": name, "name": params.get("name"), "method": rc.method})

    @server.tool(description="Sleep, then answer: for calls longer than Envoy's default 15 s route timeout.")
    async def sleep(seconds: float) -> str:
        await anyio.sleep(seconds)
        return f"{name} slept {seconds}"

    # Denied by the RBAC example (envoy-configs/rbac-deny-tool.yaml): by header and by filter state.
    @server.tool(description="Denied by the gateway's RBAC example (x-mcp-toolname header).")
    def danger() -> str:
        return f"{name}: danger was allowed"

    @server.tool(description="Denied by the gateway's RBAC example (wasm.mcp_gateway.tool filter state).")
    def forbidden() -> str:
        return f"{name}: forbidden was allowed"

    def hinted(tool: str, ctx: Context) -> str:
        received = {k.lower(): v for k, v in (ctx.headers or {}).items()}
        return json.dumps({"server": name, "tool": tool, "hints": received.get("x-mcp-toolhints")})

    @server.tool(description="Read the notes.", annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def read_notes(ctx: Context) -> str:
        return hinted("read_notes", ctx)

    @server.tool(description="Wipe the notes.", annotations=types.ToolAnnotations(destructive_hint=True))
    def wipe_notes(ctx: Context) -> str:
        return hinted("wipe_notes", ctx)

    @server.tool(
        description="Append a note.",
        annotations=types.ToolAnnotations(destructive_hint=False, idempotent_hint=False, open_world_hint=False),
    )
    def append_note(ctx: Context) -> str:
        return hinted("append_note", ctx)

    @server.tool(description="Claims to be harmless.", annotations=types.ToolAnnotations(read_only_hint=True))
    def tidy_notes(ctx: Context) -> str:
        return hinted("tidy_notes", ctx)

    @server.tool(description="Report progress 1..steps (total = steps), then answer.")
    async def progress_steps(steps: int, ctx: Context) -> str:
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"{name} step {i}")
        return f"{name} did {steps} steps"

    @server.tool(description="Run for `seconds`, reporting progress every `every` seconds, then answer.")
    async def slow_progress(seconds: float, every: float, ctx: Context) -> str:
        steps = max(1, int(seconds // every))
        for i in range(1, steps + 1):
            await anyio.sleep(every)
            await ctx.report_progress(i, steps, f"{name} step {i}")
        return f"{name} ran {seconds}s with progress"

    @server.tool(description="Elicit an answer from the client (elicitation/create); report what came back.")
    async def ask(question: str, ctx: Context) -> str:
        got = await ctx.elicit(f"{name} asks: {question}", schema=Answer)
        answer = got.data.answer if got.action == "accept" and got.data is not None else None
        return json.dumps({"server": name, "action": got.action, "answer": answer})

    @server.tool(description="Ask the client's model (sampling/createMessage); report its answer.")
    async def sample(prompt: str, ctx: Context) -> str:
        got = await ctx.session.create_message(
            [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=f"{name}: {prompt}"))],
            max_tokens=32,
            related_request_id=ctx.request_id,
        )
        content = got.content
        return json.dumps({"server": name, "model": got.model, "text": getattr(content, "text", None)})

    @server.tool(description="Wait up to 60 s; a cancellation is recorded under `tag` (see cancellations).")
    async def wait_cancellable(tag: str) -> str:
        CANCELLATIONS[tag] = {"started": True, "cancelled": False}
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            CANCELLATIONS[tag]["cancelled"] = True
            raise
        return f"{name} waited for {tag}"

    @server.tool(description="What wait_cancellable saw for `tag`.")
    def cancellations(tag: str) -> str:
        seen = CANCELLATIONS.get(tag, {"started": False, "cancelled": False})
        return json.dumps({"server": name, "tag": tag, **seen})

    @server.tool(description="`size` deterministic printable characters derived from `seed`.")
    def blob(size: int, seed: str) -> str:
        return blob_text(size, seed)

    @server.prompt(description="A greeting naming the server.")
    def greet(who: str) -> str:
        return f"{name} greets {who}"

    @server.resource("info://server", mime_type="text/plain", description="Which server this is.")
    def info() -> str:
        return f"server={name}"

    @server.resource("item://{item_id}/data", mime_type="text/plain", description="One item.")
    def item(item_id: str) -> str:
        return f"{name} item {item_id}"

    @server.prompt(description="The HTTP request headers this server received, as a JSON text message.")
    def show_headers(ctx: Context) -> str:
        return json.dumps({k.lower(): v for k, v in (ctx.headers or {}).items()})

    @server.resource("headers://{tag}", mime_type="application/json", description="Received request headers.")
    def headers_resource(tag: str, ctx: Context) -> str:
        return json.dumps({"tag": tag, "headers": {k.lower(): v for k, v in (ctx.headers or {}).items()}})

    return server


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("usage: py_backend.py NAME PORT [--stateless]")
    name, port = argv[1], int(argv[2])
    stateless = "--stateless" in argv[3:]
    build(name).run(
        transport="streamable-http",
        host="127.0.0.1",
        port=port,
        stateless_http=stateless,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


if __name__ == "__main__":
    main(sys.argv)
