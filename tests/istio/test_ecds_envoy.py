"""The module pulled back from the registry, delivered to the real Envoy 1.40 the way Istio
delivers it: over ECDS (extension config discovery). The extension config served is the one
in istio/envoyfilter.yaml (EXTENSION_CONFIG patch), after the rewrite istio-agent applies to
it (pkg/wasm/convert.go: fetch the oci:// module, check the manifest digest, extract it by
Istio's rules, replace `remote` with a local file). The listener's HTTP filter carries only
`config_discovery`, as Istio's does; the config source is a file here and ADS in a mesh.
Then the official MCP client makes a prefixed tool call through it to the SDK backends.

The session keys are not in that config: the manifest lists the variable in
`vm_config.environment_variables.host_env_keys`, and Envoy gets it in its environment, as the
gateway proxy does from the Secret. Envoy's /config_dump then shows the name, not the key."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import time
from pathlib import Path

import httpx
import mcp
import yaml

from conftest import ROOT, Registry, harness, istio_render
from istio_rules import extract, manifest_of

WASM_TYPE = istio_render.WASM_TYPE


def agent_convert(ext: dict, registry: Registry, workdir: Path, published_sha: str) -> dict:
    """istio-agent's conversion of one ECDS resource, with skopeo as the fetcher."""
    typed = ext["typed_config"]
    assert typed["@type"] == "type.googleapis.com/udpa.type.v1.TypedStruct" and typed["type_url"] == WASM_TYPE
    wasm_cfg = copy.deepcopy(typed["value"])
    remote = wasm_cfg["config"]["vm_config"]["code"]["remote"]
    # The rendered manifests point at the example registry; here the same repository and
    # tag live in the test registry, and the digest is the one the project command printed.
    repo_tag = remote["http_uri"]["uri"].split("/", 3)[3]
    repo, _, _ = repo_tag.partition(":")
    layout = workdir / "agent-cache"
    registry.skopeo_pull(f"{repo}@sha256:{published_sha}", layout, "module")
    digest, manifest = manifest_of(layout, "module")
    assert digest == f"sha256:{published_sha}"  # the agent's sha256 check (manifest digest)
    _, module = extract(layout, manifest)
    path = workdir / f"{published_sha}.wasm"
    path.write_bytes(module)
    wasm_cfg["config"]["vm_config"]["code"] = {"local": {"filename": str(path)}}
    return {"name": ext["name"], "typed_config": {"@type": WASM_TYPE, **wasm_cfg}}


