"""Only what the filter decided reaches a backend, on Istio too (istio/README.md, "Only what the
filter decided reaches a backend"): the real Envoy 1.40, the module pulled from the registry and
served over ECDS exactly as in test_ecds_envoy.py, and the gateway's routes built the way istiod
builds them from the rendered HTTPRoutes (istio_routes.py: virtual hosts "<hostname>:80", no
filter state match), then with the rendered EnvoyFilter's HTTP_ROUTE MERGE patches merged in
the way istiod merges them.

The manifests are rendered here from istio/gateway.yaml with `mcp_path: /gw`, so the MCP
endpoint differs from the backends' own path (/mcp), which the filter does not handle. Two
Envoys share the backends and the filter: one with the routes as the HTTPRoutes alone give
them, one with the patches. A client that names `alpha.mcp.internal` itself on /mcp reaches
alpha through the first (the hole the patches close, shown so the check below means
something) and gets a 404 from the second, in any case, port, framing; the official client's
calls through the filter still reach alpha and beta through the second.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
from pathlib import Path

import httpx
import mcp
import yaml

from conftest import ROOT, Registry, _load, harness, istio_render
from istio_routes import apply_http_route_patches, gateway_route_config
from test_ecds_envoy import WASM_TYPE, agent_convert

rawhttp = _load("mcpgw_e2e_rawhttp", ROOT / "tests" / "e2e" / "rawhttp.py")

MCP_PATH = "/gw"  # the gateway's endpoint; the backends' own path stays /mcp
LOCAL = {"alpha": "alpha", "beta": "beta", "mcpgw-broker": "broker"}  # backendRef -> test cluster
BYPASS_AUTHORITIES = ["alpha.mcp.internal", "ALPHA.Mcp.Internal", "alpha.mcp.internal:80", "alpha.mcp.internal:8080", "beta.mcp.internal"]
BYPASS_FRAMINGS = ["h1-length", "h1-chunked-trailers", "h2-data", "h2-data-trailers"]


def render_manifests(tmp: Path) -> dict[str, list[dict]]:
    cfg = yaml.safe_load((ROOT / "istio" / "gateway.yaml").read_text())
    cfg["mcp_path"] = MCP_PATH
    gateway = tmp / "gateway.yaml"
    gateway.write_text(yaml.safe_dump(cfg))
    module = json.loads((ROOT / "istio" / "module.json").read_text())["oci"]
    return istio_render.render_all(gateway, module)


def counters(admin: str) -> dict[str, int]:
    stats = httpx.get(admin + "/stats", params={"filter": r"^cluster\.(alpha|beta|broker)\.upstream_rq_total$"}, timeout=5).text
    return {l.split(": ")[0].split(".")[1]: int(l.split(": ")[1]) for l in stats.splitlines() if ": " in l}


def test_internal_hosts_route_only_what_the_filter_decided(registry: Registry, published: dict, tmp_path: Path) -> None:
    docs = render_manifests(tmp_path)
    (ef,) = docs["envoyfilter.yaml"]
    patches = ef["spec"]["configPatches"]
    gw = next(d for d in docs["gateway-api.yaml"] if d["kind"] == "Gateway")
    (listener,) = gw["spec"]["listeners"]
    httproutes = [d for d in docs["gateway-api.yaml"] if d["kind"] == "HTTPRoute"]
    ext = next(p for p in patches if p["applyTo"] == "EXTENSION_CONFIG")["patch"]["value"]
    http_filter = next(p for p in patches if p["applyTo"] == "HTTP_FILTER")["patch"]["value"]

    procs: list = []
    try:
        ports = {n: harness.free_port() for n in ("alpha", "beta", "broker", "open", "open_admin", "closed", "closed_admin")}

        # ---- routes: as istiod builds them from the HTTPRoutes, then with the patches --------
        def action(rule: dict, backend: dict) -> dict:
            cluster = LOCAL[backend["name"]]
            # Istio's URLRewrite hostname becomes host_rewrite_literal; the SDK test servers want
            # a loopback Host (as in the e2e configs). The broker here is a stand-in SDK server
            # on /mcp: its route also rewrites the gateway's endpoint path to that.
            out = {"cluster": cluster, "timeout": "0s", "host_rewrite_literal": f"127.0.0.1:{ports[cluster]}"}
            if cluster == "broker":
                out["prefix_rewrite"] = "/mcp"
            return out

        open_routes = gateway_route_config(httproutes, listener["port"], action)
        internal = {h for r in httproutes for h in r["spec"]["hostnames"] if h.endswith(".mcp.internal")}
        assert {v["name"] for v in open_routes["virtual_hosts"]} >= {f"{h}:80" for h in internal}
        for vh in open_routes["virtual_hosts"]:
            for route in vh["routes"]:
                assert "filter_state" not in route["match"]  # what Gateway API alone gives
        closed_routes = copy.deepcopy(open_routes)
        applied = apply_http_route_patches(closed_routes, patches)
        # One patch per internal host, each merged into that host's route(s), none elsewhere.
        assert len(applied) == len(internal) and all(n >= 1 for n in applied), applied
        route_key = "wasm.mcp_gateway.route"
        for vh in closed_routes["virtual_hosts"]:
            (host,) = vh["domains"]
            for route in vh["routes"]:
                if host in internal:
                    decision = host.split(".")[0]  # the server's name; "broker" for the broker
                    assert route["match"]["filter_state"] == [{"key": route_key, "string_match": {"exact": decision}}]
                    assert route["match"]["path"]  # the HTTPRoute's own match is kept
                else:
                    assert "filter_state" not in route["match"], vh  # the public host is untouched

        # ---- the filter over ECDS, as in test_ecds_envoy.py -------------------------------
        converted = agent_convert(ext, registry, tmp_path, published["oci"]["sha256"])
        plugin = converted["typed_config"]["config"]["configuration"]
        filter_cfg = json.loads(plugin["value"])
        assert filter_cfg["mcp_paths"] == [MCP_PATH] and {s["path"] for s in filter_cfg["servers"]} == {"/mcp"}
        for server in filter_cfg["servers"]:
            server["sessionless"] = True  # stateless SDK backends, see test_ecds_envoy.py
        filter_cfg["allowed_hosts"] = filter_cfg["allowed_origins"] = ["127.0.0.1"]
        plugin["value"] = json.dumps(filter_cfg)
        key = base64.b64encode(os.urandom(32)).decode()
        envoy_env = {name: key for name in converted["typed_config"]["config"]["vm_config"]["environment_variables"]["host_env_keys"]}
        ecds_file = tmp_path / "ecds.yaml"
        ecds_file.write_text(json.dumps({"resources": [{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", **converted}]}))

        for name in ("alpha", "beta", "broker"):
            argv = [harness.PYTHON, str(harness.SERVERS / "py_backend.py"), name, str(ports[name]), "--stateless"]
            procs.append(harness.Proc(name, argv, tmp_path / f"{name}.log"))
        for name in ("alpha", "beta", "broker"):
            harness.wait_until(lambda n=name: harness.port_open(ports[n]), name, procs)

        def start_envoy(which: str, route_config: dict) -> str:
            # The e2e template's listener and clusters, with the filter served over ECDS and the
            # route configuration replaced by Istio's.
            bootstrap = yaml.safe_load(
                harness.envoy_render.render(
                    wasm_path="/nonexistent-inline-module-is-replaced.wasm",
                    listen_port=ports[which],
                    admin_port=ports[f"{which}_admin"],
                    alpha=("127.0.0.1", ports["alpha"]),
                    beta=("127.0.0.1", ports["beta"]),
                    broker=("127.0.0.1", ports["broker"]),
                    access_log_path=str(tmp_path / f"{which}-access.log"),
                )
            )
            hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
            names = [f["name"] for f in hcm["http_filters"]]
            hcm["http_filters"][names.index("mcp_gateway")] = {
                "name": http_filter["name"],
                "config_discovery": {
                    "config_source": {"path_config_source": {"path": str(ecds_file)}, "resource_api_version": "V3"},
                    "type_urls": [WASM_TYPE],
                },
            }
            hcm["route_config"] = route_config
            bootstrap["node"] = {"id": f"router~127.0.0.1~{which}.mcp-gateway~mcp-gateway.svc.cluster.local", "cluster": "mcp-gateway"}
            config = tmp_path / f"{which}-envoy.yaml"
            config.write_text(yaml.safe_dump(bootstrap))
            admin_port = ports[f"{which}_admin"]
            procs.append(harness.Proc(f"envoy-{which}", harness.envoy_argv(config, admin_port), tmp_path / f"{which}-envoy.log", env=envoy_env))
            admin = f"http://127.0.0.1:{admin_port}"

            def ready() -> bool:
                try:
                    stats = httpx.get(admin + "/stats", params={"filter": "extension_config_discovery"}, timeout=2).text
                    return httpx.get(admin + "/ready", timeout=2).text.strip() == "LIVE" and (
                        f"extension_config_discovery.http_filter.{http_filter['name']}.config_reload: 1" in stats
                    )
                except httpx.HTTPError:
                    return False

            harness.wait_until(ready, f"envoy {which} ready with the ECDS filter", procs, deadline_s=30)
            return admin

        admins = {"open": start_envoy("open", open_routes), "closed": start_envoy("closed", closed_routes)}
        # Envoy runs the patched routes as merged (the patch's match is in its route table).
        dump = httpx.get(admins["closed"] + "/config_dump", params={"resource": "static_route_configs"}, timeout=5).text
        assert dump.count(route_key) == len(internal)

        def bypass(which: str, framing: str, authority: str) -> tuple[rawhttp.RawResponse, dict[str, int]]:
            before = counters(admins[which])
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "bypass?"}}})
            r = rawhttp.request(ports[which], framing, "POST", "/mcp", authority, rawhttp.jsonrpc_headers(), body.encode())
            after = counters(admins[which])
            return r, {k: after.get(k, 0) - before.get(k, 0) for k in after}

        # The hole, without the patches: the backend's own path on its internal authority is
        # not the filter's, and the HTTPRoute alone sends it to alpha.
        r, delta = bypass("open", "h1-length", "alpha.mcp.internal")
        assert delta["alpha"] == 1 and '"server": "alpha"' in r.text.replace('\\"', '"'), (r, delta)

        # With the patches: no route, whatever the case, port or framing; no backend is called.
        for authority in BYPASS_AUTHORITIES:
            for framing in BYPASS_FRAMINGS:
                r, delta = bypass("closed", framing, authority)
                assert r.status == 404 and not any(delta.values()), (authority, framing, r, delta)
        # The broker's internal host on a path the filter ignores: no route either.
        before = counters(admins["closed"])
        r = rawhttp.request(ports["closed"], "h1-length", "POST", "/mcp", "broker.mcp.internal", rawhttp.jsonrpc_headers(), b"{}")
        assert r.status == 404 and counters(admins["closed"]) == before, r

        # What the filter decided still gets through: the official client, on the MCP endpoint.
        async def call() -> tuple[str, str]:
            async with mcp.Client(f"http://127.0.0.1:{ports['closed']}{MCP_PATH}") as client:
                a = await client.call_tool("alpha_echo", {"text": "decided"})
                b = await client.call_tool("beta_whoami", {})
                return a.content[0].text, b.content[0].text  # type: ignore[union-attr]

        before = counters(admins["closed"])
        alpha_text, beta_text = asyncio.run(call())
        assert json.loads(alpha_text) == {"server": "alpha", "text": "decided"}
        assert beta_text == "beta"
        after = counters(admins["closed"])
        assert after["alpha"] > before.get("alpha", 0) and after["beta"] > before.get("beta", 0)
        for which in ("open", "closed"):
            assert "panic" not in (tmp_path / f"{which}-envoy.log").read_text(errors="replace")
    finally:
        harness.stop_all(procs)
