#!/usr/bin/env python3
"""Side-by-side load benchmark of the MCP gateway (issue 6). Run by `make loadbench`.

Measures the same MCP workloads, in one run on one machine, through
  a  direct      the rmcp backend itself
  b  envoy       Envoy 1.40, HCM + router only (the floor for any Envoy-based gateway)
  c  mcp_router  Envoy 1.40, envoy.filters.http.mcp + envoy.filters.http.mcp_router (10 servers)
  d  ours wasm   Envoy 1.40 + our filter's wasm build + the broker (10 servers), Envoy config from
                 `mcp-gateway render --filter wasm` (the product's own shape)
  e  ours native exactly (d)'s rendered config with `--filter native`: our filter as an Envoy
                 dynamic module (target/native/libmcpgw_native.so), the same broker as (d)
  f  floor       (b) + the native module's `body_floor` filter before the router: buffers the
                 request body to its end and clears the route cache, nothing else (the floor
                 under any body-reading module)
with h2load (HTTP/1.1, one request in flight per connection), interleaving the configurations and
repeating ROUNDS times; reports medians with their spread (min-max over rounds) and ratios to (b)
and (c). Then measures memory (every Envoy's and the broker's RSS idle and with 10,000 live
sessions) and writes benches/results/{results.md,results.json,*.png} (or --out DIR).

Everything binds 127.0.0.1; every load run is bounded in time (h2load -D) and every child process
is stopped on exit, also on errors and Ctrl-C. See benches/README.md.
"""

from __future__ import annotations

import argparse
import base64
import glob
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = (ROOT / os.environ.get("CARGO_TARGET_DIR", "target")).resolve()  # absolute: Envoy opens the modules by it
BACKEND_BIN = TARGET / "release" / "mcpgw-bench-backend"
BROKER_BIN = TARGET / "release" / "mcpgw-broker"
GATEWAY_BIN = TARGET / "release" / "mcp-gateway"
WASM = TARGET / "wasm32-wasip1" / "release" / "mcpgw_filter.wasm"
# The native build: Envoy opens lib<NATIVE_MODULE>.so from $ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
NATIVE_DIR = TARGET / "native"
NATIVE_MODULE = "mcpgw_native"
NATIVE_SO = NATIVE_DIR / f"lib{NATIVE_MODULE}.so"
NATIVE_ENV = {"ENVOY_DYNAMIC_MODULES_SEARCH_PATH": str(NATIVE_DIR)}
RESULTS = ROOT / "benches" / "results"

PROTOCOL = "2025-06-18"  # the session protocol era, for every configuration (see README)
N_BACKENDS = 10
BACKEND_PORTS = [18101 + i for i in range(N_BACKENDS)]
BROKER_PORT = 18090
PORTS = {"b": 18001, "c": 18002, "d": 18003, "e": 18004, "f": 18005}
ADMIN = {"b": 18901, "c": 18902, "d": 18903, "e": 18904, "f": 18905}
CONFIGS = ["a", "b", "c", "d", "e", "f"]
ENVOYS = "bcdef"  # the configurations that are an Envoy
OURS = "de"  # our filter + the broker: (d) wasm build, (e) native build, one broker for both
NATIVE = "ef"  # Envoys that load the native module (started with NATIVE_ENV)
LABEL = {"a": "a direct", "b": "b envoy router", "c": "c envoy mcp_router", "d": "d ours (wasm+broker)",
         "e": "e ours (native+broker)", "f": "f floor (native body_floor)"}
# The filter build `mcp-gateway render --filter` gives each of ours.
BUILD = {"d": "wasm", "e": "native"}
DYNAMIC_MODULE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
MAX_BODY = 4 * 1024 * 1024
BUFFER_LIMIT = MAX_BODY + 256 * 1024  # what mcp-gateway render sets for MAX_BODY (gateway/src/render.rs)
KEY_ENV = "MCPGW_SESSION_KEY"  # the session key's variable, for the broker and for render


def envoy_bin() -> str:
    hits = glob.glob(str(ROOT / ".venv/lib/python3*/site-packages/envoy/_bin/envoy"))
    if not hits:
        sys.exit("Envoy not found in .venv: run scripts/setup.sh")
    return hits[0]


# ---------------------------------------------------------------------------------------------
# Processes


class Procs:
    """Every child process, stopped (TERM, then KILL) by stop_all()."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                             cwd=ROOT, start_new_session=True)
        self.procs[name] = p
        return p

    def stop(self, name: str) -> None:
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def check(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{tail}")


def wait_port(port: int, timeout: float = 20.0, path: str = "/") -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all threads), in clock ticks."""
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


TICK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------------------------------------
# Envoy configurations. (b), (c) and (f) are written here; (d) and (e) are what `mcp-gateway
# render` (the one source of the gateway's Envoy config, gateway/src/render.rs) makes of
# gateway_yaml(), the same file the broker runs with, with `--filter wasm` and `--filter native`.
# Access logs are off in all of them so that they measure the same thing, and all have the same
# connection buffer limit.


def _backend_clusters() -> list[dict]:
    return [
        {"name": f"s{i}", "type": "STATIC", "connect_timeout": "2s",
         "load_assignment": {"cluster_name": f"s{i}", "endpoints": [{"lb_endpoints": [
             {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p}}}}]}]}}
        for i, p in enumerate(BACKEND_PORTS)
    ]


def _bootstrap(which: str, route_config: dict, http_filters: list[dict], clusters: list[dict]) -> dict:
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": ADMIN[which]}}},
        "static_resources": {
            "listeners": [{
                "name": "mcp",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": PORTS[which]}},
                "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "mcp",
                        "codec_type": "AUTO",
                        "stream_idle_timeout": "3600s",
                        "route_config": route_config,
                        "http_filters": http_filters,
                    }}]}],
            }],
            "clusters": clusters,
        },
    }


ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


def _plain_routes() -> dict:
    return {"name": "r", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "route": {"cluster": "s0", "timeout": "0s", "idle_timeout": "300s"}}]}]}


def envoy_plain() -> dict:
    return _bootstrap("b", _plain_routes(), [ROUTER], _backend_clusters())


def envoy_floor() -> dict:
    """(f): (b) with the native module's `body_floor` filter before the router. It stops on the
    request headers, buffers the body to its end (StopIterationAndBuffer, bounded by the same
    connection buffer limit as the others) and clears the route cache: what any filter that
    reads the body before routing pays, without the MCP work. Same routes and cluster as (b)."""
    floor = {"name": "body_floor", "typed_config": {
        "@type": DYNAMIC_MODULE_TYPE,
        "dynamic_module_config": {"name": NATIVE_MODULE, "do_not_close": True},
        "filter_name": "body_floor",
        "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": ""}}}
    return _bootstrap("f", _plain_routes(), [floor, ROUTER], _backend_clusters())


