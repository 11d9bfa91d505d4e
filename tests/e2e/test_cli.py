"""The product entry point, `mcp-gateway`, as a user runs it: real processes, the official
Python client. `up` runs the broker in-process and Envoy as a child; with no --config it also
runs two bundled demo servers whose tool names clash (echo, add, now)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import ENVOY, PYTHON, ROOT, SERVERS, WASM, Proc, envoy_render, free_port, log_tail, port_open, random_key, wait_until

pytestmark = pytest.mark.anyio

READY = re.compile(r"MCP gateway ready: (http://\S+)")
ENVOY_PID = re.compile(r"envoy admin http://\S+ \(pid (\d+)\)")


def gateway_bin() -> Path:
    return envoy_render.gateway_binary()


def start_up(tmp_path: Path, args: list[str], env: dict[str, str] | None = None, name: str = "up") -> tuple[Proc, str, int]:
    """Starts `mcp-gateway up ARGS`; returns the process, the endpoint it printed and Envoy's pid."""
    env = {"MCPGW_WASM": str(WASM), "RUST_LOG": "info", **(env or {})}
    proc = Proc(name, [str(gateway_bin()), "up", *args], tmp_path / f"{name}.log", env=env)
    found: dict[str, str] = {}

    def ready() -> bool:
        text = proc.log.read_text(errors="replace")
        m, p = READY.search(text), ENVOY_PID.search(text)
        if m and p:
            found["url"], found["pid"] = m.group(1), p.group(1)
            return True
        return False

    try:
        wait_until(ready, "mcp-gateway up", [proc])
    except Exception:
        proc.stop()
        raise
    return proc, found["url"], int(found["pid"])


def descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in out:
                    out.add(k)
                    todo.append(k)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
    except OSError:
        return False
    return state != "Z"


def tool_names(result) -> set[str]:
    return {t.name for t in result.tools}


def first_text(result) -> str:
    assert not result.is_error, result
    return result.content[0].text


async def test_up_with_the_embedded_default_serves_prefixed_clashing_tools_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    listen = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MCPGW_SESSION_KEY"}
    os.environ.pop("MCPGW_SESSION_KEY", None)
    proc, url, envoy_pid = start_up(tmp_path, ["--listen", f"127.0.0.1:{listen}"], env=env)
    try:
        banner = proc.log.read_text()
        assert url == f"http://127.0.0.1:{listen}/mcp"
        assert "generated for this run" in banner  # no MCPGW_SESSION_KEY: a random key, said so
        demo_ports = [int(p) for p in re.findall(r"^\s+\w+ http://127\.0\.0\.1:(\d+)/mcp$", banner, re.M)]
        assert len(demo_ports) == 2, banner
        for mode in ("auto", "legacy"):
            async with Client(url, mode=mode) as client:
                names = tool_names(await client.list_tools())
                clashing = {f"{s}_{t}" for s in ("weather", "clock") for t in ("echo", "add", "now")}
                assert clashing <= names, names
                assert first_text(await client.call_tool("weather_echo", {"text": "hi"})) == "weather: hi"
                assert first_text(await client.call_tool("clock_add", {"a": 2, "b": 3})) == "clock: 5"
                assert first_text(await client.call_tool("clock_now", {})).startswith("clock: 20")
        children = descendants(proc.popen.pid)
        assert envoy_pid in children, (envoy_pid, children)
        # Ctrl-C: everything stops, nothing is left behind.
        os.kill(proc.popen.pid, signal.SIGINT)
        assert proc.popen.wait(30) == 0, log_tail(proc.log)
        wait_until(lambda: not any(alive(p) for p in children | {envoy_pid}), "children gone after Ctrl-C", [], deadline_s=10)
        for port in [listen, *demo_ports]:
            assert not port_open(port), f"port {port} still open after Ctrl-C"
        assert "stopping" in proc.log.read_text()
    finally:
        proc.stop()


