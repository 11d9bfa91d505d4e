"""Processes for the conformance tests: the fixture backend and the gateway (`mcp-gateway up`).

Both bind 127.0.0.1 on free ports, run in their own process groups, and are stopped (TERM, then
KILL) when the session ends. Process helpers are the e2e harness's (tests/e2e/conftest.py).

The gateway binary: $MCPGW_GATEWAY_BIN, else target/release/mcp-gateway, else
target/debug/mcp-gateway (`cargo build --release -p mcp-gateway`). It needs the filter .wasm
(`cargo build --release -p mcpgw-filter --target wasm32-wasip1`) and Envoy from scripts/setup.sh.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

_spec = importlib.util.spec_from_file_location("mcpgw_e2e_harness", ROOT / "tests" / "e2e" / "conftest.py")
assert _spec and _spec.loader
e2e = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = e2e  # dataclasses look their module up there
_spec.loader.exec_module(e2e)

PYTHON = sys.executable
FIXTURE = HERE / "fixture_server.py"
START_DEADLINE_S = 60.0


def gateway_bin() -> Path:
    env = os.environ.get("MCPGW_GATEWAY_BIN")
    if env:
        return Path(env)
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "mcp-gateway"
        if p.is_file():
            return p
    raise RuntimeError("mcp-gateway is not built: cargo build --release -p mcp-gateway (or set MCPGW_GATEWAY_BIN)")


def mcp_answers(url: str) -> bool:
    """True once `url` answers an MCP POST at all (any HTTP status from the MCP app)."""
    try:
        r = httpx.post(url, content=b"{}", headers={"content-type": "application/json", "host": "localhost"}, timeout=2)
    except httpx.HTTPError:
        return False
    return r.status_code < 500


@dataclass
class Endpoint:
    url: str  # http://localhost:<port>/mcp: a loopback name, as dns-rebinding-protection needs
    workdir: Path


@pytest.fixture(scope="session")
def procs() -> Iterator[list]:
    started: list = []
    try:
        yield started
    finally:
        e2e.stop_all(started)


@pytest.fixture(scope="session")
def fixture_backend(tmp_path_factory: pytest.TempPathFactory, procs: list) -> Endpoint:
    work = tmp_path_factory.mktemp("fixture")
    port = e2e.free_port()
    p = e2e.Proc("fixture", [PYTHON, str(FIXTURE), str(port)], work / "fixture.log")
    procs.append(p)
    url = f"http://localhost:{port}/mcp"
    e2e.wait_until(lambda: e2e.port_open(port) and mcp_answers(f"http://127.0.0.1:{port}/mcp"), "fixture backend", [p], START_DEADLINE_S)
    return Endpoint(url, work)


GATEWAY_CONFIG = """\
# The conformance fixture as the pass-through server (empty prefix: names unchanged).
listen: "127.0.0.1:{listen}"
mcp_path: /mcp
broker:
  listen: "127.0.0.1:{broker}"
servers:
  - name: conformance
    url: "http://127.0.0.1:{backend}/mcp"
    prefix: ""
session:
  key_env: MCPGW_SESSION_KEY
"""


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, procs: list, fixture_backend: Endpoint) -> Endpoint:
    binary = gateway_bin()
    work = tmp_path_factory.mktemp("gateway")
    listen, broker, admin = e2e.free_port(), e2e.free_port(), e2e.free_port()
    backend_port = int(re.search(r":(\d+)/", fixture_backend.url)[1])
    config = work / "gateway.yaml"
    config.write_text(GATEWAY_CONFIG.format(listen=listen, broker=broker, backend=backend_port))
    env = {
        "MCPGW_SESSION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "MCPGW_ENVOY": str(e2e.ENVOY),
        "MCPGW_WASM": str(e2e.WASM),
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        "TMPDIR": str(work),
    }
    argv = [str(binary), "up", "--config", str(config), "--envoy", str(e2e.ENVOY), "--wasm", str(e2e.WASM),
            "--admin", f"127.0.0.1:{admin}", "--access-log", str(work / "access.log")]
    p = e2e.Proc("mcp-gateway", argv, work / "gateway.log", env=env)
    procs.append(p)

    def ready() -> bool:
        return "MCP gateway ready" in (work / "gateway.log").read_text(errors="replace") and mcp_answers(f"http://127.0.0.1:{listen}/mcp")

    e2e.wait_until(ready, "mcp-gateway up", [p], START_DEADLINE_S)
    return Endpoint(f"http://localhost:{listen}/mcp", work)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: runs the official MCP conformance suite")
