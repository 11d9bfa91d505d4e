"""Long tool calls and live config changes (issue 11): a call that is alive is never cut, only
silence is bounded (per server, `idle_timeout_ms`), and changing the config leaves in-flight
calls and open GET streams running.

Real `mcp-gateway up`, real Envoy, official Python SDK servers (tests/servers/py_backend.py),
the official Python client and raw HTTP where the test must hold a stream itself."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import PYTHON, SERVERS, Proc, free_port, port_open, random_key, wait_until
from test_cli import start_up

pytestmark = pytest.mark.anyio

ADMIN = re.compile(r"envoy admin (http://\S+)")
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
LEGACY = "2025-11-25"


def server(name: str, port: int, **extra) -> dict:
    return {"name": name, "url": f"http://127.0.0.1:{port}/mcp", "prefix": f"{name}_", **extra}


def start_backends(tmp_path: Path, procs: list[Proc], names: list[str]) -> dict[str, int]:
    ports = {n: free_port() for n in names}
    for n in names:
        procs.append(Proc(n, [PYTHON, str(SERVERS / "py_backend.py"), n, str(ports[n])], tmp_path / f"{n}.log"))
    for n in names:
        wait_until(lambda p=ports[n]: port_open(p), n, procs)
    return ports


def write_config(path: Path, config: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config))
    tmp.replace(path)


def counter(admin: str, name: str) -> int:
    text = httpx.get(f"{admin}/stats?filter=^{re.escape(name)}$", timeout=5).text
    for line in text.splitlines():
        k, _, v = line.partition(": ")
        if k == name:
            return int(v)
    return 0


async def raw_session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    init = await http.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}},
        headers=ACCEPT,
    )
    assert init.status_code == 200, init.text
    headers = {**ACCEPT, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}
    r = await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert r.status_code == 202, r.text
    return headers


def messages(sse_text: str) -> list[dict]:
    out = []
    for line in sse_text.splitlines():
        if line.startswith("data:"):
            try:
                out.append(json.loads(line[5:].strip()))
            except ValueError:
                pass
    return out


async def test_long_calls_run_to_the_end_and_only_silence_is_bounded(tmp_path: Path) -> None:
    procs: list[Proc] = []
    try:
        ports = start_backends(tmp_path, procs, ["alpha", "beta"])
        listen, broker = free_port(), free_port()
        config = {
            "listen": f"127.0.0.1:{listen}",
            "broker": {"listen": f"127.0.0.1:{broker}"},
            # alpha keeps the default bound on silence (minutes); beta allows 10 s of silence
            # (the SDK server's SSE keep-alive comments come every 15 s: they do not save a call
            # that is silent for longer than that).
            "servers": [server("alpha", ports["alpha"]), server("beta", ports["beta"], idle_timeout_ms=10_000)],
            "session": {"key_env": "MCPGW_TEST_KEY"},
        }
        cfg = tmp_path / "gateway.yaml"
        write_config(cfg, config)
        up, url, _ = start_up(tmp_path, ["--config", str(cfg)], env={"MCPGW_TEST_KEY": random_key()})
        procs.append(up)
        admin = ADMIN.search(up.log.read_text()).group(1)

        results: dict[str, object] = {}
        progress: list[float] = []
        beta_progress: list[float] = []

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append(p)

        # A server only reports progress to a client that asked for it (a progress token).
        async def on_beta_progress(p: float, total: float | None, message: str | None) -> None:
            beta_progress.append(p)

        async def silent_beta_call() -> None:
            # A call that says nothing for longer than beta's bound: it must end, not hang.
            async with httpx.AsyncClient(timeout=httpx.Timeout(10 + 40, connect=10)) as http:
                headers = await raw_session(http, url)
                body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "beta_sleep", "arguments": {"seconds": 45}}}
                try:
                    async with http.stream("POST", url, json=body, headers=headers) as r:
                        status = r.status_code
                        text = ""
                        async for chunk in r.aiter_text():
                            text += chunk
                    results["beta_silent"] = ("answered", status, text)
                except (httpx.RemoteProtocolError, httpx.ReadError) as e:
                    results["beta_silent"] = ("reset", 0, repr(e))

        modern_progress: list[float] = []

        async def on_modern_progress(p: float, total: float | None, message: str | None) -> None:
            modern_progress.append(p)

        # Two clients: the session protocol (calls go from the filter straight to the backend)
        # and 2026-07-28 (the backends are session servers, so the broker relays the calls).
        async with Client(url, mode="legacy") as client, Client(url) as modern:
            async def call(key: str, name: str, args: dict, cb=None, via=client) -> None:
                try:
                    r = await via.call_tool(name, args, progress_callback=cb)
                    results[key] = r.content[0].text
                except MCPError as e:
                    results[key] = e

            with anyio.fail_after(90 + 60):  # bounds the wait only
                async with anyio.create_task_group() as tg:
                    # Through the broker: progress keeps a 45 s call alive past beta's 10 s bound,
                    # and a silent one ends with a JSON-RPC error naming beta, in its stream.
                    tg.start_soon(call, "modern_progress", "beta_slow_progress", {"seconds": 45, "every": 5}, on_modern_progress, modern)
                    tg.start_soon(call, "modern_silent", "beta_sleep", {"seconds": 45}, None, modern)
                    # 90 s without a word, within alpha's default bound: not cut.
                    tg.start_soon(call, "alpha_silent", "alpha_sleep", {"seconds": 90})
                    # 90 s with progress: not cut.
                    tg.start_soon(call, "alpha_progress", "alpha_slow_progress", {"seconds": 90, "every": 10}, on_progress)
                    # 45 s on beta, whose bound is 10 s: progress every 5 s keeps it alive.
                    tg.start_soon(call, "beta_progress", "beta_slow_progress", {"seconds": 45, "every": 5}, on_beta_progress)
                    tg.start_soon(silent_beta_call)

        assert results["alpha_silent"] == "alpha slept 90.0"
        assert results["alpha_progress"] == "alpha ran 90.0s with progress"
        assert results["beta_progress"] == "beta ran 45.0s with progress"
        assert len(progress) >= 9 and len(beta_progress) >= 9, (progress, beta_progress)
        assert results["modern_progress"] == "beta ran 45.0s with progress", results["modern_progress"]
        assert len(modern_progress) >= 9, modern_progress
        silent = results["modern_silent"]
        assert isinstance(silent, MCPError), silent
        assert "beta" in str(silent) and "timeout" in str(silent) and "127.0.0.1" not in str(silent), silent
        outcome, status, text = results["beta_silent"]
        assert "beta slept" not in text, "the silent call outlived beta's bound on silence"
        if outcome == "answered" and not text.startswith("event:") and "data:" not in text:
            # No response had started: Envoy's 504 became a JSON-RPC error naming the server.
            msg = json.loads(text)
            assert msg["id"] == 7 and "beta" in msg["error"]["message"] and "127.0.0.1" not in text, text
        elif outcome == "answered" and '"error"' in text and "timeout" in text:
            # The session's first call to beta went through the broker (which opens the
            # session's backend session with beta on first use): the broker bounds silence
            # itself, ending the SSE answer with a JSON-RPC error naming beta.
            assert "beta" in text and "127.0.0.1" not in text, text
        else:
            # The backend's SSE answer had started: Envoy can only reset the stream. It did, and
            # counted it, where a platform team's dashboards look.
            assert counter(admin, "http.mcp_gateway.downstream_rq_idle_timeout") >= 1, (outcome, status, text)
    finally:
        for p in reversed(procs):
            p.stop()


async def test_config_changes_leave_calls_and_streams_running(tmp_path: Path) -> None:
    procs: list[Proc] = []
    try:
        ports = start_backends(tmp_path, procs, ["alpha", "beta", "gamma"])
        listen, broker = free_port(), free_port()
        base = {
            "listen": f"127.0.0.1:{listen}",
            "broker": {"listen": f"127.0.0.1:{broker}"},
            "servers": [server("alpha", ports["alpha"]), server("beta", ports["beta"])],
            "session": {"key_env": "MCPGW_TEST_KEY"},
        }
        cfg = tmp_path / "gateway.yaml"
        write_config(cfg, base)
        up, url, envoy_pid = start_up(tmp_path, ["--config", str(cfg)], env={"MCPGW_TEST_KEY": random_key()})
        procs.append(up)
        admin = ADMIN.search(up.log.read_text()).group(1)
        listeners_before = counter(admin, "listener_manager.lds.update_success")
        applied = "Envoy configuration updated (no restart)"

        stream_events: list[dict] = []
        stream_state = {"open": False, "ended": False}
        call_result: dict[str, str] = {}

        async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10)) as http:
            headers = await raw_session(http, url)

            async def hold_get_stream() -> None:
                get_headers = {k: v for k, v in headers.items() if k != "content-type"}
                get_headers["accept"] = "text/event-stream"
                async with http.stream("GET", url, headers=get_headers) as r:
                    assert r.status_code == 200, await r.aread()
                    stream_state["open"] = True
                    buf = ""
                    async for chunk in r.aiter_text():
                        buf += chunk
                        while "\n\n" in buf:
                            event, buf = buf.split("\n\n", 1)
                            stream_events.extend(messages(event))
                stream_state["ended"] = True

            async def long_call() -> None:
                body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "alpha_sleep", "arguments": {"seconds": 30}}}
                r = await http.post(url, json=body, headers=headers)
                msgs = messages(r.text) if "data:" in r.text else [r.json()]
                call_result["text"] = next((m["result"]["content"][0]["text"] for m in msgs if m.get("id") == 9 and "result" in m), r.text)

            async def change_config() -> None:
                with anyio.fail_after(30):
                    while not stream_state["open"]:
                        await anyio.sleep(0.1)
                await anyio.sleep(1)
                changes = [
                    # another server added...
                    {**base, "servers": [*base["servers"], server("gamma", ports["gamma"])]},
                    # ...another server's limits changed...
                    {**base, "servers": [base["servers"][0], server("beta", ports["beta"], timeout_ms=4000, idle_timeout_ms=60_000),
                                         server("gamma", ports["gamma"])]},
                    # ...and the limits of the server running the call.
                    {**base, "servers": [server("alpha", ports["alpha"], timeout_ms=5000, idle_timeout_ms=120_000),
                                         server("beta", ports["beta"], timeout_ms=4000, idle_timeout_ms=60_000), server("gamma", ports["gamma"])]},
                ]
                for n, c in enumerate(changes, 1):
                    write_config(cfg, c)
                    with anyio.fail_after(30):
                        while up.log.read_text(errors="replace").count(applied) < n:
                            await anyio.sleep(0.2)

            with anyio.fail_after(120):  # bounds the wait only
                async with anyio.create_task_group() as tg:
                    tg.start_soon(hold_get_stream)
                    tg.start_soon(long_call)
                    await change_config()
                    # The call finishes on its own; then the stream must still be there.
                    while "text" not in call_result:
                        await anyio.sleep(0.2)
                    await anyio.sleep(1)
                    assert not stream_state["ended"], "the GET stream was cut by a config change"
                    tg.cancel_scope.cancel()

        assert call_result["text"] == "alpha slept 30.0", call_result
        # The stream that stayed open is the one that carried the news of the change.
        assert any(m.get("method") == "notifications/tools/list_changed" for m in stream_events), stream_events
        # Envoy took routes and filter configuration without replacing its listener (which would
        # have drained the connections), and it is the same Envoy.
        assert counter(admin, "listener_manager.lds.update_success") == listeners_before
        async with Client(url, mode="legacy") as client:
            assert (await client.call_tool("gamma_whoami", {})).content[0].text == "gamma"
        assert str(envoy_pid) in up.log.read_text()
    finally:
        for p in reversed(procs):
            p.stop()