def test_render_output_passes_envoy_validate(tmp_path: Path) -> None:
    env = {**os.environ, "MCPGW_SESSION_KEY": random_key()}
    static = subprocess.run([str(gateway_bin()), "render", "--wasm", str(WASM)], env=env, capture_output=True, text=True, timeout=60)
    assert static.returncode == 0, static.stderr
    (tmp_path / "static.yaml").write_text(static.stdout)
    out = tmp_path / "dynamic"
    dyn = subprocess.run([str(gateway_bin()), "render", "--wasm", str(WASM), "--out", str(out)], env=env, capture_output=True, text=True, timeout=60)
    assert dyn.returncode == 0, dyn.stderr
    assert {p.name for p in out.iterdir()} >= {"envoy.yaml", "lds.yaml", "cds.yaml"}
    for config in (tmp_path / "static.yaml", out / "envoy.yaml"):
        # The filter's VM reads the session keys from Envoy's environment (host_env_keys).
        r = subprocess.run([str(ENVOY), "--mode", "validate", "-c", str(config)], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "OK" in r.stdout + r.stderr
    # The dynamic set's listener and clusters are Envoy resources of the right types.
    lds = out / "lds.yaml"
    assert "type.googleapis.com/envoy.config.listener.v3.Listener" in lds.read_text()
    assert "type.googleapis.com/envoy.config.cluster.v3.Cluster" in (out / "cds.yaml").read_text()


def write_atomically(path: Path, config: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, path)


async def wait_for_tools(url: str, want: set[str], unwanted: set[str]) -> set[str]:
    deadline = time.monotonic() + 30
    while True:
        async with Client(url) as client:
            names = tool_names(await client.list_tools())
        if want <= names and not (unwanted & names):
            return names
        if time.monotonic() > deadline:
            raise AssertionError(f"tools never became {want} without {unwanted}: {names}")
        time.sleep(0.3)


async def test_config_change_is_applied_without_restarting_envoy(tmp_path: Path) -> None:
    ports = {n: free_port() for n in ("alpha", "beta", "listen", "broker")}
    procs: list[Proc] = []
    try:
        for name in ("alpha", "beta"):
            procs.append(Proc(name, [PYTHON, str(SERVERS / "py_backend.py"), name, str(ports[name]), "--stateless"], tmp_path / f"{name}.log"))
        for name in ("alpha", "beta"):
            wait_until(lambda n=name: port_open(ports[n]), name, procs)
        full = envoy_render.gateway_config(
            listen=("127.0.0.1", ports["listen"]),
            broker=("127.0.0.1", ports["broker"]),
            alpha=("127.0.0.1", ports["alpha"]),
            beta=("127.0.0.1", ports["beta"]),
        )
        only_alpha = {**full, "servers": [s for s in full["servers"] if s["name"] == "alpha"]}
        only_beta = {**full, "servers": [s for s in full["servers"] if s["name"] == "beta"]}
        config = tmp_path / "gateway.yaml"
        write_atomically(config, only_alpha)
        up, url, envoy_pid = start_up(tmp_path, ["--config", str(config)], env={"MCPGW_SESSION_KEY": random_key()})
        procs.append(up)
        names = await wait_for_tools(url, {"alpha_echo"}, set())
        assert not any(n.startswith("beta_") for n in names)

        def envoy_updated(n: int) -> None:
            # The broker and Envoy each apply the change within a few seconds; `up` logs when
            # Envoy took the new listener and clusters.
            line = "Envoy configuration updated (no restart)"
            wait_until(lambda: up.log.read_text(errors="replace").count(line) >= n, f"Envoy update #{n}", [up])

        # Add a server.
        write_atomically(config, full)
        envoy_updated(1)
        await wait_for_tools(url, {"alpha_echo", "beta_echo"}, set())
        async with Client(url) as client:
            assert json.loads(first_text(await client.call_tool("beta_echo", {"text": "new"}))) == {"server": "beta", "text": "new"}
            assert json.loads(first_text(await client.call_tool("alpha_echo", {"text": "old"}))) == {"server": "alpha", "text": "old"}

        # Remove one.
        write_atomically(config, only_beta)
        envoy_updated(2)
        names = await wait_for_tools(url, {"beta_echo"}, {"alpha_echo"})
        assert not any(n.startswith("alpha_") for n in names)
        async with Client(url) as client:
            try:
                gone = await client.call_tool("alpha_echo", {"text": "gone"})
            except MCPError as e:
                gone = e
            assert isinstance(gone, MCPError) or gone.is_error, gone
            assert json.loads(first_text(await client.call_tool("beta_echo", {"text": "still"})))["server"] == "beta"

        # One Envoy all along: same process, and it counted listener and cluster updates.
        assert alive(envoy_pid) and envoy_pid in descendants(up.popen.pid)
    finally:
        for p in reversed(procs):
            p.stop()


@pytest.mark.host_independent  # `up` looks for Envoy before it looks for a filter build
def test_missing_envoy_is_a_clear_error(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(gateway_bin()), "up", "--envoy", str(tmp_path / "no-envoy-here")], capture_output=True, text=True, timeout=60, env={**os.environ, "MCPGW_WASM": str(WASM)}
    )
    assert r.returncode != 0
    assert "Envoy not found" in r.stderr and "make setup" in r.stderr, r.stderr

    # Without --envoy, outside the checkout and with no envoy on PATH: the same advice.
    alone = tmp_path / "bin" / "mcp-gateway"
    alone.parent.mkdir()
    try:
        os.link(gateway_bin(), alone)
    except OSError:
        shutil.copy2(gateway_bin(), alone)
    r = subprocess.run(
        [str(alone), "up"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), "MCPGW_WASM": str(WASM)},
    )
    assert r.returncode != 0
    assert "Envoy not found" in r.stderr and "make setup" in r.stderr, r.stderr
    assert "panicked" not in r.stderr
