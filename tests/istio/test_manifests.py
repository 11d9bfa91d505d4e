"""Every manifest in istio/ validated offline and strictly (unknown fields rejected):

- Istio WasmPlugin / EnvoyFilter: the CRD openAPIV3Schema in tests/istio/schemas/ (copied from
  Istio 1.31, see its README), made strict (additionalProperties: false wherever the schema lists properties and does not say
  x-kubernetes-preserve-unknown-fields), with openapi-schema-validator (OAS 3.0).
- Kubernetes built-in kinds: kubernetes-validate's strict JSON schemas.
- Gateway API and Istio security kinds: the @kubernetes-models schemas (tests/istio/node).
Plus: the checked-in files are what render.py produces, and the kustomization lists them; no
secret is in any of them, and the secrets' path (Secret -> broker volume / gateway proxy
environment -> host_env_keys -> filter VM) is wired end to end.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from conftest import ROOT, istio_render
from strict_schemas import K8S_VERSION, builtin_errors, crd_envelope, node_validate, strict

ISTIO = ROOT / "istio"
CRDS = Path(os.environ.get("MCPGW_ISTIO_CRDS", ROOT / "tests" / "istio" / "schemas" / "istio-crds-wasmplugin-envoyfilter.yaml"))
# The ObjectMeta fields a manifest may set (status-like ones are the server's).
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
BUILTIN = {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("apps/v1", "Deployment")}


def manifests() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(ISTIO.glob("*.yaml")):
        if path.name == "gateway.yaml":  # the gateway config (input), not a manifest
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def crd_validators() -> dict[tuple[str, str], OAS30Validator]:
    if not CRDS.is_file():
        pytest.fail(f"Istio CRD schemas not found at {CRDS} (set MCPGW_ISTIO_CRDS)")
    out = {}
    for crd in yaml.safe_load_all(CRDS.read_text()):
        if not crd:
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            # The API server adds the object envelope to every CRD schema; so do we.
            schema = crd_envelope(v["schema"]["openAPIV3Schema"], f"{group}/{v['name']}", kind, METADATA)
            schema = strict(schema)
            out[(f"{group}/{v['name']}", kind)] = OAS30Validator(schema)
    return out


def validate_all(docs: list[dict]) -> list[list[str]]:
    """One error list per document."""
    crds = crd_validators()
    results: list[list[str] | None] = [None] * len(docs)
    to_node = []
    for i, doc in enumerate(docs):
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in crds:
            results[i] = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in crds[key].iter_errors(doc)]
        elif key in BUILTIN:
            results[i] = builtin_errors(doc)
        elif key == ("kustomize.config.k8s.io/v1beta1", "Kustomization"):
            results[i] = [f"unknown field {k}" for k in doc if k not in {"apiVersion", "kind", "resources", "namespace", "labels", "images"}]
        else:
            to_node.append(i)
    for i, errors in zip(to_node, node_validate([docs[i] for i in to_node])):
        results[i] = errors
    return [r or [] for r in results]


def test_checked_in_manifests_are_rendered_from_the_gateway_config() -> None:
    r = subprocess.run([os.sys.executable, str(ISTIO / "render.py"), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_every_manifest_validates_strictly() -> None:
    found = manifests()
    kinds = {d["kind"] for _, d in found}
    assert {"WasmPlugin", "EnvoyFilter", "Gateway", "HTTPRoute", "Deployment", "Service", "ConfigMap", "AuthorizationPolicy", "Kustomization"} <= kinds
    errors = validate_all([d for _, d in found])
    bad = {f"{name}:{d['kind']}/{d['metadata']['name'] if 'metadata' in d else ''}": e for (name, d), e in zip(found, errors) if e}
    assert not bad, json.dumps(bad, indent=2)


def test_strict_validation_rejects_unknown_fields_at_every_level() -> None:
    found = {(d["kind"], d.get("metadata", {}).get("name")): d for _, d in manifests()}
    cases = []

    def mutate(kind: str, name: str, fn) -> None:  # noqa: ANN001
        d = copy.deepcopy(found[(kind, name)])
        fn(d)
        cases.append((f"{kind}/{name}", d))

    mutate("WasmPlugin", "mcp-filter", lambda d: d["spec"].update(allowOnHeadersStopIteration=True))
    mutate("WasmPlugin", "mcp-filter", lambda d: d["spec"]["targetRefs"][0].update(port=80))
    mutate("WasmPlugin", "mcp-filter", lambda d: d["spec"].update(failStrategy="FAIL_CLOSED"))  # Envoy's spelling, not Istio's
    mutate("WasmPlugin", "mcp-filter", lambda d: d["spec"]["vmConfig"]["env"][0].update(valueFrom="SECRET"))
    mutate("WasmPlugin", "mcp-filter", lambda d: d["spec"]["vmConfig"]["env"][0].update(hostKey="X"))
    mutate("EnvoyFilter", "mcp-filter", lambda d: d["spec"]["configPatches"][1]["patch"].update(position="first"))
    mutate("EnvoyFilter", "mcp-filter", lambda d: d["spec"]["configPatches"][3]["match"]["routeConfiguration"]["vhost"].update(host="x"))
    mutate("EnvoyFilter", "mcp-filter", lambda d: d["spec"]["configPatches"][3]["patch"].update(operation="MERGE_ALL"))
    mutate("Deployment", "mcpgw-broker", lambda d: d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"].update(path="/readyz"))
    mutate("Service", "mcpgw-broker", lambda d: d["spec"]["ports"][0].update(hostPort=1))
    mutate("ConfigMap", "mcpgw-broker", lambda d: d.update(spec={}))
    mutate("HTTPRoute", "mcp-alpha", lambda d: d["spec"]["rules"][0]["backendRefs"][0].update(service="alpha"))
    mutate("Gateway", "mcp-gateway", lambda d: d["spec"]["listeners"][0].update(hostnames=["x"]))
    mutate("Gateway", "mcp-gateway", lambda d: d["spec"]["infrastructure"]["parametersRef"].update(namespace="x"))
    mutate("AuthorizationPolicy", "mcp-tool-alpha-echo", lambda d: d["spec"]["rules"][0]["when"][0].update(value="x"))
    errors = validate_all([d for _, d in cases])
    accepted = [name for (name, _), e in zip(cases, errors) if not e]
    assert not accepted, f"strict validation accepted unknown or invalid fields in {accepted}"


def test_kustomization_applies_the_rendered_files() -> None:
    (k,) = yaml.safe_load_all((ISTIO / "kustomization.yaml").read_text())
    assert k["resources"] == istio_render.KUSTOMIZED
    for f in k["resources"]:
        assert (ISTIO / f).is_file()
    kinds = {d["kind"] for f in k["resources"] for d in yaml.safe_load_all((ISTIO / f).read_text()) if d}
    assert {"EnvoyFilter", "Gateway", "HTTPRoute", "Deployment", "Service", "ConfigMap"} <= kinds
    # The Secrets are created out of band: a Secret here would overwrite the real one on every
    # `kubectl apply -k` (and a committed one is a published key).
    assert "Secret" not in kinds


def test_manifests_agree_with_the_filter_config_and_each_other() -> None:
    docs = [d for _, d in manifests()]
    by = lambda kind: [d for d in docs if d["kind"] == kind]  # noqa: E731
    (wp,) = by("WasmPlugin")
    (ef,) = by("EnvoyFilter")
    ext = ef["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["config"]
    assert json.loads(ext["configuration"]["value"]) == wp["spec"]["pluginConfig"]
    assert ext["vm_config"]["code"]["remote"]["sha256"] == wp["spec"]["sha256"]
    assert ext["vm_config"]["code"]["remote"]["http_uri"]["uri"] == wp["spec"]["url"]
    module = json.loads((ISTIO / "module.json").read_text())["oci"]
    assert (wp["spec"]["url"], wp["spec"]["sha256"]) == (module["url"], module["sha256"])
    # One HTTPRoute per server, on the authority the filter sets for it.
    hosts = {h for r in by("HTTPRoute") for h in r["spec"]["hostnames"]}
    cfg = wp["spec"]["pluginConfig"]
    assert {s["authority"] for s in cfg["servers"]} | {cfg["broker"]["authority"]} <= hosts
    # The broker's probes are its health endpoints.
    (dep,) = by("Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert (c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"]) == ("/healthz", "/readyz")
    assert dep["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert not [d for d in docs if d["kind"] in {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount"}]


def test_internal_routes_match_only_the_filters_decision(tmp_path: Path) -> None:
    """The EnvoyFilter that installs the filter also makes every route of each internal virtual
    host (as Istio names it: "<HTTPRoute hostname>:<Gateway listener port>") match filter state
    wasm.mcp_gateway.route = that server's name (`broker` for the broker), and touches no other
    host. tests/istio/test_internal_routes_envoy.py runs it in Envoy."""
    docs = [d for _, d in manifests()]
    (ef,) = [d for d in docs if d["kind"] == "EnvoyFilter"]
    (gw,) = [d for d in docs if d["kind"] == "Gateway"]
    (listener,) = gw["spec"]["listeners"]
    (wp,) = [d for d in docs if d["kind"] == "WasmPlugin"]
    cfg = wp["spec"]["pluginConfig"]
    decisions = {s["authority"]: s["name"] for s in cfg["servers"]} | {cfg["broker"]["authority"]: "broker"}
    hosts = {h for r in docs if r["kind"] == "HTTPRoute" for h in r["spec"]["hostnames"]}
    assert set(decisions) <= hosts
    patched = {}
    for cp in ef["spec"]["configPatches"]:
        if cp["applyTo"] != "HTTP_ROUTE":
            continue
        assert cp["match"]["context"] == "GATEWAY" and cp["patch"]["operation"] == "MERGE"
        assert set(cp["match"]["routeConfiguration"]) == {"vhost"} and set(cp["match"]["routeConfiguration"]["vhost"]) == {"name"}
        (fs,) = cp["patch"]["value"]["match"]["filter_state"]
        assert cp["patch"]["value"] == {"match": {"filter_state": [fs]}}
        assert fs["key"] == "wasm.mcp_gateway.route" and set(fs["string_match"]) == {"exact"}
        patched[cp["match"]["routeConfiguration"]["vhost"]["name"]] = fs["string_match"]["exact"]
    assert patched == {f"{h}:{listener['port']}": name for h, name in decisions.items()}
    # A server named like the broker would share its virtual host and decision: refused.
    gateway_cfg = yaml.safe_load((ISTIO / "gateway.yaml").read_text())
    gateway_cfg["servers"][0]["name"] = "broker"
    gateway_cfg["servers"][0]["prefix"] = "broker_"
    bad = tmp_path / "gateway.yaml"
    bad.write_text(yaml.safe_dump(gateway_cfg))
    out = tmp_path / "out"
    out.mkdir()
    r = render_to(out, gateway=bad)
    assert r.returncode != 0 and "reserved" in r.stderr, r.stderr


# ---- secrets --------------------------------------------------------------------------------

# A standard-base64 32-byte value (the session key format): 43 characters, the last one
# carrying 2 bits, then one "=". Hex digests (sha256) do not match.
B64_32 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")


def rendered_texts(out_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out_dir.glob("*.yaml"))}


def render_to(tmp: Path, *args: str, gateway: Path | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(ISTIO / "render.py"), "--out-dir", str(tmp), *args]
    if gateway:
        argv += ["--gateway", str(gateway)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)


def assert_no_key_material(texts: dict[str, str], *secrets: str) -> None:
    for name, text in texts.items():
        for secret in (istio_render.EXAMPLE_KEY, *secrets):
            assert secret not in text, f"{name} carries a secret"
        assert not B64_32.findall(text), f"{name} carries base64 of 32 bytes: {B64_32.findall(text)}"
        for doc in yaml.safe_load_all(text):
            if doc:
                assert doc.get("kind") != "Secret", f"{name} renders a Secret"


def test_no_key_material_in_any_checked_in_manifest() -> None:
    # Every file in istio/ (the gateway config, an input that becomes a ConfigMap, included).
    texts = rendered_texts(ISTIO)
    assert {"envoyfilter.yaml", "wasmplugin.yaml", "broker.yaml", "gateway-api.yaml", "gateway.yaml"} <= set(texts)
    assert_no_key_material(texts)
    # The filter's configuration names the variable, never the keys.
    (wp,) = [d for _, d in manifests() if d["kind"] == "WasmPlugin"]
    assert set(wp["spec"]["pluginConfig"]["session"]) <= {"keys_env", "subject_header"}


def test_a_real_key_passed_to_render_is_checked_and_never_written(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    old = base64.b64encode(os.urandom(32)).decode()
    key_file = tmp_path / "session.key"
    key_file.write_text(f"{key}\n{old}\n")
    out = tmp_path / "out"
    out.mkdir()
    r = render_to(out, "--key-file", str(key_file))
    assert r.returncode == 0, r.stderr
    assert key not in r.stdout + r.stderr and old not in r.stdout + r.stderr
    texts = rendered_texts(out)
    assert texts == {n: t for n, t in rendered_texts(ISTIO).items() if n != "gateway.yaml"}, "the key changed the output"
    assert_no_key_material(texts, key, old)
    # A bad key is refused (the filter would refuse it), without echoing it.
    key_file.write_text("c2hvcnQ=\n")
    r = render_to(out, "--key-file", str(key_file))
    assert r.returncode != 0 and "32 bytes" in r.stderr and "c2hvcnQ" not in r.stderr


def test_the_session_key_reaches_broker_and_filter_through_secret_and_environment() -> None:
    docs = [d for _, d in manifests()]
    by = lambda kind, name: next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)  # noqa: E731
    wp, ef = by("WasmPlugin", "mcp-filter"), by("EnvoyFilter", "mcp-filter")
    var = wp["spec"]["pluginConfig"]["session"]["keys_env"]
    assert var == "MCPGW_SESSION_KEYS"
    # The filter's VM gets the proxy's variable: WasmPlugin valueFrom HOST, which Istio turns
    # into host_env_keys (pilot/pkg/model/extensions.go), and the EnvoyFilter says it directly.
    assert wp["spec"]["vmConfig"]["env"] == [{"name": var, "valueFrom": "HOST"}]
    ext = ef["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["config"]
    assert ext["vm_config"]["environment_variables"] == {"host_env_keys": [var]}
    assert json.loads(ext["configuration"]["value"])["session"]["keys_env"] == var
    # The gateway proxy gets the variable from the Secret: the Gateway names the ConfigMap whose
    # `deployment` overlay Istio merges into the Deployment it generates.
    gw = by("Gateway", "mcp-gateway")
    ref = gw["spec"]["infrastructure"]["parametersRef"]
    assert (ref["group"], ref["kind"]) == ("", "ConfigMap")
    params = by("ConfigMap", ref["name"])
    assert set(params["data"]) <= {"deployment", "service", "serviceAccount", "horizontalPodAutoscaler", "podDisruptionBudget"}
    overlay = yaml.safe_load(params["data"]["deployment"])
    (proxy,) = overlay["spec"]["template"]["spec"]["containers"]
    assert proxy["name"] == "istio-proxy"
    env = {e["name"]: e for e in proxy["env"]}
    assert env[var] == {"name": var, "valueFrom": {"secretKeyRef": {"name": "mcpgw-session", "key": "key"}}}
    # The broker reads the same Secret (key `key`) where the gateway config says.
    dep = by("Deployment", "mcpgw-broker")
    pod = dep["spec"]["template"]["spec"]
    vol = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "mcpgw-session")
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == vol["name"])
    gateway_cfg = yaml.safe_load((ISTIO / "gateway.yaml").read_text())
    assert gateway_cfg["session"]["key_file"] == f"{mount['mountPath']}/key"
    # The overlay, merged into a Deployment as Istio does, is a valid Deployment.
    merged = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mcp-gateway-istio"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2"}]}},
        },
    }
    merged["spec"]["template"]["spec"]["containers"][0].update(env=proxy["env"])
    kubernetes_validate.validate(merged, K8S_VERSION, strict=True)


def test_backend_credentials_are_environment_references_only(tmp_path: Path) -> None:
    gateway_cfg = yaml.safe_load((ISTIO / "gateway.yaml").read_text())
    gateway_cfg["servers"][0]["credential"] = {"header": "Authorization", "value_env": "ALPHA_TOKEN"}
    gateway_cfg["servers"][1]["credential"] = {"header": "x-api-key", "value_env": "BETA_KEY"}
    gateway_cfg["servers"][1]["forward_authorization"] = True
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(yaml.safe_dump(gateway_cfg))
    out = tmp_path / "out"
    out.mkdir()
    r = render_to(out, gateway=cfg)
    assert r.returncode == 0, r.stderr
    docs = [d for t in rendered_texts(out).values() for d in yaml.safe_load_all(t) if d]
    assert_no_key_material(rendered_texts(out))
    errors = validate_all(docs)
    assert not [e for e in errors if e], errors
    route = lambda n: next(d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == n)  # noqa: E731
    mods = lambda n: next(f["requestHeaderModifier"] for f in route(n)["spec"]["rules"][0]["filters"] if f["type"] == "RequestHeaderModifier")  # noqa: E731
    # The credential replaces the client's Authorization; Envoy reads it from its environment.
    assert mods("mcp-alpha") == {"set": [{"name": "authorization", "value": "%ENVIRONMENT(ALPHA_TOKEN)%"}]}
    assert mods("mcp-beta") == {"set": [{"name": "x-api-key", "value": "%ENVIRONMENT(BETA_KEY)%"}]}
    # Both the gateway proxy and the broker get the variables from the credentials Secret.
    params = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "mcp-gateway-proxy")
    proxy_env = yaml.safe_load(params["data"]["deployment"])["spec"]["template"]["spec"]["containers"][0]["env"]
    broker_env = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    for var in ("ALPHA_TOKEN", "BETA_KEY"):
        ref = {"name": var, "valueFrom": {"secretKeyRef": {"name": "mcpgw-credentials", "key": var}}}
        assert ref in proxy_env and ref in broker_env
    # A literal value would be committed in the gateway config's ConfigMap: refused, unechoed.
    gateway_cfg["servers"][0]["credential"] = {"value": "Bearer s3cr3t-literal"}
    cfg.write_text(yaml.safe_dump(gateway_cfg))
    r = render_to(out, gateway=cfg)
    assert r.returncode != 0 and "value_env" in r.stderr and "s3cr3t" not in r.stderr
    gateway_cfg["servers"][0]["credential"] = {"value_file": "/etc/token"}
    cfg.write_text(yaml.safe_dump(gateway_cfg))
    assert render_to(out, gateway=cfg).returncode != 0


def test_client_authorization_is_not_passed_to_backends() -> None:
    for _, d in manifests():
        if d["kind"] == "HTTPRoute" and d["metadata"]["name"] in {"mcp-alpha", "mcp-beta"}:
            (mods,) = [f["requestHeaderModifier"] for f in d["spec"]["rules"][0]["filters"] if f["type"] == "RequestHeaderModifier"]
            assert mods == {"remove": ["authorization"]}
