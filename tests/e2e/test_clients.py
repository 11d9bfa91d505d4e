"""The gateway with layouts of their own (tests/e2e/custom_gateway.py) and clients we did not write.

- a backend killed mid-test: its tools answer an error naming it, the other keeps working;
- identity-bound sessions (`session.subject_header`);
- the MCP Inspector CLI and the official Rust `rmcp` client;
- npm `server-everything` as a backend.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import PYTHON, ROOT, SERVERS, Gateway, Proc, rpc_message, stop_all, tool_call
from custom_gateway import Backend, start_custom_gateway

NODE_DIR = ROOT / "tests" / "node"
EVERYTHING = NODE_DIR / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
LEGACY = "2025-11-25"


def py_backend(name: str, *, stateless: bool = False, **config) -> Backend:
    return Backend(
        name,
        lambda port: [PYTHON, str(SERVERS / "py_backend.py"), name, str(port)] + (["--stateless"] if stateless else []),
        config={"sessionless": stateless, **config},
    )


def text(result) -> str:
    assert not result.is_error, result
    return result.content[0].text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- 6. a backend killed mid-test ----------------------------------------------------------

ALPHA_TIMEOUT_MS = 3000


@pytest.fixture
def fragile_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """alpha with a short `timeout_ms` and `idle_timeout_ms`, beta with the defaults;
    session-protocol backends."""
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(tmp_path, procs, [py_backend("alpha", timeout_ms=ALPHA_TIMEOUT_MS, idle_timeout_ms=ALPHA_TIMEOUT_MS), py_backend("beta")])
    finally:
        stop_all(procs)


def backend_proc(gw: Gateway, name: str) -> Proc:
    return next(p for p in gw.procs if p.name == name)


def raw_session(gw: Gateway) -> dict[str, str]:
    h = {"accept": "application/json, text/event-stream"}
    init = httpx2.post(
        gw.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        },
        headers=h,
        timeout=30,
    )
    assert init.status_code == 200, init.text
    return {**h, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}


@pytest.mark.anyio
async def test_killed_backend_fails_alone(fragile_gateway: Gateway) -> None:
    async with Client(fragile_gateway.url, mode="legacy") as client:
        assert text(await client.call_tool("alpha_whoami", {})) == "alpha"
        alpha = backend_proc(fragile_gateway, "alpha")
        os.killpg(alpha.popen.pid, signal.SIGKILL)
        alpha.popen.wait(10)
        with anyio.fail_after(ALPHA_TIMEOUT_MS / 1000 + 20):  # bounds the wait only
            with pytest.raises(MCPError):
                await client.call_tool("alpha_echo", {"text": "anyone?"})
        # The other backend keeps working, in the same session.
        with anyio.fail_after(30):
            got = json.loads(text(await client.call_tool("beta_echo", {"text": "still here"})))
            names = {t.name for t in (await client.list_tools()).tools}
        assert got == {"server": "beta", "text": "still here"}
        assert "beta_echo" in names


def test_killed_backend_error_is_json_rpc_naming_it(fragile_gateway: Gateway) -> None:
    headers = raw_session(fragile_gateway)
    alpha = backend_proc(fragile_gateway, "alpha")
    os.killpg(alpha.popen.pid, signal.SIGKILL)
    alpha.popen.wait(10)
    r = fragile_gateway.post(tool_call("alpha_echo", {"text": "x"}, id=31), headers)
    assert r.headers.get("content-type", "").startswith(("application/json", "text/event-stream")), (r.status_code, r.text)
    msg = rpc_message(r)
    assert msg["id"] == 31 and "alpha" in json.dumps(msg["error"]), msg
    ok = fragile_gateway.post(tool_call("beta_whoami", id=32), headers)
    assert rpc_message(ok)["result"]["content"][0]["text"] == "beta"


def test_hung_backend_answers_within_its_timeout(fragile_gateway: Gateway) -> None:
    # Frozen (SIGSTOP), not dead: only alpha's idle_timeout_ms (its bound on silence) can end the call.
    headers = raw_session(fragile_gateway)
    alpha = backend_proc(fragile_gateway, "alpha")
    os.killpg(alpha.popen.pid, signal.SIGSTOP)
    try:
        # The client waits idle_timeout_ms + 10 s at most (a bound, not a timing assertion).
        try:
            r = httpx2.post(
                fragile_gateway.url,
                json=tool_call("alpha_echo", {"text": "hello?"}, id=41),
                headers=headers,
                timeout=ALPHA_TIMEOUT_MS / 1000 + 10,
            )
        except httpx2.TimeoutException:
            pytest.fail("no answer from the gateway within alpha's idle_timeout_ms (+10 s)")
        msg = rpc_message(r)
        assert msg["id"] == 41 and "alpha" in json.dumps(msg["error"]), msg
        ok = fragile_gateway.post(tool_call("beta_whoami", id=42), headers)
        assert rpc_message(ok)["result"]["content"][0]["text"] == "beta"
    finally:
        os.killpg(alpha.popen.pid, signal.SIGCONT)


# ---- 7. identity-bound sessions ------------------------------------------------------------


@pytest.fixture
def bound_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """`session.subject_header: x-jwt-sub`. In production Envoy's jwt_authn filter verifies the
    caller's JWT and sets x-jwt-sub from its `sub` claim (claim_to_headers); this test has no
    JWT filter, so the client sets the header itself, standing in for jwt_authn."""
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            tmp_path,
            procs,
            [py_backend("alpha"), py_backend("beta")],
            session={"key_env": "MCPGW_SESSION_KEY", "subject_header": "x-jwt-sub"},
        )
    finally:
        stop_all(procs)


@pytest.mark.anyio
async def test_session_bound_to_its_subject_refuses_another_caller(bound_gateway: Gateway) -> None:
    sids: list[str] = []

    async def on_response(response: httpx2.Response) -> None:
        sid = response.headers.get("mcp-session-id")
        if sid and sid not in sids:
            sids.append(sid)

    async with httpx2.AsyncClient(headers={"x-jwt-sub": "alice"}, event_hooks={"response": [on_response]}) as http:
        transport = streamable_http_client(bound_gateway.url, http_client=http, terminate_on_close=False)
        async with Client(transport, mode="legacy") as client:
            assert text(await client.call_tool("alpha_whoami", {})) == "alpha"
    assert len(sids) == 1, sids
    base = {"mcp-session-id": sids[0], "mcp-protocol-version": LEGACY}
    # alice again: accepted (routed call and broker request).
    ok = bound_gateway.post(tool_call("beta_whoami", id=1), {**base, "x-jwt-sub": "alice"})
    assert ok.status_code == 200 and rpc_message(ok)["result"]["content"][0]["text"] == "beta"
    ok = bound_gateway.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, {**base, "x-jwt-sub": "alice"})
    assert ok.status_code == 200, ok.text
    # mallory with alice's session id, or a caller without identity: 404.
    for who in ({"x-jwt-sub": "mallory"}, {}):
        for body in (tool_call("alpha_whoami", id=3), {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}):
            r = bound_gateway.post(body, {**base, **who})
            assert r.status_code == 404, (who, body["method"], r.status_code, r.text)


# ---- 7b. fewer metadata headers ------------------------------------------------------------


@pytest.fixture
def lean_metadata_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """`metadata.headers: [server]`: what an operator keeps when policies only look at the
    server (each header costs Envoy CPU, benches/README.md)."""
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            tmp_path, procs, [py_backend("alpha"), py_backend("beta")], metadata={"headers": ["server"]}
        )
    finally:
        stop_all(procs)


@pytest.mark.anyio
async def test_only_configured_metadata_headers_reach_the_backend_spoofed_ones_never(lean_metadata_gateway: Gateway) -> None:
    spoofed = {"x-mcp-toolname": "danger", "x-mcp-method": "spoofed/method", "x-mcp-servername": "spoofed"}
    async with httpx2.AsyncClient(headers=spoofed) as http:
        async with Client(streamable_http_client(lean_metadata_gateway.url, http_client=http), mode="legacy") as client:
            seen = json.loads(text(await client.call_tool("alpha_headers", {})))
    assert seen["x-mcp-servername"] == "alpha"
    assert "x-mcp-toolname" not in seen and "x-mcp-method" not in seen, seen
    assert "x-mcp-sessionid" not in seen


# ---- 8a. the MCP Inspector CLI -------------------------------------------------------------


def inspector(url: str, *args: str) -> dict:
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx not found: install Node.js (the Inspector CLI runs on it)")
    r = subprocess.run(
        [npx, "--prefix", str(NODE_DIR), "mcp-inspector", "--cli", url, "--transport", "http", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "npm_config_offline": "true"},
    )
    assert r.returncode == 0, f"inspector failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


@pytest.mark.parametrize("which", ["gateway", "session_gateway"])
def test_inspector_cli_lists_and_calls_prefixed_tools(request: pytest.FixtureRequest, which: str) -> None:
    gw: Gateway = request.getfixturevalue(which)
    listed = inspector(gw.url, "--method", "tools/list")
    names = {t["name"] for t in listed["tools"]}
    assert {"alpha_echo", "beta_echo", "alpha_whoami", "beta_whoami"} <= names
    called = inspector(gw.url, "--method", "tools/call", "--tool-name", "alpha_echo", "--tool-arg", "text=hi")
    assert json.loads(called["content"][0]["text"]) == {"server": "alpha", "text": "hi"}
    called = inspector(gw.url, "--method", "tools/call", "--tool-name", "beta_echo", "--tool-arg", "text=ho")
    assert json.loads(called["content"][0]["text"]) == {"server": "beta", "text": "ho"}


# ---- 9. npm server-everything as a backend -------------------------------------------------


@pytest.fixture(scope="module")
def everything_gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """server-everything (prefix `ev_`, session protocol) next to an SDK backend. It has no
    HOST setting (app.listen(PORT)), so tests/servers/node_loopback.cjs makes it bind 127.0.0.1."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: install Node.js")
    everything = Backend(
        "ev",
        lambda port: [node, "--require", str(SERVERS / "node_loopback.cjs"), str(EVERYTHING), "streamableHttp"],
        port_env="PORT",
        config={"sessionless": False},
    )
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(tmp_path_factory.mktemp(f"everything-{filter_host}"), procs, [everything, py_backend("alpha")])
    finally:
        stop_all(procs)


