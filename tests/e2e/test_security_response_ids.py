"""Issue 10, item 9: a client's answer to a server request carries the id the gateway minted,
`"<server>:<original id as JSON>"`. An id whose tail is not exactly one JSON number or string
(`alpha:01`, `alpha:1.`, `alpha:-.5`, `alpha:1e`) was never minted: it is refused with a
JSON-RPC error and never spliced into a body for the backend (where it would be invalid JSON).
Against session-protocol backends (the kind that asks clients things), with a live session."""

from __future__ import annotations

import pytest

import rawhttp
from conftest import Gateway

LEGACY = "2025-11-25"
BAD_IDS = ["alpha:01", "alpha:1.", "alpha:-.5", "alpha:1e", "alpha:+1", "alpha:0x1", "alpha: 1"]


@pytest.fixture(scope="module")
def session_headers(session_gateway: Gateway) -> dict[str, str]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {"elicitation": {}}, "clientInfo": {"name": "ids", "version": "1"}},
    }
    r = session_gateway.post(init)
    assert r.status_code == 200, r.text
    return {"mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}


def answer(bad_id: str, kind: str) -> dict:
    return {"jsonrpc": "2.0", "id": bad_id, kind: {"action": "accept", "content": {}} if kind == "result" else {"code": -1, "message": "no"}}


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_malformed_mapped_response_id_is_never_spliced_for_a_backend(session_gateway: Gateway, session_headers: dict[str, str], bad_id: str) -> None:
    # The filter routes a well-formed "alpha:<id>" straight to alpha with the id spliced back
    # in; these must not take that path (Envoy's alpha cluster sees nothing).
    before = rawhttp.counters(session_gateway)
    r = session_gateway.post(answer(bad_id, "result"), session_headers)
    after = rawhttp.counters(session_gateway)
    assert after["alpha"] == before["alpha"], f"spliced into a body for alpha: {r.status_code} {r.text}"
    assert r.status_code < 500, (r.status_code, r.text)


@pytest.mark.parametrize("kind", ["result", "error"])
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_malformed_mapped_response_id_is_refused(session_gateway: Gateway, session_headers: dict[str, str], bad_id: str, kind: str) -> None:
    before = rawhttp.counters(session_gateway)
    r = session_gateway.post(answer(bad_id, kind), session_headers)
    after = rawhttp.counters(session_gateway)
    assert after["alpha"] == before["alpha"], f"spliced into a body for alpha: {r.status_code} {r.text}"
    # Refused as what it is, a response to a request nobody made: not accepted (202) and
    # then relayed to the backends as is.
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    msg = r.json()
    assert msg["jsonrpc"] == "2.0" and isinstance(msg["error"]["code"], int), msg
    assert msg["id"] in (bad_id, None), msg
