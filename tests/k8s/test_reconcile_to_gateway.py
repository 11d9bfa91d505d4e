"""Kubernetes mode end to end, offline: two MCPServers and an MCPGateway (manifests) ->
`mcpgw-controller reconcile --probe` (the controller's pure reconcile, backends probed) ->
the gateway config -> `mcp-gateway up` (the real broker and Envoy) -> the official MCP
Python client sees the declared servers' tools, prefixed and filtered as declared, and a
tool call reaches each backend (one with the credential from its Secret). A third, broken
MCPServer is left out and its status says why.

What a cluster would add (the API server, watches, the mounts) is replaced by files: the
pod's mounts live under --mount-root, which the test fills as the kubelet would from the
Secrets."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from mcp import Client

from conftest import controller_bin, harness

pytestmark = pytest.mark.anyio

READY = re.compile(r"MCP gateway ready: (http://\S+)")
TOKEN = "Bearer e2e-credential-from-a-secret"

MANIFESTS = """
apiVersion: mcp.mcpgw.dev/v1alpha1
kind: MCPGatewayClass
metadata: {{name: mcpgw}}
spec: {{controllerName: mcp.mcpgw.dev/gateway-controller}}
---
apiVersion: mcp.mcpgw.dev/v1alpha1
kind: MCPGateway
metadata: {{name: agents, namespace: mcp}}
spec:
  gatewayClassName: mcpgw
  selector: {{matchLabels: {{group: agents}}}}
  allowedServers: {{namespaces: {{from: All}}}}
  listeners: [{{name: mcp, port: {gateway_port}, protocol: HTTP}}]
  parameters:
    listen: 127.0.0.1:{gateway_port}
    brokerListen: 127.0.0.1:{broker_port}
---
# alpha: behind an HTTPRoute of team-a, its Service an ExternalName for this machine.
apiVersion: v1
kind: Service
metadata: {{name: alpha, namespace: team-a}}
spec: {{type: ExternalName, externalName: localhost}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: alpha, namespace: team-a}}
spec:
  parentRefs: [{{name: public, namespace: infra}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /mcp}}}}]
    backendRefs: [{{name: alpha, port: {alpha_port}}}]
status:
  parents: [{{parentRef: {{name: public, namespace: infra}}, conditions: [{{type: Accepted, status: "True"}}]}}]
