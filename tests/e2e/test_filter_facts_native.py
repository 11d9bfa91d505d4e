"""The native build publishes the filter's facts as dynamic metadata too (namespace
`mcp_gateway`: method, server, tool, prompt, resource_uri, id, session, task, error, route),
next to the filter state both builds write (`wasm.mcp_gateway.*`); proxy-wasm cannot write
dynamic metadata in Envoy 1.40, so these tests are skipped on the wasm build.

Read through the access log the gateway renders (gateway/src/render.rs): it prints the filter
state (`fs_*`) and, for the native build, `dm_method`, `dm_server` and `dm_tool`
(`%DYNAMIC_METADATA(mcp_gateway:<key>)%`)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import MODERN, Gateway, modern_meta, rpc_message, tool_call

@pytest.fixture
def facts_gateway(filter_host: str, gateway: Gateway) -> Gateway:
    if filter_host != "native":
        pytest.skip("dynamic metadata is written by the native build only")
    return gateway


def modern_call(gw: Gateway, method: str, params: dict, name: str | None = None, id: Any = 1) -> dict:
    headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    r = gw.post({"jsonrpc": "2.0", "id": id, "method": method, "params": {**params, "_meta": modern_meta()}}, headers=headers)
    assert r.status_code == 200, r.text
    return rpc_message(r)


def test_a_routed_tools_call_publishes_method_server_and_tool_as_dynamic_metadata(facts_gateway: Gateway) -> None:
    gw = facts_gateway
    marker = "facts-native-3141"
    call = tool_call("beta_echo", {"text": marker}, id=marker)
    msg = modern_call(gw, "tools/call", call["params"], name="beta_echo", id=marker)
    assert marker in msg["result"]["content"][0]["text"], msg
    entry = gw.wait_access_entry(lambda e: e.get("fs_id") in (marker, f'"{marker}"') and e.get("upstream") == "beta")
    assert entry["status"] == 200, entry
    # The same facts, two ways: filter state (both builds) and dynamic metadata (native).
    assert entry["dm_method"] == entry["fs_method"] == "tools/call", entry
    assert entry["dm_server"] == entry["fs_server"] == "beta", entry
    assert entry["dm_tool"] == entry["fs_tool"] == "echo", entry


def test_a_broker_bound_list_publishes_its_method_and_no_server(facts_gateway: Gateway) -> None:
    gw = facts_gateway
    msg = modern_call(gw, "tools/list", {}, id="facts-list-2718")
    assert {t["name"] for t in msg["result"]["tools"]} >= {"alpha_echo", "beta_echo"}, msg
    entry = gw.wait_access_entry(lambda e: e.get("fs_method") == "tools/list" and e.get("upstream") == "broker")
    assert entry["dm_method"] == entry["fs_method"] == "tools/list", entry
    assert entry["dm_server"] is None and entry["fs_server"] is None, entry
    assert entry["dm_tool"] is None and entry["fs_tool"] is None, entry
