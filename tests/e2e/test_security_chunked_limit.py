"""Issue 10, item 10: a POST body over `limits.max_body_bytes` is answered 413 with a JSON-RPC
error body (`application/json`, code -32010) whatever its framing: HTTP/1.1 chunked (with and
without trailers) and HTTP/2 DATA frames without a content-length (with and without trailers)
get what a Content-Length body gets, also when the body is far beyond Envoy's own buffer
limit (max_body_bytes + 256 KiB), which Envoy used to answer with a text/plain 413 itself.
Nothing reaches a backend or the broker."""

from __future__ import annotations

import json

import pytest

import rawhttp
from conftest import Gateway, tool_call

FRAMINGS = ["h1-length", "h1-chunked", "h1-chunked-trailers", "h2-data", "h2-data-trailers"]


def oversized(gw: Gateway, over: int) -> bytes:
    base = json.dumps(tool_call("alpha_echo", {"text": ""}, id=9)).encode()
    return json.dumps(tool_call("alpha_echo", {"text": "x" * (gw.max_body_bytes - len(base) + over)}, id=9)).encode()


@pytest.mark.parametrize("over", [1024, 2 * 1024 * 1024], ids=["just-over", "beyond-envoy-buffer"])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_body_over_the_limit_is_413_jsonrpc_in_every_framing(healthy: Gateway, framing: str, over: int) -> None:
    body = oversized(healthy, over)
    assert len(body) > healthy.max_body_bytes
    port = healthy.ports["listen"]
    before = rawhttp.counters(healthy)
    r = rawhttp.request(port, framing, "POST", "/mcp", f"127.0.0.1:{port}", rawhttp.jsonrpc_headers(), body, timeout=60)
    after = rawhttp.counters(healthy)
    assert after == before, f"forwarded: {before} -> {after}"
    assert r.status == 413, r
    assert (r.header("content-type") or "").startswith("application/json"), r
    msg = r.json()
    assert msg["jsonrpc"] == "2.0" and msg["error"]["code"] == -32010, msg
