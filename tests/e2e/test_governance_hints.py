"""Tool annotations as policy facts (issue 16, item 4), through the real Envoy and filter (each
build), the real broker and py_backend's annotated tools (`read_notes` read-only, `wipe_notes`
destructive, `append_note` neither, `tidy_notes` claiming read-only).

Every tools/call carries its tool's hints: header `x-mcp-toolhints`, filter state
`wasm.mcp_gateway.tool_hints`, native build also dynamic metadata `mcp_gateway:tool_hints`;
from the config's annotations, else what the backend declared (learnt by the broker, handed to
the filter by `mcp-gateway up`), else MCP's defaults. An RBAC rule on them
(envoy-configs/rbac-deny-destructive.yaml) refuses destructive tools before any backend, with a
JSON-RPC error."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import MCP_HEADERS, MODERN, PYTHON, ROOT, SERVERS, Gateway, Proc, envoy_render, free_port, modern_meta, port_open, random_key, rpc_message, stop_all, wait_until
from custom_gateway import Backend, py_backend, start_custom_gateway
from test_cli import alive, descendants, start_up

RBAC = ROOT / "envoy-configs" / "rbac-deny-destructive.yaml"
# The operator's word on two tools: read_notes is harmless, tidy_notes is not (whatever it says).
ANNOTATED = {
    "tools": {
        "overrides": {
            "read_notes": {"annotations": {"readOnlyHint": True, "openWorldHint": False}},
            "tidy_notes": {"annotations": {"destructiveHint": True}},
        }
    }
}
DEFAULTS = "destructive,open-world,source=default"
IDS = itertools.count(7000)


def modern_call(base_url: str, tool: str) -> tuple[int, httpx.Response]:
    """A 2026-07-28 tools/call (no session): straight to a `sessionless` backend, through the
    broker to the others. Returns its id and the response."""
    id = next(IDS)
    body = {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}, "_meta": modern_meta()}}
    headers = {**MCP_HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool}
    return id, httpx.post(base_url, content=json.dumps(body), headers=headers, timeout=30)


def backend(name: str, stateless: bool) -> Backend:
    return py_backend(name, stateless, **ANNOTATED)


@pytest.fixture(scope="module")
def guarded(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """alpha (session protocol: a 2026-07-28 call goes through the broker) and beta
    (sessionless: straight to it), both behind the "no destructive tools" RBAC rule. No `up`
    here: nothing is learnt, so only the config's annotations and the defaults apply."""
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            tmp_path_factory.mktemp(f"hints-{filter_host}"), procs, [backend("alpha", False), backend("beta", True)], http_filters=RBAC
        )
    finally:
        stop_all(procs)


def facts(gw: Gateway, id: int) -> dict[str, Any]:
    entry = gw.wait_access_entry(lambda e: e.get("fs_id") == str(id))
    # The three ways of reading the fact agree (dynamic metadata: native build only).
    assert entry["mcp_tool_hints"] == entry["fs_tool_hints"], entry
    if gw.host == "native":
        assert entry["dm_tool_hints"] == entry["fs_tool_hints"], entry
    return entry


@pytest.mark.parametrize("server, upstream", [("beta", "beta"), ("alpha", "broker")])
def test_a_read_only_tool_passes_with_its_facts(guarded: Gateway, server: str, upstream: str) -> None:
    id, r = modern_call(guarded.url, f"{server}_read_notes")
    assert r.status_code == 200, r.text
    seen = json.loads(rpc_message(r)["result"]["content"][0]["text"])
    want = "read-only,idempotent,source=config"
    if upstream == server:
        assert seen["hints"] == want, "the backend sees the header the filter set"
    entry = facts(guarded, id)
    assert (entry["fs_tool_hints"], entry["upstream"], entry["status"]) == (want, upstream, 200), entry