---
apiVersion: mcp.mcpgw.dev/v1alpha1
kind: MCPServer
metadata: {{name: alpha, namespace: team-a, labels: {{group: agents}}, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  targetRef: {{name: alpha}}
  toolPrefix: alpha_
  tools:
    include: [echo, whoami, headers]
    overrides: {{whoami: {{name: identity, description: Which backend answers.}}}}
---
# beta: a URL, with a credential from a Secret in the gateway's namespace.
apiVersion: mcp.mcpgw.dev/v1alpha1
kind: MCPServer
metadata: {{name: beta, namespace: mcp, labels: {{group: agents}}, creationTimestamp: "2026-01-02T00:00:00Z"}}
spec:
  url: http://127.0.0.1:{beta_port}/mcp
  toolPrefix: beta_
  credential: {{header: authorization, secretRef: {{name: beta-token, key: token}}}}
  tools: {{exclude: [danger, forbidden, sleep, slow_*, wait_*, cancellations, blob, ask, sample, progress_*, "*_note*"]}}
---
apiVersion: v1
kind: Secret
metadata: {{name: beta-token, namespace: mcp}}
stringData: {{token: "{token}"}}
---
# Broken: its route does not exist.
apiVersion: mcp.mcpgw.dev/v1alpha1
kind: MCPServer
metadata: {{name: gamma, namespace: team-a, labels: {{group: agents}}}}
spec: {{targetRef: {{name: gamma}}, toolPrefix: gamma_}}
"""


def tool_names(result) -> set[str]:
    return {t.name for t in result.tools}


def first_text(result) -> str:
    assert not result.is_error, result
    return result.content[0].text


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[dict[str, int]]:
    ports = {"alpha": harness.free_port(), "beta": harness.free_port()}
    procs = [harness.Proc(n, [harness.PYTHON, str(harness.SERVERS / "py_backend.py"), n, str(p)], tmp_path / f"{n}.log") for n, p in ports.items()]
    try:
        harness.wait_until(lambda: all(harness.port_open(p) for p in ports.values()), "backends", procs)
        yield ports
    finally:
        harness.stop_all(procs)


def reconcile(manifests: Path, out: Path, mount_root: Path) -> dict:
    r = subprocess.run(
        [str(controller_bin()), "reconcile", "--manifests", str(manifests), "--out", str(out), "--mount-root", str(mount_root), "--probe",
         "--render-with", str(harness.newest_binary("mcp-gateway", "MCPGW_GATEWAY_BIN"))],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    statuses = yaml.safe_load((out / "statuses.yaml").read_text())
    return {f"{s['kind']} {s['metadata'].get('namespace', '')}/{s['metadata']['name']}": s["status"] for s in statuses}


def condition(status: dict, type_: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == type_)


async def test_declared_servers_reach_an_agent_through_the_gateway(tmp_path: Path, backends: dict[str, int]) -> None:
    gateway_port, broker_port = harness.free_port(), harness.free_port()
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "all.yaml").write_text(
        MANIFESTS.format(gateway_port=gateway_port, broker_port=broker_port, alpha_port=backends["alpha"], beta_port=backends["beta"], token=TOKEN)
    )
    # The broker pod's mounts, as the kubelet fills them from the Secrets.
    pod = tmp_path / "pod"
    (pod / "etc/mcpgw/session").mkdir(parents=True)
    (pod / "etc/mcpgw/session/key").write_text(harness.random_key() + "\n")
    (pod / "etc/mcpgw/credentials/beta-token").mkdir(parents=True)
    (pod / "etc/mcpgw/credentials/beta-token/token").write_text(TOKEN)

    out = tmp_path / "out"
    statuses = reconcile(manifests, out, pod)

    # What the controller decided, per server.
    async with Client(f"http://127.0.0.1:{backends['beta']}/mcp") as direct:
        backend_tools = len((await direct.list_tools()).tools)
    for name in ("team-a/alpha", "mcp/beta"):
        st = statuses[f"MCPServer {name}"]
        assert condition(st, "Accepted")["status"] == "True", st
        assert (condition(st, "Ready")["status"], condition(st, "Ready")["reason"]) == ("True", "Ready"), st
        assert st["discoveredTools"] == backend_tools
        assert st["gateways"] == ["mcp/agents"]
    assert statuses["MCPServer team-a/alpha"]["url"] == f"http://localhost:{backends['alpha']}/mcp"
    gamma = statuses["MCPServer team-a/gamma"]
    assert (condition(gamma, "Accepted")["status"], condition(gamma, "Accepted")["reason"]) == ("False", "RouteNotFound")
    gw = statuses["MCPGateway mcp/agents"]
    assert gw["attachedServerCount"] == 2 and gw["url"] == f"http://agents.mcp.svc.cluster.local:{gateway_port}/mcp"
    events = yaml.safe_load((out / "events.yaml").read_text())
    assert sorted((e["reason"], e["regarding"]["name"]) for e in events) == [("EndpointDiscovered", "alpha"), ("EndpointDiscovered", "beta")]

    # The config the broker mounts holds no secret, only where the kubelet put it.
    config = out / "mcp/agents/gateway.yaml"
    assert TOKEN not in config.read_text()
    cm = yaml.safe_load((out / "mcp/agents/configmap.yaml").read_text())
    assert cm["data"]["gateway.yaml"] == config.read_text()
    # Envoy's configuration for it, by the project's renderer: no secret there either.
    envoy = out / "mcp/agents/envoy"
    assert sorted(p.name for p in envoy.iterdir()) == ["cds.yaml", "ecds.yaml", "envoy.yaml", "lds.yaml", "rds.yaml"]
    assert not any(TOKEN in p.read_text() for p in envoy.iterdir())
    assert "localhost" in (envoy / "cds.yaml").read_text()

    # The real gateway on that config.
    proc = harness.Proc("up", [str(harness.newest_binary("mcp-gateway", "MCPGW_GATEWAY_BIN")), "up", "--config", str(config)], tmp_path / "up.log", env={"RUST_LOG": "info"})
    try:
        harness.wait_until(lambda: READY.search(proc.log.read_text(errors="replace")) is not None, "mcp-gateway up", [proc])
        url = READY.search(proc.log.read_text(errors="replace")).group(1)
        async with Client(url) as client:
            names = tool_names(await client.list_tools())
            assert names == {"alpha_echo", "alpha_identity", "alpha_headers", "beta_echo", "beta_whoami", "beta_headers", "beta_called_as"}, names
            assert first_text(await client.call_tool("alpha_identity", {})) == "alpha"
            assert json.loads(first_text(await client.call_tool("beta_echo", {"text": "hi"}))) == {"server": "beta", "text": "hi"}
            # The credential from the Secret reached beta, and only beta.
            beta_headers = json.loads(first_text(await client.call_tool("beta_headers", {})))
            assert beta_headers.get("authorization") == TOKEN
            alpha_headers = json.loads(first_text(await client.call_tool("alpha_headers", {})))
            assert "authorization" not in alpha_headers
    finally:
        proc.stop()
