"""No secret in plain sight (issue 10, item 3): the session keys and the backend credentials
reach Envoy through its environment, never through its configuration. Anyone who can read
Envoy's admin `/config_dump`, the output of `mcp-gateway render` or the logs learns nothing
that lets them mint a session or call a backend as the gateway.

Real `mcp-gateway up` with a config that uses every kind of secret source (key file, literal
credential, credential from a file, credential from the environment), real Envoy, real backends
that echo the headers they received, the official Python client."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import Client

from conftest import PYTHON, SERVERS, Proc, current_filter, envoy_render, free_port, port_open, random_key, wait_until
from test_cli import gateway_bin, start_up

pytestmark = pytest.mark.anyio

ADMIN = re.compile(r"envoy admin (http://\S+)")


def first_text(result) -> str:
    return result.content[0].text


async def test_secrets_reach_backends_but_not_config_dump_render_or_logs(tmp_path: Path) -> None:
    key, old_key = random_key(), random_key()
    literal = "Bearer literal-" + random_key()[:20]
    from_file = "Bearer file-" + random_key()[:20]
    from_env = "token-env-" + random_key()[:20]
    secrets = {"session key": key, "older session key": old_key, "literal": literal, "file": from_file, "env": from_env}

    ports = {n: free_port() for n in ("alpha", "beta", "gamma", "listen", "broker")}
    procs: list[Proc] = []
    try:
        for name in ("alpha", "beta", "gamma"):
            procs.append(Proc(name, [PYTHON, str(SERVERS / "py_backend.py"), name, str(ports[name])], tmp_path / f"{name}.log"))
        for name in ("alpha", "beta", "gamma"):
            wait_until(lambda n=name: port_open(ports[n]), name, procs)
        (tmp_path / "session.key").write_text(f"{key}\n{old_key}\n")
        (tmp_path / "beta.token").write_text(from_file + "\n")
        config = {
            "listen": f"127.0.0.1:{ports['listen']}",
            "broker": {"listen": f"127.0.0.1:{ports['broker']}"},
            "servers": [
                {"name": "alpha", "url": f"http://127.0.0.1:{ports['alpha']}/mcp", "prefix": "alpha_",
                 "credential": {"header": "authorization", "value": literal}},
                {"name": "beta", "url": f"http://127.0.0.1:{ports['beta']}/mcp", "prefix": "beta_",
                 "credential": {"header": "authorization", "value_file": "beta.token"}},
                {"name": "gamma", "url": f"http://127.0.0.1:{ports['gamma']}/mcp", "prefix": "gamma_",
                 "credential": {"header": "x-api-key", "value_env": "MCPGW_TEST_GAMMA_TOKEN"}},
            ],
            "session": {"key_file": "session.key"},
        }
        cfg_path = tmp_path / "gateway.yaml"
        cfg_path.write_text(yaml.safe_dump(config))
        up, url, _ = start_up(tmp_path, ["--config", str(cfg_path)], env={"MCPGW_TEST_GAMMA_TOKEN": from_env})
        procs.append(up)

        # The secrets work: each backend got its credential from Envoy (routed calls go
        # through Envoy's route, which adds it), and sessions are minted and accepted.
        async with Client(url) as client:
            got = {s: json.loads(first_text(await client.call_tool(f"{s}_headers", {}))) for s in ("alpha", "beta", "gamma")}
        assert got["alpha"].get("authorization") == literal
        assert got["beta"].get("authorization") == from_file
        assert got["gamma"].get("x-api-key") == from_env

        # ...and none is in sight.
        admin = ADMIN.search(up.log.read_text()).group(1)
        dump = httpx.get(admin + "/config_dump?include_eds", timeout=10).text
        # The variable's name is there (wasm: also in the VM's host_env_keys); its value is not.
        assert "MCPGW_SESSION_KEYS" in dump
        if current_filter() == "wasm":
            assert "host_env_keys" in dump
        rendered = subprocess.run(
            [str(gateway_bin()), "render", "--config", str(cfg_path)],
            capture_output=True, text=True, timeout=60, env={"MCPGW_TEST_GAMMA_TOKEN": from_env, "PATH": "/usr/bin:/bin"},
        )
        assert rendered.returncode == 0, rendered.stderr
        out = tmp_path / "dynamic"
        rendered_dir = subprocess.run(
            [str(gateway_bin()), "render", "--config", str(cfg_path), "--out", str(out)],
            capture_output=True, text=True, timeout=60,
        )
        assert rendered_dir.returncode == 0, rendered_dir.stderr
        # The operator is told which variables Envoy needs.
        assert "MCPGW_SESSION_KEYS" in rendered.stdout and "MCPGW_TEST_GAMMA_TOKEN" in rendered.stdout
        places = {
            "/config_dump": dump,
            "render": rendered.stdout + rendered.stderr,
            "render --out": "".join(p.read_text() for p in out.iterdir()) + rendered_dir.stderr,
            "up's log": up.log.read_text(errors="replace"),
        }
        places.update({f"run folder {p.name}": p.read_text(errors="replace") for p in tmp_path.glob("**/*") if p.is_file() and p.suffix in (".yaml", ".log") and p.name != "gateway.yaml"})
        for where, text in places.items():
            for what, secret in secrets.items():
                assert secret not in text, f"the {what} is visible in {where}"
    finally:
        for p in reversed(procs):
            p.stop()


async def test_a_key_rotation_reaches_the_filter(tmp_path: Path) -> None:
    # The keys live in Envoy's environment, fixed at its start: on a change `up` restarts Envoy,
    # or the broker would mint sessions with a key the filter does not know.
    ports = {n: free_port() for n in ("alpha", "listen", "broker")}
    procs: list[Proc] = []
    try:
        procs.append(Proc("alpha", [PYTHON, str(SERVERS / "py_backend.py"), "alpha", str(ports["alpha"])], tmp_path / "alpha.log"))
        wait_until(lambda: port_open(ports["alpha"]), "alpha", procs)
        old, new = random_key(), random_key()
        (tmp_path / "session.key").write_text(old + "\n")
        config = {
            "listen": f"127.0.0.1:{ports['listen']}",
            "broker": {"listen": f"127.0.0.1:{ports['broker']}"},
            "servers": [{"name": "alpha", "url": f"http://127.0.0.1:{ports['alpha']}/mcp", "prefix": "alpha_"}],
            "session": {"key_file": "session.key"},
        }
        cfg_path = tmp_path / "gateway.yaml"
        cfg_path.write_text(yaml.safe_dump(config))
        up, url, envoy_pid = start_up(tmp_path, ["--config", str(cfg_path)])
        procs.append(up)
        async with Client(url, mode="legacy") as client:
            assert first_text(await client.call_tool("alpha_whoami", {})) == "alpha"
        # Rotate: the new key mints, the old one is still accepted.
        (tmp_path / "session.key").write_text(f"{new}\n{old}\n")
        cfg_path.write_text(yaml.safe_dump(config) + "# rotated\n")  # the config file is what up watches
        wait_until(lambda: "restarting Envoy" in up.log.read_text(errors="replace"), "Envoy restart on key change", [up])

        def serving() -> bool:
            try:
                return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"accept": "application/json, text/event-stream"}, timeout=2).status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(serving, "gateway back after the restart", [up])
        async with Client(url, mode="legacy") as client:
            assert first_text(await client.call_tool("alpha_whoami", {})) == "alpha"
    finally:
        for p in reversed(procs):
            p.stop()
