"""A gateway with a layout of the test's choosing (for test_clients.py): any backends (each a
command line that serves MCP on 127.0.0.1:PORT), any extra gateway config (timeouts, session
subject header), and Envoy HTTP filters after the gateway's (`http_filters`: a file, as for
`mcp-gateway render --http-filters`). The same pieces as conftest.start_gateway: the real broker on the gateway
config, Envoy on what `mcp-gateway render` makes of it, with the current filter host's build
(conftest.filter_host: the CLI reads $MCPGW_FILTER; a fixture that calls this with a scope
wider than a test must depend on `filter_host`). The caller stops `procs` (stop_all), also
when this raises."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from conftest import (
    PYTHON,
    SERVERS,
    ENVOY,
    WASM,
    BrokerContext,
    Gateway,
    Proc,
    broker_command,
    check_rendered_host,
    envoy_argv,
    envoy_render,
    free_port,
    port_open,
    random_key,
    require_filter_built,
    wait_until,
)


@dataclass
class Backend:
    name: str
    argv: Callable[[int], list[str]]  # the command line, given its port
    prefix: str | None = None  # default "<name>_"
    path: str = "/mcp"
    env: dict[str, str] | None = None
    port_env: str | None = None  # also pass the port in this environment variable (e.g. PORT)
    config: dict[str, Any] | None = None  # extra server fields (timeout_ms, sessionless, ...)


def py_backend(name: str, stateless: bool, script: Path = SERVERS / "py_backend.py", **config: Any) -> Backend:
    """A Python SDK test backend (tests/servers/py_backend.py unless `script` says otherwise),
    speaking the session protocol or, with `stateless`, 2026-07-28 (and declared `sessionless`);
    `config`: more server fields (rules, timeouts)."""
    return Backend(
        name,
        lambda port: [PYTHON, str(script), name, str(port)] + (["--stateless"] if stateless else []),
        config={"sessionless": stateless, **config},
    )


def start_custom_gateway(workdir: Path, procs: list[Proc], backends: list[Backend], http_filters: Path | None = None, **extra: Any) -> Gateway:
    assert ENVOY.is_file(), f"Envoy not found at {ENVOY}: run scripts/setup.sh"
    require_filter_built()
    key = random_key()
    ports = {n: free_port() for n in ["broker", "listen", "admin"] + [b.name for b in backends]}
    gw = Gateway(
        url=f"http://127.0.0.1:{ports['listen']}/mcp",
        base=f"http://127.0.0.1:{ports['listen']}",
        admin=f"http://127.0.0.1:{ports['admin']}",
        key=key,
        max_body_bytes=envoy_render.DEFAULT_MAX_BODY,
        workdir=workdir,
        access_log=workdir / "access.log",
        envoy_log=workdir / "envoy.log",
        ports=ports,
        procs=procs,
    )
    for b in backends:
        env = {**(b.env or {}), **({b.port_env: str(ports[b.name])} if b.port_env else {})}
        procs.append(Proc(b.name, b.argv(ports[b.name]), workdir / f"{b.name}.log", env=env))
    servers = [
        {
            "name": b.name,
            "url": f"http://127.0.0.1:{ports[b.name]}{b.path}",
            "prefix": f"{b.name}_" if b.prefix is None else b.prefix,
            **(b.config or {}),
        }
        for b in backends
    ]
    config = envoy_render.gateway_config(
        listen=("127.0.0.1", ports["listen"]), broker=("127.0.0.1", ports["broker"]), servers=servers, **extra
    )
    gateway_yaml = workdir / "gateway.yaml"
    gateway_yaml.write_text(json.dumps(config, indent=2))
    for b in backends:
        wait_until(lambda p=ports[b.name]: port_open(p), b.name, procs)
    broker = broker_command(BrokerContext(ports["broker"], key, 0, 0, workdir, gateway_yaml))
    procs.append(Proc("broker", broker, workdir / "broker.log", env={envoy_render.KEY_ENV: key}))
    wait_until(lambda: port_open(ports["broker"]), "broker", procs)
    envoy_yaml = workdir / "envoy.yaml"
    envoy_yaml.write_text(
        check_rendered_host(
            envoy_render.render_gateway(
                config, key=key, wasm_path=WASM, admin_port=ports["admin"], access_log_path=str(gw.access_log), http_filters=http_filters
            )
        )
    )
    procs.append(Proc("envoy", envoy_argv(envoy_yaml, ports["admin"]), gw.envoy_log, env={envoy_render.KEY_ENV: key}))
    wait_until(gw.ready, "envoy /ready", procs)
    return gw
