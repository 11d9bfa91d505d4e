"""Issue 10, item 6: a request with two `Mcp-Session-Id`, `Mcp-Protocol-Version`, `Mcp-Method`
or `Mcp-Name` headers is refused with HTTP 400 and a JSON-RPC error body, before anything is
forwarded: the filter and the broker must never read different copies (today the filter reads
the last, the broker the first).

Both the filter's own path (a routed `tools/call`) and a broker-bound request (`tools/list`),
same-case and different-case duplicates on HTTP/1.1 (raw bytes, nothing merges them), and
duplicates on HTTP/2 (names are lower case there by definition). Each case has a control: the
same request with a single header is served."""

from __future__ import annotations

import json

import pytest

import rawhttp
from conftest import MODERN, Gateway, modern_meta, tool_call

LEGACY = "2025-11-25"


def initialize(gw: Gateway) -> str:
    return rawhttp.legacy_session(gw, "dup", initialized=False)["mcp-session-id"]


@pytest.fixture(scope="module")
def two_sessions(gateway: Gateway) -> tuple[str, str]:
    return initialize(gateway), initialize(gateway)


def case(request_kind: str, header: str, sessions: tuple[str, str]) -> tuple[dict, list[tuple[str, str]], str, str]:
    """(body, the single-header request's headers, the duplicated header's name, a second,
    conflicting value) for a routed call or a broker-bound list."""
    a, b = sessions
    routed = request_kind == "routed"
    if header == "mcp-session-id":
        # A legacy session request: the session header is what identifies the caller.
        body = tool_call("alpha_whoami", id=1) if routed else {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        return body, [("mcp-session-id", a), ("mcp-protocol-version", LEGACY)], "mcp-session-id", b
    # The 2026-07-28 way: no session, standard headers that must match the body.
    if routed:
        body = tool_call("alpha_whoami", id=1)
        body["params"]["_meta"] = modern_meta()
        hs = [("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"), ("mcp-name", "alpha_whoami")]
        other = {"mcp-protocol-version": LEGACY, "mcp-method": "tools/list", "mcp-name": "alpha_danger"}[header]
    else:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}
        hs = [("mcp-protocol-version", MODERN), ("mcp-method", "tools/list")]
        other = {"mcp-protocol-version": LEGACY, "mcp-method": "tools/call", "mcp-name": "alpha_danger"}[header]
    return body, hs, header, other


HEADERS = ["mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name"]
# same: both copies in lower case; mixed: the second in the canonical capitalisation;
# h2: HTTP/2, both copies (lower case, as HTTP/2 requires); same-value: the same value twice.
VARIANTS = ["h1-same", "h1-mixed", "h1-same-value", "h2", "h2-same-value"]


def send(gw: Gateway, variant: str, body: dict, headers: list[tuple[str, str]]) -> rawhttp.RawResponse:
    port = gw.ports["listen"]
    framing = "h2-data" if variant.startswith("h2") else "h1-length"
    return rawhttp.request(port, framing, "POST", "/mcp", f"127.0.0.1:{port}", rawhttp.jsonrpc_headers(headers), json.dumps(body).encode())


def capitalised(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-"))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("kind", ["routed", "broker"])
def test_duplicated_mcp_header_is_400_jsonrpc(gateway: Gateway, two_sessions: tuple[str, str], kind: str, header: str, variant: str) -> None:
    body, single, name, other = case(kind, header, two_sessions)
    if kind == "broker" and header == "mcp-name":
        # tools/list has no Mcp-Name; a stray (duplicated) one is still a duplicate.
        single_value = "alpha_whoami"
    else:
        single_value = dict(single)[name]
    # Control: the request with one copy is served (a routed call by alpha, a list by the broker).
    if not (kind == "broker" and header == "mcp-name"):
        ok = send(gateway, variant, body, single)
        assert ok.status == 200, ok
        msg = ok.rpc() or {}
        assert "result" in msg, ok
    second_name = capitalised(name) if variant == "h1-mixed" else name
    second_value = single_value if variant.endswith("same-value") else other
    extra = [(name, single_value)] if (kind == "broker" and header == "mcp-name") else []
    headers = [*single, *extra, (second_name, second_value)]
    before = rawhttp.counters(gateway)
    r = send(gateway, variant, body, headers)
    after = rawhttp.counters(gateway)
    assert r.status == 400, r
    assert (r.header("content-type") or "").startswith("application/json"), r
    msg = r.json()
    assert msg.get("jsonrpc") == "2.0" and isinstance(msg.get("error", {}).get("code"), int), msg
    assert "result" not in msg
    assert after == before, f"forwarded despite the duplicate: {before} -> {after}"