def envoy_native() -> dict:
    # BRIEF.md: mcp with REJECT_NO_MCP and a raised body limit, then mcp_router (terminal).
    rc = {"name": "r", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "route": {"cluster": "s0", "timeout": "0s"}}]}]}
    filters = [
        {"name": "envoy.filters.http.mcp", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.mcp.v3.Mcp",
            "traffic_mode": "REJECT_NO_MCP", "max_request_body_size": MAX_BODY}},
        {"name": "envoy.filters.http.mcp_router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.mcp_router.v3.McpRouter",
            "servers": [{"name": f"s{i}", "mcp_cluster": {"cluster": f"s{i}", "path": "/mcp", "timeout": "10s"}}
                        for i in range(N_BACKENDS)]}},
    ]
    return _bootstrap("c", rc, filters, _backend_clusters())


def render_ours(key: str, which: str = "d") -> str:
    """The static bootstrap `mcp-gateway render` prints for gateway_yaml() (YAML text), for
    configuration `which` of OURS: `--filter wasm` (WASM) for (d), `--filter native` (the module
    in NATIVE_DIR) for (e); listener on PORTS[which], admin on ADMIN[which], no access log. The
    build is always named (render's default is native, also through $MCPGW_FILTER). The session
    key reaches the CLI like it reaches the broker, through $MCPGW_SESSION_KEY (gateway_yaml()
    names that variable)."""
    build = BUILD[which]
    module = ["--wasm", str(WASM)] if build == "wasm" else ["--module-dir", str(NATIVE_DIR)]
    with tempfile.TemporaryDirectory(prefix="loadbench-render-") as tmp:
        gw = Path(tmp) / "gateway.yaml"
        gw.write_text(gateway_yaml())
        argv = [str(GATEWAY_BIN), "render", "--config", str(gw), "--filter", build, *module,
                "--listen", f"127.0.0.1:{PORTS[which]}", "--admin", f"127.0.0.1:{ADMIN[which]}", "--access-log", "none"]
        r = subprocess.run(argv, cwd=ROOT, env={**os.environ, KEY_ENV: key}, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"mcp-gateway render failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def hcm_of(cfg: dict) -> dict:
    """The HTTP connection manager of a bootstrap's (first, only) listener."""
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def mcp_filter(cfg: dict) -> dict:
    """The `typed_config` of our filter (found by name, `mcp_gateway`) in a bootstrap from
    envoy_ours(), either build: a Wasm or a DynamicModuleFilter."""
    return next(f for f in hcm_of(cfg)["http_filters"] if f["name"] == "mcp_gateway")["typed_config"]


def is_native(cfg: dict) -> bool:
    """Whether a bootstrap from envoy_ours() loads the native build (else the wasm one)."""
    return mcp_filter(cfg)["@type"] == DYNAMIC_MODULE_TYPE


def wasm_filter(cfg: dict) -> dict:
    """Our filter's own settings object in a bootstrap from envoy_ours(): for the wasm build its
    `config` (name, root_id, vm_config, configuration), for the native build the
    DynamicModuleFilter itself (dynamic_module_config, filter_name, filter_config)."""
    tc = mcp_filter(cfg)
    return tc if tc["@type"] == DYNAMIC_MODULE_TYPE else tc["config"]


def _config_value(cfg: dict) -> dict:
    """The StringValue holding the filter's JSON: `config.configuration` (wasm) or
    `filter_config` (native); the JSON is the same for both builds (common/src/config.rs)."""
    tc = mcp_filter(cfg)
    return tc["filter_config"] if tc["@type"] == DYNAMIC_MODULE_TYPE else tc["config"]["configuration"]


def filter_config_of(cfg: dict) -> dict:
    """The filter's plugin configuration (JSON) inside a bootstrap from envoy_ours(), either build."""
    return json.loads(_config_value(cfg)["value"])


def set_filter_config(cfg: dict, fc: dict) -> None:
    _config_value(cfg)["value"] = json.dumps(fc)


def envoy_ours(key: str, which: str = "d") -> dict:
    """(d) (wasm build) or (e) (native build): exactly the bootstrap the product renders (static:
    inline route_config, no RDS), with only the connection buffer limit checked against (b) and
    (c). Filter state is on: the gateway always renders it (its error mapping for unavailable
    backends reads it). (e)'s Envoy must be started with NATIVE_ENV."""
    import yaml  # pyyaml, in .venv (scripts/setup.sh)

    cfg = yaml.safe_load(render_ours(key, which))
    lst = cfg["static_resources"]["listeners"][0]
    have = lst.setdefault("per_connection_buffer_limit_bytes", BUFFER_LIMIT)
    if have != BUFFER_LIMIT:
        # The renderer changed its slack: (b) and (c) must follow, or the runs are not alike.
        raise RuntimeError(f"mcp-gateway render sets per_connection_buffer_limit_bytes {have}, (b)/(c) use {BUFFER_LIMIT}")
    assert lst["address"]["socket_address"]["port_value"] == PORTS[which], lst["address"]
    if is_native(cfg) != (BUILD[which] == "native"):
        raise RuntimeError(f"mcp-gateway render --filter {BUILD[which]} rendered the other build: an old mcp-gateway?")
    return cfg


def gateway_yaml() -> str:
    """The gateway config (common/src/gateway.rs) of (d) and (e): the broker runs it (one broker
    for both), and `mcp-gateway render` makes (d)'s and (e)'s Envoy configs of it. Its `listen`
    is only read by the CLI (render's --listen overrides it, per configuration); the broker reads
    only `broker.listen`, and the filter's JSON depends on `listen` only through whether it is
    loopback (the default allowed_hosts, port-less: they match both listeners). JSON is YAML."""
    return json.dumps({
        "listen": f"127.0.0.1:{PORTS['d']}",
        "mcp_path": "/mcp",
        "broker": {"listen": f"127.0.0.1:{BROKER_PORT}"},
        "servers": [{"name": f"s{i}", "url": f"http://127.0.0.1:{p}/mcp", "prefix": f"s{i}_"}
                    for i, p in enumerate(BACKEND_PORTS)],
        "session": {"key_env": KEY_ENV},
        "limits": {"max_body_bytes": MAX_BODY},
    }, indent=1)


# ---------------------------------------------------------------------------------------------
# A minimal MCP client (session protocol) for set-up and correctness checks


def port_of(cfg: str) -> int:
    return BACKEND_PORTS[0] if cfg == "a" else PORTS[cfg]


def tool_name(cfg: str) -> str:
    return {"a": "echo", "b": "echo", "c": "s0__echo", "d": "s0_echo", "e": "s0_echo", "f": "echo"}[cfg]


BASE_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rpc_body(method: str, params: dict | None = None, id_: int | None = 1) -> bytes:
    m: dict = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        m["id"] = id_
    if params is not None:
        m["params"] = params
    return json.dumps(m, separators=(",", ":")).encode()


def init_body() -> bytes:
    return rpc_body("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                   "clientInfo": {"name": "loadbench", "version": "1"}})


def call_body(cfg: str, text: str) -> bytes:
    return rpc_body("tools/call", {"name": tool_name(cfg), "arguments": {"text": text}}, 2)


def decode(ctype: str, raw: bytes) -> dict:
    """The JSON-RPC response in a JSON or SSE body."""
    if "text/event-stream" in ctype:
        for line in raw.decode().splitlines():
            if line.startswith("data:") and line[5:].strip():
                msg = json.loads(line[5:])
                if "id" in msg and ("result" in msg or "error" in msg):
                    return msg
        raise RuntimeError(f"no response in SSE body: {raw[:300]!r}")
    return json.loads(raw)


def post(conn: http.client.HTTPConnection, body: bytes, session: str | None = None) -> tuple[int, dict, dict | None]:
    h = dict(BASE_HEADERS)
    if session:
        h["mcp-session-id"] = session
        h["mcp-protocol-version"] = PROTOCOL
    conn.request("POST", "/mcp", body, h)
    r = conn.getresponse()
    raw = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    msg = decode(headers.get("content-type", ""), raw) if raw and r.status == 200 else None
    return r.status, headers, msg


def open_session(cfg: str, conn: http.client.HTTPConnection | None = None) -> str:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port_of(cfg), timeout=30)
    st, h, msg = post(conn, init_body())
    if st != 200 or not msg or "result" not in msg or "mcp-session-id" not in h:
        raise RuntimeError(f"{cfg}: initialize failed: {st} {h} {msg}")
    sid = h["mcp-session-id"]
    st, _, _ = post(conn, rpc_body("notifications/initialized", id_=None), sid)
    if st not in (200, 202):
        raise RuntimeError(f"{cfg}: notifications/initialized answered {st}")
    return sid


def check_call(cfg: str, sid: str, text: str, conn: http.client.HTTPConnection | None = None) -> None:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port_of(cfg), timeout=30)
    st, _, msg = post(conn, call_body(cfg, text), sid)
    got = (((msg or {}).get("result") or {}).get("content") or [{}])[0].get("text")
    if st != 200 or got != text:
        raise RuntimeError(f"{cfg}: tools/call answered {st} {str(msg)[:300]}")


