"""Bad input is answered by the filter itself, with the documented JSON-RPC error, and no
backend is contacted; Envoy stays healthy afterwards (the `healthy` fixture checks /ready,
a good call, and that the filter logged no panic).

Raw HTTP (httpx) on purpose: the official client never sends these.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from conftest import MODERN, Gateway, modern_meta, rpc_message, tool_call


def refused(gw: Gateway, body: Any, headers: dict[str, str] | None = None, **kw: Any):
    """Sends a request that must be answered locally; returns (response, json body)."""
    before = gw.upstream_requests()
    r = gw.post(body, headers, **kw)
    after = gw.upstream_requests()
    assert after == before, f"a backend was contacted: {before} -> {after}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return r, r.json()


def assert_error(msg: dict, code: int, id: Any) -> None:
    assert msg["jsonrpc"] == "2.0"
    assert msg["id"] == id
    assert msg["error"]["code"] == code, msg
    assert isinstance(msg["error"]["message"], str) and msg["error"]["message"]
    assert "result" not in msg


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call"',  # truncated
        b"not json at all",
        b'{"jsonrpc":"2.0","id":1,"method":"ping"} trailing',
        b"\xff\xfe\x00garbage",
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo",}}',
    ],
    ids=["truncated", "text", "trailing", "binary", "trailing-comma"],
)
def test_malformed_json_is_400_parse_error_with_null_id(healthy: Gateway, body: bytes) -> None:
    r, msg = refused(healthy, body)
    assert r.status_code == 400
    assert_error(msg, -32700, None)


def test_empty_post_body_is_a_parse_error(healthy: Gateway) -> None:
    r, msg = refused(healthy, b"")
    assert r.status_code == 400
    assert_error(msg, -32700, None)


@pytest.mark.parametrize(
    "body, id",
    [
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, 1),
        ({"id": 2, "method": "ping"}, 2),
        ({"jsonrpc": "2.0", "id": 3, "params": {}}, 3),
        ({"jsonrpc": "2.0", "id": 4, "method": 42}, 4),
        ("a string", None),
        (17, None),
        (None, None),
    ],
    ids=["jsonrpc-1.0", "no-jsonrpc", "no-method", "method-not-string", "string", "number", "null"],
)
def test_not_jsonrpc_2_is_400_invalid_request(healthy: Gateway, body: Any, id: Any) -> None:
    r, msg = refused(healthy, json.dumps(body))
    assert r.status_code == 400
    assert msg["error"]["code"] == -32600, msg
    # The id is echoed when it could be read, else null.
    assert msg["id"] in (id, None)


def test_batch_is_400_invalid_request(healthy: Gateway) -> None:
    batch = [tool_call("alpha_echo", {"text": "a"}, id=1), tool_call("beta_echo", {"text": "b"}, id=2)]
    r, msg = refused(healthy, batch)
    assert r.status_code == 400
    assert_error(msg, -32600, None)
    assert "batch" in msg["error"]["message"].lower()


def test_empty_batch_is_400_invalid_request(healthy: Gateway) -> None:
    r, msg = refused(healthy, b"[]")
    assert r.status_code == 400
    assert_error(msg, -32600, None)


def oversized_call(gw: Gateway) -> bytes:
    filler = "x" * (gw.max_body_bytes + 1024)
    return json.dumps(tool_call("alpha_echo", {"text": filler}, id=9)).encode()


def test_body_over_limit_with_content_length_is_413_jsonrpc(healthy: Gateway) -> None:
    r, msg = refused(healthy, oversized_call(healthy))
    assert r.status_code == 413
    assert msg["error"]["code"] == -32010
    assert str(healthy.max_body_bytes) in msg["error"]["message"]


def test_body_over_limit_chunked_is_413_jsonrpc(healthy: Gateway) -> None:
    body = oversized_call(healthy)

    def chunks():
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    # A generator body is sent with Transfer-Encoding: chunked, no Content-Length: the filter
    # must count the bytes itself.
    r, msg = refused(healthy, chunks())
    assert r.status_code == 413
    assert msg["error"]["code"] == -32010


def test_body_at_limit_is_accepted(healthy: Gateway) -> None:
    # Just under the limit still goes through (the backend echoes it back).
    base = json.dumps(tool_call("alpha_echo", {"text": ""}, id=10)).encode()
    filler = "y" * (healthy.max_body_bytes - len(base))
    body = json.dumps(tool_call("alpha_echo", {"text": filler}, id=10)).encode()
    assert len(body) == healthy.max_body_bytes
    r = healthy.post(body)
    assert r.status_code == 200, r.text[:300]
    msg = rpc_message(r)
    assert json.loads(msg["result"]["content"][0]["text"])["text"] == filler


@pytest.mark.parametrize(
    "body, code",
    [
        (tool_call("gamma_echo", id="u-1"), -32602),
        (tool_call("echo", id="u-1"), -32602),  # no prefix at all (no default server)
        ({"jsonrpc": "2.0", "id": "u-1", "method": "prompts/get", "params": {"name": "gamma_greet"}}, -32602),
        ({"jsonrpc": "2.0", "id": "u-1", "method": "resources/read", "params": {"uri": "gamma+item://1/data"}}, -32002),
        ({"jsonrpc": "2.0", "id": "u-1", "method": "resources/read", "params": {"uri": "item://1/data"}}, -32002),
        ({"jsonrpc": "2.0", "id": "u-1", "method": "tools/call", "params": {}}, -32602),  # no name
        ({"jsonrpc": "2.0", "id": "u-1", "method": "tools/call", "params": {"name": 5}}, -32602),
        ({"jsonrpc": "2.0", "id": "u-1", "method": "resources/read", "params": {}}, -32602),  # no uri
    ],
    ids=["unknown-tool-prefix", "unprefixed-tool", "unknown-prompt", "unknown-uri-server", "unprefixed-uri", "no-name", "name-not-string", "no-uri"],
)
def test_unroutable_names_get_an_immediate_jsonrpc_error(healthy: Gateway, body: dict, code: int) -> None:
    r, msg = refused(healthy, body)
    assert r.status_code == 200  # a JSON-RPC error on a valid request, as a backend would answer
    assert_error(msg, code, "u-1")


# ---- MCP 2026-07-28 standard headers --------------------------------------------------------


def modern_call(name: str, id: int = 5) -> dict:
    call = tool_call(name, id=id)
    call["params"]["_meta"] = modern_meta()
    return call


def b64(value: str) -> str:
    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


@pytest.mark.parametrize(
    "headers",
    [
        {"mcp-name": "alpha_echo"},  # no Mcp-Method
        {"mcp-method": "tools/list", "mcp-name": "alpha_echo"},  # wrong method
        {"mcp-method": "tools/call"},  # no Mcp-Name
        {"mcp-method": "tools/call", "mcp-name": "beta_echo"},  # names another tool (and server)
        {"mcp-method": "tools/call", "mcp-name": "echo"},  # the unprefixed name
        {"mcp-method": "tools/call", "mcp-name": b64("beta_echo")},  # encoded, but mismatched
        {"mcp-method": "tools/call", "mcp-name": "=?base64?!!notbase64?="},  # broken encoding
    ],
    ids=["no-method", "wrong-method", "no-name", "other-name", "unprefixed-name", "b64-mismatch", "b64-broken"],
)
def test_modern_header_mismatch_is_400_32020(healthy: Gateway, headers: dict[str, str]) -> None:
    r, msg = refused(healthy, modern_call("alpha_echo"), {"mcp-protocol-version": MODERN, **headers})
    assert r.status_code == 400
    assert_error(msg, -32020, 5)


def test_modern_mismatched_resource_uri_is_400_32020(healthy: Gateway) -> None:
    body = {"jsonrpc": "2.0", "id": 6, "method": "resources/read", "params": {"uri": "beta+item://1/data", "_meta": modern_meta()}}
    headers = {"mcp-protocol-version": MODERN, "mcp-method": "resources/read", "mcp-name": "alpha+item://1/data"}
    r, msg = refused(healthy, body, headers)
    assert r.status_code == 400
    assert_error(msg, -32020, 6)


def test_modern_base64_mcp_name_is_accepted_and_rewritten(healthy: Gateway) -> None:
    headers = {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": b64("alpha_headers")}
    r = healthy.post(modern_call("alpha_headers", id=7), headers)
    assert r.status_code == 200, r.text
    msg = rpc_message(r)
    assert msg["id"] == 7
    seen = json.loads(msg["result"]["content"][0]["text"])
    # Rewritten to the backend's own name; plain ASCII needs no encoding any more. (Had the
    # filter passed the encoded prefixed name on, the SDK backend would answer -32020.)
    assert seen["mcp-name"] == "headers"
    assert seen["x-mcp-toolname"] == "headers"
    assert seen["x-mcp-servername"] == "alpha"


def test_modern_base64_mcp_name_with_another_server(healthy: Gateway) -> None:
    headers = {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": b64("beta_called_as")}
    r = healthy.post(modern_call("beta_called_as", id=8), headers)
    assert r.status_code == 200, r.text
    seen = json.loads(rpc_message(r)["result"]["content"][0]["text"])
    assert seen == {"server": "beta", "name": "called_as", "method": "tools/call"}


def test_older_protocol_needs_no_standard_headers(healthy: Gateway) -> None:
    r = healthy.post(tool_call("alpha_whoami", id=11), {"mcp-protocol-version": "2025-11-25"})
    assert r.status_code == 200, r.text
    assert rpc_message(r)["result"]["content"][0]["text"] == "alpha"


# ---- sessions --------------------------------------------------------------------------------


def urlsafe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "0123456789abcdef0123456789abcdef",  # looks like a backend's own session id
        urlsafe(b"\x01" + os.urandom(24) + os.urandom(64)),  # right version and shape, forged
        urlsafe(b"\x02" + os.urandom(120)),  # unknown version
        "x" * 20000,  # absurdly long
        "!!!*not-base64*!!!",
    ],
    ids=["garbage", "hex", "forged", "bad-version", "huge", "not-base64"],
)
@pytest.mark.parametrize("method", ["POST-routed", "POST-broker", "GET", "DELETE"])
def test_bad_session_is_404(healthy: Gateway, token: str, method: str) -> None:
    before = healthy.upstream_requests()
    headers = {"mcp-session-id": token}
    if method == "POST-routed":
        r = healthy.post(tool_call("alpha_echo", {"text": "x"}, id=12), headers)
    elif method == "POST-broker":
        r = healthy.post({"jsonrpc": "2.0", "id": 12, "method": "tools/list"}, headers)
    else:
        r = healthy.request(method, headers={**headers, "accept": "text/event-stream"})
    assert healthy.upstream_requests() == before, "a backend was contacted with a bad session"
    assert r.status_code == 404, (r.status_code, r.text[:200])
    msg = r.json()
    assert msg["error"]["code"] == -32001
    assert token not in r.text or len(token) < 10  # the token is not echoed back


def test_tampered_session_token_is_404(healthy: Gateway) -> None:
    # Flip one bit of a well-formed token: authentication must fail.
    raw = bytearray(b"\x01" + os.urandom(24) + os.urandom(80))
    raw[-1] ^= 1
    r, msg = refused(healthy, tool_call("beta_echo", {"text": "x"}, id=13), {"mcp-session-id": urlsafe(bytes(raw))})
    assert r.status_code == 404
    assert msg["error"]["code"] == -32001


def test_modern_non_ascii_name_travels_base64_encoded(healthy: Gateway) -> None:
    # "alpha_héllo" must be sent as =?base64?…?=; the filter validates it, strips the prefix
    # and re-encodes "héllo" for the backend. The SDK backend re-validates Mcp-Name against
    # the body: had the rewrite been wrong it would answer -32020; as it is, it reports an
    # unknown tool.
    before = healthy.upstream_requests()["alpha"]
    headers = {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": b64("alpha_héllo")}
    r = healthy.post(modern_call("alpha_héllo", id=14), headers)
    assert healthy.upstream_requests()["alpha"] == before + 1
    msg = rpc_message(r)
    assert msg["id"] == 14
    error_code = msg.get("error", {}).get("code")
    assert error_code != -32020, msg
    assert error_code is not None or msg["result"].get("isError") is True, msg
