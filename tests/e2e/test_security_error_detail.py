"""Issue 10, item 5: client-visible errors carry no internal detail. With backend alpha killed,
every answer that concerns it (a routed call answered by Envoy, a call the broker makes, the
`initialize` fan-out and a list) names the server, "alpha", and a stable reason, but no backend
address (127.0.0.1:<port>, its URL), no Envoy failure flag or response-code detail
(`upstream_reset`, `connection_termination`, `delayed_connect_error`, ...), no connect error
text, and no HTTP status spliced into the JSON-RPC error (`200: upstream_reset…`)."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Iterator

import pytest

import rawhttp
from conftest import MODERN, Gateway, Proc, modern_meta, stop_all, tool_call

LEGACY = "2025-11-25"
INTERNAL = [
    "upstream_reset",
    "connection_termination",
    "delayed_connect_error",
    "connection_failure",
    "upstream_connect",
    "connect error",
    "Connection refused",
    "tcp connect",
    "error sending request",
    "reset reason",
    "via_upstream",
]


@pytest.fixture(params=["session-backends", "sessionless-backends"])
def dead_alpha(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway whose alpha was killed after a session was opened (gw.ports['session'] is
    not a port: the session id lives in gw.workdir/'sid')."""
    procs: list[Proc] = []
    try:
        gw = rawhttp.start_security_gateway(tmp_path, procs, stateless=request.param == "sessionless-backends")
        r = gw.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "err", "version": "1"}},
            }
        )
        assert r.status_code == 200, r.text
        (tmp_path / "sid").write_text(r.headers["mcp-session-id"])
        alpha = next(p for p in procs if p.name == "alpha")
        os.killpg(alpha.popen.pid, signal.SIGKILL)
        alpha.popen.wait(10)
        yield gw
    finally:
        stop_all(procs)


def assert_no_internals(gw: Gateway, text: str, what: str) -> None:
    port = gw.ports["alpha"]
    assert f"127.0.0.1:{port}" not in text and f":{port}/" not in text, f"{what}: backend address in {text}"
    for word in INTERNAL:
        assert word.lower() not in text.lower(), f"{what}: {word!r} in {text}"


def assert_clean_error(gw: Gateway, r, what: str, id) -> None:
    assert r.status_code < 500 or r.headers.get("content-type", "").startswith("application/json"), (what, r.status_code, r.text)
    text = r.text
    assert_no_internals(gw, text, what)
    msg = rawhttp.RawResponse(r.status_code, list(r.headers.items()), r.content).rpc()
    assert msg is not None, (what, r.status_code, text)
    assert msg.get("id") == id, (what, msg)
    err = msg.get("error") or {}
    if not err and msg.get("result", {}).get("isError"):
        return  # a tool error result is a clean answer too (checked for internals above)
    assert isinstance(err.get("code"), int), (what, msg)
    assert "alpha" in json.dumps(err), f"{what}: the error does not name the server: {msg}"
    assert not re.search(r"\b[1-5]\d\d: ", err.get("message", "")), f"{what}: an HTTP status in the message: {msg}"


def test_routed_call_to_a_dead_backend(dead_alpha: Gateway) -> None:
    sid = (dead_alpha.workdir / "sid").read_text()
    r = dead_alpha.post(tool_call("alpha_echo", {"text": "x"}, id=81), {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
    assert_clean_error(dead_alpha, r, "routed call", 81)


def test_modern_call_to_a_dead_backend(dead_alpha: Gateway) -> None:
    body = tool_call("alpha_echo", {"text": "x"}, id=82)
    body["params"]["_meta"] = modern_meta()
    r = dead_alpha.post(body, {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "alpha_echo"})
    assert_clean_error(dead_alpha, r, "2026-07-28 call", 82)


def test_initialize_with_a_dead_backend(dead_alpha: Gateway) -> None:
    r = dead_alpha.post(
        {
            "jsonrpc": "2.0",
            "id": 83,
            "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "err", "version": "1"}},
        }
    )
    # The session still starts (beta is fine); whatever it says about alpha says nothing internal.
    assert r.status_code == 200, r.text
    assert_no_internals(dead_alpha, r.text, "initialize")
    assert_no_internals(dead_alpha, json.dumps(dict(r.headers)), "initialize headers")


def test_list_with_a_dead_backend(dead_alpha: Gateway) -> None:
    sid = (dead_alpha.workdir / "sid").read_text()
    r = dead_alpha.post({"jsonrpc": "2.0", "id": 84, "method": "tools/list"}, {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
    assert r.status_code in (200, 404), r.text
    assert_no_internals(dead_alpha, r.text, "tools/list")
