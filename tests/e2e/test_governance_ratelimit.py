"""Per-tool, per-caller rate limits (issue 16, item 6) with Envoy's own local_ratelimit, placed
after the gateway's filter (envoy-configs/ratelimit-tool-caller.yaml), through the real Envoy
(jwt_authn verifying tokens minted here), each filter build, the real broker and the official
Python SDK client.

beta's `echo` allows each caller two calls a minute; the caller is the verified `sub` claim
(`identity.jwt` with `session.subject_header: x-jwt-sub`). The third call of a caller is
answered in MCP terms (a JSON-RPC error for the call's id, HTTP 429 with Retry-After) and never
reaches beta; another caller, another tool or another server is not limited by it, and a
client cannot pose as a fresh caller by sending the header itself."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import MODERN, ROOT, Gateway, Proc, modern_meta, rpc_message, stop_all, tool_call
from custom_gateway import py_backend, start_custom_gateway
from jwt_issuer import Issuer

ISSUER = Issuer()
SNIPPET = ROOT / "envoy-configs" / "ratelimit-tool-caller.yaml"


backend = py_backend


@pytest.fixture(scope="module")
def limited(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp(f"limited-{filter_host}")
    jwks = ISSUER.write_jwks(workdir / "jwks.json")
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            workdir,
            procs,
            [backend("alpha", False), backend("beta", True)],
            http_filters=SNIPPET,
            identity={"jwt": {"issuer": ISSUER.issuer, "audiences": ["mcp"], "jwks_file": str(jwks)}},
            session={"key_env": "MCPGW_SESSION_KEY", "subject_header": "x-jwt-sub"},
        )
    finally:
        stop_all(procs)


def bearer(sub: str) -> dict[str, str]:
    return {"authorization": f"Bearer {ISSUER.token(sub=sub)}"}


def client(gw: Gateway, headers: dict[str, str]) -> Client:
    http = httpx2.AsyncClient(headers=headers)
    return Client(streamable_http_client(gw.url, http_client=http, terminate_on_close=False), mode="legacy")


@pytest.mark.anyio
async def test_a_callers_third_call_of_a_limited_tool_is_refused_in_mcp_terms(limited: Gateway) -> None:
    async with client(limited, bearer("carol")) as carol:
        for i in range(2):
            assert f"hi {i}" in (await carol.call_tool("beta_echo", {"text": f"hi {i}"})).content[0].text
        before = limited.upstream_requests()
        with pytest.raises(MCPError) as refused:
            await carol.call_tool("beta_echo", {"text": "one too many"})
        assert refused.value.error.code == -32029, refused.value.error
        assert "Rate limited" in refused.value.error.message
        assert limited.upstream_requests()["beta"] == before["beta"], "the refused call never reached beta"
        # Other tools and servers are not limited by it.
        assert (await carol.call_tool("beta_whoami", {})).content[0].text == "beta"
        assert '"a"' in (await carol.call_tool("alpha_echo", {"text": "a"})).content[0].text
    # Another caller has a bucket of its own.
    async with client(limited, bearer("dave")) as dave:
        assert "dave" in (await dave.call_tool("beta_echo", {"text": "dave"})).content[0].text


def test_the_refusal_carries_the_call_id_and_retry_after_and_the_caller_cannot_be_forged(limited: Gateway) -> None:
    headers = {**bearer("erin"), "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "beta_echo"}

    def call(id: int, extra: dict[str, str] | None = None):
        body = {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {**tool_call("beta_echo", {"text": "x"})["params"], "_meta": modern_meta()}}
        return limited.post(body, {**headers, **(extra or {})})

    assert [call(i).status_code for i in (1, 2)] == [200, 200]
    refused = call(3)
    assert refused.status_code == 429, refused.text
    assert refused.headers.get("retry-after") == "60"
    error = rpc_message(refused)
    assert error["id"] == 3 and error["error"]["code"] == -32029, error
    # A client-sent x-jwt-sub is removed before jwt_authn writes the verified one: erin stays
    # erin, whatever she claims to be.
    for spoof in ({"x-jwt-sub": "someone-else"}, {"X-JWT-SUB": "fresh"}):
        r = call(4, spoof)
        assert r.status_code == 429, (spoof, r.text)
