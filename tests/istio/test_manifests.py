"""Every manifest in istio/ validated offline and strictly (unknown fields rejected):

- Istio WasmPlugin / EnvoyFilter: the CRD openAPIV3Schema in ../shared/reference/, made
  strict (additionalProperties: false wherever the schema lists properties and does not say
  x-kubernetes-preserve-unknown-fields), with openapi-schema-validator (OAS 3.0).
- Kubernetes built-in kinds: kubernetes-validate's strict JSON schemas.
- Gateway API and Istio security kinds: the @kubernetes-models schemas (tests/istio/node).
Plus: the checked-in files are what render.py produces, and the kustomization lists them.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from conftest import ROOT, istio_render

ISTIO = ROOT / "istio"
CRDS = Path(os.environ.get("MCPGW_ISTIO_CRDS", ROOT.parent / "shared" / "reference" / "istio-crds-wasmplugin-envoyfilter.yaml"))
K8S_VERSION = "1.33.0"
NODE_DIR = ROOT / "tests" / "istio" / "node"
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


def strict(schema: object) -> object:
    if isinstance(schema, dict):
        s = {k: strict(v) for k, v in schema.items()}
        if "properties" in s and "additionalProperties" not in s and not s.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
        return s
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def crd_validators() -> dict[tuple[str, str], OAS30Validator]:
    if not CRDS.is_file():
        pytest.fail(f"Istio CRD schemas not found at {CRDS} (set MCPGW_ISTIO_CRDS)")
    out = {}
    for crd in yaml.safe_load_all(CRDS.read_text()):
        if not crd:
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            schema = copy.deepcopy(v["schema"]["openAPIV3Schema"])
            # The API server adds the object envelope to every CRD schema; so do we.
            schema.setdefault("properties", {}).update(
                apiVersion={"type": "string", "enum": [f"{group}/{v['name']}"]},
                kind={"type": "string", "enum": [kind]},
                metadata=METADATA,
            )
            schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
            schema = strict(schema)
            out[(f"{group}/{v['name']}", kind)] = OAS30Validator(schema)
    return out


def node_validate(docs: list[dict]) -> list[list[str]]:
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.fail("tests/istio/node/node_modules missing: run scripts/setup.sh")
    r = subprocess.run(["node", str(NODE_DIR / "validate.mjs")], input=json.dumps(docs), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


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
            try:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
                results[i] = []
            except kubernetes_validate.ValidationError as e:
                results[i] = [f"{'/'.join(map(str, e.path))}: {e.message}"]
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
    mutate("EnvoyFilter", "mcp-filter", lambda d: d["spec"]["configPatches"][1]["patch"].update(position="first"))
    mutate("Deployment", "mcpgw-broker", lambda d: d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"].update(path="/readyz"))
    mutate("Service", "mcpgw-broker", lambda d: d["spec"]["ports"][0].update(hostPort=1))
    mutate("ConfigMap", "mcpgw-broker", lambda d: d.update(spec={}))
    mutate("HTTPRoute", "mcp-alpha", lambda d: d["spec"]["rules"][0]["backendRefs"][0].update(service="alpha"))
    mutate("Gateway", "mcp-gateway", lambda d: d["spec"]["listeners"][0].update(hostnames=["x"]))
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
    assert {"EnvoyFilter", "Gateway", "HTTPRoute", "Deployment", "Service", "ConfigMap", "Secret"} <= kinds


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
