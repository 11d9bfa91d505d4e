#!/usr/bin/env python3
"""Renders the example Envoy bootstraps with `mcp-gateway render` (gateway/src/render.rs, the
one source of the gateway's Envoy shape).

    python envoy-configs/render.py [--rbac] [--out FILE] [--wasm PATH] [--listen-port N] ...
    python envoy-configs/render.py --examples      # re-write filter-static.yaml, filter-rbac.yaml

This script only writes a gateway config (the file format of common/src/gateway.rs) for the
example layout and passes it to the CLI: gateway on 127.0.0.1:10000, admin on 9901, backends
alpha on 127.0.0.1:8081, beta on 8082, the broker on 8090. Without --key a fresh random
32-byte session key is generated. The end-to-end tests import `gateway_config()`,
`render()` and `run_cli()` from here, so the examples and the tests share one renderer.

The CLI binary: $MCPGW_GATEWAY_BIN, else the newest of target/{debug,release}/mcp-gateway
(`cargo build -p mcp-gateway`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RBAC_SNIPPET = HERE / "rbac-deny-tool.yaml"
# Relative to the directory Envoy is started in (the repo root, see README.md).
DEFAULT_WASM = "target/wasm32-wasip1/release/mcpgw_filter.wasm"
# The native module's folder (libmcpgw_native.so), for Envoy's ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
DEFAULT_NATIVE_DIR = "target/native"
# The checked-in examples use this well-known key so that they are reproducible. It is public:
# never use it for anything but a local try-out (render without --key for a random one).
EXAMPLE_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
EXAMPLES = {"filter-static.yaml": False, "filter-rbac.yaml": True}
KEY_ENV = "MCPGW_SESSION_KEY"

DEFAULT_MAX_BODY = 4 * 1024 * 1024
# Envoy's own buffer cap sits this far above the filter's limit (see gateway/src/render.rs).
BUFFER_SLACK = 256 * 1024


def gateway_binary() -> Path:
    env = os.environ.get("MCPGW_GATEWAY_BIN")
    if env:
        return Path(env)
    found = [p for p in (ROOT / "target/debug/mcp-gateway", ROOT / "target/release/mcp-gateway") if p.is_file()]
    if not found:
        raise RuntimeError("mcp-gateway is not built: run `cargo build -p mcp-gateway` (or make)")
    return max(found, key=lambda p: p.stat().st_mtime)


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def gateway_config(
    *,
    listen: tuple[str, int] = ("127.0.0.1", 10000),
    broker: tuple[str, int] = ("127.0.0.1", 8090),
    servers: list[dict] | None = None,
    alpha: tuple[str, int] = ("127.0.0.1", 8081),
    beta: tuple[str, int] = ("127.0.0.1", 8082),
    sessionless: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    **extra,
) -> dict:
    """A gateway config (common/src/gateway.rs) for the example layout: servers alpha and beta
    (prefixes alpha_, beta_), the session key in $MCPGW_SESSION_KEY. `sessionless` marks the
    backends as serving MCP 2026-07-28 themselves (the stateless SDK test servers do)."""
    if servers is None:
        servers = [
            # 30 s: how long a backend may stay silent before the gateway answers for it.
            {"name": n, "url": f"http://{h}:{p}/mcp", "prefix": f"{n}_", "sessionless": sessionless, "timeout_ms": 30000}
            for n, (h, p) in (("alpha", alpha), ("beta", beta))
        ]
    return {
        "listen": f"{listen[0]}:{listen[1]}",
        "mcp_path": "/mcp",
        "broker": {"listen": f"{broker[0]}:{broker[1]}"},
        "servers": servers,
        "session": {"key_env": KEY_ENV},
        "limits": {"max_body_bytes": max_body_bytes},
        **extra,
    }


def run_cli(args: list[str], *, key: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if key is not None:
        env[KEY_ENV] = key
    r = subprocess.run([str(gateway_binary()), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"mcp-gateway {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r


def render_gateway(
    gateway: dict,
    *,
    key: str,
    wasm_path: str | os.PathLike[str] = DEFAULT_WASM,
    admin_port: int = 9901,
    default: tuple[str, int] | None = None,
    access_log_path: str = "/dev/stdout",
    rbac: bool = False,
    http_filters: str | os.PathLike[str] | None = None,
) -> str:
    """The static bootstrap `mcp-gateway render` makes of this gateway config. `http_filters`:
    a file of Envoy HTTP filters to put after the gateway's (instead of the RBAC example)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateway.yaml"
        path.write_text(json.dumps(gateway, indent=2))  # JSON is YAML
        args = ["render", "--config", str(path), "--wasm", str(wasm_path), "--module-dir", DEFAULT_NATIVE_DIR]
        args += ["--admin", f"127.0.0.1:{admin_port}"]
        args += ["--access-log", access_log_path]
        if rbac or http_filters:
            args += ["--http-filters", str(http_filters or RBAC_SNIPPET)]
        if default:
            args += ["--default-upstream", f"{default[0]}:{default[1]}"]
        return run_cli(args, key=key).stdout


def render(
    *,
    wasm_path: str | os.PathLike[str] = DEFAULT_WASM,
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
    rbac: bool = False,
    config: dict | None = None,
    sessionless: bool = True,
) -> str:
    """Returns the bootstrap YAML for the example layout. `default` is where non-MCP paths go
    (else Envoy answers 404 there, except RFC 9728 metadata from the broker); `config`
    replaces the wasm filter's configuration after rendering (to test what Envoy does with a
    configuration the CLI would refuse)."""
    gateway = gateway_config(
        listen=(listen_address, listen_port), broker=broker, alpha=alpha, beta=beta, sessionless=sessionless, max_body_bytes=max_body_bytes
    )
    text = render_gateway(
        gateway, key=key or random_key(), wasm_path=wasm_path, admin_port=admin_port, default=default, access_log_path=access_log_path, rbac=rbac
    )
    if config is not None:
        import yaml  # only needed for this test hook

        boot = yaml.safe_load(text)
        hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["http_filters"][0]["typed_config"]["config"]["configuration"]["value"] = json.dumps(config, indent=2)
        text = yaml.safe_dump(boot, sort_keys=False)
    return text


def filter_config(*, key: str, max_body_bytes: int = DEFAULT_MAX_BODY) -> dict:
    """The filter's plugin configuration the CLI derives for the example layout."""
    import yaml

    boot = yaml.safe_load(render(key=key, max_body_bytes=max_body_bytes))
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return json.loads(hcm["http_filters"][0]["typed_config"]["config"]["configuration"]["value"])


def example(rbac: bool) -> str:
    """The text of a checked-in example (filter-static.yaml, filter-rbac.yaml)."""
    header = (
        "# GENERATED by `python envoy-configs/render.py --examples` (mcp-gateway render)"
        + (" + rbac-deny-tool.yaml" if rbac else "")
        + ".\n# Do not edit: change gateway/src/render.rs or render.py and re-render (a test checks they agree).\n"
    )
    return header + render(key=EXAMPLE_KEY, rbac=rbac)


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
    p.add_argument("--examples", action="store_true", help="re-write the checked-in examples next to this script")
    a = p.parse_args(argv)
    if a.examples:
        for name, rbac in EXAMPLES.items():
            (HERE / name).write_text(example(rbac))
            print(f"wrote {HERE / name}")
        return 0
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
