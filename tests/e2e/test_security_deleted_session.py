"""Issue 10, item 4: a DELETEd session is refused at once with 404 on every path of the
gateway that saw the DELETE: a routed `tools/call` (legacy, and with the 2026-07-28 standard
headers, the path that used to forward the revoked backend session id), a list through the
broker, and a GET notification stream. Nothing is forwarded to a backend.

On both kinds of backends: session-protocol ones (each gateway session holds their own
session ids) and stateless `sessionless` ones (the filter routes calls straight to them)."""

from __future__ import annotations

import json

import httpx
import pytest

import rawhttp
from conftest import MODERN, Gateway, modern_meta, rpc_message, tool_call

LEGACY = "2025-11-25"


def new_session(gw: Gateway) -> str:
    return rawhttp.legacy_session(gw, "del")["mcp-session-id"]


def routed_legacy(gw: Gateway, sid: str) -> httpx.Response:
    return gw.post(tool_call("alpha_whoami", id=71), {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})


def routed_modern(gw: Gateway, sid: str) -> httpx.Response:
    body = tool_call("alpha_whoami", id=72)
    body["params"]["_meta"] = modern_meta()
    headers = {"mcp-session-id": sid, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "alpha_whoami"}
    return gw.post(body, headers)


def broker_list(gw: Gateway, sid: str) -> httpx.Response:
    return gw.post({"jsonrpc": "2.0", "id": 73, "method": "tools/list"}, {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})


def get_stream_status(gw: Gateway, sid: str) -> tuple[int, str]:
    headers = {"accept": "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": LEGACY}
    with httpx.stream("GET", gw.url, headers=headers, timeout=30) as r:
        if r.status_code == 200:
            return 200, ""  # a live stream: leave it at once
        return r.status_code, r.read().decode(errors="replace")


PATHS = {"routed-legacy": routed_legacy, "routed-2026-07-28": routed_modern, "broker-list": broker_list}


@pytest.fixture(params=["session_gateway", "gateway"])
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("path", [*PATHS, "get-stream"])
def test_deleted_session_is_404_on_every_path(any_gateway: Gateway, path: str) -> None:
    gw = any_gateway
    sid = new_session(gw)
    # Control: the session works on this path before the DELETE.
    if path == "get-stream":
        assert get_stream_status(gw, sid)[0] == 200
    else:
        alive = PATHS[path](gw, sid)
        assert alive.status_code == 200 and "result" in rpc_message(alive), (alive.status_code, alive.text)
    d = gw.request("DELETE", headers={"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
    assert d.status_code in (200, 202, 204), (d.status_code, d.text)
    before = rawhttp.counters(gw, ("alpha", "beta"))
    if path == "get-stream":
        status, text = get_stream_status(gw, sid)
    else:
        r = PATHS[path](gw, sid)
        status, text = r.status_code, r.text
    assert rawhttp.counters(gw, ("alpha", "beta")) == before, f"a backend was called with a deleted session: {status} {text}"
    assert status == 404, (status, text)
    msg = json.loads(text)
    assert msg["error"]["code"] == -32001, msg


def test_deleted_session_stays_dead_on_every_path_after_each_other(session_gateway: Gateway) -> None:
    # One DELETE, then all paths in turn (and twice): no path revives it.
    gw = session_gateway
    sid = new_session(gw)
    d = gw.request("DELETE", headers={"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
    assert d.status_code in (200, 202, 204), d.text
    for _ in range(2):
        for name, send in PATHS.items():
            r = send(gw, sid)
            assert r.status_code == 404, (name, r.status_code, r.text)
        assert get_stream_status(gw, sid)[0] == 404
