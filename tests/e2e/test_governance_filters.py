"""Per-server tool, prompt and resource filters and overrides (issue 16, item 1), through the
real Envoy and filter (each build), the real broker and official SDK clients.

alpha (session protocol) exposes some of its items, `whoami` renamed to `who` with a new
description; beta (stateless) everything. A hidden item is absent from every list and refused
like an unknown one, by the filter or the broker, before any backend sees it; a renamed one is
listed and called under its new name only."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import MODERN, Gateway, Proc, modern_meta, rpc_message, stop_all, tool_call
from custom_gateway import py_backend, start_custom_gateway

RULES = {
    "tools": {
        "include": ["echo", "who*", "called_as", "danger"],
        "exclude": ["danger"],
        "overrides": {"whoami": {"name": "who", "description": "Which server answers (renamed)"}, "echo": {"description": "Echo, curated"}},
    },
    "prompts": {"exclude": ["show_*"]},
    "resources": {"exclude": ["headers://*"]},
}


backend = py_backend


@pytest.fixture(scope="module")
def curated(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            tmp_path_factory.mktemp(f"curated-{filter_host}"), procs, [backend("alpha", False, **RULES), backend("beta", True)]
        )
    finally:
        stop_all(procs)


@pytest.mark.anyio
async def test_lists_show_exactly_what_the_config_exposes(curated: Gateway) -> None:
    async with Client(curated.url, mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        alpha = {n for n in tools if n.startswith("alpha_")}
        assert alpha == {"alpha_echo", "alpha_who", "alpha_called_as"}, sorted(alpha)
        assert tools["alpha_who"].description == "Which server answers (renamed)"
        assert tools["alpha_echo"].description == "Echo, curated"
        assert {"beta_echo", "beta_whoami", "beta_danger"} <= set(tools), "beta has no rules"
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "alpha_greet" in prompts and "alpha_show_headers" not in prompts and "beta_show_headers" in prompts
        resources = {r.uri for r in (await client.list_resources()).resources}
        assert "alpha+info://server" in {str(u) for u in resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert "alpha+item://{item_id}/data" in templates and "alpha+headers://{tag}" not in templates
        assert "beta+headers://{tag}" in templates


@pytest.mark.anyio
async def test_a_renamed_tool_runs_under_its_new_name_and_hidden_ones_never_reach_the_backend(curated: Gateway) -> None:
    async with Client(curated.url, mode="legacy") as client:
        # The first call of the session goes through the broker (it opens alpha's session),
        # later ones straight to alpha: both planes apply the rules.
        for _ in range(2):
            result = await client.call_tool("alpha_who", {})
            assert result.content[0].text == "alpha", result
        called = await client.call_tool("alpha_called_as", {})
        assert json.loads(called.content[0].text)["name"] == "called_as", called
        before = curated.upstream_requests()
        for hidden in ("alpha_whoami", "alpha_danger", "alpha_headers", "alpha_sleep"):
            with pytest.raises(MCPError) as refused:
                await client.call_tool(hidden, {})
            assert refused.value.error.code == -32602, refused.value.error
            assert "Unknown tool" in refused.value.error.message
        with pytest.raises(MCPError):
            await client.get_prompt("alpha_show_headers", {})
        with pytest.raises(MCPError) as res:
            await client.read_resource("alpha+headers://x")
        assert res.value.error.code == -32002
        after = curated.upstream_requests()
        assert after["alpha"] == before["alpha"], (before, after)
        # beta is not curated.
        assert (await client.call_tool("beta_danger", {})).content[0].text


def test_2026_07_28_requests_obey_the_same_rules(curated: Gateway) -> None:
    def call(name: str, id: int):
        body = {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {**tool_call(name)["params"], "_meta": modern_meta()}}
        return curated.post(body, headers={"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name})

    ok = call("alpha_who", 1)
    assert ok.status_code == 200, ok.text
    assert rpc_message(ok)["result"]["content"][0]["text"] == "alpha"
    for hidden in ("alpha_whoami", "alpha_danger"):
        r = call(hidden, 2)
        assert (r.status_code, rpc_message(r)["error"]["code"]) == (400, -32602), r.text
    listed = curated.post(
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": modern_meta()}},
        headers={"mcp-protocol-version": MODERN, "mcp-method": "tools/list"},
    )
    names = {t["name"] for t in rpc_message(listed)["result"]["tools"]}
    assert {"alpha_who", "alpha_echo"} <= names and not {"alpha_whoami", "alpha_danger"} & names, sorted(names)
    assert json.dumps(rpc_message(listed)).count("Which server answers (renamed)") == 1
