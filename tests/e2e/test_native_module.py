"""The native build (native/, libmcpgw_native.so) against the pinned Envoy 1.40 itself: its
imports and exports match what this Envoy binary offers and resolves (the dynamic-module ABI is
only promised stable for one minor version: a drift must fail here, loudly), and a panic in a
hook never crosses into Envoy.

The panic test loads a debug build with the `panic_probe` filter (`make panic-probe`,
target/panic-probe/debug), which panics in its request-headers hook on requests carrying a
`panic-probe` header: those requests get a JSON-RPC internal error, and Envoy, the same worker
and the same connection go on serving."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import ENVOY, ROOT, Proc, envoy_argv, free_port, log_tail, port_open, stop_all, wait_until

MODULE_NAME = "mcpgw_native"
NATIVE_DIR = Path(os.environ.get("MCPGW_NATIVE_DIR", ROOT / "target/native"))
MODULE = NATIVE_DIR / f"lib{MODULE_NAME}.so"
PROBE_DIR = ROOT / "target/panic-probe/debug"


@pytest.fixture(autouse=True)
def native_only() -> None:
    # The module is the same whichever build the rest of the suite runs through: test it once.
    if os.environ.get("MCPGW_FILTER", "native") != "native":
        pytest.skip("native module tests run with the native build")
    if not MODULE.is_file():
        pytest.fail(f"{MODULE} is missing: make native (cargo build --profile native -p mcpgw-native)")


def dynamic_symbols(path: Path, *flags: str) -> set[str]:
    out = subprocess.run(["nm", "-D", *flags, str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_every_callback_the_module_imports_is_exported_by_this_envoy() -> None:
    imported = {s for s in dynamic_symbols(MODULE, "--undefined-only") if s.startswith("envoy_")}
    assert imported, "the module imports no Envoy callback: nm output changed?"
    exported = dynamic_symbols(ENVOY, "--defined-only")
    missing = sorted(imported - exported)
    assert not missing, f"Envoy {ENVOY} does not export {missing}: the dynamic-module ABI drifted"


def test_every_hook_this_envoy_resolves_is_exported_by_the_module() -> None:
    # Envoy resolves hooks by name (dlsym) from strings in its own binary: every HTTP filter hook
    # it may look up, and the program init, must be there (a missing one fails the load).
    names = set(re.findall(rb"envoy_dynamic_module_on_(?:http_filter_[a-z_]+|program_init)(?=\x00)", ENVOY.read_bytes()))
    wanted = {n.decode() for n in names}
    assert "envoy_dynamic_module_on_http_filter_request_body" in wanted, "hook names not found in the Envoy binary"
    exported = dynamic_symbols(MODULE, "--defined-only")
    missing = sorted(wanted - exported)
    assert not missing, f"the module does not export hooks this Envoy resolves: {missing}"


def write_config(workdir: Path, filter_name: str, filter_config: str = "{}") -> tuple[Path, int, int]:
    """Envoy with one listener: the module's `filter_name`, then the router to a 200 direct
    response. The config file, the listener's port and the admin port."""
    listen, admin = free_port(), free_port()
    config = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {
            "listeners": [{
                "name": "probe",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "probe",
                        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}
                        ]}]},
                        "http_filters": [
                            {"name": "module", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
                                "dynamic_module_config": {"name": MODULE_NAME, "do_not_close": True},
                                "filter_name": filter_name,
                                "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": filter_config},
                            }},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                        ],
                    },
                }]}],
            }],
        },
    }
    path = workdir / "envoy.json"
    path.write_text(json.dumps(config))
    return path, listen, admin


def envoy_with(workdir: Path, module_dir: Path, filter_name: str) -> tuple[Proc, int, int]:
    path, listen, admin = write_config(workdir, filter_name)
    env = {"ENVOY_DYNAMIC_MODULES_SEARCH_PATH": str(module_dir)}
    return Proc("envoy", envoy_argv(path, admin), workdir / "envoy.log", env=env), listen, admin


def test_envoy_loads_the_module_and_matches_its_abi_version(tmp_path: Path) -> None:
    procs: list[Proc] = []
    try:
        envoy, listen, admin = envoy_with(tmp_path, NATIVE_DIR, "body_floor")
        procs.append(envoy)
        wait_until(lambda: port_open(listen), "envoy listener", procs)
        r = httpx.post(f"http://127.0.0.1:{listen}/x", content=b"a" * 100_000, timeout=10)
        assert (r.status_code, r.text) == (200, "ok")
        log = (tmp_path / "envoy.log").read_text(errors="replace")
        assert "Dynamic module ABI version v0.2.0 matched" in log, log_tail(tmp_path / "envoy.log")
    finally:
        stop_all(procs)


def test_a_configuration_the_module_refuses_is_refused_by_envoy(tmp_path: Path) -> None:
    # Fail closed at configuration time: no listener serves without the filter it was given.
    r = subprocess.run(
        [str(ENVOY), "--mode", "validate", "-c", str(write_config(tmp_path, "mcp_gateway", '{"servers": "nope"}')[0])],
        env={**os.environ, "ENVOY_DYNAMIC_MODULES_SEARCH_PATH": str(NATIVE_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-2000:]
    assert "configuration rejected" in out or "Failed to initialize dynamic module" in out, out[-2000:]


def test_a_panic_in_a_hook_fails_that_stream_closed_and_envoy_keeps_serving(tmp_path: Path) -> None:
    if not (PROBE_DIR / f"lib{MODULE_NAME}.so").is_file():
        pytest.fail(f"{PROBE_DIR}/lib{MODULE_NAME}.so is missing: make panic-probe")
    procs: list[Proc] = []
    try:
        envoy, listen, admin = envoy_with(tmp_path, PROBE_DIR, "panic_probe")
        procs.append(envoy)
        wait_until(lambda: port_open(listen), "envoy listener", procs)
        base = f"http://127.0.0.1:{listen}"
        # One HTTP/1.1 connection: panicking and normal requests interleaved on the same worker.
        with httpx.Client(base_url=base, timeout=10) as c:
            for i in range(20):
                bad = c.post("/mcp", headers={"panic-probe": "1", "content-type": "application/json"}, content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
                assert bad.status_code == 500, (i, bad.status_code, bad.text)
                assert bad.json()["error"]["code"] == -32603, bad.text
                good = c.get("/ok")
                assert (good.status_code, good.text) == (200, "ok"), (i, good.status_code, good.text)
        # HTTP/2 too, and Envoy itself is alive and ready.
        with httpx.Client(base_url=base, http1=False, http2=True, timeout=10) as c:
            assert c.get("/ok", headers={"panic-probe": "1"}).status_code == 500
            assert c.get("/ok").status_code == 200
        envoy.fail_if_dead()
        assert httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=5).status_code == 200
        log = (tmp_path / "envoy.log").read_text(errors="replace")
        assert "panic_probe: a panic in on_request_headers" in log, log_tail(tmp_path / "envoy.log")
    finally:
        stop_all(procs)