def test_envoy_runs_the_pulled_module_via_ecds(registry: Registry, published: dict, tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((ROOT / "istio" / "envoyfilter.yaml").read_text()))
    patches = docs[0]["spec"]["configPatches"]
    ext = next(p for p in patches if p["applyTo"] == "EXTENSION_CONFIG")["patch"]["value"]
    http_filter = next(p for p in patches if p["applyTo"] == "HTTP_FILTER")["patch"]["value"]
    assert ext["typed_config"]["value"]["config"]["allow_on_headers_stop_iteration"] is True

    converted = agent_convert(ext, registry, tmp_path, published["oci"]["sha256"])
    # The test backends below are stateless SDK servers that serve MCP 2026-07-28 themselves,
    # and the official client speaks 2026-07-28 first: mark them `sessionless` so the filter
    # routes those calls straight to them (otherwise they go to the broker, which this test
    # replaces by a plain backend). Everything else in the config is the manifest's.
    plugin = converted["typed_config"]["config"]["configuration"]
    filter_cfg = json.loads(plugin["value"])
    for server in filter_cfg["servers"]:
        server["sessionless"] = True
    # The manifest allows the public host only; the client here reaches Envoy on 127.0.0.1.
    filter_cfg["allowed_hosts"] = filter_cfg["allowed_origins"] = ["127.0.0.1"]
    plugin["value"] = json.dumps(filter_cfg)
    # The keys: in Envoy's environment under the names the manifest passes to the VM.
    vm_env = converted["typed_config"]["config"]["vm_config"]["environment_variables"]
    assert vm_env == {"host_env_keys": [filter_cfg["session"]["keys_env"]]}
    key = base64.b64encode(os.urandom(32)).decode()
    envoy_env = {name: key for name in vm_env["host_env_keys"]}
    ecds_file = tmp_path / "ecds.yaml"
    ecds_file.write_text(
        json.dumps({"resources": [{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", **converted}]})
    )

    procs: list = []
    try:
        ports = {n: harness.free_port() for n in ("alpha", "beta", "broker", "echo", "listen", "admin")}
        for name in ("alpha", "beta", "broker"):
            argv = [harness.PYTHON, str(harness.SERVERS / "py_backend.py"), name, str(ports[name]), "--stateless"]
            procs.append(harness.Proc(name, argv, tmp_path / f"{name}.log"))
        procs.append(harness.Proc("echo", [harness.PYTHON, str(harness.SERVERS / "http_echo.py"), str(ports["echo"])], tmp_path / "echo.log"))
        # The e2e template (same virtual hosts, internal authorities and buffer limits), with the
        # inline wasm filter replaced by the Istio-style ECDS reference.
        bootstrap = yaml.safe_load(
            harness.envoy_render.render(
                wasm_path="/nonexistent-inline-module-is-replaced.wasm",
                listen_port=ports["listen"],
                admin_port=ports["admin"],
                alpha=("127.0.0.1", ports["alpha"]),
                beta=("127.0.0.1", ports["beta"]),
                broker=("127.0.0.1", ports["broker"]),
                default=("127.0.0.1", ports["echo"]),
                access_log_path=str(tmp_path / "access.log"),
                rbac=False,
            )
        )
        hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        names = [f["name"] for f in hcm["http_filters"]]
        hcm["http_filters"][names.index("mcp_gateway")] = {
            "name": http_filter["name"],
            "config_discovery": {
                "config_source": {"path_config_source": {"path": str(ecds_file)}, "resource_api_version": "V3"},
                "type_urls": http_filter["config_discovery"]["type_urls"],
            },
        }
        # xDS subscriptions (ECDS here) need a node identity, as every Istio proxy has.
        bootstrap["node"] = {"id": "router~127.0.0.1~mcp-gateway.mcp-gateway~mcp-gateway.svc.cluster.local", "cluster": "mcp-gateway"}
        config = tmp_path / "envoy.yaml"
        config.write_text(yaml.safe_dump(bootstrap))
        for name in ("alpha", "beta", "broker", "echo"):
            harness.wait_until(lambda n=name: harness.port_open(ports[n]), name, procs)
        procs.append(harness.Proc("envoy", harness.envoy_argv(config, ports["admin"]), tmp_path / "envoy.log", env=envoy_env))
        admin = f"http://127.0.0.1:{ports['admin']}"

        def ready() -> bool:
            try:
                return httpx.get(admin + "/ready", timeout=2).text.strip() == "LIVE"
            except httpx.HTTPError:
                return False

        harness.wait_until(ready, "envoy /ready", procs)

        # ECDS delivered the module: the extension config was loaded from the file source.
        def ecds_loaded() -> bool:
            stats = httpx.get(admin + "/stats", params={"filter": "extension_config_discovery"}, timeout=5).text
            return f"extension_config_discovery.http_filter.{http_filter['name']}.config_reload: 1" in stats

        harness.wait_until(ecds_loaded, "ECDS config_reload", procs, deadline_s=30)

        async def call() -> tuple[str, str, list[str]]:
            async with mcp.Client(f"http://127.0.0.1:{ports['listen']}/mcp") as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                a = await client.call_tool("alpha_echo", {"text": "via ecds"})
                b = await client.call_tool("beta_whoami", {})
                return a.content[0].text, b.content[0].text, tools  # type: ignore[union-attr]

        alpha_text, beta_text, _tools = asyncio.run(call())
        assert json.loads(alpha_text) == {"server": "alpha", "text": "via ecds"}
        assert beta_text == "beta"
        # The routed calls went where the filter sent them, not through the broker.
        stats = httpx.get(admin + "/stats", timeout=5).text
        counts = {l.split(": ")[0]: l.split(": ")[1] for l in stats.splitlines() if ": " in l}
        assert int(counts.get("cluster.alpha.upstream_rq_total", "0")) >= 1
        assert int(counts.get("cluster.beta.upstream_rq_total", "0")) >= 1
        assert "panic" not in (tmp_path / "envoy.log").read_text(errors="replace")
        # The filter got its keys (it would not have started otherwise), and they are not in
        # Envoy's config: /config_dump (ECDS included) names the variable only.
        dump = httpx.get(admin + "/config_dump", params={"include_eds": "true"}, timeout=5).text
        assert filter_cfg["session"]["keys_env"] in dump and "host_env_keys" in dump
        assert key not in dump
    finally:
        harness.stop_all(procs)
        time.sleep(0)
