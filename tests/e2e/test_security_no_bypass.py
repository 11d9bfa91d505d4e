"""Issue 10, item 1: no way around the filter.

Every request is decided by the filter, whatever its framing, path or authority: a request it
did not decide must never reach a backend (Envoy's internal virtual hosts match only requests
carrying the filter's decision, filter state `wasm.mcp_gateway.route`). A matrix of

    framings     HTTP/1.1 Content-Length | chunked | chunked + trailers,
                 HTTP/2 (h2c prior knowledge) DATA+END_STREAM | DATA then trailers | trailers only
    paths        the MCP path, the backends' own path when it differs, /MCP, /mcp/, /mcp?x, //mcp, /%6dcp
    authorities  the gateway's own, alpha.mcp.internal, ALPHA.MCP.INTERNAL, broker.mcp.internal,
                 alpha.mcp.internal:80, alpha.mcp.internal.

sends, per cell, a `tools/call` of alpha's unprefixed `echo` and `danger` (the RBAC example
denies `danger`), the prefixed `alpha_danger` (also as a 2026-07-28 call, the kind the broker
serves by itself) and an `initialize`. The backends must never be called by Envoy (none of
these may legitimately reach them), and the answer is a 404, a JSON-RPC error, RBAC's 403, the
broker's own initialize result, or (off the MCP path) the default upstream: never a backend's
result, never a backend's `mcp-session-id`.

On two gateways: the session fixture (mcp_path /mcp, loopback allow-list, sessionless
backends), and an "open" one as deployed off loopback (`allowed_hosts: []`) with
`mcp_path: /gw` in front of backends whose own path is /mcp and session-protocol backends
(their initialize answers carry their own mcp-session-id).
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest

import rawhttp
from conftest import MODERN, Gateway, modern_meta, stop_all, tool_call

AUTHORITIES = ["gateway", "alpha.mcp.internal", "ALPHA.MCP.INTERNAL", "broker.mcp.internal", "alpha.mcp.internal:80", "alpha.mcp.internal."]
PATHS = ["MCP", "backend", "/MCP", "/mcp/", "/mcp?x", "//mcp", "/%6dcp"]


@pytest.fixture(scope="module")
def open_gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    procs: list = []
    try:
        yield rawhttp.start_security_gateway(
            tmp_path_factory.mktemp(f"open-gw-{filter_host}"), procs, stateless=False, mcp_path="/gw", allowed_hosts=[]
        )
    finally:
        stop_all(procs)


@pytest.fixture(params=["loopback-mcp", "open-gw"])
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    return request.getfixturevalue("gateway" if request.param == "loopback-mcp" else "open_gateway")


def mcp_path(gw: Gateway) -> str:
    return "/" + gw.url.split("/", 3)[3]


def resolve_path(gw: Gateway, path: str) -> str | None:
    if path == "MCP":
        return mcp_path(gw)
    if path == "backend":
        return "/mcp" if mcp_path(gw) != "/mcp" else None
    return path


def is_mcp_path(gw: Gateway, path: str) -> bool:
    return path.split("?", 1)[0] == mcp_path(gw)


def messages() -> list[tuple[str, dict, list[tuple[str, str]]]]:
    modern = tool_call("alpha_danger", id="m")
    modern["params"]["_meta"] = modern_meta()
    init = {
        "jsonrpc": "2.0",
        "id": "i",
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bypass", "version": "1"}},
    }
    return [
        ("echo", tool_call("echo", {"text": "bypass?"}, id="e"), []),
        ("danger", tool_call("danger", id="d"), []),
        ("alpha_danger", tool_call("alpha_danger", id="p"), []),
        ("modern-alpha_danger", modern, [("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"), ("mcp-name", "alpha_danger")]),
        ("initialize", init, []),
    ]



def rbac_denied(r) -> bool:  # noqa: ANN001
    """Envoy's RBAC refused it: plain text, or (a call routed to a server) the JSON-RPC error
    the rendered local-reply mapping makes of it."""
    if r.status != 403:
        return False
    msg = r.rpc() or {}
    return "RBAC" in r.text or "Forbidden by the gateway's policy" in msg.get("error", {}).get("message", "")

def check_answer(gw: Gateway, what: str, path: str, r: rawhttp.RawResponse) -> str | None:
    """None if the answer is one the gateway may give, else why not."""
    if r.reset and not r.status:
        return None  # refused at the protocol level: nothing was forwarded (the counters tell)
    if r.status >= 500:
        if not is_mcp_path(gw, path):
            # Off the MCP path the default upstream (tests/servers/http_echo.py, which does not
            # read chunked bodies) may leave its connection unusable: Envoy's 502 is noise here.
            # Whether a backend was reached is what the cluster counters tell.
            return None
        return f"{r.status} from Envoy: the request was not decided"
    text = r.text
    if "was allowed" in text or '\\"server\\": \\"alpha\\"' in text or ('"server": "alpha"' in text and '"echo": true' not in text):
        return "a backend's own result"
    msg = r.rpc()
    if msg is not None and msg.get("echo") is True:
        if is_mcp_path(gw, path):
            return "the MCP path went to the default upstream, undecided by the filter"
        return None  # a non-MCP path, passed to the default upstream: not a backend
    if r.status == 404:
        return None
    if rbac_denied(r):
        return None
    if msg is None:
        return f"neither JSON-RPC nor a 404: {r.status} {text[:200]!r}"
    if what == "initialize" and "result" in msg:
        info = msg["result"].get("serverInfo", {})
        if info.get("name") != "mcp-gateway":
            return f"initialize answered by {info!r}, not the gateway's broker"
        return None
    if "result" in msg:
        return "a tools/call result"
    if r.header("mcp-session-id") is not None:
        return "a backend mcp-session-id on a refused call"
    if not (r.status == 200 or 400 <= r.status < 500):
        return f"status {r.status}"
    return None


@pytest.mark.parametrize("authority", AUTHORITIES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("framing", rawhttp.FRAMINGS)
def test_no_request_reaches_a_backend_undecided(any_gateway: Gateway, framing: str, path: str, authority: str) -> None:
    gw = any_gateway
    target = resolve_path(gw, path)
    if target is None:
        pytest.skip("the MCP path is the backends' own path on this gateway")
    port = gw.ports["listen"]
    host = f"127.0.0.1:{port}" if authority == "gateway" else authority
    before = rawhttp.counters(gw, ("alpha", "beta"))
    problems: list[str] = []
    answers: list[str] = []
    sent = messages() if framing != "h2-trailers-only" else [("no-body", None, [])]
    for what, body, extra in sent:
        data = json.dumps(body).encode() if body is not None else None
        r = rawhttp.request(port, framing, "POST", target, host, rawhttp.jsonrpc_headers(extra), data)
        answers.append(f"{what}: {r!r}")
        why = check_answer(gw, what, target, r)
        if why:
            problems.append(f"{what}: {why}: {r!r}")
    after = rawhttp.counters(gw, ("alpha", "beta"))
    if after != before:
        problems.append(f"Envoy called a backend directly: {before} -> {after}\n  " + "\n  ".join(answers))
    assert not problems, "\n".join(problems)


# ---- the filter decides the MCP path in every framing ---------------------------------------

TRAILER_FRAMINGS = ("h2-data-trailers", "h2-trailers-only")


def refused_by_filter(r: rawhttp.RawResponse) -> bool:
    """A 4xx JSON-RPC error: the filter's refusal (e.g. of trailers on the MCP endpoint)."""
    msg = r.rpc() or {}
    return 400 <= r.status < 500 and isinstance(msg.get("error", {}).get("code"), int) and "echo" not in msg


