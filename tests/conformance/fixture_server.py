"""The conformance suite's server fixtures, on the official MCP Python SDK (`MCPServer`).

    python fixture_server.py PORT [--allow-host HOST ...]

Serves streamable HTTP on 127.0.0.1:PORT, endpoint /mcp, speaking 2025-11-25 (sessions) and
2026-07-28 (sessionless, per-request `_meta`). Tool, resource and prompt names are the ones
`@modelcontextprotocol/conformance` looks for (see its server scenarios); the texts are the ones
its checks compare against.

DNS-rebinding protection is on, as the `dns-rebinding-protection` scenario expects of a server on
loopback: Host/Origin must be loopback names (any port). Behind the gateway the filter checks the
client's Host/Origin itself; Envoy passes them on, which these rules also accept.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mcp.server import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.prompts.base import Prompt, UserMessage
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    AudioContent,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequest,
    InputRequiredResult,
    JSONRPCMessage,
    ListRootsRequest,
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)

log = logging.getLogger("conformance-fixture")

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_EMPTY = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
# requestState is sealed by the SDK with this key (it must be at least 32 bytes).
STATE_KEY = b"mcp-gateway-conformance-fixture-request-state-key!"


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


def ask(message: str, schema: dict[str, Any]) -> ElicitRequest:
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def string_field(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}


CONFIRM = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def sample(prompt: str, max_tokens: int) -> CreateMessageRequest:
    return CreateMessageRequest(
        params=CreateMessageRequestParams(messages=[SamplingMessage(role="user", content=text(prompt))], max_tokens=max_tokens)
    )


def elicited(answer: Any, key: str) -> Any:
    if isinstance(answer, ElicitResult) and answer.content:
        return answer.content.get(key)
    return None


# --- elicitation schemas ---------------------------------------------------------------------


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


def build() -> MCPServer:
    srv = MCPServer(name="mcp-gateway-conformance-fixture", version="1.0.0", request_state_security=RequestStateSecurity(keys=[STATE_KEY]))
    subscribed: set[str] = set()

    # --- content tools ---

    @srv.tool()
    def test_simple_text() -> str:
        """Tests simple text content response"""
        return "This is a simple text response for testing."

    @srv.tool()
    def test_image_content() -> list[ImageContent]:
        """Tests image content response"""
        return [ImageContent(type="image", data=PNG_1PX, mime_type="image/png")]

    @srv.tool()
    def test_audio_content() -> list[AudioContent]:
        """Tests audio content response"""
        return [AudioContent(type="audio", data=WAV_EMPTY, mime_type="audio/wav")]

    @srv.tool()
    def test_embedded_resource() -> list[EmbeddedResource]:
        """Tests embedded resource content response"""
        res = TextResourceContents(uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content.")
        return [EmbeddedResource(type="resource", resource=res)]

    @srv.tool()
    def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
        """Tests response with multiple content types (text, image, resource)"""
        res = TextResourceContents(uri="test://mixed-content-resource", mime_type="application/json", text='{"test": "data", "value": 123}')
        return [
            text("Multiple content types test:"),
            ImageContent(type="image", data=PNG_1PX, mime_type="image/png"),
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
        meta = ctx.request_context.meta if ctx.request_context else None
        return str(meta.get("progress_token") if meta else 0)

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
        reply = result.content.text if result.content.type == "text" else "No response"
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

    # --- 2026-07-28: headers, capabilities, InputRequiredResult (SEP-2322), list changes ---

    @srv.tool()
    def test_x_mcp_header(
        region: Annotated[str, Field(description="Mirrored into the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"})] = "<none>",
    ) -> str:
        """Tests SEP-2243 Mcp-Param-* server-side validation"""
        return f"region={region}"

    @srv.tool()
    async def test_missing_capability(ctx: Context) -> str:
        """Requires the client's sampling capability; without it answers a JSON-RPC error"""
        caps = ctx.session.client_capabilities
        if caps is None or caps.sampling is None:
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="This tool requires the client 'sampling' capability",
                data={"requiredCapabilities": {"sampling": {}}},
            )
        return "Client declared sampling capability; proceeding."

    @srv.tool()
    async def test_input_required_result_elicitation(ctx: Context) -> str | InputRequiredResult:
        """InputRequiredResult with one elicitation"""
        got = ctx.input_responses or {}
        if "user_name" in got:
            return f"Hello, {elicited(got['user_name'], 'name') or 'stranger'}!"
        return InputRequiredResult(input_requests={"user_name": ask("What is your name?", string_field("name"))})

    @srv.tool()
    async def test_input_required_result_sampling(ctx: Context) -> str | InputRequiredResult:
        """InputRequiredResult with one sampling request"""
        got = ctx.input_responses or {}
        if "capital_question" in got:
            a = got["capital_question"]
            said = a.content.text if isinstance(a, CreateMessageResult) and a.content.type == "text" else "?"
            return f"Model said: {said}"
        return InputRequiredResult(input_requests={"capital_question": sample("What is the capital of France?", 100)})

    @srv.tool()
    async def test_input_required_result_list_roots(ctx: Context) -> str | InputRequiredResult:
        """InputRequiredResult with one roots/list request"""
        got = ctx.input_responses or {}
        if "client_roots" in got:
            a = got["client_roots"]
            return f"Client exposed {len(a.roots) if isinstance(a, ListRootsResult) else 0} root(s)."
        return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})

    @srv.tool()
    async def test_input_required_result_request_state(ctx: Context) -> str | InputRequiredResult:
        """requestState must come back unchanged with the input responses"""
        if "confirm" in (ctx.input_responses or {}) and ctx.request_state == "request-state-nonce":
            return "state-ok: confirmation received"
        return InputRequiredResult(input_requests={"confirm": ask("Please confirm", CONFIRM)}, request_state="request-state-nonce")

    @srv.tool()
    async def test_input_required_result_multiple_inputs(ctx: Context) -> str | InputRequiredResult:
        """Elicitation, sampling and roots requested together"""
        if {"user_name", "greeting", "client_roots"} <= (ctx.input_responses or {}).keys():
            return "All inputs received."
        return InputRequiredResult(
            input_requests={
                "user_name": ask("What is your name?", string_field("name")),
                "greeting": sample("Generate a greeting", 50),
                "client_roots": ListRootsRequest(),
            },
            request_state="multiple-inputs",
        )

    @srv.tool()
    async def test_input_required_result_multi_round(ctx: Context) -> str | InputRequiredResult:
        """Three rounds, the state growing each time"""
        state = json.loads(ctx.request_state) if ctx.request_state else {"round": 0}
        got = ctx.input_responses or {}
        first = InputRequiredResult(
            input_requests={"step1": ask("Step 1: What is your name?", string_field("name"))}, request_state=json.dumps({"round": 1})
        )
        if state["round"] == 1 and "step1" in got:
            return InputRequiredResult(
                input_requests={"step2": ask("Step 2: What is your favorite color?", string_field("color"))},
                request_state=json.dumps({"round": 2, "name": elicited(got["step1"], "name")}),
            )
        if state["round"] == 2 and "step2" in got:
            return f"{state.get('name')} likes {elicited(got['step2'], 'color')}."
        return first

    @srv.tool()
    async def test_input_required_result_tampered_state(ctx: Context) -> str | InputRequiredResult:
        """A tampered requestState is refused by the SDK's sealed-state boundary"""
        if ctx.request_state is None:
            return InputRequiredResult(input_requests={"confirm": ask("Please confirm", CONFIRM)}, request_state="round-1")
        return f"state-ok: {ctx.request_state}"

    @srv.tool()
    async def test_input_required_result_capabilities(ctx: Context) -> InputRequiredResult:
        """Only asks for what the client declared"""
        caps = ctx.client_capabilities
        wanted: dict[str, InputRequest] = {}
        if caps is None or caps.sampling is not None:
            wanted["sample"] = sample("Say hello", 50)
        if caps is None or caps.elicitation is not None:
            wanted["ask"] = ask("What is your name?", string_field("name"))
        return InputRequiredResult(input_requests=wanted, request_state="capability-gated")

    @srv.tool(name="json_schema_2020_12_tool")
    def json_schema_2020_12_tool() -> str:
        """Tests JSON Schema 2020-12 keyword preservation in tools/list"""
        return "json_schema_2020_12_tool"

    # No public way to give a tool a hand-written inputSchema yet.
    srv._tool_manager._tools["json_schema_2020_12_tool"].parameters = SCHEMA_2020_12  # noqa: SLF001

    def dynamic() -> str:
        """Added and removed by the list-change triggers."""
        return "dynamic"

    @srv.tool()
    async def test_trigger_tool_change(ctx: Context) -> str:
        """Changes the tool list and says so on subscriptions/listen streams"""
        srv.add_tool(dynamic, name="test_dynamic_tool")
        srv.remove_tool("test_dynamic_tool")
        await ctx.notify_tools_changed()
        return "tool list changed"

    @srv.tool()
    async def test_trigger_prompt_change(ctx: Context) -> str:
        """Changes the prompt list and says so on subscriptions/listen streams"""
        srv.add_prompt(Prompt.from_function(dynamic, name="test_dynamic_prompt", description="dynamic"))
        srv.remove_prompt("test_dynamic_prompt")
        await ctx.notify_prompts_changed()
        return "prompt list changed"

    # --- resources ---

    @srv.resource("test://static-text")
    def static_text() -> str:
        """A static text resource for testing"""
        return "This is the content of the static text resource."

    @srv.resource("test://static-binary")
    def static_binary() -> bytes:
        """A static binary resource (image) for testing"""
        return base64.b64decode(PNG_1PX)

    @srv.resource("test://template/{id}/data")
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
        res = TextResourceContents(uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing.")
        return [
            UserMessage(role="user", content=EmbeddedResource(type="resource", resource=res)),
            UserMessage(role="user", content=text("Please process the embedded resource above.")),
        ]

    @srv.prompt()
    def test_prompt_with_image() -> list[UserMessage]:
        """A prompt that includes image content"""
        return [
            UserMessage(role="user", content=ImageContent(type="image", data=PNG_1PX, mime_type="image/png")),
            UserMessage(role="user", content=text("Please analyze the image above.")),
        ]

    @srv.prompt()
    async def test_input_required_result_prompt(ctx: Context) -> list[UserMessage] | InputRequiredResult:
        """InputRequiredResult from prompts/get (a non-tool request)"""
        got = ctx.input_responses or {}
        if "user_context" in got:
            return [UserMessage(role="user", content=text(f"Use the following context: {elicited(got['user_context'], 'context') or '?'}"))]
        return InputRequiredResult(input_requests={"user_context": ask("What context should the prompt use?", string_field("context"))})

    # --- logging level, subscriptions, completion ---

    async def set_level(ctx: ServerRequestContext, params: SetLevelRequestParams) -> EmptyResult:
        log.info("log level %s", params.level)
        return EmptyResult()

    async def subscribe(ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        subscribed.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        subscribed.discard(str(params.uri))
        return EmptyResult()

    low = srv._lowlevel_server  # noqa: SLF001 - MCPServer has no public hook for these yet
    low.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    low.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)

    @srv.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, context: CompletionContext | None
    ) -> Completion:
        return Completion(values=[], total=0, has_more=False)

    return srv


LOOPBACK = ["127.0.0.1", "localhost", "[::1]"]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: fixture_server.py PORT")
    port = int(argv[1])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:*" for h in LOOPBACK] + LOOPBACK,
        allowed_origins=[f"http://{h}:*" for h in LOOPBACK] + [f"http://{h}" for h in LOOPBACK],
    )
    build().run(
        transport="streamable-http",
        host="127.0.0.1",
        port=port,
        event_store=MemoryEvents(),
        retry_interval=100,
        transport_security=security,
    )


if __name__ == "__main__":
    main(sys.argv)
