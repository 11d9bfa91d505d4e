"""Every MCP flow end to end with the official Python client, through Envoy + filter + broker,
against session-protocol SDK backends (`session_gateway`): a client session is a gateway token
holding each backend's own session, so server-to-client traffic has somewhere to go back to.

- progress notifications, elicitation (accept and decline) and sampling travel on a routed
  `tools/call` SSE response; the client's answers are POSTed back to the gateway and must reach
  the backend that asked (the filter namespaces those request ids as "<server>:<id>");
- cancellation (`notifications/cancelled`) reaches the backend running the call;
- 1 MB each way, byte-exact; 50 concurrent clients; DELETE ends the session.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client

from conftest import SERVERS, Gateway, rpc_message, tool_call

sys.path.insert(0, str(SERVERS))
from py_backend import blob_text  # noqa: E402

pytestmark = pytest.mark.anyio

# Bounds on waiting only (no test asserts on time).
CALL_DEADLINE_S = 30


def text(result: Any) -> str:
    assert not result.is_error, result
    return result.content[0].text


class SessionCapture:
    """An httpx2 client for the official client's transport that remembers the gateway's
    `Mcp-Session-Id` (the SDK keeps it private) and can add fixed headers."""

    def __init__(self, headers: dict[str, str] | None = None):
        self.session_ids: list[str] = []

        async def on_response(response: httpx2.Response) -> None:
            sid = response.headers.get("mcp-session-id")
            if sid and sid not in self.session_ids:
                self.session_ids.append(sid)

        self.http = httpx2.AsyncClient(headers=headers or {}, event_hooks={"response": [on_response]}, timeout=60)

    @property
    def session_id(self) -> str:
        assert len(self.session_ids) == 1, self.session_ids
        return self.session_ids[0]


# ---- 1. server-to-client flows on a routed call's SSE response -----------------------------


@pytest.mark.parametrize("server", ["alpha", "beta"])
async def test_progress_notifications_reach_the_client(session_gateway: Gateway, server: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(session_gateway.url, mode="legacy") as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            result = await client.call_tool(f"{server}_progress_steps", {"steps": 4}, progress_callback=on_progress)
    assert text(result) == f"{server} did 4 steps"
    assert seen == [(float(i), 4.0, f"{server} step {i}") for i in range(1, 5)]


def elicitation_answering(action: str, answers: list[str]):
    """An elicitation callback that accepts with the next answer, or declines."""

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        answers.append(params.message)
        if action == "accept":
            return types.ElicitResult(action="accept", content={"answer": f"yes to <{params.message}>"})
        return types.ElicitResult(action=action)

    return callback


@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_elicitation_answer_reaches_the_backend_that_asked(session_gateway: Gateway, action: str) -> None:
    messages: list[str] = []
    async with Client(session_gateway.url, mode="legacy", elicitation_callback=elicitation_answering(action, messages)) as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            # Both backends ask in the same session: their request ids (both start at 0 in each
            # backend session) must not collide on the way back.
            a = json.loads(text(await client.call_tool("alpha_ask", {"question": "q1"})))
            b = json.loads(text(await client.call_tool("beta_ask", {"question": "q2"})))
    assert messages == ["alpha asks: q1", "beta asks: q2"]
    if action == "accept":
        assert a == {"server": "alpha", "action": "accept", "answer": "yes to <alpha asks: q1>"}
        assert b == {"server": "beta", "action": "accept", "answer": "yes to <beta asks: q2>"}
    else:
        assert a == {"server": "alpha", "action": "decline", "answer": None}
        assert b == {"server": "beta", "action": "decline", "answer": None}


async def test_concurrent_elicitations_from_two_backends_do_not_cross(session_gateway: Gateway) -> None:
    # Both calls are in flight at once, each waiting on its own elicitation: each answer must
    # go back to the backend (and the call) that asked.
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        await anyio.sleep(0.2)  # keep both requests outstanding together
        return types.ElicitResult(action="accept", content={"answer": params.message.upper()})

    results: dict[str, dict] = {}
    async with Client(session_gateway.url, mode="legacy", elicitation_callback=callback) as client:

        async def call(server: str) -> None:
            results[server] = json.loads(text(await client.call_tool(f"{server}_ask", {"question": f"from {server}"})))

        with anyio.fail_after(CALL_DEADLINE_S):
            async with anyio.create_task_group() as tg:
                for server in ("alpha", "beta"):
                    tg.start_soon(call, server)
    for server in ("alpha", "beta"):
        assert results[server] == {"server": server, "action": "accept", "answer": f"{server.upper()} ASKS: FROM {server.upper()}"}


async def test_sampling_answer_reaches_the_backend_that_asked(session_gateway: Gateway) -> None:
    asked: list[str] = []

    async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        prompt = params.messages[0].content.text
        asked.append(prompt)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=f"reply to {prompt}"), model="test-model"
        )

    async with Client(session_gateway.url, mode="legacy", sampling_callback=sampling) as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            b = json.loads(text(await client.call_tool("beta_sample", {"prompt": "hello"})))
            a = json.loads(text(await client.call_tool("alpha_sample", {"prompt": "hi"})))
    assert asked == ["beta: hello", "alpha: hi"]
    assert b == {"server": "beta", "model": "test-model", "text": "reply to beta: hello"}
    assert a == {"server": "alpha", "model": "test-model", "text": "reply to alpha: hi"}


# ---- 2. cancellation -----------------------------------------------------------------------


# legacy: the filter sends the call straight to beta and notifications/cancelled through the
# broker; auto (2026-07-28): the broker relays the call over a backend session of its own.
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_cancellation_reaches_the_backend(session_gateway: Gateway, mode: str) -> None:
    tag = f"cancel-{mode}-{id(object())}"
    async with Client(session_gateway.url, mode=mode) as client:
        # The official client sends notifications/cancelled when the awaiting task is cancelled.
        with anyio.move_on_after(CALL_DEADLINE_S):
            async with anyio.create_task_group() as tg:

                async def long_call() -> None:
                    await client.call_tool("beta_wait_cancellable", {"tag": tag})

                tg.start_soon(long_call)
                # Wait until the backend is running the call, then cancel it.
                for _ in range(200):
                    seen = json.loads(text(await client.call_tool("beta_cancellations", {"tag": tag})))
                    if seen["started"]:
                        break
                    await anyio.sleep(0.05)
                assert seen["started"], seen
                tg.cancel_scope.cancel()
        # The backend saw the cancellation (it records it when its task is cancelled).
        seen = {}
        for _ in range(200):
            seen = json.loads(text(await client.call_tool("beta_cancellations", {"tag": tag})))
            if seen["cancelled"]:
                break
            await anyio.sleep(0.05)
        assert seen == {"server": "beta", "tag": tag, "started": True, "cancelled": True}
        # The session is still usable afterwards.
        assert text(await client.call_tool("alpha_whoami", {})) == "alpha"


def raw_session(http: httpx2.Client, url: str) -> dict[str, str]:
    """initialize + initialized by hand (legacy protocol); the headers for later requests."""
    init = http.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        },
        headers={"accept": "application/json, text/event-stream"},
    )
    assert init.status_code == 200, init.text
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-session-id": init.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    r = http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert r.status_code in (200, 202), r.text
    return headers


def test_cancelled_notification_alone_cancels_the_call(session_gateway: Gateway) -> None:
    # The call's SSE response stays open the whole time: only notifications/cancelled (which
    # goes through the broker) can have cancelled the backend's task.
    tag = f"raw-cancel-{id(object())}"
    url = session_gateway.url
    with httpx2.Client(timeout=60) as http:
        headers = raw_session(http, url)

        def seen() -> dict:
            r = http.post(url, json=tool_call("alpha_cancellations", {"tag": tag}, id=90), headers=headers)
            return json.loads(rpc_message(r)["result"]["content"][0]["text"])

        with httpx2.Client(timeout=60) as long_http:
            with long_http.stream("POST", url, json=tool_call("alpha_wait_cancellable", {"tag": tag}, id=91), headers=headers) as stream:
                assert stream.status_code == 200
                for _ in range(200):
                    if seen()["started"]:
                        break
                    time.sleep(0.05)
                assert seen()["started"]
                r = http.post(
                    url,
                    json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 91, "reason": "test"}},
                    headers=headers,
                )
                assert r.status_code == 202, r.text
                state = seen()
                for _ in range(200):
                    if state["cancelled"]:
                        break
                    time.sleep(0.05)
                    state = seen()
                assert state == {"server": "alpha", "tag": tag, "started": True, "cancelled": True}


# ---- 3. a megabyte each way ----------------------------------------------------------------

MEGABYTE = 1024 * 1024


async def test_one_megabyte_argument_and_result_byte_exact(session_gateway: Gateway) -> None:
    big = blob_text(MEGABYTE, "argument")
    # The SDK client caps one SSE event at 1 MiB by default; the answer is a bit more than that.
    transport = streamable_http_client(session_gateway.url, max_sse_event_size=None)
    async with Client(transport, mode="legacy") as client:
        with anyio.fail_after(CALL_DEADLINE_S):
            echoed = json.loads(text(await client.call_tool("alpha_echo", {"text": big})))
            result = text(await client.call_tool("beta_blob", {"size": MEGABYTE, "seed": "result"}))
    assert echoed["server"] == "alpha"
    assert len(echoed["text"]) == MEGABYTE and echoed["text"] == big
    assert len(result) == MEGABYTE and result == blob_text(MEGABYTE, "result")


def test_one_megabyte_result_raw_bytes(session_gateway: Gateway) -> None:
    # The same through raw HTTP, comparing the JSON-RPC payload the backend produced.
    with httpx2.Client(timeout=60) as http:
        headers = raw_session(http, session_gateway.url)
        r = session_gateway.post(tool_call("alpha_blob", {"size": MEGABYTE, "seed": "raw"}, id=77), headers)
    assert r.status_code == 200, r.text[:500]
    msg = rpc_message(r)
    assert msg["id"] == 77
    assert msg["result"]["content"][0]["text"].encode() == blob_text(MEGABYTE, "raw").encode()


# ---- 4. fifty clients at once --------------------------------------------------------------


async def test_fifty_concurrent_clients_get_their_own_answers(session_gateway: Gateway) -> None:
    n = 50
    answers: dict[int, dict] = {}
    captures = [SessionCapture() for _ in range(n)]

    async def one(i: int) -> None:
        server = ("alpha", "beta")[i % 2]
        async with captures[i].http:
            async with Client(streamable_http_client(session_gateway.url, http_client=captures[i].http), mode="legacy") as client:
                got = json.loads(text(await client.call_tool(f"{server}_echo", {"text": f"client {i}"})))
                other = ("beta", "alpha")[i % 2]
                again = json.loads(text(await client.call_tool(f"{other}_echo", {"text": f"again {i}"})))
                answers[i] = {"first": got, "second": again, "server": server, "other": other}

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
    assert sorted(answers) == list(range(n))
    for i, a in answers.items():
        assert a["first"] == {"server": a["server"], "text": f"client {i}"}
        assert a["second"] == {"server": a["other"], "text": f"again {i}"}
    sids = [c.session_id for c in captures]
    assert len(set(sids)) == n


# ---- 5. DELETE ends the session ------------------------------------------------------------


async def test_delete_ends_the_session(session_gateway: Gateway) -> None:
    capture = SessionCapture()
    async with capture.http:
        async with Client(streamable_http_client(session_gateway.url, http_client=capture.http), mode="legacy") as client:
            assert text(await client.call_tool("alpha_whoami", {})) == "alpha"
        # Leaving the client sent DELETE with the session id (terminate_on_close).
    sid = capture.session_id
    headers = {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
    r = session_gateway.post(tool_call("alpha_whoami", id=5), headers)
    assert r.status_code == 404, (r.status_code, r.text)
    r = session_gateway.post({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}, headers)
    assert r.status_code == 404, (r.status_code, r.text)


async def test_explicit_delete_then_reuse_is_404(session_gateway: Gateway) -> None:
    # The same by hand: a live session works, DELETE answers 2xx, then the id is dead.
    capture = SessionCapture()
    async with capture.http:
        async with Client(streamable_http_client(session_gateway.url, http_client=capture.http, terminate_on_close=False), mode="legacy") as client:
            assert text(await client.call_tool("beta_whoami", {})) == "beta"
    sid = capture.session_id
    headers = {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
    alive = session_gateway.post(tool_call("beta_whoami", id=7), headers)
    assert alive.status_code == 200 and rpc_message(alive)["result"]["content"][0]["text"] == "beta"
    d = session_gateway.request("DELETE", headers=headers)
    assert d.status_code in (200, 202, 204), (d.status_code, d.text)
    r = session_gateway.post(tool_call("beta_whoami", id=8), headers)
    assert r.status_code == 404, (r.status_code, r.text)