@pytest.mark.parametrize("framing", rawhttp.FRAMINGS)
def test_every_framing_on_the_mcp_path_is_decided_by_the_filter(any_gateway: Gateway, framing: str) -> None:
    """The control for the matrix: on the MCP path with the gateway's own authority, each
    framing is decided by the filter, never passed on undecided (e.g. to the default
    upstream). Framings without trailers are served (so a 404 in the matrix is a refusal, not
    a broken client): a routed call works, an unprefixed one is refused, RBAC denies
    `danger`. Framings with HTTP/2 trailers are served the same way or refused outright with
    a JSON-RPC error."""
    gw = any_gateway
    port = gw.ports["listen"]
    host = f"127.0.0.1:{port}"
    path = mcp_path(gw)
    if framing == "h2-trailers-only":
        before = rawhttp.counters(gw)
        r = rawhttp.request(port, framing, "POST", path, host, rawhttp.jsonrpc_headers(), None)
        assert rawhttp.counters(gw) == before, f"forwarded somewhere: {r!r}"
        # No body: the filter's parse error, or its refusal of trailers.
        assert r.status == 400, r
        assert (r.rpc() or {}).get("error", {}).get("code") in (-32700, -32600), r
        return
    # Session backends need a gateway session for routed calls: initialize through the gateway
    # (in the plain framing: the session is not what is tested here).
    headers: list[tuple[str, str]] = []
    if path == "/gw":  # the open gateway has session-protocol backends
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "ctl", "version": "1"}},
        }
        r = rawhttp.request(port, "h1-length", "POST", path, host, rawhttp.jsonrpc_headers(), json.dumps(init).encode())
        assert r.status == 200 and r.header("mcp-session-id"), r
        assert (r.rpc() or {}).get("result", {}).get("serverInfo", {}).get("name") == "mcp-gateway", r
        headers = [("mcp-session-id", r.header("mcp-session-id") or ""), ("mcp-protocol-version", "2025-11-25")]
        # The session's first call to alpha opens its backend session through the broker (and
        # teaches the filter the id): from then on calls go straight to alpha.
        first = rawhttp.request(port, "h1-length", "POST", path, host, rawhttp.jsonrpc_headers(headers), json.dumps(tool_call("alpha_whoami", id=6)).encode())
        assert first.status == 200 and (first.rpc() or {}).get("result"), first
    may_refuse = framing in TRAILER_FRAMINGS

    def send(body: dict) -> tuple[rawhttp.RawResponse, dict[str, int], dict[str, int]]:
        before = rawhttp.counters(gw)
        r = rawhttp.request(port, framing, "POST", path, host, rawhttp.jsonrpc_headers(headers), json.dumps(body).encode())
        return r, before, rawhttp.counters(gw)

    ok, before, after = send(tool_call("alpha_whoami", id=7))
    if may_refuse and refused_by_filter(ok):
        assert after == before, f"refused, yet forwarded: {ok!r}"
    else:
        assert after["alpha"] == before["alpha"] + 1 and after["default_upstream"] == before["default_upstream"], ok
        assert ok.status == 200, ok
        assert (ok.rpc() or {}).get("result", {}).get("content", [{}])[0].get("text") == "alpha", ok
    bad, before, after = send(tool_call("echo", id=8))
    assert after == before, f"forwarded: {bad!r}"
    assert (bad.rpc() or {}).get("error", {}).get("code") == -32602 or (may_refuse and refused_by_filter(bad)), bad
    denied, before, after = send(tool_call("alpha_danger", id=9))
    assert after == before, f"forwarded: {denied!r}"
    assert rbac_denied(denied) or (may_refuse and refused_by_filter(denied)), denied