def check_list(cfg: str, sid: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(cfg), timeout=30)
    st, _, msg = post(conn, rpc_body("tools/list", {}, 3), sid)
    tools = ((msg or {}).get("result") or {}).get("tools")
    if st != 200 or not tools:
        raise RuntimeError(f"{cfg}: tools/list answered {st} {str(msg)[:300]}")
    return len(tools)


# ---------------------------------------------------------------------------------------------
# Load runs


WORKLOADS = [
    # name, concurrency, what
    ("call", 1, "tools/call, small argument"),
    ("call", 16, "tools/call, small argument"),
    ("call", 64, "tools/call, small argument"),
    ("call64k", 16, "tools/call, 64 KiB argument"),
    ("list", 16, "tools/list (c, d, e: over 10 backends)"),
    ("init", 16, "initialize (session creation)"),
]


def h2load(port: int, body: Path, headers: dict, conc: int, duration: float, warmup: float, log: Path) -> dict:
    argv = ["h2load", "--h1", "-c", str(conc), "-t", "1", "-m", "1", "-D", f"{int(duration * 1000)}ms",
            "--warm-up-time", f"{int(warmup * 1000)}ms", "-d", str(body), "--log-file", str(log)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://127.0.0.1:{port}/mcp")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 60)
    out = proc.stdout + proc.stderr
    res: dict = {"rps": 0.0, "done": 0, "errors": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("finished in"):
            res["rps"] = float(line.split(",")[1].split()[0])
        elif line.startswith("requests:"):
            f = line.replace(",", "").split()
            # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
            res["done"] = int(f[5])
            res["errors"] = int(f[9]) + int(f[11]) + int(f[13])
        elif line.startswith("status codes:"):
            f = line.replace(",", "").split()
            res["non2xx"] = int(f[4]) + int(f[6]) + int(f[8])
            res["errors"] += res["non2xx"]
    lat = []
    if log.exists():
        for l in log.read_text().splitlines():
            p = l.split("\t")
            if len(p) >= 3:
                lat.append(int(p[2]))
        log.unlink()
    lat.sort()
    if lat:
        q = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))]  # noqa: E731
        res.update(p50=q(0.50), p90=q(0.90), p99=q(0.99), mean=statistics.fmean(lat))
    if res["done"] == 0:
        # Nothing answered within the run (seen with Envoy's mcp_router): every connection's
        # request counts as an error, and the run goes on with the next configuration.
        res["errors"] = max(res["errors"], conc)
        res["hung"] = True
        print(f"    no answer within {duration} s (h2load: {' '.join(out.split()[-40:])[:200]})", flush=True)
    return res


# ---------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(l.split(":", 1)[1].strip() for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    env_v = subprocess.run([envoy_bin(), "--version"], capture_output=True, text=True).stdout.strip().split("version:")[-1].strip()
    h2v = subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "loadavg_before": Path("/proc/loadavg").read_text().split()[:3], "envoy": env_v, "h2load": h2v}


def warn_if_stale(binary: Path, sources: list[str], what: str = "(d) may not be the current Envoy shape "
                  "(cargo build --release -p mcp-gateway)") -> None:
    """An old mcp-gateway renders an old Envoy shape without saying so: warn when its sources
    are newer than it (`make loadbench` rebuilds it). Also used for the filter builds."""
    files = [f for src in sources for f in ([ROOT / src] if src.endswith(".rs") else (ROOT / src).rglob("*.rs")) if f.exists()]
    newest = max(files, key=lambda f: f.stat().st_mtime, default=None)
    if newest and newest.stat().st_mtime > binary.stat().st_mtime:
        print(f"warning: {binary} is older than {newest.relative_to(ROOT)}: {what}", file=sys.stderr, flush=True)


def envoy_configs(key: str) -> dict[str, dict]:
    """Every Envoy's bootstrap, by configuration."""
    return {"b": envoy_plain(), "c": envoy_native(), "d": envoy_ours(key, "d"), "e": envoy_ours(key, "e"),
            "f": envoy_floor()}


