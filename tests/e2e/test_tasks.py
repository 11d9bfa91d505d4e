"""The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) through the gateway: real
Envoy + filter + broker, and two backends of our own on the official Python SDK 2.3.0
(task_backend.py) that mint the same task ids (`t-1`, `t-2`, ...).

A 2026-07-28 client (raw HTTP: the SDK's client has no tasks API) sees every task id as
`"<server>:<id>"`, in the `CreateTaskResult` and in `tasks/get`; its `tasks/get`,
`tasks/update` and `tasks/cancel` go to the server the id names, with the server's own id; a
task id of no configured server is refused by the filter, no backend asked.

Run twice: with backends that are not `sessionless` (every 2026-07-28 call goes through the
broker, whose relay namespaces the ids) and with `sessionless` ones (the filter sends calls that
may be answered with a task, and the task methods, through the broker all the same; the rest
straight to the backend).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import MODERN, PYTHON, Gateway, rpc_message, stop_all
from custom_gateway import Backend, start_custom_gateway

HERE = Path(__file__).resolve().parent
EXTENSION = "io.modelcontextprotocol/tasks"


def task_backend(name: str, sessionless: bool) -> Backend:
    return Backend(name=name, argv=lambda port: [PYTHON, str(HERE / "task_backend.py"), name, str(port)], config={"sessionless": sessionless, "timeout_ms": 30000})


@pytest.fixture(scope="module", params=[False, True], ids=["via-broker", "sessionless"])
def gw(request: pytest.FixtureRequest, filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    procs: list = []
    try:
        backends = [task_backend("alpha", request.param), task_backend("beta", request.param)]
        yield start_custom_gateway(tmp_path_factory.mktemp(f"tasks-{filter_host}"), procs, backends)
    finally:
        stop_all(procs)


def meta(with_tasks: bool = True) -> dict:
    caps: dict[str, Any] = {"extensions": {EXTENSION: {}}} if with_tasks else {}
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "test_tasks", "version": "0"},
    }


def call(gw: Gateway, method: str, params: dict, name: str | None, with_tasks: bool = True) -> dict:
    headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta(with_tasks)}}
    r = gw.post(body, headers=headers)
    msg = rpc_message(r)
    msg["_status"] = r.status_code
    return msg


def tool(gw: Gateway, name: str, arguments: dict, with_tasks: bool = True) -> dict:
    return call(gw, "tools/call", {"name": name, "arguments": arguments}, name, with_tasks)


def task(gw: Gateway, method: str, task_id: str, **extra: Any) -> dict:
    return call(gw, method, {"taskId": task_id, **extra}, task_id)


def until_terminal(gw: Gateway, task_id: str, deadline_s: float = 15) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = task(gw, "tasks/get", task_id)["result"]
        assert got["taskId"] == task_id, got
        if got["status"] in ("completed", "failed", "cancelled"):
            return got
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not settle")


def backend_posts(gw: Gateway) -> int:
    return sum((gw.workdir / f"{n}.log").read_text().count('"POST /mcp') for n in ("alpha", "beta"))


def test_a_sync_tool_creates_no_task(gw: Gateway) -> None:
    r = tool(gw, "alpha_greet", {"name": "World"})["result"]
    assert r["resultType"] == "complete" and "taskId" not in r
    assert r["content"][0]["text"] == "Hello, World!"


def test_created_tasks_are_namespaced_and_polled_to_completion(gw: Gateway) -> None:
    a = tool(gw, "alpha_slow_compute", {"seconds": 0.5, "label": "a"})["result"]
    b = tool(gw, "beta_slow_compute", {"seconds": 0.5, "label": "b"})["result"]
    assert a["resultType"] == b["resultType"] == "task"
    # Both servers count from t-1: only the namespace tells the tasks apart.
    assert a["taskId"].startswith("alpha:t-") and b["taskId"].startswith("beta:t-"), (a, b)
    done_a, done_b = until_terminal(gw, a["taskId"]), until_terminal(gw, b["taskId"])
    assert done_a["status"] == done_b["status"] == "completed"
    assert done_a["result"]["content"][0]["text"] == "alpha computed a"
    assert done_b["result"]["content"][0]["text"] == "beta computed b"


def test_tool_errors_complete_and_protocol_errors_fail(gw: Gateway) -> None:
    failing = until_terminal(gw, tool(gw, "beta_failing_job", {})["result"]["taskId"])
    assert failing["status"] == "completed" and failing["result"]["isError"] is True
    broken = until_terminal(gw, tool(gw, "alpha_protocol_error_job", {})["result"]["taskId"])
    assert broken["status"] == "failed" and isinstance(broken["error"]["code"], int) and "result" not in broken


def test_cancel_reaches_the_owning_server(gw: Gateway) -> None:
    created = tool(gw, "beta_slow_compute", {"seconds": 60, "label": "cancel-me"})["result"]
    task_id = created["taskId"]
    ack = task(gw, "tasks/cancel", task_id)["result"]
    assert ack["resultType"] == "complete" and "taskId" not in ack and "status" not in ack, ack
    assert until_terminal(gw, task_id)["status"] == "cancelled"
    # Idempotent on a terminal task; tasks/update goes to the owner too.
    assert task(gw, "tasks/cancel", task_id)["result"]["resultType"] == "complete"
    assert task(gw, "tasks/update", task_id, inputResponses={})["result"]["resultType"] == "complete"


def test_task_ids_of_no_server_are_refused_without_a_backend_call(gw: Gateway) -> None:
    created = tool(gw, "alpha_slow_compute", {"seconds": 0, "label": "x"})["result"]
    own = created["taskId"].split(":", 1)[1]
    until_terminal(gw, created["taskId"])
    before_backends, before_broker = backend_posts(gw), gw.upstream_requests()["broker"]
    for foreign in (own, f"gamma:{own}", f"alpha_{own}", "alpha:"):
        r = task(gw, "tasks/get", foreign)
        assert r["_status"] == 400 and r["error"]["code"] == -32602, (foreign, r)
        assert "Unknown task" in r["error"]["message"]
    assert backend_posts(gw) == before_backends
    assert gw.upstream_requests()["broker"] == before_broker


def test_a_task_id_of_another_server_is_that_servers(gw: Gateway) -> None:
    # beta never minted this id: beta answers that it does not know it (its own -32602),
    # alpha's task is not touched.
    created = tool(gw, "alpha_slow_compute", {"seconds": 60, "label": "keep"})["result"]
    own = created["taskId"].split(":", 1)[1]
    got = task(gw, "tasks/get", f"beta:{own}-unknown")
    assert got["error"]["code"] == -32602
    assert task(gw, "tasks/get", created["taskId"])["result"]["status"] == "working"
    task(gw, "tasks/cancel", created["taskId"])


def test_without_the_extension_tasks_are_not_created(gw: Gateway) -> None:
    r = tool(gw, "alpha_slow_compute", {"seconds": 0, "label": "sync"}, with_tasks=False)["result"]
    assert r["resultType"] == "complete" and "taskId" not in r
