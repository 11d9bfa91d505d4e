"""The Envoy configs of envoy-configs/: the checked-in examples are the template rendered, they
validate, and the running gateway (same template) has the properties the filter needs."""

from __future__ import annotations

import os
import subprocess
from typing import Any, Iterator

import httpx
import pytest

from conftest import (
    ENVOY,
    ROOT,
    WASM,
    Gateway,
    Proc,
    envoy_argv,
    envoy_render,
    free_port,
    log_tail,
    plugin_config,
    set_plugin_config,
    wait_until,
)

pytestmark = pytest.mark.anyio


@pytest.mark.host_independent
@pytest.mark.parametrize("name, rbac", sorted(envoy_render.EXAMPLES.items()))
def test_checked_in_example_is_the_rendered_template(name: str, rbac: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # What `python envoy-configs/render.py --examples` writes in a plain shell: not the filter
    # host this session happens to run (filter_host sets $MCPGW_FILTER, which the CLI reads).
    monkeypatch.delenv("MCPGW_FILTER", raising=False)
    checked_in = (ROOT / "envoy-configs" / name).read_text()
    assert checked_in == envoy_render.example(rbac), f"envoy-configs/{name} is stale: run python envoy-configs/render.py --examples"


@pytest.mark.host_independent
@pytest.mark.parametrize("name", sorted(envoy_render.EXAMPLES))
def test_checked_in_example_validates(name: str) -> None:
    # The examples name the session key's variable; Envoy's environment holds the key (and,
    # from filter_host, the native module's folder, should they load the native build).
    env = {**os.environ, envoy_render.KEY_ENV: envoy_render.random_key()}
    r = subprocess.run(
        [str(ENVOY), "--mode", "validate", "-c", f"envoy-configs/{name}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "OK" in (r.stdout + r.stderr)


def walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def test_running_config_has_what_the_filter_needs(gateway: Gateway, filter_host: str) -> None:
    dump = httpx.get(gateway.admin + "/config_dump", timeout=10).json()
    listeners = [d for d in walk(dump) if d.get("name") == "mcp_gateway" and "filter_chains" in d]
    assert listeners, "listener not found in config_dump"
    assert int(listeners[0]["per_connection_buffer_limit_bytes"]) >= gateway.max_body_bytes

    hcm = next(d for d in walk(dump) if "http_filters" in d)
    names = [f["name"] for f in hcm["http_filters"]]
    assert names == ["mcp_gateway", "envoy.filters.http.rbac", "envoy.filters.http.router"], names
    typed = hcm["http_filters"][0]["typed_config"]
    if filter_host == "wasm":
        wasm = typed["config"]
        assert wasm["allow_on_headers_stop_iteration"] is True
        assert wasm["failure_policy"] == "FAIL_CLOSED"
        assert wasm["vm_config"]["runtime"] == "envoy.wasm.runtime.v8"
    else:
        assert typed["@type"].endswith("dynamic_modules.v3.DynamicModuleFilter"), typed["@type"]
        assert typed["dynamic_module_config"]["name"] == "mcpgw_native"
        # Kept loaded across configuration updates: revoked sessions live in its memory.
        assert typed["dynamic_module_config"]["do_not_close"] is True
        assert typed["filter_name"] == "mcp_gateway"
    filter_cfg = plugin_config(hcm["http_filters"][0])
    assert filter_cfg["max_body_bytes"] == gateway.max_body_bytes

    vhosts = {v["name"]: v for v in hcm["route_config"]["virtual_hosts"]}
    authorities = {filter_cfg["broker"]["authority"]} | {s["authority"] for s in filter_cfg["servers"]}
    for name in ("alpha", "beta", "broker"):
        (domain,) = vhosts[name]["domains"]
        assert domain in authorities
        for route in vhosts[name]["routes"]:
            # Only what the filter decided for this virtual host (filter state no client can set).
            assert route["match"] == {
                "path": "/mcp",
                "filter_state": [{"key": "wasm.mcp_gateway.route", "string_match": {"exact": name}}],
            }
            assert route["route"]["timeout"] == "0s"
            assert route["route"]["idle_timeout"]
            assert route["route"]["host_rewrite_literal"].startswith("127.0.0.1:")
    assert vhosts["default"]["domains"] == ["*"]


async def test_long_tool_call_outlives_the_default_route_timeout(gateway: Gateway) -> None:
    # Envoy's default route timeout is 15 s: with it, this call would come back as a 504.
    # (The servers' idle_timeout_ms, their silence bound, is 300 s by default.)
    from mcp import Client

    async with Client(gateway.url) as client:
        result = await client.call_tool("beta_sleep", {"seconds": 16.5})
    assert result.content[0].text == "beta slept 16.5"


def test_invalid_filter_config_keeps_envoy_from_starting(tmp_path) -> None:
    # The filter rejects the configuration with a log line naming the field; with the filter
    # (wasm plugin or native module) failing to configure, Envoy must not come up serving
    # unfiltered traffic.
    import yaml

    key = envoy_render.random_key()
    admin, listen = free_port(), free_port()
    boot = yaml.safe_load(envoy_render.render(wasm_path=WASM, listen_port=listen, admin_port=admin, key=key, access_log_path=str(tmp_path / "a.log")))
    mcp_filter = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]
    bad = plugin_config(mcp_filter)
    bad["servers"][1]["prefix"] = "alpha_"  # two servers, one prefix
    set_plugin_config(mcp_filter, bad)
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(boot, sort_keys=False))
    log = tmp_path / "envoy.log"
    proc = Proc("envoy-bad-config", envoy_argv(config, admin), log, env={envoy_render.KEY_ENV: key})
    try:
        def answered_or_exited() -> bool:
            if not proc.alive():
                return True
            try:
                return httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(answered_or_exited, "envoy with a bad filter config", [])
        finally:
            text = log.read_text(errors="replace")
        # wasm: "plugin configuration rejected: ...", native: "mcp_gateway: configuration rejected: ...".
        assert "configuration rejected" in text, log_tail(log)
        assert "prefix" in text
        assert not proc.alive(), "Envoy started despite an invalid filter configuration"
        assert proc.popen.returncode != 0
    finally:
        proc.stop()