def start_stack(procs: Procs, work: Path, key: str, stateless: bool, envoys: str = ENVOYS) -> None:
    """The backend, the broker (one, for (d) and (e)) and one Envoy per configuration in envoys."""
    start_backend(procs, stateless)
    gw = work / "gateway.yaml"
    gw.write_text(gateway_yaml())
    procs.start("broker", [str(BROKER_BIN), "--config", str(gw)], {KEY_ENV: key})
    cfgs = envoy_configs(key)
    for which in envoys:
        path = work / f"envoy-{which}.json"
        path.write_text(json.dumps(cfgs[which], indent=1))
        procs.start(f"envoy-{which}", [envoy_bin(), "-c", str(path), "--concurrency", str(ARGS.envoy_concurrency),
                                       "--disable-hot-restart", "-l", "warning"],
                    # Our filter reads the session key from Envoy's environment ((d): host_env_keys,
                    # (e): the module reads Envoy's own); (e) and (f) load the native module.
                    {KEY_ENV: key, **(NATIVE_ENV if which in NATIVE else {})})
    wait_port(BROKER_PORT, path="/healthz")
    for which in envoys:
        wait_port(ADMIN[which], path="/ready")
    procs.check()


def pid_for(cfg: str, procs: Procs) -> dict[str, int]:
    """Processes whose CPU we attribute to a configuration."""
    out = {"backend": procs.pid("backend")}
    if cfg in ENVOYS:
        out["envoy"] = procs.pid(f"envoy-{cfg}")
    if cfg in OURS:
        out["broker"] = procs.pid("broker")
    return out


def run_load(procs: Procs, work: Path) -> list[dict]:
    sessions = {}
    for cfg in CONFIGS:
        sid = open_session(cfg)
        check_call(cfg, sid, "hello")
        check_call(cfg, sid, "x" * 65536)
        n = check_list(cfg, sid)
        print(f"  {LABEL[cfg]}: session ok, echo ok, tools/list has {n} tools", flush=True)
        sessions[cfg] = sid
    bodies = {}
    for cfg in CONFIGS:
        for name, data in (("call", call_body(cfg, "hello")), ("call64k", call_body(cfg, "x" * 65536)),
                           ("list", rpc_body("tools/list", {}, 3)), ("init", init_body())):
            p = work / f"{cfg}-{name}.json"
            p.write_bytes(data)
            bodies[(cfg, name)] = p
    rows = []
    # Session creation goes last, each run on a freshly started backend: rmcp keeps every
    # session it creates, h2load cannot end them, and tens of thousands of open sessions (10
    # per initialize through c, d and e) slow the backend down for every later run. Restarting
    # it earlier would invalidate the sessions the other workloads use.
    plan = [(rnd, wi) for rnd in range(ARGS.rounds) for wi, w in enumerate(WORKLOADS) if w[0] != "init"]
    plan += [(rnd, wi) for rnd in range(ARGS.rounds) for wi, w in enumerate(WORKLOADS) if w[0] == "init"]
    t_start = time.time()
    for i, (rnd, wi) in enumerate(plan):
        wl, conc, _ = WORKLOADS[wi]
        # Rotate the order each round and workload so no configuration always goes first, and
        # reverse it every other round so none always runs right after the same other one.
        k = (rnd + wi) % len(CONFIGS)
        order = CONFIGS[k:] + CONFIGS[:k]
        if rnd % 2:
            order.reverse()
        if i:
            left = (time.time() - t_start) / i * (len(plan) - i)
            print(f"  ({i}/{len(plan)} steps, ~{left / 60:.1f} min of load left)", flush=True)
        for cfg in order:
            if wl == "init":
                procs.stop("backend")
                start_backend(procs)
            headers = dict(BASE_HEADERS)
            if wl != "init":
                headers["mcp-session-id"] = sessions[cfg]
                headers["mcp-protocol-version"] = PROTOCOL
            pids = pid_for(cfg, procs)
            before = {n: cpu_ticks(p) for n, p in pids.items()}
            res = h2load(port_of(cfg), bodies[(cfg, wl)], headers, conc, ARGS.duration, ARGS.warmup,
                         work / "h2load.log")
            after = {n: cpu_ticks(p) for n, p in pids.items()}
            procs.check()
            total = res["done"]
            # CPU per request over the whole run (warm-up included in the ticks, not in done:
            # a slight overestimate, the same for every configuration).
            for n in pids:
                res[f"cpu_us_{n}"] = (after[n] - before[n]) / TICK * 1e6 / max(total, 1)
            row = {"round": rnd, "config": cfg, "workload": wl, "conc": conc, **res}
            rows.append(row)
            print(f"  r{rnd} {wl:8s} c={conc:<3d} {LABEL[cfg]:28s} {res['rps']:9.0f} req/s  p50 {res.get('p50', 0):6d} us"
                  f"  p99 {res.get('p99', 0):6d} us  errors {res['errors']}"
                  + "".join(f"  {n} {res[f'cpu_us_{n}']:.0f}us" for n in pids), flush=True)
    return rows


def many_sessions(cfg: str, n: int, budget_s: float) -> int:
    """Opens n sessions through cfg, each used for one tools/call (so the gateway has seen it
    on its routed path). Returns how many were opened within the budget."""
    done = 0
    lock = threading.Lock()
    end = time.time() + budget_s
    local = threading.local()

    def one(_: int) -> None:
        nonlocal done
        if time.time() > end:
            return
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = http.client.HTTPConnection("127.0.0.1", port_of(cfg), timeout=30)
        sid = open_session(cfg, c)
        check_call(cfg, sid, "m", c)
        with lock:
            done += 1

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(one, range(n)))
    return done


def start_backend(procs: Procs, stateless: bool = False) -> None:
    argv = [str(BACKEND_BIN), "--filler", "19"]
    for p in BACKEND_PORTS:
        argv += ["--listen", f"127.0.0.1:{p}"]
    if stateless:
        argv.append("--stateless")
    procs.start("backend", argv)
    for p in BACKEND_PORTS:
        wait_port(p)


SESSION_CONFIGS = "cde"  # the memory phase opens live sessions through these, in this order


