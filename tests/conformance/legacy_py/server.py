"""A legacy conformance backend: the suite's server fixtures on the official MCP Python SDK's
last 1.x release (`FastMCP`, pinned in requirements.txt), in its own venv `.venv-mcp1/`.

    .venv-mcp1/bin/python tests/conformance/legacy_py/server.py PORT

Serves streamable HTTP on 127.0.0.1:PORT, endpoint /mcp, speaking only the session protocol
(`initialize`, `Mcp-Session-Id`; up to 2025-11-25): the 1.x SDK knows nothing of 2026-07-28
(no `server/discover`, no per-request `_meta`, no `resultType`, no InputRequiredResult), so a
2026-07-28 client reaches it only through the gateway's broker.

The tools, resources and prompts are fixture_server.py's (same names, same texts), as far as the
1.x API allows. Left out, because 1.x cannot express them: the InputRequiredResult tools and
prompt (`test_input_required_result_*`, SEP-2322). Kept with 1.x means: `test_missing_capability`
(reads the capabilities the client declared at `initialize`), the list-change triggers (they
send `notifications/*/list_changed` on the session).

DNS-rebinding protection is on (loopback Host/Origin only), as in fixture_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
from typing import Annotated, Any

from pydantic import AnyUrl, BaseModel, Field

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.prompts.base import Prompt, UserMessage
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import McpError
from mcp.types import (
    AudioContent,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmbeddedResource,
    ErrorData,
    ImageContent,
    JSONRPCMessage,
    LoggingLevel,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)

log = logging.getLogger("conformance-legacy-py")

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_EMPTY = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
# The 2026-07-28 error code for a capability the client did not declare; 1.x has no constant.
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021


class MemoryEvents(EventStore):
    """SSE event store, so a client may resume a stream (`server-sse-polling`)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = str(len(self.events) + 1)
        self.events.append((stream_id, event_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        stream = next((s for s, e, _ in self.events if e == last_event_id), None)
        if stream is None:
            return None
        after = int(last_event_id)
        for s, e, m in self.events:
            if s == stream and int(e) > after and m is not None:
                await send_callback(EventMessage(m, e))
        return stream


def text(t: str) -> TextContent:
    return TextContent(type="text", text=t)


# --- elicitation schemas (1.x accepts primitives and lists of strings) -------------------------


class Reply(BaseModel):
    response: str = Field(description="User's response")


class WithDefaults(BaseModel):
    """SEP-1034: a default for every primitive type."""

    name: str = Field(default="John Doe", description="User name")
    age: int = Field(default=30, description="User age")
    score: float = Field(default=95.5, description="User score")
    status: str = Field(default="active", description="User status", json_schema_extra={"enum": ["active", "inactive", "pending"]})
    verified: bool = Field(default=True, description="Verification status")


def titled(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"const": c, "title": t} for c, t in pairs]


class EnumVariants(BaseModel):
    """SEP-1330: every enum shape."""

    untitledSingle: str = Field(description="Simple enum without titles", json_schema_extra={"enum": ["active", "inactive", "pending"]})
    titledSingle: str = Field(
        description="Enum with titled options (oneOf)",
        json_schema_extra={"oneOf": titled(("low", "Low Priority"), ("medium", "Medium Priority"), ("high", "High Priority"))},
    )
    untitledMulti: list[str] = Field(
        description="Multi-select without titles", json_schema_extra={"items": {"type": "string", "enum": ["read", "write", "execute"]}}
    )
    titledMulti: list[str] = Field(
        description="Multi-select with titled options",
        json_schema_extra={"items": {"anyOf": titled(("feature", "New Feature"), ("bug", "Bug Fix"), ("docs", "Documentation"))}},
    )
    legacyEnum: str = Field(
        description="Legacy enum with enumNames",
        json_schema_extra={"enum": ["small", "medium", "large"], "enumNames": ["Small Size", "Medium Size", "Large Size"]},
    )


SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

LOOPBACK = ["127.0.0.1", "localhost", "[::1]"]


def build(port: int) -> FastMCP:
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:*" for h in LOOPBACK] + LOOPBACK,
        allowed_origins=[f"http://{h}:*" for h in LOOPBACK] + [f"http://{h}" for h in LOOPBACK],
    )
    srv = FastMCP(
        name="mcp-gateway-conformance-legacy-py",
        host="127.0.0.1",
        port=port,
        event_store=MemoryEvents(),
        retry_interval=100,
        transport_security=security,
        log_level="WARNING",
    )
    subscribed: set[str] = set()

    # --- content tools ---

    @srv.tool()
    def test_simple_text() -> str:
        """Tests simple text content response"""
        return "This is a simple text response for testing."

    @srv.tool()
    def test_image_content() -> list[ImageContent]:
        """Tests image content response"""
        return [ImageContent(type="image", data=PNG_1PX, mimeType="image/png")]

    @srv.tool()
    def test_audio_content() -> list[AudioContent]:
        """Tests audio content response"""
        return [AudioContent(type="audio", data=WAV_EMPTY, mimeType="audio/wav")]

    @srv.tool()
    def test_embedded_resource() -> list[EmbeddedResource]:
        """Tests embedded resource content response"""
        res = TextResourceContents(uri=AnyUrl("test://embedded-resource"), mimeType="text/plain", text="This is an embedded resource content.")
        return [EmbeddedResource(type="resource", resource=res)]

    @srv.tool()
    def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
        """Tests response with multiple content types (text, image, resource)"""
        res = TextResourceContents(
            uri=AnyUrl("test://mixed-content-resource"), mimeType="application/json", text='{"test": "data", "value": 123}'
        )
        return [
            text("Multiple content types test:"),
            ImageContent(type="image", data=PNG_1PX, mimeType="image/png"),
            EmbeddedResource(type="resource", resource=res),
        ]

    @srv.tool()
    def test_error_handling() -> str:
        """Tests error response handling"""
        raise RuntimeError("This tool intentionally returns an error for testing")

    # --- tools that talk back while running ---

    @srv.tool()
    async def test_tool_with_logging(ctx: Context) -> str:
        """Tests tool that emits log messages during execution"""
        for i, msg in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
            if i:
                await asyncio.sleep(0.05)
            await ctx.info(msg)
        return "Tool with logging executed successfully"

    @srv.tool()
    async def test_tool_with_progress(ctx: Context) -> str:
        """Tests tool that reports progress notifications"""
        for i, step in enumerate((0, 50, 100)):
            if i:
                await asyncio.sleep(0.05)
            await ctx.report_progress(progress=step, total=100, message=f"Completed step {step} of 100")
        meta = ctx.request_context.meta
        token = meta.progressToken if meta else None
        return str(token if token is not None else 0)

    @srv.tool()
    async def test_sampling(prompt: str, ctx: Context) -> str:
        """Tests server-initiated sampling (LLM completion request)"""
        try:
            # related_request_id: ask on this call's own SSE stream, not the GET stream.
            result = await ctx.session.create_message(
                messages=[SamplingMessage(role="user", content=text(prompt))], max_tokens=100, related_request_id=ctx.request_id
            )
        except Exception as e:  # noqa: BLE001 - the scenario reads the text
            return f"Sampling not supported or error: {e}"
        content = result.content
        reply = content.text if isinstance(content, TextContent) else "No response"
        return f"LLM response: {reply}"

    async def elicit_text(ctx: Context, message: str, schema: type[BaseModel], label: str) -> str:
        try:
            result = await ctx.elicit(message=message, schema=schema)
        except Exception as e:  # noqa: BLE001
            return f"Elicitation not supported or error: {e}"
        content = result.data.model_dump_json() if result.action == "accept" else "{}"
        return f"{label}: action={result.action}, content={content}"

    @srv.tool()
    async def test_elicitation(message: str, ctx: Context) -> str:
        """Tests server-initiated elicitation (user input request)"""
        return await elicit_text(ctx, message, Reply, "User response")

    @srv.tool()
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        """Tests elicitation with default values for all primitive types (SEP-1034)"""
        return await elicit_text(ctx, "Please provide user information", WithDefaults, "Elicitation result")

    @srv.tool()
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        """Tests elicitation with enum schema variations per SEP-1330"""
        return await elicit_text(ctx, "Please select values using different enum schema types", EnumVariants, "Elicitation completed")

    @srv.tool()
    async def test_reconnection(ctx: Context) -> str:
        """Tests SSE polling by closing stream mid-call (SEP-1699)"""
        await ctx.info("Before disconnect")
        await ctx.close_sse_stream()
        await asyncio.sleep(0.2)
        await ctx.info("After reconnect")
        return "Reconnection test completed"

    # --- 2026-07-28 names, as far as 1.x can serve them ---

    @srv.tool()
    def test_x_mcp_header(
        region: Annotated[str, Field(description="Mirrored into the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"})] = "<none>",
    ) -> str:
        """Tests SEP-2243 Mcp-Param-* server-side validation"""
        return f"region={region}"

    @srv.tool()
    async def test_missing_capability(ctx: Context) -> str:
        """Requires the client's sampling capability; without it answers a JSON-RPC error"""
        params = ctx.session.client_params
        if params is None or params.capabilities.sampling is None:
            raise McpError(
                ErrorData(
                    code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                    message="This tool requires the client 'sampling' capability",
                    data={"requiredCapabilities": {"sampling": {}}},
                )
            )
        return "Client declared sampling capability; proceeding."

    @srv.tool(name="json_schema_2020_12_tool")
    def json_schema_2020_12_tool() -> str:
        """Tests JSON Schema 2020-12 keyword preservation in tools/list"""
        return "json_schema_2020_12_tool"

    # No public way to give a tool a hand-written inputSchema in 1.x either.
    srv._tool_manager._tools["json_schema_2020_12_tool"].parameters = SCHEMA_2020_12  # noqa: SLF001

    def dynamic() -> str:
        """Added and removed by the list-change triggers."""
        return "dynamic"

    @srv.tool()
    async def test_trigger_tool_change(ctx: Context) -> str:
        """Changes the tool list and says so on the session"""
        srv.add_tool(dynamic, name="test_dynamic_tool")
        srv.remove_tool("test_dynamic_tool")
        await ctx.session.send_tool_list_changed()
        return "tool list changed"

    @srv.tool()
    async def test_trigger_prompt_change(ctx: Context) -> str:
        """Changes the prompt list and says so on the session"""
        srv.add_prompt(Prompt.from_function(dynamic, name="test_dynamic_prompt", description="dynamic"))
        srv._prompt_manager._prompts.pop("test_dynamic_prompt", None)  # noqa: SLF001 - 1.x has no remove_prompt
        await ctx.session.send_prompt_list_changed()
        return "prompt list changed"

    # --- resources ---

    @srv.resource("test://static-text")
    def static_text() -> str:
        """A static text resource for testing"""
        return "This is the content of the static text resource."

    @srv.resource("test://static-binary", mime_type="image/png")
    def static_binary() -> bytes:
        """A static binary resource (image) for testing"""
        return base64.b64decode(PNG_1PX)

    @srv.resource("test://template/{id}/data", mime_type="application/json")
    def template_data(id: str) -> str:  # noqa: A002 - the template's own variable name
        """A resource template with parameter substitution"""
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @srv.resource("test://watched-resource")
    def watched() -> str:
        """A resource that can be subscribed to for updates"""
        return "Watched resource content"

    # --- prompts ---

    @srv.prompt()
    def test_simple_prompt() -> list[UserMessage]:
        """A simple prompt without arguments"""
        return [UserMessage(role="user", content=text("This is a simple prompt for testing."))]

    @srv.prompt()
    def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
        """A prompt with required arguments"""
        return [UserMessage(role="user", content=text(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"))]

    @srv.prompt()
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:  # noqa: N803 - the suite's argument name
        """A prompt that includes an embedded resource"""
        res = TextResourceContents(uri=AnyUrl(resourceUri), mimeType="text/plain", text="Embedded resource content for testing.")
        return [
            UserMessage(role="user", content=EmbeddedResource(type="resource", resource=res)),
            UserMessage(role="user", content=text("Please process the embedded resource above.")),
        ]

    @srv.prompt()
    def test_prompt_with_image() -> list[UserMessage]:
        """A prompt that includes image content"""
        return [
            UserMessage(role="user", content=ImageContent(type="image", data=PNG_1PX, mimeType="image/png")),
            UserMessage(role="user", content=text("Please analyze the image above.")),
        ]

    # --- logging level, subscriptions, completion (the low-level server's decorators) ---

    low = srv._mcp_server  # noqa: SLF001 - FastMCP has no public hook for these

    @low.set_logging_level()
    async def set_level(level: LoggingLevel) -> None:
        log.info("log level %s", level)

    @low.subscribe_resource()
    async def subscribe(uri: AnyUrl) -> None:
        subscribed.add(str(uri))

    @low.unsubscribe_resource()
    async def unsubscribe(uri: AnyUrl) -> None:
        subscribed.discard(str(uri))

    @srv.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, context: CompletionContext | None
    ) -> Completion:
        return Completion(values=[], total=0, hasMore=False)

    return srv


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: server.py PORT")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    build(int(argv[1])).run(transport="streamable-http")


if __name__ == "__main__":
    main(sys.argv)
