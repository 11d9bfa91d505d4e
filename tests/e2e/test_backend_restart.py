"""Issue 12, part 1: the same gateway session goes on after a backend restarts.

alpha (a session-protocol SDK server) is killed and started again on the same port, so it
forgets every session it had. Through the real Envoy with the real filter:

- an official Python SDK client on the session protocol (`mode="legacy"`) keeps its session:
  at most one call gets the gateway's "restarted, not run, retry" error (-32030), on the
  direct path (the filter saw alpha's 404 and kept it from the client); the retry and every
  later call work (through the broker, which opened a replacement backend session); lists
  work; beta was never disturbed; no HTTP 404 ever reaches the client;
- a 2026-07-28 client (`Client(url)`) keeps working (the broker serves its alpha calls on
  short-lived backend sessions anyway).

Waits are bounded; nothing asserts on time.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import Gateway, Proc, filter_stat, port_open, rpc_message, stop_all, tool_call, wait_until
from custom_gateway import start_custom_gateway
from test_clients import LEGACY, backend_proc, py_backend, raw_session, text

BACKEND_RESTARTED = -32030


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def restartable_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """Two session-protocol backends (every gateway session holds their own session ids)."""
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(tmp_path, procs, [py_backend("alpha"), py_backend("beta")])
    finally:
        stop_all(procs)


def restart_backend(gw: Gateway, name: str) -> None:
    """SIGKILL the backend's process group, then start it again with the same argv (same port)."""
    old = backend_proc(gw, name)
    os.killpg(old.popen.pid, signal.SIGKILL)
    old.popen.wait(10)
    new = Proc(name, old.argv, gw.workdir / f"{name}.restarted.log")
    gw.procs.remove(old)
    gw.procs.append(new)
    wait_until(lambda: port_open(gw.ports[name]), f"{name} restarted", [new])


def echo(result) -> dict:
    return json.loads(text(result))


@pytest.mark.anyio
async def test_a_session_protocol_client_keeps_its_session_across_a_backend_restart(restartable_gateway: Gateway) -> None:
    gw = restartable_gateway
    statuses: list[tuple[int, str]] = []
    sids: set[str] = set()

    async def on_response(response: httpx2.Response) -> None:
        statuses.append((response.status_code, f"{response.request.method} {response.request.url}"))
        if sid := response.headers.get("mcp-session-id"):
            sids.add(sid)

    async with httpx2.AsyncClient(event_hooks={"response": [on_response]}, timeout=30) as http:
        async with Client(streamable_http_client(gw.url, http_client=http), mode="legacy") as client:
            with anyio.fail_after(60):  # bounds the wait only
                assert echo(await client.call_tool("alpha_echo", {"text": "before"})) == {"server": "alpha", "text": "before"}
                assert echo(await client.call_tool("beta_echo", {"text": "b1"})) == {"server": "beta", "text": "b1"}

            restart_backend(gw, "alpha")

            errors: list[MCPError] = []
            with anyio.fail_after(60):
                for attempt in range(3):
                    try:
                        got = echo(await client.call_tool("alpha_echo", {"text": f"after {attempt}"}))
                        break
                    except MCPError as e:
                        errors.append(e)
                else:
                    pytest.fail(f"alpha never answered again: {[(e.code, e.message) for e in errors]}")
                assert got == {"server": "alpha", "text": f"after {len(errors)}"}
                assert len(errors) <= 1, [(e.code, e.message) for e in errors]
                for e in errors:
                    assert e.code == BACKEND_RESTARTED and "not run" in e.message and "Retry" in e.message, (e.code, e.message)
                # The same session goes on: more calls, lists, the other server.
                assert echo(await client.call_tool("alpha_echo", {"text": "again"})) == {"server": "alpha", "text": "again"}
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"alpha_echo", "beta_echo"} <= names, names
                assert echo(await client.call_tool("beta_echo", {"text": "b2"})) == {"server": "beta", "text": "b2"}
    assert len(sids) == 1, f"one gateway session throughout: {sids}"
    assert all(status != 404 for status, _ in statuses), statuses
    # The broker opened exactly one replacement for alpha, none for beta.
    stats = gw.stats()
    assert stats.get(filter_stat("mcp_gateway.errors.backend_restarted"), 0) <= 1, stats


def test_the_error_is_json_rpc_for_that_one_call_and_later_calls_go_through_the_broker(restartable_gateway: Gateway) -> None:
    gw = restartable_gateway
    headers = raw_session(gw)
    ok = gw.post(tool_call("alpha_echo", {"text": "x"}, id=1), headers)
    assert rpc_message(ok)["result"]["content"][0]["text"] == '{"server": "alpha", "text": "x"}' or "alpha" in ok.text
    restart_backend(gw, "alpha")
    # Direct path: alpha answers 404 for the session it forgot; the filter answers instead.
    r = gw.post(tool_call("alpha_echo", {"text": "y"}, id=2), headers)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    msg = r.json()
    assert msg["id"] == 2 and msg["error"]["code"] == BACKEND_RESTARTED, msg
    assert "alpha" in msg["error"]["message"], msg
    # The next calls go to the broker (stale mark) and work on the replacement session.
    before = gw.stats().get(filter_stat("mcp_gateway.broker"), 0)
    r = gw.post(tool_call("alpha_echo", {"text": "z"}, id=3), headers)
    assert r.status_code == 200, (r.status_code, r.text)
    assert json.loads(rpc_message(r)["result"]["content"][0]["text"]) == {"server": "alpha", "text": "z"}
    assert gw.stats().get(filter_stat("mcp_gateway.broker"), 0) > before
    # beta is still reached straight, with the token's session.
    r = gw.post(tool_call("beta_whoami", id=4), headers)
    assert rpc_message(r)["result"]["content"][0]["text"] == "beta"
    lst = gw.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}, headers)
    names = {t["name"] for t in rpc_message(lst)["result"]["tools"]}
    assert {"alpha_echo", "beta_echo"} <= names


@pytest.mark.anyio
async def test_a_2026_07_28_client_keeps_working_across_a_backend_restart(restartable_gateway: Gateway) -> None:
    gw = restartable_gateway
    statuses: list[int] = []

    async def on_response(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async with httpx2.AsyncClient(event_hooks={"response": [on_response]}, timeout=30) as http:
        async with Client(streamable_http_client(gw.url, http_client=http)) as client:
            with anyio.fail_after(60):
                assert echo(await client.call_tool("alpha_echo", {"text": "before"})) == {"server": "alpha", "text": "before"}
            restart_backend(gw, "alpha")
            with anyio.fail_after(60):
                assert echo(await client.call_tool("alpha_echo", {"text": "after"})) == {"server": "alpha", "text": "after"}
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"alpha_echo", "beta_echo"} <= names
                assert echo(await client.call_tool("beta_echo", {"text": "b"})) == {"server": "beta", "text": "b"}
    assert 404 not in statuses, statuses