def run_memory(procs: Procs, work: Path, key: str) -> dict:
    """RSS on a fresh stack: idle, then after ARGS.sessions live sessions through (c), then (d),
    then (e), with a snapshot of every process after each (mem["after"][cfg]). Backends stay in
    session mode (Envoy's mcp_router issues a session only when its backends do); the backend
    process is restarted before (d) and (e) so it never holds more than 10 x ARGS.sessions
    backend sessions. Envoys and the broker are not restarted: the broker, shared by (d) and
    (e), holds both sets in the last snapshot. (b) and (f) take no sessions: an Envoy's
    baseline, without and with the native module loaded (body_floor)."""
    procs.stop_all()
    start_stack(procs, work, key, stateless=False)
    time.sleep(1)
    mem: dict = {"idle": {}, "loaded": {}, "after": {}, "sessions": {}, "seconds": {}}
    names = [f"envoy-{w}" for w in ENVOYS] + ["broker"]
    for n in names:
        mem["idle"][n] = rss_kib(procs.pid(n))
    for i, cfg in enumerate(SESSION_CONFIGS):
        if i:
            procs.stop("backend")
            start_backend(procs)
        t0 = time.time()
        mem["sessions"][cfg] = many_sessions(cfg, ARGS.sessions, ARGS.session_budget)
        mem["seconds"][cfg] = round(time.time() - t0, 1)
        print(f"  {LABEL[cfg]}: {mem['sessions'][cfg]} sessions in {mem['seconds'][cfg]} s", flush=True)
        procs.check()
        time.sleep(1)
        mem["after"][cfg] = {n: rss_kib(procs.pid(n)) for n in names}
    # "loaded": each process with the sessions that went through it (the last snapshot for the
    # broker, which holds the sessions of (d) and (e); (b) and (f) take none).
    own = {f"envoy-{c}": c for c in SESSION_CONFIGS}
    last = mem["after"][SESSION_CONFIGS[-1]]
    for n in names:
        mem["loaded"][n] = mem["after"][own[n]][n] if n in own else last[n]
    return mem


# ---------------------------------------------------------------------------------------------
# Report


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


SPREAD_FIELDS = ("rps", "cpu_us_envoy", "cpu_us_broker", "cpu_us_backend")
CALL_CONCS = (1, 16, 64)


def aggregate(rows: list[dict]) -> dict:
    """Per workload@conc and configuration: medians over rounds, and for req/s and the CPU
    figures also their spread (min, max, quartiles) over rounds."""
    agg: dict = {}
    keys = sorted({(r["workload"], r["conc"]) for r in rows}, key=lambda k: [w[:2] for w in WORKLOADS].index(k))
    for wk in keys:
        for cfg in CONFIGS:
            rs = [r for r in rows if (r["workload"], r["conc"]) == wk and r["config"] == cfg]
            if not rs:
                continue
            a = {f: med([r[f] for r in rs if f in r]) for f in ("rps", "p50", "p90", "p99", "mean")}
            a["rounds"] = len(rs)
            a["hung_runs"] = sum(1 for r in rs if r.get("hung"))
            for f in ("cpu_us_envoy", "cpu_us_broker", "cpu_us_backend"):
                if f in rs[0]:
                    a[f] = med([r[f] for r in rs])
            for f in SPREAD_FIELDS:
                xs = sorted(r[f] for r in rs if f in r)
                if not xs:
                    continue
                a[f"{f}_min"], a[f"{f}_max"] = xs[0], xs[-1]
                q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else [xs[0]] * 3
                a[f"{f}_q1"], a[f"{f}_q3"] = q[0], q[2]
            a["errors"] = sum(r["errors"] for r in rs)
            a["requests"] = sum(r["done"] for r in rs)
            agg.setdefault(f"{wk[0]}@{wk[1]}", {})[cfg] = a
    return agg


def per_round_ratios(rows: list[dict], key: str, x: str, y: str) -> list[float]:
    """req/s of x ÷ req/s of y within each round (paired: same round, same workload)."""
    wl, conc = key.split("@")
    by = {(r["round"], r["config"]): r["rps"] for r in rows if r["workload"] == wl and r["conc"] == int(conc)}
    return [by[(n, x)] / by[(n, y)] for (n, c) in sorted(by) if c == x and (n, y) in by and by[(n, y)] > 0]


def with_spread(a: dict, f: str, scale: float = 1.0) -> str:
    """'median (min–max)' of a figure over rounds, or '–'."""
    if f not in a:
        return "–"
    if f"{f}_min" not in a or a.get("rounds", 1) < 2:
        return f"{a[f] / scale:.0f}"
    return f"{a[f] / scale:.0f} ({a[f + '_min'] / scale:.0f}–{a[f + '_max'] / scale:.0f})"


ENVOY_RSS_TARGET_KIB = 5 * 1024  # "within +5 MB": 5 MiB, RSS is in KiB


