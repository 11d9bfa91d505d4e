"""Virtual servers and identity-aware visibility (issue 16, items 2 and 3), through the real
Envoy (its own jwt_authn verifying tokens minted here against a local JWKS file), each filter
build, the real broker and the official Python SDK client.

alpha (session protocol) and beta (2026-07-28) are the test backend. Callers:
- alice, `groups: [ops]`: everything;
- bob, `groups: [support]`: alpha_echo, alpha_whoami, beta_echo, the prompt alpha_greet and
  alpha's info resource;
- anonymous (no token; tokens are optional here): alpha_echo only.
The virtual server `support` is alpha_echo, alpha_whoami, beta_echo, beta_whoami and
alpha_greet; `tools-only` is beta's tools. A request's scope is its virtual server's subset and
its caller's rules together: lists show exactly that, and anything else is refused as an
unknown name before any backend is asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

import rawhttp
from conftest import MODERN, Gateway, Proc, modern_meta, rpc_message, stop_all, tool_call
from custom_gateway import py_backend, start_custom_gateway
from jwt_issuer import Issuer

LEGACY = "2025-11-25"
ISSUER = Issuer()
BOB_TOOLS = {"alpha_echo", "alpha_whoami", "beta_echo"}


def scopes(jwks: Path) -> dict[str, Any]:
    everything = {"tools": ["*"], "prompts": ["*"], "resources": ["*"]}
    return {
        "virtual_servers": [
            {"name": "support", "tools": ["alpha_echo", "alpha_whoami", "beta_echo", "beta_whoami"], "prompts": ["alpha_greet"]},
            {"name": "tools-only", "tools": ["beta_*"]},
        ],
        "identity": {
            "payload_header": "x-jwt-payload",
            "jwt": {"issuer": ISSUER.issuer, "audiences": ["mcp"], "jwks_file": str(jwks), "required": False},
        },
        "access": [
            {"when": {"groups": "ops"}, **everything},
            {"when": {"groups": ["support", "helpdesk"]}, "tools": sorted(BOB_TOOLS), "prompts": ["alpha_greet"], "resources": ["alpha+info://*"]},
            {"tools": ["alpha_echo"]},
        ],
        # Small pages: cursors must stay within a caller's scope too.
        "limits": {"list_page_size": 2},
    }


backend = py_backend


@pytest.fixture(scope="module")
def scoped(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp(f"scoped-{filter_host}")
    jwks = ISSUER.write_jwks(workdir / "jwks.json")
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(workdir, procs, [backend("alpha", False), backend("beta", True)], **scopes(jwks))
    finally:
        stop_all(procs)


def bearer(**claims: Any) -> dict[str, str]:
    return {"authorization": f"Bearer {ISSUER.token(**claims)}"}


ALICE = bearer(sub="alice", groups=["ops"])
BOB = bearer(sub="bob", groups=["support"])


def client(url: str, headers: dict[str, str], http: httpx2.AsyncClient | None = None) -> Client:
    http = http or httpx2.AsyncClient(headers=headers)
    return Client(streamable_http_client(url, http_client=http, terminate_on_close=False), mode="legacy")


async def every_page(list_page, items: str, key: str) -> set[str]:
    seen: set[str] = set()
    cursor = None
    while True:
        page = await list_page(cursor=cursor)
        seen |= {str(getattr(i, key)) for i in getattr(page, items)}
        cursor = page.next_cursor
        if not cursor:
            return seen


async def names(c: Client) -> dict[str, set[str]]:
    return {
        "tools": await every_page(c.list_tools, "tools", "name"),
        "prompts": await every_page(c.list_prompts, "prompts", "name"),
        "resources": await every_page(c.list_resources, "resources", "uri"),
    }


@pytest.mark.anyio
async def test_two_callers_see_different_lists_and_cannot_call_each_others_tools(scoped: Gateway) -> None:
    async with client(scoped.url, ALICE) as alice:
        seen = await names(alice)
        assert {"alpha_echo", "alpha_danger", "beta_whoami", "beta_danger"} <= seen["tools"], seen
        assert "alpha_greet" in seen["prompts"] and "alpha+info://server" in seen["resources"]
        assert (await alice.call_tool("beta_whoami", {})).content[0].text == "beta"
        # Backends do not learn the caller's claims (nor its token): the filter and the broker
        # read them, each backend route removes them.
        for _ in range(2):  # the session's first call goes through the broker, later ones straight
            seen_by_alpha = json.loads((await alice.call_tool("alpha_headers", {})).content[0].text)
            assert not {"x-jwt-payload", "authorization"} & {k.lower() for k in seen_by_alpha}, seen_by_alpha
    async with client(scoped.url, BOB) as bob:
        seen = await names(bob)
        assert seen == {"tools": BOB_TOOLS, "prompts": {"alpha_greet"}, "resources": {"alpha+info://server"}}, seen
        assert (await bob.call_tool("alpha_whoami", {})).content[0].text == "alpha"
        before = scoped.upstream_requests()
        for other in ("beta_whoami", "alpha_danger", "alpha_headers"):
            with pytest.raises(MCPError) as refused:
                await bob.call_tool(other, {})
            assert (refused.value.error.code, refused.value.error.message) == (-32602, f'Unknown tool: "{other}"')
        with pytest.raises(MCPError):
            await bob.get_prompt("alpha_show_headers", {})
        with pytest.raises(MCPError) as res:
            await bob.read_resource("alpha+headers://x")
        assert res.value.error.code == -32002
        # Completion refs name prompts and resources too: the same scope.
        with pytest.raises(MCPError) as completion:
            await bob.complete(PromptReference(type="ref/prompt", name="alpha_show_headers"), {"name": "x", "value": "y"})
        assert completion.value.error.message == 'Unknown prompt: "alpha_show_headers"'
        with pytest.raises(MCPError) as completion:
            await bob.complete(ResourceTemplateReference(type="ref/resource", uri="alpha+item://{item_id}/data"), {"name": "item_id", "value": "1"})
        assert completion.value.error.code == -32002
        after = scoped.upstream_requests()
        assert (after["alpha"], after["beta"]) == (before["alpha"], before["beta"]), (before, after)


@pytest.mark.anyio
async def test_a_list_cached_for_one_caller_never_leaks_to_another(scoped: Gateway) -> None:
    # alice fills the broker's cache with everything; bob then gets his scope only, page by
    # page (two items a page), and a cursor of alice's pages gives him nothing of hers.
    async with client(scoped.url, ALICE) as alice:
        alice_tools = await every_page(alice.list_tools, "tools", "name")
    pages: list[list[str]] = []
    cursor = None
    sid = None
    with httpx.Client(timeout=30) as http:
        init = http.post(scoped.url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            headers={**BOB, "accept": "application/json, text/event-stream"})
        sid = init.headers["mcp-session-id"]
        headers = {**BOB, "mcp-session-id": sid, "mcp-protocol-version": LEGACY, "accept": "application/json, text/event-stream"}
        for i in range(1, 10):
            params = {"cursor": cursor} if cursor else {}
            r = http.post(scoped.url, json={"jsonrpc": "2.0", "id": i, "method": "tools/list", "params": params}, headers=headers)
            result = rpc_message(r)["result"]
            pages.append([t["name"] for t in result["tools"]])
            cursor = result.get("nextCursor")
            if not cursor:
                break
    assert {n for p in pages for n in p} == BOB_TOOLS, pages
    assert all(len(p) <= 2 for p in pages) and len(pages) == 2, pages
    assert len(alice_tools) > len(BOB_TOOLS) + 4


def test_claims_come_only_from_a_verified_token(scoped: Gateway) -> None:
    listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}
    modern = {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"}

    def tools(headers: dict[str, str]) -> set[str]:
        seen: set[str] = set()
        cursor = None
        while True:
            body = {**listed, "params": {**listed["params"], **({"cursor": cursor} if cursor else {})}}
            r = scoped.post(body, {**modern, **headers})
            assert r.status_code == 200, r.text
            result = rpc_message(r)["result"]
            seen |= {t["name"] for t in result["tools"]}
            cursor = result.get("nextCursor")
            if not cursor:
                return seen

    assert tools({}) == {"alpha_echo"}, "anonymous: the rule without `when`"
    assert tools(BOB) == BOB_TOOLS
    # Claims a client writes itself are removed before jwt_authn runs, in every spelling.
    forged = base64url_json({"sub": "mallory", "groups": ["ops"]})
    for spoof in ({"x-jwt-payload": forged}, {"X-JWT-Payload": forged}):
        assert tools(spoof) == {"alpha_echo"}, spoof
        assert tools({**BOB, **spoof}) == BOB_TOOLS, "the verified payload replaces a forged one"
    # A token this issuer did not sign, one for another audience, an expired one: refused by
    # Envoy (401, as JSON-RPC), never anonymous.
    for bad in (
        {"authorization": f"Bearer {Issuer().token(groups=['ops'])}"},
        bearer(groups=["ops"], audience="another-api"),
        bearer(groups=["ops"], lifetime_s=-120),
    ):
        r = scoped.post(listed, {**modern, **bad})
        assert r.status_code in (401, 403), (r.status_code, r.text)
        if r.status_code == 401:
            assert rpc_message(r)["error"]["code"] == -32600
    # Discovery stays open without a token.
    assert scoped.request("GET", "/.well-known/oauth-protected-resource").status_code in (200, 404)


def base64url_json(value: Any) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.anyio
async def test_a_virtual_server_exposes_exactly_its_subset(scoped: Gateway) -> None:
    support = {"tools": {"alpha_echo", "alpha_whoami", "beta_echo", "beta_whoami"}, "prompts": {"alpha_greet"}, "resources": set()}
    async with client(scoped.base + "/mcp/support", ALICE) as alice:
        assert await names(alice) == support
        assert (await alice.call_tool("beta_whoami", {})).content[0].text == "beta"
        with pytest.raises(MCPError) as refused:
            await alice.call_tool("alpha_danger", {})
        assert refused.value.error.message == 'Unknown tool: "alpha_danger"'
    # The same by header, for clients that cannot change the URL.
    async with client(scoped.url, {**ALICE, "X-Mcp-Virtualserver": "support"}) as alice:
        assert await names(alice) == support
    # Both scopes at once: bob on `support` sees what both allow.
    async with client(scoped.base + "/mcp/support", BOB) as bob:
        seen = await names(bob)
        assert seen == {"tools": BOB_TOOLS, "prompts": {"alpha_greet"}, "resources": set()}, seen
    # 2026-07-28 requests are scoped the same way.
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {**tool_call("alpha_danger")["params"], "_meta": modern_meta()}}
    r = scoped.post(call, {**ALICE, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "alpha_danger"}, path="/mcp/tools-only")
    assert (r.status_code, rpc_message(r)["error"]["code"]) == (400, -32602), r.text


@pytest.mark.anyio
async def test_a_session_of_one_virtual_server_cannot_reach_another(scoped: Gateway) -> None:
    sids: list[str] = []

    async def on_response(response: httpx2.Response) -> None:
        sid = response.headers.get("mcp-session-id")
        if sid and sid not in sids:
            sids.append(sid)

    async with httpx2.AsyncClient(headers=ALICE, event_hooks={"response": [on_response]}) as http:
        async with client(scoped.base + "/mcp/support", ALICE, http) as alice:
            assert (await alice.call_tool("alpha_whoami", {})).content[0].text == "alpha"
    assert len(sids) == 1
    base = {**ALICE, "mcp-session-id": sids[0], "mcp-protocol-version": LEGACY}
    before = scoped.upstream_requests()
    for path, headers in (
        ("/mcp", {}),
        ("/mcp/tools-only", {}),
        ("/mcp", {"x-mcp-virtualserver": "tools-only"}),
    ):
        for body in (tool_call("beta_whoami", id=3), {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}):
            r = scoped.post(body, {**base, **headers}, path=path)
            assert r.status_code == 404, (path, headers, body["method"], r.status_code, r.text)
    # Contradicting the path, or naming no virtual server: refused before the session is read.
    r = scoped.post(tool_call("beta_whoami", id=5), {**base, "x-mcp-virtualserver": "tools-only"}, path="/mcp/support")
    assert r.status_code == 400, r.text
    r = scoped.post(tool_call("beta_whoami", id=6), {**base, "x-mcp-virtualserver": "nope"})
    assert r.status_code == 404 and rpc_message(r)["error"]["code"] == -32600, r.text
    # On its own virtual server it goes on.
    ok = scoped.post(tool_call("alpha_echo", {"text": "hi"}, id=7), base, path="/mcp/support")
    assert ok.status_code == 200 and "hi" in ok.text, ok.text
    after = scoped.upstream_requests()
    assert after["beta"] == before["beta"], (before, after)


@pytest.mark.parametrize("framing", ["h1-length", "h1-chunked", "h2-data"])
def test_spellings_of_a_virtual_server_path_or_header_reach_nothing(scoped: Gateway, framing: str) -> None:
    """Bytes on the wire (no client library normalizes the path): an encoded, dotted, cased or
    slashed spelling of a virtual server's path is no MCP endpoint (Envoy's routes answer 404),
    and the selection header cannot be doubled in another case to pick two."""
    port = scoped.ports["listen"]
    authority = f"127.0.0.1:{port}"
    body = json.dumps(tool_call("alpha_echo", {"text": "x"})).encode()
    alice = [(k, v) for k, v in ALICE.items()]
    before = scoped.upstream_requests()
    for path in ("/mcp/%73upport", "/mcp/support/", "/mcp/./support", "/mcp/tools-only/../support", "/mcp/SUPPORT", "/mcp/nope", "/mcp//support"):
        r = rawhttp.request(port, framing, "POST", path, authority, rawhttp.jsonrpc_headers(alice), body)
        assert r.status == 404, (path, r.status, r.body)
    doubled = [("X-Mcp-Virtualserver", "support"), ("x-mcp-virtualserver", "tools-only")]
    r = rawhttp.request(port, framing, "POST", "/mcp", authority, rawhttp.jsonrpc_headers(alice + doubled), body)
    assert r.status == 400, (r.status, r.body)
    after = scoped.upstream_requests()
    assert after == before, (before, after)


@pytest.mark.parametrize("framing", ["h1-length", "h1-chunked", "h2-data"])
def test_every_other_route_to_an_out_of_scope_tool_is_closed(scoped: Gateway, framing: str) -> None:
    """bob may not call beta_whoami or read alpha's headers resource. Whatever the spelling or
    framing, the request is refused and beta (alpha) never sees it."""
    port = scoped.ports["listen"]
    authority = f"127.0.0.1:{port}"
    bob = [(k, v) for k, v in BOB.items()]
    modern = [("mcp-protocol-version", MODERN), ("mcp-method", "tools/call")]
    meta = json.dumps(modern_meta())

    def send(body: str, headers: list[tuple[str, str]] = ()) -> rawhttp.RawResponse:
        return rawhttp.request(port, framing, "POST", "/mcp", authority, rawhttp.jsonrpc_headers(bob + list(headers)), body.encode())

    before = scoped.upstream_requests()
    cases = [
        # A JSON escape spells the same name: decoded before it is judged.
        (r'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"beta_who\u0061mi","arguments":{}}}', [], {200, 400}),
        # Two names: which one counts must not be left to chance.
        ('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"alpha_echo","name":"beta_whoami","arguments":{}}}', [], {400}),
        # A call without an id is no call: never forwarded to a backend.
        ('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"beta_whoami","arguments":{}}}', [], {200, 202, 400}),
        # 2026-07-28: the header must mirror the body, plain or encoded.
        ('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"beta_whoami","arguments":{},"_meta":%s}}' % meta, modern + [("mcp-name", "alpha_echo")], {400}),
        ('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"beta_whoami","arguments":{},"_meta":%s}}' % meta, modern + [("mcp-name", "=?base64?YmV0YV93aG9hbWk=?=")], {400}),
        # Resources: another spelling of the server tag is no server; subscribing is refused too.
        ('{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"ALPHA+headers://x"}}', [], {200, 400}),
        ('{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"alpha+headers://x"}}', [], {200, 400}),
        ('{"jsonrpc":"2.0","id":7,"method":"resources/subscribe","params":{"uri":"alpha+headers://x"}}', [], {200, 400}),
        # A batch is no way around: MCP has none.
        ('[{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"beta_whoami","arguments":{}}}]', [], {400}),
    ]
    for body, headers, statuses in cases:
        r = send(body, headers)
        assert r.status in statuses, (body, r.status, r.body)
        if r.body:
            assert b'"error"' in r.body, (body, r.body)
    after = scoped.upstream_requests()
    assert (after["alpha"], after["beta"]) == (before["alpha"], before["beta"]), (before, after)
