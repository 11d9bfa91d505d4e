#!/usr/bin/env python3
"""Renders envoy-configs/gateway.yaml.tmpl into a runnable Envoy bootstrap.

    python envoy-configs/render.py [--rbac] [--out FILE] [--wasm PATH] [--listen-port N] ...

Defaults give the layout of envoy-configs/README.md: gateway on 127.0.0.1:10000, admin on
9901, backends alpha on 127.0.0.1:8081, beta on 8082, the broker on 8090. Without --key a
fresh random 32-byte session key is generated. The end-to-end tests import `render()` and
`filter_config()` from here, so the example and the tests share one template.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "gateway.yaml.tmpl"
RBAC_SNIPPET = HERE / "rbac-deny-tool.yaml"
DEFAULT_WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "mcpgw_filter.wasm"

# The authorities the filter sets; they must match the virtual hosts' domains in the template.
ALPHA_AUTHORITY = "alpha.mcp.internal"
BETA_AUTHORITY = "beta.mcp.internal"
BROKER_AUTHORITY = "broker.mcp.internal"

DEFAULT_MAX_BODY = 4 * 1024 * 1024
# Envoy's own buffer cap sits a little above the filter's limit, so that an oversized body
# is refused by the filter (413 + JSON-RPC error) rather than by Envoy (413, plain text).
BUFFER_SLACK = 256 * 1024


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def filter_config(*, key: str, max_body_bytes: int = DEFAULT_MAX_BODY, subject_header: str | None = None) -> dict:
    """The filter's plugin configuration (schema: common/src/config.rs)."""
    session: dict = {"keys": [key]}
    if subject_header:
        session["subject_header"] = subject_header
    return {
        "mcp_paths": ["/mcp"],
        "max_body_bytes": max_body_bytes,
        "broker": {"authority": BROKER_AUTHORITY, "path": "/mcp"},
        "servers": [
            {"name": "alpha", "prefix": "alpha_", "authority": ALPHA_AUTHORITY, "path": "/mcp"},
            {"name": "beta", "prefix": "beta_", "authority": BETA_AUTHORITY, "path": "/mcp"},
        ],
        "session": session,
        "filter_state": True,
    }


def render(
    *,
    wasm_path: str | os.PathLike = DEFAULT_WASM,
    listen_address: str = "127.0.0.1",
    listen_port: int = 10000,
    admin_port: int = 9901,
    alpha: tuple[str, int] = ("127.0.0.1", 8081),
    beta: tuple[str, int] = ("127.0.0.1", 8082),
    broker: tuple[str, int] = ("127.0.0.1", 8090),
    default: tuple[str, int] | None = None,
    key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    access_log_path: str = "/dev/stdout",
    mcp_idle_timeout: str = "300s",
    rbac: bool = False,
    config: dict | None = None,
) -> str:
    """Returns the bootstrap YAML. `default` is where non-MCP paths go (the broker if unset);
    `config` overrides the whole filter configuration."""
    default = default or broker
    cfg = config if config is not None else filter_config(key=key or random_key(), max_body_bytes=max_body_bytes)
    extra = RBAC_SNIPPET.read_text().rstrip("\n") if rbac else ""
    values = {
        "admin_port": admin_port,
        "listen_address": listen_address,
        "listen_port": listen_port,
        "buffer_limit_bytes": cfg.get("max_body_bytes", DEFAULT_MAX_BODY) + BUFFER_SLACK,
        "access_log_path": access_log_path,
        "mcp_idle_timeout": mcp_idle_timeout,
        "wasm_path": str(wasm_path),
        # One line of JSON inside a YAML block scalar: no quoting or indentation pitfalls.
        "filter_config_json": json.dumps(cfg, separators=(",", ":")),
        "extra_http_filters": extra,
    }
    for name, (addr, port) in (("alpha", alpha), ("beta", beta), ("broker", broker), ("default", default)):
        values[f"{name}_address"] = addr
        values[f"{name}_port"] = port
        values[f"{name}_host"] = f"{addr}:{port}"
    return string.Template(TEMPLATE.read_text()).substitute(values)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="-", help="output file (default stdout)")
    p.add_argument("--wasm", default=str(DEFAULT_WASM))
    p.add_argument("--listen-port", type=int, default=10000)
    p.add_argument("--admin-port", type=int, default=9901)
    p.add_argument("--alpha-port", type=int, default=8081)
    p.add_argument("--beta-port", type=int, default=8082)
    p.add_argument("--broker-port", type=int, default=8090)
    p.add_argument("--key", help="base64 of 32 bytes (default: a new random key)")
    p.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY)
    p.add_argument("--access-log", default="/dev/stdout")
    p.add_argument("--rbac", action="store_true", help="add the RBAC example after the wasm filter")
    a = p.parse_args(argv)
    text = render(
        wasm_path=a.wasm,
        listen_port=a.listen_port,
        admin_port=a.admin_port,
        alpha=("127.0.0.1", a.alpha_port),
        beta=("127.0.0.1", a.beta_port),
        broker=("127.0.0.1", a.broker_port),
        key=a.key,
        max_body_bytes=a.max_body_bytes,
        access_log_path=a.access_log,
        rbac=a.rbac,
    )
    if a.out == "-":
        sys.stdout.write(text)
    else:
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