def targets(agg: dict, meta: dict, rows: list[dict] | None = None, mem: dict | None = None) -> list[tuple[str, bool | None, str]]:
    """(target, met: True/False/None for information, measured). Throughput ratios are ratios of
    the medians over rounds; the range after them is the same ratio round by round."""
    rows = rows or []
    out: list[tuple[str, bool | None, str]] = []

    def get(key: str, cfg: str, f: str = "rps") -> float:
        return agg.get(key, {}).get(cfg, {}).get(f, float("nan"))

    def ratio(name: str, key: str, x: str, y: str, thr: float | None, stretch: float | None = None) -> None:
        r = get(key, x) / get(key, y) if get(key, y) else float("nan")
        if r != r:  # nan: one of them was not measured (e.g. an old results.json)
            out.append((name, None, "not measured"))
            return
        pr = per_round_ratios(rows, key, x, y)
        txt = f"{r:.2f} ×" + (f" (per round {min(pr):.2f}–{max(pr):.2f})" if len(pr) > 1 else "")
        if stretch is not None:
            txt += f"; stretch {stretch} × {'met' if r >= stretch else 'not met'}"
        out.append((name, None if thr is None else r >= thr, txt))

    for c in (16, 64):
        ratio(f"native (e) tools/call c={c} ≥ 0.8 × (b) (stretch 0.9 ×)", f"call@{c}", "e", "b", 0.8, 0.9)
    for c in (16, 64):
        ratio(f"native (e) tools/call c={c} ≥ 1.5 × (c)", f"call@{c}", "e", "c", 1.5)
    for c in (16, 64):
        ratio(f"wasm (d) tools/call c={c} ≥ 1.2 × (c)", f"call@{c}", "d", "c", 1.2)
    ratio("(info) c=1: native (e) tools/call ÷ (b)", "call@1", "e", "b", None)
    ratio("(info) c=1: native (e) tools/call ÷ (c)", "call@1", "e", "c", None)
    for c in CALL_CONCS:
        ratio(f"wasm (d) tools/call c={c} ≥ 0.9 × (b)", f"call@{c}", "d", "b", 0.9)
        ratio(f"wasm (d) tools/call c={c} ≥ 1.0 × (c)", f"call@{c}", "d", "c", 1.0)
    for c in CALL_CONCS:
        # Not a target, the noise-robust view: if Envoy were the bottleneck, throughput would
        # scale with 1 / (Envoy CPU per call). (f) is the floor under any body-reading filter:
        # e − f and d − f are what our filter itself costs above it.
        eb, ec, ed, ee, ef = (get(f"call@{c}", k, "cpu_us_envoy") for k in "bcdef")
        out.append((f"(info) c={c}: Envoy CPU per call b / c / d / e / f; capacity ratio e:b, e:c, d:b, d:c; "
                    "module above the floor e − f, d − f", None,
                    f"{eb:.0f} / {ec:.0f} / {ed:.0f} / {ee:.0f} / {ef:.0f} µs; {eb / ee:.2f} ×, {ec / ee:.2f} ×, "
                    f"{eb / ed:.2f} ×, {ec / ed:.2f} ×; {ee - ef:+.0f} µs, {ed - ef:+.0f} µs"))
    for x in OURS:
        for c in CALL_CONCS:
            d = get(f"call@{c}", x, "p50") - get(f"call@{c}", "b", "p50")
            out.append((f"{LABEL[x][2:]}: tools/call c={c}: added median latency over (b) ≤ 100 µs",
                        None if d != d else d <= 100, "not measured" if d != d else f"{d:+.0f} µs"))
    for x in OURS:
        d = get("list@16", x, "p50") - get("list@16", "c", "p50")
        out.append((f"{LABEL[x][2:]}: tools/list over 10 backends within 2 ms of (c)", None if d != d else d <= 2000,
                    "not measured" if d != d else f"{d / 1000:+.2f} ms (p50)"))
    # Errors are counted per configuration: a target of ours is about (d) and (e); the others'
    # errors are reported beside it (Envoy's native mcp_router can hang on tools/list, see README).
    errs = {k: sum(w[k]["errors"] for w in agg.values() if k in w) for k in CONFIGS}
    seen = [k for k in CONFIGS if any(k in w for w in agg.values())]
    for x in OURS:
        if x not in seen:
            continue
        others = ", ".join(f"({k}) {errs[k]}" for k in seen if k not in OURS)
        out.append((f"zero errors in every run of ours ({x})", errs[x] == 0, f"({x}) {errs[x]} errors; others: {others}"))
    out.append(("wasm ≤ 1 MiB", meta["wasm_bytes"] <= 1 << 20, f"{meta['wasm_bytes'] / 1024:.0f} KiB"))
    if "native_bytes" in meta:
        out.append(("(info) native module libmcpgw_native.so", None, f"{meta['native_bytes'] / 1024:.0f} KiB"))
    name = "Envoy RSS with the module (e) within +5 MB (MiB) of (b)"
    if not mem or "envoy-e" not in mem.get("idle", {}):
        out.append((name, None, "not measured"))
    else:
        idle, loaded = mem["idle"], mem["loaded"]
        d = idle["envoy-e"] - idle["envoy-b"]
        dl = loaded["envoy-e"] - loaded["envoy-b"]
        out.append((name, d <= ENVOY_RSS_TARGET_KIB,
                    f"idle {d / 1024:+.1f} MiB ({idle['envoy-e'] / 1024:.1f} vs {idle['envoy-b'] / 1024:.1f} MiB); "
                    f"with {mem['sessions'].get('e', 0)} live sessions through (e) {dl / 1024:+.1f} MiB"))
        out.append(("(info) Envoy RSS idle over (b): d (wasm) / f (module, body_floor)", None,
                    f"{(idle['envoy-d'] - idle['envoy-b']) / 1024:+.1f} / {(idle['envoy-f'] - idle['envoy-b']) / 1024:+.1f} MiB"))
    return out


