"""Issue 14, item 3: `roots/list` end to end, server -> client, through Envoy + filter + broker.

The official MCP Python SDK client (session protocol, 2025-11-25, `mode="legacy"`) declares
the roots capability with a `list_roots` callback; two session-protocol SDK backends
(tests/e2e/roots_server.py) sit behind the gateway under different prefixes, `alpha_` and
`beta_`, and ask for the roots:

1. inside a tool call: the request travels on the call's SSE response, its id namespaced as
   "<server>:<id>" (by the broker on the session's first call to a server, which it relays
   while opening the backend session; by the filter on later calls, routed straight to the
   backend); the client's answer is POSTed back and must reach the server that asked. Both
   backends ask at once with the same raw id (each counts its own requests in its session),
   so only the namespacing keeps the answers apart;
2. outside any call, on the backend's standalone GET stream, fanned into the client's GET
   stream by the broker (ids namespaced there by the broker): once on a timer after a call has
   returned, and on `notifications/roots/list_changed`, which the client sends after changing
   its roots: each backend of the session hears of it, asks again and gets the new list.

Every backend records the roots it received (tool `roots_seen`, called through the gateway);
each test tags its root URIs so its records can be told from other tests' on the shared
backends. Envoy's access log (by the public gateway session id the backends are given) shows
where each call and each of the client's answers went.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import anyio
import pytest
from mcp import Client, types

from conftest import PYTHON, Gateway, Proc, stop_all
from custom_gateway import Backend, start_custom_gateway

# Roots are deprecated as of 2026-07-28 (SEP-2577); the session protocol still has them.
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]

SERVER_SCRIPT = Path(__file__).resolve().parent / "roots_server.py"
SERVERS = ("alpha", "beta")
# Bounds on waiting only (no test asserts on time).
CALL_DEADLINE_S = 30
SEEN_DEADLINE_S = 40


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def roots_gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    procs: list[Proc] = []
    workdir = tmp_path_factory.mktemp(f"roots-gateway-{filter_host}")
    backends = [
        Backend(name, lambda port, n=name: [PYTHON, str(SERVER_SCRIPT), n, str(port)], config={"sessionless": False})
        for name in SERVERS
    ]
    try:
        yield start_custom_gateway(workdir, procs, backends)
    finally:
        stop_all(procs)


class Roots:
    """The client's roots (mutable) and the `list_roots` callback serving them; records the
    request ids the client saw, as the gateway delivered them."""

    def __init__(self, tag: str):
        self.tag = tag
        self.uris = [f"file:///work/{tag}/one", f"file:///work/{tag}/two"]
        self.request_ids: list[Any] = []

    async def callback(self, context: Any) -> types.ListRootsResult:
        self.request_ids.append(context.request_id)
        return types.ListRootsResult(
            roots=[types.Root(uri=u, name=u.rsplit("/", 1)[-1]) for u in self.uris]
        )

    def change(self) -> None:
        self.uris = [f"file:///work/{self.tag}/three", f"file:///work/{self.tag}/four", f"file:///work/{self.tag}/five"]


def text(result: Any) -> str:
    assert not result.is_error, result
    return result.content[0].text


async def seen(client: Client, server: str) -> list[dict]:
    return json.loads(text(await client.call_tool(f"{server}_roots_seen", {})))


async def wait_seen(client: Client, server: str, match: Any, what: str, after: int = 0) -> dict:
    """The first record of `server` (from index `after` on) that `match` accepts, polling
    through the gateway."""
    records: list[dict] = []
    with anyio.move_on_after(SEEN_DEADLINE_S):
        while True:
            records = await seen(client, server)
            for r in records[after:]:
                if match(r):
                    return r
            await anyio.sleep(0.2)
    raise AssertionError(f"{server}: {what} never recorded; its records: {records}")


def mine(tag: str):
    """Records whose roots belong to this test (a failed ask records an error instead)."""
    return lambda r: any(f"/{tag}/" in u for u in r.get("roots", [])) or (r.get("tag") == tag and "error" in r)


def access_entries(gw: Gateway, session: str, match: Any, count: int) -> list[dict]:
    """This gateway session's access log entries that `match` accepts, once there are `count`
    (Envoy flushes its log every 50 ms)."""
    found: list[dict] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [e for e in gw.access_entries() if e.get("fs_session") == session and match(e)]
        if len(found) >= count:
            break
        time.sleep(0.1)
    return found


def assert_answers_routed(gw: Gateway, session: str, ids: list[Any]) -> None:
    """Each of the client's answers (to the requests it saw as `ids`, "<server>:<raw id>")
    was POSTed back and sent to the server named in its id, which accepted it (202)."""
    answers = access_entries(gw, session, lambda e: e.get("fs_method") is None and e.get("fs_id"), len(ids))
    routed = sorted((json.loads(e["fs_id"]), e["upstream"], e["status"]) for e in answers)
    expected = sorted((str(i), str(i).split(":", 1)[0], 202) for i in ids)
    assert routed == expected, answers


async def test_roots_list_inside_a_call_reaches_each_server_that_asked(roots_gateway: Gateway) -> None:
    tag = f"incall-{uuid.uuid4().hex[:8]}"
    roots = Roots(tag)
    rounds: list[dict[str, dict]] = []
    async with Client(roots_gateway.url, mode="legacy", list_roots_callback=roots.callback) as client:

        async def call(server: str, results: dict[str, dict]) -> None:
            results[server] = json.loads(text(await client.call_tool(f"{server}_roots_in_call", {"tag": tag})))

        async def both() -> dict[str, dict]:
            # Both in flight at once, each backend asking with the same raw request id.
            results: dict[str, dict] = {}
            with anyio.fail_after(CALL_DEADLINE_S):
                async with anyio.create_task_group() as tg:
                    for server in SERVERS:
                        tg.start_soon(call, server, results)
            return results

        # Round 1: the session's first use of each server; the broker opens the backend
        # session and relays the call (and its SSE answer). Round 2: the filter routes the
        # call straight to the backend and namespaces the request on the backend's SSE answer.
        first_uris = list(roots.uris)
        rounds.append(await both())
        first_ids = list(roots.request_ids)
        roots.change()
        rounds.append(await both())
        second_ids = roots.request_ids[len(first_ids) :]
    for results, uris in zip(rounds, (first_uris, roots.uris)):
        for server in SERVERS:
            got = results[server]
            assert {k: got[k] for k in ("server", "tag", "roots")} == {"server": server, "tag": tag, "roots": uris}, results
    assert len(first_uris) == 2
    session = rounds[0]["alpha"]["gateway_session"]
    assert session and all(r[s]["gateway_session"] == session for r in rounds for s in SERVERS), rounds
    # The client saw each request under its server's name, "<server>:<raw id>", the raw ids
    # of a round being the same (each backend counts its own requests in its session).
    for ids in (first_ids, second_ids):
        ids = sorted(str(i) for i in ids)
        assert [i.split(":", 1)[0] for i in ids] == list(SERVERS), (first_ids, second_ids)
        assert ids[0].split(":", 1)[1] == ids[1].split(":", 1)[1], (first_ids, second_ids)
    # Where each call and each answer went (Envoy's access log of this gateway session).
    calls = access_entries(roots_gateway, session, lambda e: e.get("fs_tool") == "roots_in_call", 4)
    assert sorted(e["upstream"] for e in calls) == ["alpha", "beta", "broker", "broker"], calls
    assert_answers_routed(roots_gateway, session, first_ids + second_ids)


async def test_roots_list_on_the_get_stream_after_a_call(roots_gateway: Gateway) -> None:
    tag = f"timer-{uuid.uuid4().hex[:8]}"
    roots = Roots(tag)
    async with Client(roots_gateway.url, mode="legacy", list_roots_callback=roots.callback) as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            # The call opens each backend session (the broker attaches its GET stream to the
            # client's); the backend asks later, after the call has returned, on that stream.
            for server in SERVERS:
                assert "will ask" in text(await client.call_tool(f"{server}_ask_roots_later", {"tag": tag, "delay": 0.5}))
        for server in SERVERS:
            got = await wait_seen(client, server, mine(tag), f"roots of {tag}")
            assert got == {"server": server, "trigger": "timer", "tag": tag, "roots": roots.uris}, got
        session = text(await client.call_tool("alpha_gateway_session", {}))
    # The requests came on the client's GET stream, namespaced by the broker; the answers
    # went back to the server that asked.
    assert sorted(str(i).split(":", 1)[0] for i in roots.request_ids) == list(SERVERS), roots.request_ids
    assert_answers_routed(roots_gateway, session, roots.request_ids)


async def test_roots_list_changed_makes_every_server_of_the_session_ask_again(roots_gateway: Gateway) -> None:
    tag = f"changed-{uuid.uuid4().hex[:8]}"
    roots = Roots(tag)
    async with Client(roots_gateway.url, mode="legacy", list_roots_callback=roots.callback) as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            # Both servers join the session and learn the first roots inside a call.
            for server in SERVERS:
                first = json.loads(text(await client.call_tool(f"{server}_roots_in_call", {"tag": tag})))
                assert first["roots"] == roots.uris, first
        session = first["gateway_session"]
        asked_in_calls = len(roots.request_ids)
        before = {s: len(await seen(client, s)) for s in SERVERS}
        roots.change()
        await client.send_roots_list_changed()
        for server in SERVERS:
            # The first list_changed record after the change (this session is the only one
            # that sent a list_changed meanwhile): the new roots, or the ask's error.
            new = await wait_seen(
                client,
                server,
                lambda r: r["trigger"] == "list_changed",
                f"an ask after roots/list_changed ({tag})",
                after=before[server],
            )
            assert new == {"server": server, "trigger": "list_changed", "tag": None, "roots": roots.uris}, new
    # The notification reached the broker, which told both backend sessions; both asked again
    # on the GET stream (namespaced), and each answer went to the server that asked.
    notified = access_entries(roots_gateway, session, lambda e: e.get("fs_method") == "notifications/roots/list_changed", 1)
    assert [(e["upstream"], e["status"]) for e in notified] == [("broker", 202)], notified
    asked_again = roots.request_ids[asked_in_calls:]
    assert sorted({str(i).split(":", 1)[0] for i in asked_again}) == list(SERVERS), roots.request_ids
    assert_answers_routed(roots_gateway, session, roots.request_ids)