@pytest.mark.parametrize("server, upstream", [("beta", "beta"), ("alpha", "broker")])
@pytest.mark.parametrize("tool, want", [("tidy_notes", "destructive,open-world,source=config"), ("append_note", DEFAULTS)])
def test_destructive_tools_are_refused_before_any_backend(guarded: Gateway, server: str, upstream: str, tool: str, want: str) -> None:
    # tidy_notes declares itself read-only: the config says otherwise, and wins. append_note is
    # not annotated in the config and nothing was learnt: the defaults, which fail closed.
    before = guarded.upstream_requests()
    id, r = modern_call(guarded.url, f"{server}_{tool}")
    assert r.status_code == 403, r.text
    error = r.json()
    assert error["id"] == id and error["error"]["code"] == -32600, error
    assert f'MCP server "{server}"' in error["error"]["message"] and "no-destructive-tools" not in r.text, error
    assert guarded.upstream_requests() == before, "no backend (nor the broker) saw the call"
    entry = facts(guarded, id)
    assert entry["fs_tool_hints"] == want, entry
    assert "no-destructive-tools" in (entry["details"] or ""), entry


def test_a_client_cannot_declare_a_tool_harmless(guarded: Gateway) -> None:
    before = guarded.upstream_requests()
    id = next(IDS)
    forged = {"x-mcp-toolhints": "read-only,idempotent,source=config"}
    r = guarded.post({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "beta_wipe_notes", "arguments": {}, "_meta": modern_meta()}},
                     headers={**forged, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "beta_wipe_notes"})
    assert r.status_code == 403, r.text
    assert guarded.upstream_requests() == before
    assert facts(guarded, id)["fs_tool_hints"] == DEFAULTS


# ---- the learning loop: mcp-gateway up, the broker's lists, ECDS -------------------------------


def test_hints_a_backend_declares_reach_the_facts_without_a_restart(filter_host: str, tmp_path: Path) -> None:
    ports = {n: free_port() for n in ("beta", "listen", "broker")}
    procs: list[Proc] = []
    try:
        procs.append(Proc("beta", [PYTHON, str(SERVERS / "py_backend.py"), "beta", str(ports["beta"]), "--stateless"], tmp_path / "beta.log"))
        wait_until(lambda: port_open(ports["beta"]), "beta", procs)
        config = envoy_render.gateway_config(
            listen=("127.0.0.1", ports["listen"]),
            broker=("127.0.0.1", ports["broker"]),
            servers=[{"name": "beta", "url": f"http://127.0.0.1:{ports['beta']}/mcp", "prefix": "beta_", "sessionless": True, **ANNOTATED}],
        )
        path = tmp_path / "gateway.yaml"
        path.write_text(json.dumps(config, indent=2))
        up, url, envoy_pid = start_up(tmp_path, ["--config", str(path), "--filter", filter_host], env={"MCPGW_SESSION_KEY": random_key()})
        procs.append(up)

        def seen(tool: str) -> str | None:
            _, r = modern_call(url, f"beta_{tool}")
            assert r.status_code == 200, r.text
            return json.loads(rpc_message(r)["result"]["content"][0]["text"])["hints"]

        # Nothing listed yet: the defaults, except where the config speaks.
        assert seen("wipe_notes") == DEFAULTS
        assert seen("read_notes") == "read-only,idempotent,source=config"

        # A list through the gateway: the broker learns what beta declares, `up` hands it over.
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": modern_meta()}}
        headers = {**MCP_HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/list"}
        listed = rpc_message(httpx.post(url, content=json.dumps(body), headers=headers, timeout=30))
        tidy = next(t for t in listed["result"]["tools"] if t["name"] == "beta_tidy_notes")
        assert tidy["annotations"] == {"destructiveHint": True}, "listed with the hints the gateway enforces"
        deadline = time.monotonic() + 30
        while seen("wipe_notes") != "destructive,open-world,source=backend":
            assert time.monotonic() < deadline, "the learnt hints never reached the filter: " + up.log.read_text(errors="replace")[-2000:]
            time.sleep(0.2)
        assert seen("append_note") == "source=backend"
        assert seen("tidy_notes") == "destructive,open-world,source=config", "the config beats what the backend claims"
        assert seen("read_notes") == "read-only,idempotent,source=config"
        assert "tool hints learnt by the broker handed to the filter (no restart)" in up.log.read_text(errors="replace")
        assert alive(envoy_pid) and envoy_pid in descendants(up.popen.pid), "one Envoy all along"
    finally:
        for p in reversed(procs):
            p.stop()
