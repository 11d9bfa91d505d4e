"""End-to-end fixtures: real Envoy 1.40 + the built filter + real MCP backends.

The filter has two builds ("hosts"), and the whole suite runs once through each: `native`, the
Envoy dynamic module target/native/libmcpgw_native.so (`make native`, or MCPGW_NATIVE_DIR), and
`wasm`, the proxy-wasm module target/wasm32-wasip1/release/mcpgw_filter.wasm (`make wasm`, or
MCPGW_WASM). The session-scoped, autouse fixture `filter_host` is parametrized over them: every
test id names its host (`test_x[native]`), pytest runs all of one host's tests before the
other's, and every gateway fixture depends on `filter_host`, so no gateway outlives its host.
While a host is active, $MCPGW_FILTER names it (the CLI, `mcp-gateway render`/`up`, reads it)
and $ENVOY_DYNAMIC_MODULES_SEARCH_PATH names the native module's folder (the Envoys started
here inherit it). One host only: MCPGW_FILTERS=native (or wasm). Tests marked
`host_independent` run with the first host only. Counters: `filter_stat("mcp_gateway.broker")`
names a filter counter as the current host's Envoy does.

Nothing is built here: the filters, the broker and the CLI (`cargo build -p mcpgw-broker -p
mcp-gateway`; `make e2e` builds all of them) must already be built. Every process is started in its own process group on 127.0.0.1 with free ports, and
is stopped (TERM, then KILL) when the session ends, whatever happened.

Layout (the one of envoy-configs/, from one gateway config: the broker reads it, and
`mcp-gateway render --http-filters rbac-deny-tool.yaml` turns it into Envoy's config):

    client -> Envoy :listen  --alpha.mcp.internal-->  py_backend alpha   (tools echo, whoami, ...)
                             --beta.mcp.internal--->  py_backend beta    (the same names)
                             --broker.mcp.internal->  mcpgw-broker       (see broker_command)
                             --anything else------->  http_echo          (non-MCP paths)
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ROOT / "tests" / "servers"
PYTHON = sys.executable
ENVOY = Path(os.environ.get("MCPGW_ENVOY", ROOT / ".venv/lib/python3.11/site-packages/envoy/_bin/envoy"))
WASM = Path(os.environ.get("MCPGW_WASM", ROOT / "target/wasm32-wasip1/release/mcpgw_filter.wasm"))
NATIVE_DIR = Path(os.environ.get("MCPGW_NATIVE_DIR", ROOT / "target/native"))
NATIVE_MODULE = NATIVE_DIR / "libmcpgw_native.so"

# Deadlines for start-up and shutdown. They only bound waiting; no test asserts on time.
START_DEADLINE_S = 60.0
STOP_GRACE_S = 5.0

_spec = importlib.util.spec_from_file_location("mcpgw_envoy_render", ROOT / "envoy-configs" / "render.py")
assert _spec and _spec.loader
envoy_render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(envoy_render)

MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
MODERN = "2026-07-28"


# ---- the filter build under test (native or wasm) ------------------------------------------

HOSTS = ("native", "wasm")
# The variable Envoy finds dynamic modules through (gateway/src/render.rs MODULE_SEARCH_PATH_ENV).
SEARCH_PATH_ENV = "ENVOY_DYNAMIC_MODULES_SEARCH_PATH"
# Envoy's prefix for a filter's own counters: `<prefix>mcp_gateway.<name>`.
STAT_PREFIX = {"native": "dynamicmodulescustom.", "wasm": "wasmcustom."}


def filter_hosts() -> list[str]:
    """The hosts to run, in order: $MCPGW_FILTERS (comma-separated), else both."""
    hosts = [h.strip() for h in os.environ.get("MCPGW_FILTERS", ",".join(HOSTS)).split(",") if h.strip()]
    unknown = [h for h in hosts if h not in HOSTS]
    if unknown or not hosts:
        raise pytest.UsageError(f"MCPGW_FILTERS={os.environ.get('MCPGW_FILTERS')!r}: name native, wasm or both (comma-separated)")
    return list(dict.fromkeys(hosts))


def current_filter() -> str:
    """The host the CLI renders for now ($MCPGW_FILTER, which `filter_host` sets; native when unset,
    as the CLI's default)."""
    return os.environ.get("MCPGW_FILTER") or "native"


def filter_stat(name: str) -> str:
    """A filter counter's name in the current host's Envoy stats, e.g. filter_stat("mcp_gateway.broker")."""
    return STAT_PREFIX[current_filter()] + name


def require_filter_built(host: str | None = None) -> None:
    """A clear error when the build of `host` (default: the current one) is missing."""
    host = host or current_filter()
    if host == "wasm" and not WASM.is_file():
        raise RuntimeError(
            f"filter not built: {WASM} is missing. Build it first:\n"
            "  make wasm   (cargo build -p mcpgw-filter --target wasm32-wasip1 --release)"
        )
    if host == "native" and not NATIVE_MODULE.is_file():
        raise RuntimeError(
            f"filter not built: {NATIVE_MODULE} is missing. Build it first:\n"
            "  make native   (cargo build --profile native -p mcpgw-native)"
        )


# How each build's MCP filter appears in a rendered Envoy config or /config_dump.
FILTER_TYPE = {
    "native": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
    "wasm": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
}


def check_rendered_host(text: str, host: str | None = None) -> str:
    """`text` (a rendered Envoy config or a /config_dump) carries the MCP filter of `host`
    (default: the current one) and not the other build's: the CLI honoured $MCPGW_FILTER."""
    host = host or current_filter()
    other = next(h for h in HOSTS if h != host)
    assert FILTER_TYPE[host] in text and FILTER_TYPE[other] not in text, f"the rendered gateway does not load the {host} filter"
    return text


@contextlib.contextmanager
def filter_env(host: str) -> Iterator[str]:
    """$MCPGW_FILTER=host and $ENVOY_DYNAMIC_MODULES_SEARCH_PATH=the native module's folder for
    the duration, restored (or removed) afterwards."""
    saved = {k: os.environ.get(k) for k in ("MCPGW_FILTER", SEARCH_PATH_ENV)}
    os.environ["MCPGW_FILTER"] = host
    os.environ[SEARCH_PATH_ENV] = str(NATIVE_DIR)
    try:
        yield host
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def plugin_config(http_filter: dict) -> dict:
    """The filter's own JSON configuration (common/src/config.rs) inside a rendered MCP HTTP
    filter entry, wasm or native (the same JSON in two envelopes)."""
    typed = http_filter["typed_config"]
    holder = typed["filter_config"] if "filter_config" in typed else typed["config"]["configuration"]
    return json.loads(holder["value"])


def set_plugin_config(http_filter: dict, config: dict) -> None:
    typed = http_filter["typed_config"]
    holder = typed["filter_config"] if "filter_config" in typed else typed["config"]["configuration"]
    holder["value"] = json.dumps(config, indent=2)


@pytest.fixture(scope="session", autouse=True, params=filter_hosts())
def filter_host(request: pytest.FixtureRequest) -> Iterator[str]:
    """The filter build this part of the session runs through (see the module docstring)."""
    with filter_env(request.param) as host:
        yield host


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "host_independent: runs with the first filter host only (it does not depend on the build)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    first = filter_hosts()[0]
    keep, dropped = [], []
    for item in items:
        cs = getattr(item, "callspec", None)
        host = cs.params.get("filter_host") if cs else None
        (dropped if item.get_closest_marker("host_independent") and host not in (None, first) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# ---- the broker ----------------------------------------------------------------------------


def newest_binary(name: str, env: str) -> Path:
    """$<env>, else the newest of target/{debug,release}/<name> (`make test` builds debug)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    found = [p for p in (ROOT / "target/debug" / name, ROOT / "target/release" / name) if p.is_file()]
    if not found:
        raise RuntimeError(f"{name} is not built: run `cargo build -p {name}` (make test does)")
    return max(found, key=lambda p: p.stat().st_mtime)


@dataclass
class BrokerContext:
    """What a broker needs to know to be started in front of the test backends."""

    port: int
    key: str
    alpha_port: int
    beta_port: int
    workdir: Path
    config: Path  # the gateway config (the same file the Envoy config was rendered from)


def broker_command(ctx: BrokerContext) -> list[str]:
    """The real broker (broker/, binary mcpgw-broker) on the test's gateway config; the
    session key reaches it through $MCPGW_SESSION_KEY (see start_gateway)."""
    return [str(newest_binary("mcpgw-broker", "MCPGW_BROKER_BIN")), "--config", str(ctx.config)]


# ---- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Proc:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log = log
        self._log_file = open(log, "wb")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def fail_if_dead(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{log_tail(self.log)}")

    def stop(self) -> None:
        """TERM the process group, KILL it if it lingers. Only ever this child's group."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(STOP_GRACE_S)
        # The group may hold grandchildren (e.g. a uvicorn reloader) even if the leader is gone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log_file.close()


def wait_until(check: Callable[[], bool], what: str, procs: list[Proc], deadline_s: float = START_DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        for p in procs:
            p.fail_if_dead()
        if check():
            return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}:\n{log_tail(p.log)}" for p in procs)
            raise RuntimeError(f"{what}: not ready after {deadline_s:.0f}s\n{tails}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def envoy_argv(config: Path, admin_port: int) -> list[str]:
    # A base id of our own: concurrent Envoys (other test runs, benches) must not share
    # hot-restart shared memory.
    base_id = 1000 + (os.getpid() * 7 + admin_port) % 60000
    return [
        str(ENVOY),
        "-c", str(config),
        "--concurrency", "2",
        "--base-id", str(base_id),
        "--log-level", "info",
        "--file-flush-interval-msec", "50",
        "--disable-hot-restart",
    ]


# ---- the gateway under test ----------------------------------------------------------------


@dataclass
class Gateway:
    url: str  # http://127.0.0.1:<port>/mcp
    base: str  # http://127.0.0.1:<port>
    admin: str
    key: str
    max_body_bytes: int
    workdir: Path
    access_log: Path
    envoy_log: Path
    ports: dict[str, int]
    procs: list[Proc] = field(default_factory=list)
    host: str = field(default_factory=current_filter)  # the filter build its Envoy loads

    # -- raw HTTP

    def post(self, body: Any, headers: dict[str, str] | None = None, path: str = "/mcp", **kw: Any) -> httpx.Response:
        # dict/list -> JSON; bytes, str or an iterator of bytes (sent chunked) -> as is.
        content = json.dumps(body) if isinstance(body, (dict, list)) else body
        return httpx.post(self.base + path, content=content, headers={**MCP_HEADERS, **(headers or {})}, timeout=30, **kw)

    def request(self, method: str, path: str = "/mcp", **kw: Any) -> httpx.Response:
        kw.setdefault("timeout", 30)
        return httpx.request(method, self.base + path, **kw)

    # -- admin

    def stats(self) -> dict[str, int]:
        text = httpx.get(self.admin + "/stats", timeout=10).text
        out: dict[str, int] = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def upstream_requests(self) -> dict[str, int]:
        """Requests Envoy sent to each cluster so far."""
        s = self.stats()
        return {c: s.get(f"cluster.{c}.upstream_rq_total", 0) for c in ("alpha", "beta", "broker", "default_upstream")}

    def ready(self) -> bool:
        try:
            r = httpx.get(self.admin + "/ready", timeout=2)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and r.text.strip() == "LIVE"

    def access_entries(self) -> list[dict[str, Any]]:
        try:
            text = self.access_log.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_access_entry(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first access log entry `match` accepts, waiting for Envoy to flush it."""
        deadline = time.monotonic() + 20
        while True:
            for e in self.access_entries():
                if match(e):
                    return e
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching access log entry; last entries: {self.access_entries()[-5:]}")
            time.sleep(0.05)

    def envoy_log_text(self) -> str:
        return self.envoy_log.read_text(errors="replace")


def start_gateway(
    workdir: Path,
    procs: list[Proc],
    *,
    key: str | None = None,
    rbac: bool = True,
    max_body_bytes: int | None = None,
    stateless: bool = True,
) -> Gateway:
    """Starts backends, the broker, the echo upstream and Envoy. Every process is appended to
    `procs` as soon as it is started: the caller stops them (stop_all), also when this raises.

    `stateless`: the backends are stateless SDK servers that serve MCP 2026-07-28 themselves
    (`sessionless: true` in the gateway config); otherwise they speak the session protocol
    and every gateway session carries their own session ids.

    The filter build is the current host's (`filter_host`: the CLI reads $MCPGW_FILTER)."""
    if not ENVOY.is_file():
        raise RuntimeError(f"Envoy not found at {ENVOY}: run scripts/setup.sh")
    require_filter_built()
    key = key or random_key()
    max_body = max_body_bytes or envoy_render.DEFAULT_MAX_BODY
    ports = {n: free_port() for n in ("alpha", "beta", "broker", "echo", "listen", "admin")}
    gw = Gateway(
        url=f"http://127.0.0.1:{ports['listen']}/mcp",
        base=f"http://127.0.0.1:{ports['listen']}",
        admin=f"http://127.0.0.1:{ports['admin']}",
        key=key,
        max_body_bytes=max_body,
        workdir=workdir,
        access_log=workdir / "access.log",
        envoy_log=workdir / "envoy.log",
        ports=ports,
        procs=procs,
    )
    started = procs
    for name in ("alpha", "beta"):
        argv = [PYTHON, str(SERVERS / "py_backend.py"), name, str(ports[name])] + (["--stateless"] if stateless else [])
        started.append(Proc(name, argv, workdir / f"{name}.log"))
    # One gateway config for the broker and for Envoy (rendered by `mcp-gateway render`).
    gateway_yaml = workdir / "gateway.yaml"
    gateway_yaml.write_text(
        json.dumps(
            envoy_render.gateway_config(
                listen=("127.0.0.1", ports["listen"]),
                broker=("127.0.0.1", ports["broker"]),
                alpha=("127.0.0.1", ports["alpha"]),
                beta=("127.0.0.1", ports["beta"]),
                sessionless=stateless,
                max_body_bytes=max_body,
            ),
            indent=2,
        )
    )
    broker = broker_command(BrokerContext(ports["broker"], key, ports["alpha"], ports["beta"], workdir, gateway_yaml))
    started.append(Proc("broker", broker, workdir / "broker.log", env={envoy_render.KEY_ENV: key}))
    started.append(Proc("echo", [PYTHON, str(SERVERS / "http_echo.py"), str(ports["echo"])], workdir / "echo.log"))

    config = workdir / "envoy.yaml"
    rendered = envoy_render.render_gateway(
        json.loads(gateway_yaml.read_text()),
        key=key,
        wasm_path=WASM,
        admin_port=ports["admin"],
        default=("127.0.0.1", ports["echo"]),
        access_log_path=str(gw.access_log),
        rbac=rbac,
    )
    check_rendered_host(rendered)
    config.write_text(rendered)
    for name in ("alpha", "beta", "broker", "echo"):
        wait_until(lambda n=name: port_open(ports[n]), name, started)
    # Envoy logs to stderr, which Proc writes to envoy.log (shown if start-up fails).
    # The session key reaches the filter's VM through Envoy's environment (host_env_keys).
    envoy = Proc("envoy", envoy_argv(config, ports["admin"]), gw.envoy_log, env={envoy_render.KEY_ENV: key})
    started.append(envoy)
    wait_until(gw.ready, "envoy /ready", started)
    return gw


def stop_all(procs: list[Proc]) -> None:
    for p in reversed(procs):
        p.stop()


@pytest.fixture(scope="session")
def gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway per filter host. Logs stay in pytest's temp dir (printed on failure
    of start-up; see `pytest --basetemp`)."""
    procs: list[Proc] = []
    try:
        yield start_gateway(tmp_path_factory.mktemp(f"gateway-{filter_host}"), procs)
    finally:
        stop_all(procs)


@pytest.fixture(scope="session")
def session_gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The same layout with session-protocol backends (not stateless, not `sessionless`): a
    gateway session then holds each backend's own session id."""
    procs: list[Proc] = []
    try:
        yield start_gateway(tmp_path_factory.mktemp(f"session-gateway-{filter_host}"), procs, rbac=False, stateless=False)
    finally:
        stop_all(procs)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def healthy(gateway: Gateway) -> Iterator[Gateway]:
    """Use for bad-input tests: afterwards Envoy must still be ready, serve a good call, and
    the filter must not have logged a panic."""
    yield gateway
    assert_healthy(gateway)


def assert_healthy(gw: Gateway) -> None:
    assert gw.ready(), "Envoy admin /ready is not LIVE"
    r = gw.post(tool_call("alpha_whoami", id=424242))
    assert r.status_code == 200, r.text
    msg = rpc_message(r)
    assert msg["id"] == 424242
    assert msg["result"]["content"][0]["text"] == "alpha"
    log = gw.envoy_log_text()
    assert "mcp_gateway: panic" not in log, log_tail(gw.envoy_log)


# ---- JSON-RPC helpers ----------------------------------------------------------------------


def tool_call(name: str, arguments: dict | None = None, id: Any = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments or {}}}


def modern_meta() -> dict:
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def rpc_message(r: httpx.Response) -> dict:
    """The JSON-RPC message of a response, whether sent as JSON or as an SSE stream (the
    last `data:` event that is a response)."""
    ctype = r.headers.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        found = None
        for line in r.text.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data:
                    m = json.loads(data)
                    if "result" in m or "error" in m:
                        found = m
        assert found is not None, f"no JSON-RPC response in SSE body: {r.text!r}"
        return found
    return r.json()
