"""Issue 12, part 2: sessions cost what they use.

Three session-protocol SDK servers behind the real Envoy, filter and broker. A client session
(official Python SDK client) that uses only alpha opens exactly one backend session, on
alpha, on its first call (through the broker); `initialize` opened none (the broker answered
it from its per-server probe cache). The later calls go straight from Envoy to alpha: Envoy's
`upstream_rq_total` grows for alpha's cluster and not for the broker's. Each backend reports
the sessions it holds on `GET /sessions` (plain HTTP, tests/servers/py_backend.py).

A 2026-07-28 client has no gateway session: the broker serves its calls to session-protocol
backends on throwaway backend sessions, so none is left open anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import httpx2
import pytest
from mcp import Client

from conftest import Gateway, Proc, stop_all
from custom_gateway import start_custom_gateway
from test_clients import py_backend, text

SERVERS = ("alpha", "beta", "gamma")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def three_servers(tmp_path: Path) -> Iterator[Gateway]:
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(tmp_path, procs, [py_backend(name) for name in SERVERS])
    finally:
        stop_all(procs)


def live_sessions(gw: Gateway) -> dict[str, int]:
    return {n: httpx2.get(f"http://127.0.0.1:{gw.ports[n]}/sessions", timeout=10).json()["live"] for n in SERVERS}


def upstream(gw: Gateway) -> dict[str, int]:
    s = gw.stats()
    return {c: s.get(f"cluster.{c}.upstream_rq_total", 0) for c in (*SERVERS, "broker")}


@pytest.mark.anyio
async def test_a_session_that_uses_one_of_three_servers_opens_one_backend_session(three_servers: Gateway) -> None:
    gw = three_servers
    before = live_sessions(gw)
    async with Client(gw.url, mode="legacy") as client:
        # initialize opened nothing anywhere (the capabilities still came back).
        assert live_sessions(gw) == before
        assert client.server_capabilities.tools is not None
        got = json.loads(text(await client.call_tool("alpha_echo", {"text": "first"})))
        assert got == {"server": "alpha", "text": "first"}
        opened = live_sessions(gw)
        assert opened == {**before, "alpha": before["alpha"] + 1}, (before, opened)

        # Later calls go straight to alpha: the broker sees none of them.
        start = upstream(gw)
        for i in range(5):
            assert json.loads(text(await client.call_tool("alpha_echo", {"text": str(i)})))["text"] == str(i)
        end = upstream(gw)
        assert end["alpha"] - start["alpha"] == 5, (start, end)
        assert end["broker"] == start["broker"], (start, end)
        assert live_sessions(gw) == opened, "no second backend session"

        # A second server used later: one more backend session there, none on the third.
        assert json.loads(text(await client.call_tool("beta_echo", {"text": "b"})))["server"] == "beta"
        now = live_sessions(gw)
        assert now == {**opened, "beta": opened["beta"] + 1}, (opened, now)
    # The client's DELETE ends the backend sessions the session opened.
    assert live_sessions(gw) == before


@pytest.mark.anyio
async def test_a_2026_07_28_client_leaves_no_backend_session_open(three_servers: Gateway) -> None:
    gw = three_servers
    before = live_sessions(gw)
    async with Client(gw.url) as client:
        assert client.protocol_version == "2026-07-28"
        for i in range(3):
            got = json.loads(text(await client.call_tool("alpha_echo", {"text": str(i)})))
            assert got == {"server": "alpha", "text": str(i)}
        assert live_sessions(gw) == before
