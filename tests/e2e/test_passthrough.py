"""What the filter must leave alone or hand to the broker, the Envoy config's hardening, and
the filter's counters."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import Gateway, filter_stat, modern_meta, rpc_message, tool_call

SPOOFED = {"x-mcp-method": "tools/call", "x-mcp-toolname": "danger", "x-mcp-servername": "alpha", "x-mcp-sessionid": "s"}


@pytest.mark.parametrize("path", ["/other", "/mcp/", "/mcpx", "/MCP", "/api/mcp", "/other?q=%7B1%7D"])
def test_non_mcp_path_passes_untouched(healthy: Gateway, path: str) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo"}} not json {'
    before = healthy.upstream_requests()
    r = healthy.post(body, {**SPOOFED, "x-other": "kept"}, path=path)
    after = healthy.upstream_requests()
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["echo"] is True
    assert seen["method"] == "POST"
    assert seen["path"] == path
    assert seen["body"] == body.decode()  # neither parsed, nor refused, nor rewritten
    assert seen["headers"]["x-other"] == "kept"
    assert seen["headers"]["content-length"] == str(len(body))
    # Client-sent metadata headers are stripped on every path, MCP or not.
    assert not [h for h in seen["headers"] if h.startswith("x-mcp-")], seen["headers"]
    assert after["default_upstream"] == before["default_upstream"] + 1
    assert {k: v for k, v in after.items() if k != "default_upstream"} == {k: v for k, v in before.items() if k != "default_upstream"}


def test_non_mcp_get_passes_untouched(healthy: Gateway) -> None:
    r = healthy.request("GET", "/healthz?x=1", headers=SPOOFED)
    assert r.status_code == 200
    seen = r.json()
    assert (seen["method"], seen["path"]) == ("GET", "/healthz?x=1")
    assert not [h for h in seen["headers"] if h.startswith("x-mcp-")]


def test_mcp_path_with_query_is_still_mcp(healthy: Gateway) -> None:
    r = healthy.post(b"{not json", path="/mcp?x=1")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32700


@pytest.mark.parametrize("host", ["alpha.mcp.internal", "beta.mcp.internal", "broker.mcp.internal"])
def test_internal_virtual_hosts_only_serve_the_mcp_path(healthy: Gateway, host: str) -> None:
    # A client naming an internal authority itself gets no route outside /mcp...
    before = healthy.upstream_requests()
    r = healthy.request("GET", "/other", headers={"host": host})
    assert r.status_code == 404
    assert healthy.upstream_requests() == before


def test_client_chosen_authority_does_not_override_routing(healthy: Gateway) -> None:
    # ...and on /mcp a client cannot pick a backend by naming its virtual host: the gateway
    # listens on loopback, so DNS-rebinding protection refuses any other Host outright, before
    # routing (and with an allowed Host, the filter sets :authority itself).
    before = healthy.upstream_requests()
    r = healthy.post(tool_call("beta_echo", {"text": "h"}, id=2), {"host": "alpha.mcp.internal"})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == -32600
    assert healthy.upstream_requests() == before
    r = healthy.post(tool_call("beta_echo", {"text": "h"}, id=2), {"host": "localhost"})
    assert r.status_code == 200, r.text
    assert json.loads(rpc_message(r)["result"]["content"][0]["text"]) == {"server": "beta", "text": "h"}


MODERN_HEADERS = {"mcp-protocol-version": "2026-07-28"}


@pytest.mark.parametrize(
    "body, status",
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "ping"}, 200),
        # Lists without a session: the 2026-07-28 way (the broker answers them sessionless).
        # params._meta carries the version and the client's capabilities, as 2026-07-28 requires.
        ({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": modern_meta()}}, 200),
        ({"jsonrpc": "2.0", "id": 3, "method": "resources/templates/list", "params": {"_meta": modern_meta()}}, 200),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, 202),
        ({"jsonrpc": "2.0", "id": 99, "result": {}}, 202),  # a client's answer to a server request
    ],
    ids=["ping", "tools-list", "templates-list", "notification", "response"],
)
def test_everything_else_goes_to_the_broker(healthy: Gateway, body: dict, status: int) -> None:
    before = healthy.upstream_requests()
    headers = {**MODERN_HEADERS, "mcp-method": body["method"]} if "params" in body else {}
    r = healthy.post(body, headers)
    after = healthy.upstream_requests()
    assert r.status_code == status, r.text
    assert after["broker"] == before["broker"] + 1
    assert (after["alpha"], after["beta"]) == (before["alpha"], before["beta"])


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_go_to_the_broker(healthy: Gateway, method: str) -> None:
    before = healthy.upstream_requests()
    # GET may open a notification stream that stays open: read the status line and leave.
    with httpx.stream(method, healthy.url, headers={"accept": "text/event-stream, application/json"}, timeout=30) as r:
        status = r.status_code
    after = healthy.upstream_requests()
    assert after["broker"] == before["broker"] + 1, status
    assert (after["alpha"], after["beta"], after["default_upstream"]) == (
        before["alpha"],
        before["beta"],
        before["default_upstream"],
    )
    # Without a session the broker answers 400 (a session id is required); what matters here
    # is that the request reached it (the broker's answer, not Envoy's).
    assert status in (200, 202, 204, 400, 405), status


def test_filter_counters_are_in_envoy_stats(healthy: Gateway) -> None:
    s0 = healthy.stats()
    for short in (
        "requests.tools_call",
        "requests.initialize",
        "routed.alpha",
        "routed.beta",
        "broker",
        "errors.parse_error",
        "errors.unknown_name",
        "errors.session_malformed",
    ):
        name = filter_stat(f"mcp_gateway.{short}")
        assert name in s0, f"{name} missing from /stats"
    healthy.post(tool_call("beta_echo", {"text": "count me"}))
    healthy.post(b"{broken")
    healthy.post(tool_call("gamma_x"))
    healthy.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    s1 = healthy.stats()

    def delta(name: str) -> int:
        full = filter_stat(f"mcp_gateway.{name}")
        return s1[full] - s0[full]

    assert delta("routed.beta") == 1
    assert delta("routed.alpha") == 0
    assert delta("requests.tools_call") == 2
    assert delta("requests.ping") == 1
    assert delta("broker") == 1
    assert delta("errors.parse_error") == 1
    assert delta("errors.unknown_name") == 1
