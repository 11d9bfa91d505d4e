"""Issue 10, item 8: unbounded names. A tool or prompt name over the documented bound (the
spec's 128 characters; 129 here, and a 4 MB one) and a 10 KB resource URI are refused with
JSON-RPC -32602 and the HTTP status the gateway gives any other invalid params, before any
header is written: the backend never sees them (Envoy's counter for it does not move, and no
access-log line carries the name)."""

from __future__ import annotations

import json

import pytest

import rawhttp
from conftest import Gateway, tool_call

NAME_129 = "alpha_" + "n" * (129 - len("alpha_"))
NAME_4MB = "alpha_" + "m" * 4_000_000
URI_10KB = "alpha+item://" + "u" * 10 * 1024 + "/data"


def reference_status(gw: Gateway) -> int:
    """How the gateway answers other invalid params (a tools/call without a name)."""
    r = gw.post({"jsonrpc": "2.0", "id": "ref", "method": "tools/call", "params": {}})
    assert r.json()["error"]["code"] == -32602, r.text
    return r.status_code


CASES = {
    "tool-129": lambda: tool_call(NAME_129, id="b"),
    "tool-4MB": lambda: tool_call(NAME_4MB, id="b"),
    "prompt-129": lambda: {"jsonrpc": "2.0", "id": "b", "method": "prompts/get", "params": {"name": NAME_129}},
    "resource-uri-10KB": lambda: {"jsonrpc": "2.0", "id": "b", "method": "resources/read", "params": {"uri": URI_10KB}},
    "completion-prompt-129": lambda: {
        "jsonrpc": "2.0",
        "id": "b",
        "method": "completion/complete",
        "params": {"ref": {"type": "ref/prompt", "name": NAME_129}, "argument": {"name": "who", "value": "x"}},
    },
}


@pytest.mark.parametrize("framing", ["h1-length", "h2-data"])
@pytest.mark.parametrize("case", list(CASES))
def test_oversized_name_is_invalid_params_before_any_backend(healthy: Gateway, case: str, framing: str) -> None:
    expected_status = reference_status(healthy)
    body = json.dumps(CASES[case]()).encode()
    assert len(body) < healthy.max_body_bytes  # the name, not the body limit, is what is refused
    port = healthy.ports["listen"]
    before = rawhttp.counters(healthy)
    r = rawhttp.request(port, framing, "POST", "/mcp", f"127.0.0.1:{port}", rawhttp.jsonrpc_headers(), body, timeout=60)
    after = rawhttp.counters(healthy)
    assert after == before, f"forwarded: {before} -> {after}; {r!r}"
    assert r.status == expected_status, r
    assert (r.header("content-type") or "").startswith("application/json"), r
    msg = r.json()
    assert msg["id"] == "b" and msg["error"]["code"] == -32602, msg
    assert len(r.body) < 4096, f"the refusal echoes the name back: {len(r.body)} bytes"
    # Neither the metadata headers nor the filter state (the access log) carry the name.
    log = healthy.access_log.read_text() if healthy.access_log.exists() else ""
    assert "n" * 200 not in log and "m" * 200 not in log and "u" * 200 not in log


def test_name_at_the_bound_is_still_routed(healthy: Gateway) -> None:
    # 128 characters is allowed by the spec: the call reaches alpha (which knows no such tool).
    name = "alpha_" + "k" * (128 - len("alpha_"))
    before = rawhttp.counters(healthy)["alpha"]
    r = healthy.post(tool_call(name, id="at"))
    assert rawhttp.counters(healthy)["alpha"] == before + 1, r.text
