"""Processes for the conformance tests: a backend and the gateway (`mcp-gateway up`) in front of it.

The gateway runs once per filter build (`filter_host`: native, the Envoy dynamic module, and
wasm, the proxy-wasm module; MCPGW_FILTERS=native or wasm for one): `up` reads the build from
$MCPGW_FILTER and the native module's folder from $MCPGW_NATIVE_DIR. The backend and its
direct run do not depend on the build: one backend serves both gateways, and its direct
results are reused (suite.DIRECT).

Backends (one per gateway run: the suite needs unprefixed names, and only one server may have
the empty prefix), each started lazily, once, and stopped before the next one starts:
  fixture         fixture_server.py, on the official Python SDK 2.3 (.venv): 2025-11-25 and
                  2026-07-28
  python-sdk-1.x  legacy_py/server.py, on the Python SDK's last 1.x release (.venv-mcp1):
                  the session protocol only
  ts-sdk-1.29     legacy_ts/server.mjs, on the TypeScript SDK 1.29 (legacy_ts/node_modules):
                  the session protocol by the SDK, 2026-07-28 by hand without `resultType`
scripts/setup.sh installs all three.

Everything binds 127.0.0.1 on free ports, runs in its own process group, and is stopped (TERM,
then KILL) when its backend's tests are done. Process helpers are the e2e harness's
(tests/e2e/conftest.py).

The gateway binary: $MCPGW_GATEWAY_BIN, else target/release/mcp-gateway, else
target/debug/mcp-gateway (`cargo build --release -p mcp-gateway`). It needs the filter builds
(`make native wasm`) and Envoy from scripts/setup.sh.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import suite  # noqa: E402 - after the path insert

_spec = importlib.util.spec_from_file_location("mcpgw_e2e_harness", ROOT / "tests" / "e2e" / "conftest.py")
assert _spec and _spec.loader
e2e = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = e2e  # dataclasses look their module up there
_spec.loader.exec_module(e2e)

PYTHON = sys.executable
START_DEADLINE_S = 60.0


@dataclass(frozen=True)
class BackendSpec:
    name: str
    argv: Callable[[int], list[str]]  # the command line, given the port
    needs: Path  # installed by scripts/setup.sh


VENV_MCP1 = ROOT / ".venv-mcp1"
LEGACY_TS = HERE / "legacy_ts"
BACKENDS: dict[str, BackendSpec] = {
    b.name: b
    for b in (
        BackendSpec("fixture", lambda port: [PYTHON, str(HERE / "fixture_server.py"), str(port)], Path(PYTHON)),
        BackendSpec(
            "python-sdk-1.x",
            lambda port: [str(VENV_MCP1 / "bin" / "python"), str(HERE / "legacy_py" / "server.py"), str(port)],
            VENV_MCP1 / "bin" / "python",
        ),
        BackendSpec(
            "ts-sdk-1.29",
            lambda port: [suite.node(), str(LEGACY_TS / "server.mjs"), str(port)],
            LEGACY_TS / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json",
        ),
    )
}


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
    name: str = ""


def start_backend(spec: BackendSpec, work: Path, procs: list) -> Endpoint:
    if not spec.needs.exists():
        raise RuntimeError(f"backend {spec.name}: {spec.needs} is missing: run scripts/setup.sh")
    port = e2e.free_port()
    p = e2e.Proc(spec.name, spec.argv(port), work / "backend.log")
    procs.append(p)
    url = f"http://localhost:{port}/mcp"
    e2e.wait_until(lambda: e2e.port_open(port) and mcp_answers(f"http://127.0.0.1:{port}/mcp"), f"backend {spec.name}", [p], START_DEADLINE_S)
    return Endpoint(url, work, spec.name)


GATEWAY_CONFIG = """\
# The conformance backend as the pass-through server (empty prefix: names unchanged).
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


def start_gateway(backend: Endpoint, work: Path, procs: list) -> Endpoint:
    """`mcp-gateway up` in front of `backend`, with the current filter host's build."""
    binary = gateway_bin()
    host = e2e.current_filter()
    e2e.require_filter_built(host)
    listen, broker, admin = e2e.free_port(), e2e.free_port(), e2e.free_port()
    backend_port = int(re.search(r":(\d+)/", backend.url)[1])
    config = work / "gateway.yaml"
    config.write_text(GATEWAY_CONFIG.format(listen=listen, broker=broker, backend=backend_port))
    env = {
        "MCPGW_SESSION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "MCPGW_ENVOY": str(e2e.ENVOY),
        "MCPGW_WASM": str(e2e.WASM),
        "MCPGW_NATIVE_DIR": str(e2e.NATIVE_DIR),
        "MCPGW_FILTER": host,
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
    # `up` took the build from $MCPGW_FILTER: Envoy runs that filter (ECDS) and not the other.
    e2e.check_rendered_host(httpx.get(f"http://127.0.0.1:{admin}/config_dump", timeout=10).text, host)
    return Endpoint(f"http://localhost:{listen}/mcp", work, backend.name)


@dataclass
class Stack:
    backend: Endpoint
    gateway: Endpoint
    host: str  # the filter build the gateway runs


@pytest.fixture(scope="session", params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """One backend. Session-scoped and parametrized, so pytest runs each backend's tests
    together and stops it before starting the next."""
    spec = BACKENDS[request.param]
    work = tmp_path_factory.mktemp(spec.name)
    procs: list = []
    try:
        yield start_backend(spec, work, procs)
    finally:
        e2e.stop_all(procs)


@pytest.fixture(scope="session", params=e2e.filter_hosts())
def filter_host(request: pytest.FixtureRequest) -> Iterator[str]:
    """The filter build the gateway runs ($MCPGW_FILTER, $ENVOY_DYNAMIC_MODULES_SEARCH_PATH
    for its duration; tests/e2e/conftest.py)."""
    with e2e.filter_env(request.param) as host:
        yield host


@pytest.fixture(scope="session")
def stack(backend: Endpoint, filter_host: str) -> Iterator[Stack]:
    """The backend and a gateway in front of it, with this filter build."""
    work = backend.workdir / f"gateway-{filter_host}"
    work.mkdir()
    procs: list = []
    try:
        yield Stack(backend, start_gateway(backend, work, procs), filter_host)
    finally:
        e2e.stop_all(procs)


@pytest.fixture(scope="session")
def backend_names() -> list[str]:
    return list(BACKENDS)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if suite.RESULTS:
        terminalreporter.write_sep("=", "conformance scores: scenarios passing, direct vs through the gateway (per filter build)")
        terminalreporter.write_line(suite.summary(suite.RESULTS))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: runs the official MCP conformance suite")