@pytest.mark.anyio
async def test_server_everything_through_the_gateway(everything_gateway: Gateway) -> None:
    async with Client(everything_gateway.url, mode="legacy") as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"ev_echo", "ev_get-sum", "alpha_echo"} <= tools, tools
        echoed = await client.call_tool("ev_echo", {"message": "through the gateway"})
        assert "through the gateway" in text(echoed)
        total = await client.call_tool("ev_get-sum", {"a": 2, "b": 40})
        assert "42" in text(total)
        assert json.loads(text(await client.call_tool("alpha_echo", {"text": "x"}))) == {"server": "alpha", "text": "x"}

        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"ev_simple-prompt", "ev_args-prompt", "alpha_greet"} <= prompts, prompts
        simple = await client.get_prompt("ev_simple-prompt", {})
        assert simple.messages and simple.messages[0].content.text
        args = await client.get_prompt("ev_args-prompt", {"city": "Lyon"})
        assert "Lyon" in json.dumps([m.content.model_dump() for m in args.messages])

        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        text_template = next(t for t in templates if "resource/dynamic/text/" in t)
        assert text_template.startswith("ev+"), templates
        uri = text_template.replace("{resourceId}", "7")
        read = await client.read_resource(uri)
        assert read.contents and "7" in read.contents[0].text

        resources = (await client.list_resources()).resources
        ev_resources = [r for r in resources if str(r.uri).startswith("ev+")]
        assert ev_resources, [str(r.uri) for r in resources]
        first = await client.read_resource(str(ev_resources[0].uri))
        assert first.contents


