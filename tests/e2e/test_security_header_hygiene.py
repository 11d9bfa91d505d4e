"""Issue 10, item 7: header hygiene.

Client-sent headers that the gateway's policy points trust must never reach a backend or the
default upstream: the whole `x-mcp-` family (any case, and the underscore spelling Envoy would
otherwise pass along, `x_mcp_toolname`), Envoy's own `x-envoy-original-path` (which also
rewrites the access log's path) and a would-be gateway credential (`x-mcp-gateway-auth`).
A request carrying one may be refused (4xx, nothing forwarded) or served with the header gone;
it must never be forwarded with it.

And the X-Forwarded-For trust model is explicit: a client's spoofed XFF is not taken as the
peer. What a platform team relies on: whatever reads XFF behind Envoy (a backend, ext_authz, a
rate limiter keyed on the client address) finds the real peer as the last (rightmost)
address, the one Envoy appended itself, and Envoy's access log path is the one requested.

Observed through the `headers` tool of py_backend (it answers the request headers it got), and
through tests/servers/http_echo.py behind the default virtual host (it echoes its headers).
"""

from __future__ import annotations

import json

import pytest

import rawhttp
from conftest import Gateway, tool_call

SPOOFED = [
    ("x-mcp-servername", "spoofed-server"),
    ("x-mcp-foo", "spoofed-foo"),
    ("x-mcp-toolhints", "read-only,idempotent,source=config"),
    ("X-MCP-ToolName", "spoofed-tool"),
    ("x_mcp_toolname", "spoofed-underscore"),
    ("x-envoy-original-path", "/spoofed/original/path"),
    ("x-mcp-gateway-auth", "spoofed-credential"),
]
DESTINATIONS = ["backend", "default-upstream"]
PROTOCOLS = ["h1", "h2"]


def seen_headers(gw: Gateway, dest: str, proto: str, headers: list[tuple[str, str]]) -> tuple[rawhttp.RawResponse, dict | None]:
    """(answer, the headers the backend or the default upstream received; None if refused)."""
    port = gw.ports["listen"]
    framing = "h2-data" if proto == "h2" else "h1-length"
    if proto == "h2":
        headers = [(k.lower(), v) for k, v in headers]
    if dest == "backend":
        body = json.dumps(tool_call("alpha_headers", id=3)).encode()
        r = rawhttp.request(port, framing, "POST", "/mcp", f"127.0.0.1:{port}", rawhttp.jsonrpc_headers(headers), body)
        msg = r.rpc() or {}
        if r.status == 200 and "result" in msg:
            return r, json.loads(msg["result"]["content"][0]["text"])
        return r, None
    r = rawhttp.request(port, framing, "GET", "/not-mcp/echo", f"127.0.0.1:{port}", headers)
    if r.status == 200 and (r.rpc() or {}).get("echo") is True:
        return r, r.json()["headers"]
    return r, None


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("dest", DESTINATIONS)
@pytest.mark.parametrize("name, value", SPOOFED, ids=[n for n, _ in SPOOFED])
def test_client_sent_internal_header_never_reaches_an_upstream(gateway: Gateway, name: str, value: str, dest: str, proto: str) -> None:
    before = rawhttp.counters(gateway)
    r, seen = seen_headers(gateway, dest, proto, [(name, value)])
    after = rawhttp.counters(gateway)
    if seen is None:
        # Refused outright is fine, as long as it is a client error and nothing was forwarded.
        assert 400 <= r.status < 500, r
        assert after == before, f"refused, yet forwarded: {before} -> {after}"
        return
    leaked = {k: v for k, v in seen.items() if v == value}
    assert not leaked, f"{name} reached the {dest}: {leaked}"
    if dest == "backend" and name.lower() == "x-mcp-servername":
        assert seen.get("x-mcp-servername") == "alpha", seen  # the filter's own fact, not the client's


def test_all_spoofed_headers_together_leave_nothing_behind(gateway: Gateway) -> None:
    # All at once, the way an attacker would send them; every x-mcp-* the backend sees must be
    # one the filter set itself.
    r, seen = seen_headers(gateway, "backend", "h1", SPOOFED)
    if seen is None:
        assert 400 <= r.status < 500, r
        return
    spoofed_values = {v for _, v in SPOOFED}
    assert not [k for k, v in seen.items() if v in spoofed_values], seen
    own = {k for k in seen if k.startswith("x-mcp-") or k.startswith("x_mcp")}
    assert own <= {"x-mcp-method", "x-mcp-servername", "x-mcp-toolname", "x-mcp-promptname", "x-mcp-resourceuri", "x-mcp-sessionid", "x-mcp-toolhints"}, own
    assert "x-envoy-original-path" not in seen, seen


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_spoofed_original_path_does_not_rewrite_the_access_log(gateway: Gateway, proto: str) -> None:
    marker = f"/spoofed-log-path-{proto}"
    port = gateway.ports["listen"]
    body = json.dumps(tool_call("alpha_whoami", id=f"log-{proto}")).encode()
    framing = "h2-data" if proto == "h2" else "h1-length"
    r = rawhttp.request(port, framing, "POST", "/mcp", f"127.0.0.1:{port}", rawhttp.jsonrpc_headers([("x-envoy-original-path", marker)]), body)
    if 400 <= r.status < 500:
        return  # refused: nothing to log but the refusal, which cannot carry the spoofed path either
    assert r.status == 200, r
    entry = gateway.wait_access_entry(lambda e: e.get("fs_id") == json.dumps(f"log-{proto}") or e.get("fs_id") == f"log-{proto}" or e.get("path") == marker)
    assert entry["path"] != marker, f"the access log shows the client's x-envoy-original-path: {entry}"
    assert entry["path"].startswith("/mcp"), entry


@pytest.mark.parametrize("dest", DESTINATIONS)
def test_spoofed_x_forwarded_for_is_not_trusted(gateway: Gateway, dest: str) -> None:
    # What Envoy itself records as the peer of a plain request: the address it appends to XFF
    # (127.0.0.1, or Envoy's own address, which Envoy appends for a loopback peer).
    r, plain = seen_headers(gateway, dest, "h1", [])
    assert plain is not None, r
    peer = [a.strip() for a in plain.get("x-forwarded-for", "").split(",") if a.strip()]
    assert len(peer) == 1, f"Envoy does not state the peer in X-Forwarded-For: {plain}"
    # The test client is that same peer and claims to forward for 203.0.113.7.
    spoof = "203.0.113.7"
    r, seen = seen_headers(gateway, dest, "h1", [("X-Forwarded-For", spoof)])
    assert seen is not None, r
    xff = [a.strip() for a in seen.get("x-forwarded-for", "").split(",") if a.strip()]
    # Either Envoy dropped the client's claim, or it appended the real peer after it: the
    # address a consumer takes as the client's (the rightmost, with no trusted hops) is the
    # real one, never the spoofed one.
    assert xff and xff[-1] == peer[0] != spoof, f"XFF as forwarded: {seen.get('x-forwarded-for')!r} (peer {peer[0]})"
    assert seen.get("x-envoy-external-address") in (None, peer[0]), seen