def write_report(meta: dict, rows: list[dict], agg: dict, mem: dict | None, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows, "aggregate": agg, "memory": mem}, indent=1))
    m = meta["machine"]
    L = ["# Load benchmark results", "",
         f"Generated by `make loadbench` (benches/loadbench.py) on {meta['date']}"
         + (f", commit {meta['commit']}" if meta.get("commit") else "")
         + f", {meta['rounds']} rounds x "
         f"{meta['duration']} s per run (+{meta['warmup']} s warm-up), configurations interleaved (order rotated "
         f"every workload and round, reversed every other round). "
         f"Medians over rounds, spread as (min–max over rounds). Protocol era: MCP {PROTOCOL} (session protocol) "
         f"everywhere; HTTP/1.1, one request in flight per connection (h2load `--h1 -m 1`). Envoy "
         f"`--concurrency {meta['envoy_concurrency']}`. "
         + (f"(d) and (e): `mcp-gateway render --filter wasm` / `--filter native` of the benchmark's gateway "
            f"config (the same Envoy config but for the filter build), access log off, filter state "
            f"{'on' if meta.get('ours_filter_state', True) else 'off'}, one broker for both. (f): (b) + the native "
            f"module's `body_floor` filter (buffers the body, clears the route cache) before the router."
            if "native_bytes" in meta else
            f"(d)'s Envoy config: `mcp-gateway render` of the benchmark's gateway config, access log off, filter "
            f"state {'on' if meta.get('ours_filter_state', True) else 'off'}."), "",
         "## Machine", "",
         f"- nproc {m['nproc']}, CPU {m['cpu']}, memory {m['memory']}, kernel {m['kernel']}",
         f"- load average before the run: {' '.join(m['loadavg_before'])}; after: {' '.join(meta['loadavg_after'])}",
         f"- Envoy {m['envoy']}; {m['h2load']}",
         f"- backend: `mcpgw-bench-backend` (rmcp 3.9.0, one single-threaded process serving {N_BACKENDS} servers, "
         "20 tools each, SSE answers in session mode)", ""]
    desc = {f"{w}@{c}": d for w, c, d in WORKLOADS}
    # tools/call at a glance
    cfgs = [c for c in CONFIGS if any(c in agg.get(f"call@{n}", {}) for n in CALL_CONCS)]
    L += ["## tools/call at a glance", "",
          "req/s (median), its ratio to (b) and to (c), Envoy CPU µs per call.", "",
          "| configuration | " + " | ".join(f"c={n}" for n in CALL_CONCS) + " |",
          "|---|" + "---:|" * len(CALL_CONCS)]
    for cfg in cfgs:
        cells = []
        for n in CALL_CONCS:
            per = agg.get(f"call@{n}", {})
            a = per.get(cfg)
            if not a:
                cells.append("–")
                continue
            rb = f"{a['rps'] / per['b']['rps']:.2f}× b" if per.get("b", {}).get("rps") else ""
            rc = f"{a['rps'] / per['c']['rps']:.2f}× c" if per.get("c", {}).get("rps") else ""
            cpu = f"; Envoy {a['cpu_us_envoy']:.0f} µs" if "cpu_us_envoy" in a else ""
            cells.append(f"{a['rps']:.0f} ({', '.join(x for x in (rb, rc) if x)}{cpu})")
        L.append(f"| {LABEL[cfg]} | " + " | ".join(cells) + " |")
    L += ["", "## Throughput and latency", "",
          "req/s median (min–max over rounds), latency percentiles in µs (medians), × (b) / × (c) = req/s ÷ that of "
          "(b) / (c), Δp50 = p50 − p50 of (b); CPU = µs of CPU per request of Envoy / broker / backend (from "
          "/proc, whole run), median (min–max).", "",
          "| workload | conc | configuration | req/s | × (b) | × (c) | p50 | p90 | p99 | Δp50 vs (b) | Envoy CPU/req | broker CPU/req | backend CPU/req | errors |",
          "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, per in agg.items():
        wl, conc = key.split("@")
        b, c = per.get("b"), per.get("c")
        for cfg, a in per.items():
            rb = f"{a['rps'] / b['rps']:.2f}" if b and b["rps"] else ""
            rc = f"{a['rps'] / c['rps']:.2f}" if c and c["rps"] else ""
            dp = f"{a['p50'] - b['p50']:+.0f}" if b else ""
            hung = f" ({a['hung_runs']} runs hung)" if a["hung_runs"] else ""
            L.append(f"| {desc[key]} | {conc} | {LABEL[cfg]} | {with_spread(a, 'rps')} | {rb} | {rc} | {a['p50']:.0f} | "
                     f"{a['p90']:.0f} | {a['p99']:.0f} | {dp} | {with_spread(a, 'cpu_us_envoy')} | "
                     f"{with_spread(a, 'cpu_us_broker')} | {with_spread(a, 'cpu_us_backend')} | {a['errors']}{hung} |")
    L += ["", "For `tools/list` and `initialize`, (a), (b) and (f) talk to one backend; (c), (d) and (e) to ten "
          "(fan-out; ours answers `tools/list` from the broker's list cache).", ""]
    L += ["## Targets", "", "Ratios are of the medians; \"per round\" is the same ratio within each round.", "",
          "| target | met | measured |", "|---|---|---|"]
    for name, ok, val in targets(agg, meta, rows, mem):
        L.append(f"| {name} | {'–' if ok is None else 'yes' if ok else '**no**'} | {val} |")
    L += ["", "## Memory and size", "",
          f"- `mcpgw_filter.wasm`: {meta['wasm_bytes']} bytes ({meta['wasm_bytes'] / 1024:.0f} KiB)"]
    if "native_bytes" in meta:
        L.append(f"- `libmcpgw_native.so`: {meta['native_bytes']} bytes ({meta['native_bytes'] / 1024:.0f} KiB)")
    if mem:
        after = mem.get("after") or {}
        L += ["", f"RSS in KiB, on a fresh stack (after the load phase): idle, then after live sessions opened "
              f"through each of {', '.join(f'({k})' for k in mem['sessions'])} in turn (every process measured after "
              f"each); a session = initialize (fan-out to 10 backends) + notifications/initialized + one routed "
              f"tools/call. Sessions reached: "
              + ", ".join(f"({k}) {v} in {mem['seconds'][k]} s" for k, v in mem["sessions"].items())
              + ". (b) and (f) take no sessions: an Envoy's baseline without and with the native module loaded. "
              "The broker serves (d) and (e): after (e) it holds both sets.", ""]
        if after:
            L += ["| process | idle | " + " | ".join(f"after ({k}) sessions" for k in after) + " |",
                  "|---|---:|" + "---:|" * len(after)]
            for p in mem["idle"]:
                L.append(f"| {p} | {mem['idle'][p]} | " + " | ".join(str(after[k].get(p, '–')) for k in after) + " |")
        else:  # results.json from before the per-configuration snapshots
            L += ["| process | idle | with live sessions |", "|---|---:|---:|"]
            for p in mem["idle"]:
                L.append(f"| {p} | {mem['idle'][p]} | {mem['loaded'][p]} |")
    L += ["", "Plots: [throughput.png](throughput.png), [latency.png](latency.png), [cpu.png](cpu.png).", ""]
    (out / "results.md").write_text("\n".join(L))


COLORS = {"a": "#888888", "b": "#1f77b4", "c": "#ff7f0e", "d": "#2ca02c", "e": "#d62728", "f": "#9467bd"}


def plots(agg: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    for cfg in CONFIGS:
        xs = [c for c in CALL_CONCS if cfg in agg.get(f"call@{c}", {})]
        if not xs:
            continue
        a = [agg[f"call@{c}"][cfg] for c in xs]
        ys = [x["rps"] for x in a]
        err = [[y - x.get("rps_min", y) for x, y in zip(a, ys)], [x.get("rps_max", y) - y for x, y in zip(a, ys)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=LABEL[cfg], color=COLORS[cfg])
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(CALL_CONCS), [str(c) for c in CALL_CONCS])
    ax.set_xlabel("concurrency (connections, 1 request in flight each)")
    ax.set_ylabel("tools/call req/s (median of rounds, bars: min–max)")
    ax.set_title("tools/call throughput vs concurrency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)

    keys = list(agg)
    cols = max(1, (len(keys) + 1) // 2)
    fig, axes = plt.subplots(2, cols, figsize=(4.7 * cols, 7), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        per = agg[key]
        cfgs = [c for c in CONFIGS if c in per]
        w = 0.25
        for j, pct in enumerate(("p50", "p90", "p99")):
            ax.bar([i + (j - 1) * w for i in range(len(cfgs))], [per[c][pct] / 1000 for c in cfgs], w, label=pct)
        ax.set_xticks(range(len(cfgs)), [c for c in cfgs])
        ax.set_title(key.replace("@", " c="))
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.suptitle("latency percentiles per configuration (a direct, b envoy router, c envoy mcp_router, "
                 "d ours wasm, e ours native, f native body_floor)")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)

    # CPU per tools/call: Envoy (+ broker for d, e), bars = median, whiskers = min–max of Envoy's.
    fig, axes = plt.subplots(1, len(CALL_CONCS), figsize=(4.5 * len(CALL_CONCS), 4.5), squeeze=False)
    top = 0.0
    for ax, c in zip(axes.flat, CALL_CONCS):
        per = agg.get(f"call@{c}", {})
        cfgs = [k for k in CONFIGS if k in per and "cpu_us_envoy" in per[k]]
        env = [per[k]["cpu_us_envoy"] for k in cfgs]
        brk = [per[k].get("cpu_us_broker", 0) for k in cfgs]
        err = [[e - per[k].get("cpu_us_envoy_min", e) for k, e in zip(cfgs, env)],
               [per[k].get("cpu_us_envoy_max", e) - e for k, e in zip(cfgs, env)]]
        ax.bar(range(len(cfgs)), env, color=[COLORS[k] for k in cfgs], yerr=err, capsize=3, label="Envoy")
        ax.bar(range(len(cfgs)), brk, bottom=env, color="#cccccc", label="broker")
        ax.set_xticks(range(len(cfgs)), cfgs)
        ax.set_title(f"tools/call c={c}")
        ax.grid(axis="y", alpha=0.3)
        top = max([top] + [e + b + hi for e, b, hi in zip(env, brk, err[1])])
    for ax in axes.flat:
        ax.set_ylim(0, top * 1.08 or 1)
    axes.flat[0].set_ylabel("CPU µs per call (median of rounds)")
    axes.flat[0].legend()
    fig.suptitle("CPU per tools/call (b router, c mcp_router, d ours wasm, e ours native, f native body_floor)")
    fig.tight_layout()
    fig.savefig(out / "cpu.png", dpi=110)
    plt.close(fig)


# Seconds a load run takes beyond duration + warm-up (h2load start, connections, the backend
# restart before every initialize run), for the time estimate printed at the start.
RUN_OVERHEAD_S = 0.2  # measured: a ROUNDS=1 DURATION=2 WARMUP=1 run's 36 runs took ~3 s each


def estimate_s(rounds: int, duration: float, warmup: float, sessions: int, memory: bool) -> float:
    load = rounds * len(WORKLOADS) * len(CONFIGS) * (duration + warmup + RUN_OVERHEAD_S)
    # ~300 sessions/s through each of (c), (d), (e) on the 2-core machine, + the restarts.
    mem = (len(SESSION_CONFIGS) * sessions / 300 + 20) if memory else 0
    return load + mem + 20


def git_commit() -> str:
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return f"{h}{' (with local changes)' if dirty else ''}" if h else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def main() -> int:
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Defaults: 6 rounds x 6 workloads x 6 configurations x (4 + 1) s of load, ~19 min, + ~2 min
    # of memory phase: ~21 min on the 2-core machine. Rounds rather than longer runs: the
    # medians and their spread are over rounds, and an even count balances the reversed orders.
    p.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 6)))
    p.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 4)))
    p.add_argument("--warmup", type=float, default=float(os.environ.get("WARMUP", 1)))
    p.add_argument("--sessions", type=int, default=int(os.environ.get("SESSIONS", 10000)))
    p.add_argument("--session-budget", type=float, default=240, help="seconds per configuration for the sessions phase")
    p.add_argument("--envoy-concurrency", type=int, default=int(os.environ.get("ENVOY_CONCURRENCY", 1)))
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--out", type=Path, default=Path(os.environ.get("LOADBENCH_OUT", RESULTS)),
                   help=f"where results.md, results.json and the plots go (default {RESULTS.relative_to(ROOT)}; "
                        "env LOADBENCH_OUT)")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite results.md and the plots from OUT/results.json (the committed one by default); run nothing")
    ARGS = p.parse_args()
    out = ARGS.out.resolve()
    if ARGS.report_only:
        saved = json.loads((out / "results.json").read_text())
        agg = aggregate(saved["rows"])
        write_report(saved["meta"], saved["rows"], agg, saved["memory"], out)
        plots(agg, out)
        return 0
    for f in (BACKEND_BIN, BROKER_BIN, GATEWAY_BIN, WASM, NATIVE_SO):
        if not f.exists():
            sys.exit(f"missing {f}: run `make loadbench` (it builds them)")
    warn_if_stale(GATEWAY_BIN, ["gateway/src", "common/src/gateway.rs", "common/src/config.rs"])
    warn_if_stale(NATIVE_SO, ["native/src", "filter/src", "common/src"],
                  "(e) and (f) may not run the current filter (cargo build --profile native -p mcpgw-native)")
    warn_if_stale(WASM, ["filter/src", "common/src"],
                  "(d) may not run the current filter (cargo build --release -p mcpgw-filter --target wasm32-wasip1)")
    if not shutil.which("h2load"):
        sys.exit("h2load missing: run scripts/setup.sh (Debian nghttp2-client)")
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git_commit(), "rounds": ARGS.rounds,
            "duration": ARGS.duration, "warmup": ARGS.warmup, "envoy_concurrency": ARGS.envoy_concurrency,
            "machine": machine(), "configs": {k: LABEL[k] for k in CONFIGS}, "filter_builds": BUILD,
            "wasm_bytes": WASM.stat().st_size, "native_bytes": NATIVE_SO.stat().st_size,
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    print(f"machine: {meta['machine']}\nuptime: {meta['uptime']}", flush=True)
    est = estimate_s(ARGS.rounds, ARGS.duration, ARGS.warmup, ARGS.sessions, not ARGS.no_memory)
    print(f"{ARGS.rounds} rounds x {len(WORKLOADS)} workloads x {len(CONFIGS)} configurations x "
          f"({ARGS.duration:g} + {ARGS.warmup:g} s): about {est / 60:.0f} min in all; results to {out}", flush=True)
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    # What (d) and (e) run, for the report (render writes it; absent, the filter's default is on).
    meta["ours_filter_state"] = filter_config_of(envoy_ours(key, "d")).get("filter_state", True)
    if filter_config_of(envoy_ours(key, "e")) != filter_config_of(envoy_ours(key, "d")):
        raise RuntimeError("(d) and (e) render different filter configurations: they would not be alike")
    work = Path(tempfile.mkdtemp(prefix="loadbench-"))
    procs = Procs(work)
    # A SIGTERM (e.g. from make's caller) unwinds through `finally` like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        start_stack(procs, work, key, stateless=False)
        print("load phase", flush=True)
        rows = run_load(procs, work)
        mem = None
        if not ARGS.no_memory:
            print("memory phase", flush=True)
            mem = run_memory(procs, work, key)
        meta["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
        agg = aggregate(rows)
        write_report(meta, rows, agg, mem, out)
        plots(agg, out)
        print((out / "results.md").read_text())
    except BaseException:
        print(f"logs in {work}", file=sys.stderr)
        raise
    finally:
        # No second Ctrl-C/SIGTERM may interrupt the clean-up half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
    shutil.rmtree(work, ignore_errors=True)
    return 0


ARGS: argparse.Namespace

if __name__ == "__main__":
    sys.exit(main())
