"""The README's Kubernetes-mode walkthrough, run as written (ports made free): the manifests
in deploy/examples/walkthrough, two bundled demo servers, `mcpgw-controller reconcile --probe`,
`mcp-gateway up` on the result, the tool list an agent sees, and the registry entries."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import Client

from conftest import ROOT, controller_bin, harness

pytestmark = pytest.mark.anyio

WALKTHROUGH = ROOT / "deploy" / "examples" / "walkthrough"
READY = re.compile(r"MCP gateway ready: (http://\S+)")
REGISTRY = re.compile(r"registry listening on (http://\S+)/v0/servers")
# As the README shows them.
TOOLS = {
    "clock_sum": "Adds two numbers.",
    "clock_now": "The current time (UTC), from this server.",
    "weather_echo": "Echo the text back, with the name of the server that answered.",
    "weather_add": "Add two numbers.",
    "weather_now": "The current time (UTC), from this server.",
}


def gateway_bin() -> Path:
    return harness.newest_binary("mcp-gateway", "MCPGW_GATEWAY_BIN")


async def test_the_walkthrough(tmp_path: Path) -> None:
    ports = {3001: harness.free_port(), 3002: harness.free_port(), 8080: harness.free_port(), 9000: harness.free_port()}
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for f in WALKTHROUGH.glob("*.yaml"):
        text = f.read_text()
        for old, new in ports.items():
            text = re.sub(rf"\b{old}\b", str(new), text)
        (manifests / f.name).write_text(text)
    procs = [
        harness.Proc(name, [str(gateway_bin()), "demo-server", "--name", name, "--port", str(ports[p])], tmp_path / f"{name}.log")
        for name, p in (("weather", 3001), ("clock", 3002))
    ]
    try:
        harness.wait_until(lambda: harness.port_open(ports[3001]) and harness.port_open(ports[3002]), "demo servers", procs)
        pod = tmp_path / "pod"
        (pod / "etc/mcpgw/session").mkdir(parents=True)
        (pod / "etc/mcpgw/session/key").write_text(harness.random_key() + "\n")
        out = tmp_path / "out"
        r = subprocess.run(
            [str(controller_bin()), "reconcile", "--manifests", str(manifests), "--out", str(out), "--mount-root", str(pod), "--probe"],
            capture_output=True, text=True,
        )
        assert r.returncode == 0, r.stderr
        assert "reconciled 1 gateway(s), 3 server(s), 1 registry entry" in r.stderr
        statuses = {s["metadata"]["name"]: s["status"] for s in yaml.safe_load((out / "statuses.yaml").read_text())}
        ready = {n: next(c for c in statuses[n]["conditions"] if c["type"] == "Ready") for n in ("weather", "clock")}
        assert all(c["status"] == "True" and c["message"] == "the backend lists 3 tools" for c in ready.values()), ready
        accepted = next(c for c in statuses["calendar"]["conditions"] if c["type"] == "Accepted")
        assert (accepted["status"], accepted["reason"], accepted["message"]) == ("False", "RouteNotFound", "HTTPRoute team-a/calendar not found")
        reasons = sorted((e["reason"], e["regarding"]["kind"], e["regarding"]["name"]) for e in yaml.safe_load((out / "events.yaml").read_text()))
        assert reasons == [("EndpointDiscovered", "HTTPRoute", "weather"), ("EndpointDiscovered", "MCPServer", "clock"), ("EndpointDiscovered", "MCPServer", "weather")]

        up = harness.Proc("up", [str(gateway_bin()), "up", "--config", str(out / "mcp-system" / "agents" / "gateway.yaml")], tmp_path / "up.log")
        procs.append(up)
        harness.wait_until(lambda: READY.search(up.log.read_text(errors="replace")) is not None, "mcp-gateway up", procs)
        url = READY.search(up.log.read_text(errors="replace")).group(1)
        async with Client(url) as client:
            tools = {t.name: t.description for t in (await client.list_tools()).tools}
            assert tools == TOOLS
            assert (await client.call_tool("clock_sum", {"a": 2, "b": 3})).content[0].text == "clock: 5"

        reg = harness.Proc("registry", [str(controller_bin()), "registry", "--manifests", str(manifests), "--listen", "127.0.0.1:0"], tmp_path / "registry.log")
        procs.append(reg)
        harness.wait_until(lambda: REGISTRY.search(reg.log.read_text(errors="replace")) is not None, "registry", procs)
        body = httpx.get(REGISTRY.search(reg.log.read_text(errors="replace")).group(1) + "/v0/servers").json()
        assert [(s["server"]["name"], s["server"]["remotes"]) for s in body["servers"]] == [
            ("com.example/weather", [{"type": "streamable-http", "url": "https://weather.example.com/mcp"}])
        ]
        assert body["servers"][0]["server"]["description"] == "Echo, add and the time, from the weather team"
    finally:
        harness.stop_all(procs)
