"""Routing through the filter, driven by the official MCP Python client (`mcp.Client`).

alpha and beta are two instances of the same SDK server: every tool, prompt and resource
name exists on both, so only the gateway's prefixes (`alpha_`, `beta_`; URIs `alpha+…`,
`beta+…`) can tell them apart.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import Gateway, assert_healthy

pytestmark = pytest.mark.anyio

CLIENT_MODES = ["auto", "legacy"]  # auto negotiates 2026-07-28; legacy uses initialize
# The core routing tests run against both kinds of backends: stateless SDK servers that serve
# 2026-07-28 themselves (`sessionless: true`), and session-protocol SDK servers, whose own
# session ids then travel inside the gateway's session token.
BACKENDS = ["gateway", "session_gateway"]


@pytest.fixture(params=BACKENDS)
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    return request.getfixturevalue(request.param)


def text(result: Any) -> str:
    assert not getattr(result, "is_error", False), result
    return result.content[0].text


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_same_tool_name_reaches_each_backend(any_gateway: Gateway, mode: str) -> None:
    async with Client(any_gateway.url, mode=mode) as client:
        a = json.loads(text(await client.call_tool("alpha_echo", {"text": "to alpha"})))
        b = json.loads(text(await client.call_tool("beta_echo", {"text": "to beta"})))
        assert a == {"server": "alpha", "text": "to alpha"}
        assert b == {"server": "beta", "text": "to beta"}
        assert text(await client.call_tool("alpha_whoami", {})) == "alpha"


async def test_idle_upstream_connections_close_before_the_backend_closes_them(gateway: Gateway) -> None:
    # uvicorn (the SDK servers) closes an idle keep-alive connection after 5 s; Envoy must give
    # it up first (cluster idle_timeout 4 s), or a call can land on a closing connection.
    async with Client(gateway.url) as client:
        text(await client.call_tool("alpha_whoami", {}))
    before = gateway.stats().get("cluster.alpha.upstream_cx_idle_timeout", 0)
    await anyio.sleep(4.6)
    assert gateway.stats().get("cluster.alpha.upstream_cx_idle_timeout", 0) > before
    async with Client(gateway.url) as client:
        assert text(await client.call_tool("alpha_whoami", {})) == "alpha"


async def test_backend_session_ids_travel_in_the_token(session_gateway: Gateway) -> None:
    # Session-protocol backends: the broker's initialize gave each one its own session; the
    # filter opens the client's token and hands each backend its own id, never the token.
    seen: list[dict[str, dict]] = []
    for _ in range(2):
        async with Client(session_gateway.url, mode="legacy") as client:
            calls = {}
            for server in ("alpha", "beta"):
                first = json.loads(text(await client.call_tool(f"{server}_headers", {})))
                again = json.loads(text(await client.call_tool(f"{server}_headers", {})))
                assert first["mcp-session-id"] == again["mcp-session-id"]  # one backend session per gateway session
                calls[server] = first
            listed = {t.name for t in (await client.list_tools()).tools}
            assert {"alpha_echo", "beta_echo"} <= listed
        seen.append(calls)
    for calls in seen:
        alpha, beta = calls["alpha"], calls["beta"]
        assert alpha["mcp-session-id"] and beta["mcp-session-id"]
        assert alpha["mcp-session-id"] != beta["mcp-session-id"]
        # The public gateway session id is the same for both; the backend ids are not it.
        assert alpha["x-mcp-sessionid"] == beta["x-mcp-sessionid"]
        assert alpha["mcp-session-id"] != alpha["x-mcp-sessionid"]
    # Two client sessions, two backend sessions.
    assert seen[0]["alpha"]["mcp-session-id"] != seen[1]["alpha"]["mcp-session-id"]


async def test_client_negotiates_modern_protocol_through_gateway(gateway: Gateway) -> None:
    # The 2026-07-28 path is the one with Mcp-Method / Mcp-Name headers the filter must
    # validate and rewrite; make sure the routing tests really exercise it.
    async with Client(gateway.url) as client:
        assert client.protocol_version == "2026-07-28"


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_prefix_is_stripped_before_the_backend(any_gateway: Gateway, mode: str) -> None:
    async with Client(any_gateway.url, mode=mode) as client:
        for server in ("alpha", "beta"):
            seen = json.loads(text(await client.call_tool(f"{server}_called_as", {})))
            assert seen == {"server": server, "name": "called_as", "method": "tools/call"}


async def test_backend_sees_metadata_headers(gateway: Gateway) -> None:
    async with Client(gateway.url) as client:
        headers = json.loads(text(await client.call_tool("beta_headers", {})))
    assert headers["x-mcp-method"] == "tools/call"
    assert headers["x-mcp-servername"] == "beta"
    assert headers["x-mcp-toolname"] == "headers"
    # 2026-07-28: Mcp-Name is rewritten together with the body.
    assert headers["mcp-name"] == "headers"
    assert headers["mcp-method"] == "tools/call"
    # host_rewrite_literal: the SDK server sees its own loopback address, not the vhost name.
    assert headers["host"] == f"127.0.0.1:{gateway.ports['beta']}"
    assert "x-mcp-promptname" not in headers and "x-mcp-resourceuri" not in headers


SPOOFED = {
    "x-mcp-method": "spoofed/method",
    "X-MCP-ServerName": "spoofed-server",
    "x-mcp-toolname": "danger",
    "x-mcp-promptname": "spoofed-prompt",
    "x-mcp-resourceuri": "spoofed://uri",
    "x-mcp-sessionid": "spoofed-session",
}


async def test_spoofed_metadata_headers_never_reach_a_backend(gateway: Gateway) -> None:
    # The official client, with an HTTP client that adds forged x-mcp-* headers to every request.
    async with httpx2.AsyncClient(headers=SPOOFED) as http:
        async with Client(streamable_http_client(gateway.url, http_client=http)) as client:
            # "x-mcp-toolname: danger" would also trip the RBAC example if it survived.
            headers = json.loads(text(await client.call_tool("alpha_headers", {})))
            prompt = await client.get_prompt("alpha_show_headers", {})
            resource = await client.read_resource("beta+headers://spoof")
    prompt_headers = json.loads(prompt.messages[0].content.text)
    resource_headers = json.loads(resource.contents[0].text)["headers"]
    assert headers["x-mcp-toolname"] == "headers"
    assert headers["x-mcp-servername"] == "alpha"
    assert headers["x-mcp-method"] == "tools/call"
    for seen in (headers, prompt_headers, resource_headers):
        for name, value in SPOOFED.items():
            assert seen.get(name.lower()) != value, (name, seen)
        assert "x-mcp-sessionid" not in seen  # no session: the filter sets none
    assert "x-mcp-toolname" not in prompt_headers and "x-mcp-promptname" not in resource_headers


async def test_prompts_get_is_routed_by_prefix(gateway: Gateway) -> None:
    async with Client(gateway.url) as client:
        for server in ("alpha", "beta"):
            got = await client.get_prompt(f"{server}_greet", {"who": "carol"})
            assert got.messages[0].content.text == f"{server} greets carol"
        headers = json.loads((await client.get_prompt("beta_show_headers", {})).messages[0].content.text)
    assert headers["x-mcp-method"] == "prompts/get"
    assert headers["x-mcp-servername"] == "beta"
    assert headers["x-mcp-promptname"] == "show_headers"
    assert headers["mcp-name"] == "show_headers"


async def test_resources_read_is_routed_by_uri(gateway: Gateway) -> None:
    async with Client(gateway.url) as client:
        beta_item = await client.read_resource("beta+item://7/data")
        alpha_item = await client.read_resource("alpha+item://7/data")
        alpha_info = await client.read_resource("alpha+info://server")
        headers = json.loads((await client.read_resource("beta+headers://r1")).contents[0].text)
    assert beta_item.contents[0].text == "beta item 7"
    assert alpha_item.contents[0].text == "alpha item 7"
    assert alpha_info.contents[0].text == "server=alpha"
    assert headers["tag"] == "r1"
    h = headers["headers"]
    assert h["x-mcp-method"] == "resources/read"
    assert h["x-mcp-servername"] == "beta"
    assert h["x-mcp-resourceuri"] == "headers://r1"
    assert h["mcp-name"] == "headers://r1"


@pytest.mark.parametrize("mode", CLIENT_MODES)
async def test_unknown_prefix_is_an_immediate_jsonrpc_error(gateway: Gateway, mode: str) -> None:
    def backends() -> tuple[int, int]:
        # Only the backends: the legacy client's notifications/initialized may still be on its
        # way to the broker when the call starts.
        n = gateway.upstream_requests()
        return n["alpha"], n["beta"]

    async with Client(gateway.url, mode=mode) as client:
        before = backends()
        with pytest.raises(MCPError) as err:
            await client.call_tool("gamma_echo", {"text": "x"})
        after = backends()
    assert err.value.code == -32602
    assert "gamma_echo" in str(err.value)
    assert after == before, "a backend was contacted for an unknown prefix"
    assert_healthy(gateway)


@pytest.mark.parametrize(
    "tool, policy",
    [
        ("alpha_danger", "deny-tool-by-header"),  # x-mcp-toolname == danger, any server
        ("beta_danger", "deny-tool-by-header"),
        ("beta_whoami", "deny-tool-by-header"),  # servername beta AND toolname whoami
        ("alpha_forbidden", "deny-tool-by-filter-state"),  # wasm.mcp_gateway.tool == forbidden
        ("beta_forbidden", "deny-tool-by-filter-state"),
    ],
)
async def test_rbac_after_the_filter_denies_one_tool(gateway: Gateway, tool: str, policy: str) -> None:
    denied_before = gateway.stats().get("http.mcp_gateway.rbac.denied", 0)
    async with Client(gateway.url) as client:
        with pytest.raises(MCPError):
            await client.call_tool(tool, {})
        # The same name on the other server, or another tool, is still allowed.
        assert text(await client.call_tool("alpha_whoami", {})) == "alpha"
    assert gateway.stats()["http.mcp_gateway.rbac.denied"] == denied_before + 1
    server, _, own = tool.partition("_")
    entry = gateway.wait_access_entry(
        lambda e: e["status"] == 403 and e["fs_tool"] == own and e["fs_server"] == server and policy in (e["details"] or "")
    )
    assert entry["upstream"] == server


async def test_rbac_cannot_be_dodged_or_triggered_by_spoofed_headers(gateway: Gateway) -> None:
    # A forged "x-mcp-toolname: whoami" must not make alpha_danger look harmless, and a forged
    # "x-mcp-toolname: danger" must not get an allowed call denied: the filter replaces both.
    async with httpx2.AsyncClient(headers={"x-mcp-toolname": "whoami", "x-mcp-servername": "alpha"}) as http:
        async with Client(streamable_http_client(gateway.url, http_client=http)) as client:
            with pytest.raises(MCPError):
                await client.call_tool("alpha_danger", {})
    async with httpx2.AsyncClient(headers={"x-mcp-toolname": "danger"}) as http:
        async with Client(streamable_http_client(gateway.url, http_client=http)) as client:
            assert text(await client.call_tool("alpha_whoami", {})) == "alpha"


async def test_access_log_prints_method_server_and_tool(gateway: Gateway) -> None:
    async with Client(gateway.url) as client:
        marker = "access-log-marker-7781"
        json.loads(text(await client.call_tool("beta_echo", {"text": marker})))
    # The session-scoped gateway's log may hold earlier beta echo calls that went through the
    # broker (a session's first call to a server opens its backend session there, with the
    # same facts): this one went straight to beta.
    entry = gateway.wait_access_entry(lambda e: e["fs_tool"] == "echo" and e["fs_server"] == "beta" and e["status"] == 200 and e["upstream"] == "beta")
    # Both ways of reading the facts work in Envoy 1.40 and agree.
    assert entry["mcp_method"] == entry["fs_method"] == "tools/call"
    assert entry["mcp_server"] == entry["fs_server"] == "beta"
    assert entry["mcp_tool"] == entry["fs_tool"] == "echo"
    assert entry["upstream"] == "beta"
    assert entry["fs_id"] is not None


async def test_access_log_shows_broker_requests(gateway: Gateway) -> None:
    async with Client(gateway.url) as client:
        tools = await client.list_tools()
    # The broker's merged list: both servers' tools, prefixed.
    assert {t.name for t in tools.tools} >= {"alpha_echo", "beta_echo", "alpha_whoami", "beta_whoami"}
    entry = gateway.wait_access_entry(lambda e: e["fs_method"] == "tools/list")
    assert entry["upstream"] == "broker"
    assert entry["mcp_method"] == "tools/list"
    assert entry["fs_server"] is None and entry["fs_tool"] is None
