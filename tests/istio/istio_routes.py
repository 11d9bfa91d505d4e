"""What istiod makes of the gateway's HTTPRoutes and of the EnvoyFilter's HTTP_ROUTE patches, for
the parts the internal routes depend on, restated from Istio's source (istio/istio master,
2026-08) so a real Envoy can run the result:

- Virtual hosts (pilot/pkg/networking/core/gateway.go, buildGatewayHTTPRouteConfig): one per
  HTTPRoute hostname (lower-cased) on the Gateway listener, named util.DomainName(hostname, port)
  = "<hostname>:<listener port>", domains [hostname]; the route configuration has
  ignore_port_in_host_matching (every port of that host selects it) and validate_clusters false.
  Routes translated from HTTPRoute rules carry no filter state match (Gateway API cannot say it).
- HTTP_ROUTE patches (pilot/pkg/networking/core/envoyfilter/rc_patch.go, patchHTTPRoute): a
  MERGE applies to every route of every virtual host whose name (and domain, if given) the patch
  matches, in GATEWAY context; merging is protobuf merge (pkg/proto/merge/merge.go): messages
  merge field by field, repeated fields append, scalars are replaced.

Only what the manifests here use is restated; anything else raises, so a manifest that starts
using more cannot pass by being half-understood.
"""

from __future__ import annotations

import copy
from typing import Callable


def proto_merge(dst: dict, src: dict) -> dict:
    """proto.Merge on the JSON form: messages recurse, repeated fields append, scalars replace.
    (Setting another member of a oneof would clear the old one; no patch here does that.)"""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            proto_merge(dst[k], v)
        elif isinstance(v, list):
            dst[k] = list(dst.get(k, [])) + copy.deepcopy(v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def path_match(m: dict) -> dict:
    p = m["path"]
    if p["type"] == "Exact":
        return {"path": p["value"]}
    if p["type"] == "PathPrefix" and p["value"] == "/":
        return {"prefix": "/"}
    raise NotImplementedError(f"HTTPRoute match {m}")


def gateway_route_config(
    httproutes: list[dict],
    listener_port: int,
    route_action: Callable[[dict, dict], dict],
    name: str = "http.80",
) -> dict:
    """The route configuration istiod builds for the gateway's HTTP listener. `route_action(rule,
    backendRef)` gives the action (cluster, rewrites), which the test points at its local
    servers."""
    vhosts: dict[str, dict] = {}
    for hr in httproutes:
        routes = []
        for i, rule in enumerate(hr["spec"]["rules"]):
            (backend,) = rule["backendRefs"]
            remove: list[str] = []
            for f in rule.get("filters", []):
                if f["type"] == "RequestHeaderModifier":
                    if set(f["requestHeaderModifier"]) - {"remove"}:
                        raise NotImplementedError(f)
                    remove += f["requestHeaderModifier"]["remove"]
                elif f["type"] != "URLRewrite":  # the host rewrite is route_action's
                    raise NotImplementedError(f)
            for m in rule["matches"]:
                route = {"name": f"{hr['metadata']['namespace']}.{hr['metadata']['name']}.{i}", "match": path_match(m)}
                route["route"] = route_action(rule, backend)
                if remove:
                    route["request_headers_to_remove"] = remove
                routes.append(route)
        for h in hr["spec"]["hostnames"]:
            h = h.lower()
            vh = vhosts.setdefault(h, {"name": f"{h}:{listener_port}", "domains": [h], "routes": []})
            vh["routes"] += copy.deepcopy(routes)
    return {"name": name, "virtual_hosts": list(vhosts.values()), "validate_clusters": False, "ignore_port_in_host_matching": True}


def apply_http_route_patches(route_config: dict, config_patches: list[dict]) -> list[int]:
    """Applies the HTTP_ROUTE MERGE patches of one EnvoyFilter as istiod does on a gateway;
    returns, per patch, the number of routes it merged into."""
    applied = []
    for cp in config_patches:
        if cp["applyTo"] != "HTTP_ROUTE":
            continue
        assert cp["patch"]["operation"] == "MERGE", cp
        match = cp.get("match", {})
        if set(match) - {"context", "routeConfiguration"} or match.get("context", "ANY") not in ("ANY", "GATEWAY"):
            raise NotImplementedError(match)
        rc_match = match.get("routeConfiguration", {})
        if set(rc_match) - {"vhost"} or set(rc_match.get("vhost", {})) - {"name", "domainName"}:
            raise NotImplementedError(rc_match)
        vh_match = rc_match.get("vhost", {})
        n = 0
        for vh in route_config["virtual_hosts"]:
            if vh_match.get("name", vh["name"]) != vh["name"]:
                continue
            if "domainName" in vh_match and vh_match["domainName"] not in vh["domains"]:
                continue
            for route in vh["routes"]:
                proto_merge(route, cp["patch"]["value"])
                n += 1
        applied.append(n)
    return applied