# ---- 8b. the official Rust client (rmcp) ---------------------------------------------------


@pytest.fixture(scope="module")
def rmcp_client() -> Path:
    """broker/examples/rmcp_client.rs: rmcp with the broker's pinned version and client features
    (already compiled for the broker's tests, so this build is small; a no-op when up to date)."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo not found")
    r = subprocess.run(
        [cargo, "build", "-q", "-p", "mcpgw-broker", "--example", "rmcp_client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    return ROOT / "target/debug/examples/rmcp_client"


# The `gateway` fixture runs the RBAC example, which denies whoami on beta: the calls below
# avoid it (alpha_whoami), so both fixtures must serve them all.
@pytest.mark.parametrize("which", ["gateway", "session_gateway"])
def test_rmcp_client_lists_and_calls_prefixed_tools(request: pytest.FixtureRequest, rmcp_client: Path, which: str) -> None:
    gw: Gateway = request.getfixturevalue(which)
    r = subprocess.run(
        [str(rmcp_client), gw.url, "alpha_echo=from rust", "beta_echo=also rust", "alpha_whoami="],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"alpha_echo", "beta_echo", "alpha_whoami", "beta_whoami"} <= set(out["tools"])
    assert json.loads(out["calls"]["alpha_echo"]) == {"server": "alpha", "text": "from rust"}
    assert json.loads(out["calls"]["beta_echo"]) == {"server": "beta", "text": "also rust"}
    assert out["calls"]["alpha_whoami"] == "alpha"
