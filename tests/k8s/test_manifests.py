"""Every Kubernetes object of the Kubernetes mode validated offline and strictly (unknown
fields rejected), the way tests/istio validates istio/:

- built-in kinds (Namespace, ServiceAccount, ClusterRole(Binding), Service, Deployment,
  ConfigMap, Secret, CustomResourceDefinition): kubernetes-validate's strict schemas (1.33);
- Gateway API kinds (Gateway, HTTPRoute, ReferenceGrant): the @kubernetes-models schemas
  through tests/istio/node/validate.mjs (strict by recording which fields the schema reads);
- our own resources: the openAPIV3Schema of the CRDs in deploy/crds, made strict.

What is validated: `kubectl kustomize deploy/` (what `kubectl apply -k deploy/` sends), the
fixture clusters the tests reconcile (as a user applies them: without `status`), and what the
controller writes: ConfigMaps, the broker Deployment once the controller's patch is merged
in, and the statuses of our resources (against the CRDs' status schemas)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from conftest import FIXTURES, ROOT, controller_bin, strict_schemas

strict, crd_envelope, builtin_errors, node_validate = (
    strict_schemas.strict, strict_schemas.crd_envelope, strict_schemas.builtin_errors, strict_schemas.node_validate
)

DEPLOY = ROOT / "deploy"
BUILTIN = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"),
    ("apps/v1", "Deployment"), ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
}
GATEWAY_API = {("gateway.networking.k8s.io/v1", "Gateway"), ("gateway.networking.k8s.io/v1", "HTTPRoute"), ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant")}


class NoTimestamps(yaml.SafeLoader):
    """YAML as the API server reads it: an RFC 3339 time stays a string."""


NoTimestamps.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def crds() -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted((DEPLOY / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for v in crd["spec"]["versions"]:
            out[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    return out


def crd_validator(schema: dict, api_version: str, kind: str) -> OAS30Validator:
    # The API server adds the object envelope to every CRD schema, and validates ObjectMeta itself.
    meta = {"type": "object", "required": ["name"], "x-kubernetes-preserve-unknown-fields": True}
    return OAS30Validator(strict(crd_envelope(schema, api_version, kind, meta)))


def validate_all(docs: list[dict]) -> list[list[str]]:
    ours = crds()
    results: list[list[str] | None] = [None] * len(docs)
    to_node = []
    for i, doc in enumerate(docs):
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in ours:
            v = crd_validator(ours[key], *key)
            results[i] = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]
        elif key in BUILTIN:
            results[i] = builtin_errors(doc)
        elif key in GATEWAY_API:
            to_node.append(i)
        else:
            results[i] = [f"no schema for {key}"]
    for i, errors in zip(to_node, node_validate([docs[i] for i in to_node])):
        results[i] = errors
    return [r or [] for r in results]


def assert_valid(docs: list[dict]) -> None:
    bad = {f"{d['kind']} {d['metadata'].get('namespace', '')}/{d['metadata']['name']}": e for d, e in zip(docs, validate_all(docs)) if e}
    assert not bad, bad


def kustomize() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.fail("kubectl not found: run scripts/setup.sh")
    r = subprocess.run([kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def test_kubectl_apply_k_deploy_sends_valid_objects() -> None:
    docs = kustomize()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        ["Namespace", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
         "ClusterRoleBinding", "Deployment", "Deployment", "Service", "Service", "MCPGatewayClass", "MCPGateway"]
    )
    assert_valid(docs)
    cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "MCPGatewayClass"}
    for d in docs:
        assert ("namespace" in d["metadata"]) == (d["kind"] not in cluster_scoped), d["metadata"]


def test_strictness_is_real() -> None:
    """An unknown field is refused for each family of schema."""
    docs = kustomize()
    broken = []
    for kind in ("Deployment", "MCPGateway", "CustomResourceDefinition"):
        d = copy.deepcopy(next(x for x in docs if x["kind"] == kind))
        d["spec"]["bogus"] = 1
        broken.append(d)
    route = yaml.safe_load((FIXTURES / "cluster" / "20-weather.yaml").read_text().split("\n---\n")[1])
    route.pop("status")
    route["spec"]["bogus"] = 1
    broken.append(route)
    assert all(validate_all(broken)), validate_all(broken)


def fixture_docs(folder: Path) -> list[dict]:
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        for d in yaml.safe_load_all(path.read_text()):
            if d:
                d.pop("status", None)  # written by other controllers, not by whoever applies
                docs.append(d)
    return docs


def test_the_fixture_cluster_is_what_a_user_could_apply() -> None:
    assert_valid(fixture_docs(FIXTURES / "cluster"))


def test_the_e2e_manifests_are_what_a_user_could_apply() -> None:
    from test_reconcile_to_gateway import MANIFESTS

    text = MANIFESTS.format(gateway_port=8080, broker_port=9000, alpha_port=3001, beta_port=3002, token="t")
    docs = [d for d in yaml.safe_load_all(text) if d]
    for d in docs:
        d.pop("status", None)
    assert_valid(docs)


def test_what_the_controller_writes_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run([str(controller_bin()), "reconcile", "--manifests", str(FIXTURES / "cluster"), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    config_maps = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*/*/configmap.yaml"))]
    assert len(config_maps) == 2
    assert_valid(config_maps)

    # The broker Deployment of deploy/, with the controller's patch merged in as server-side
    # apply merges it (lists keyed by name).
    broker = next(d for d in kustomize() if d["kind"] == "Deployment" and d["metadata"]["name"] == "mcpgw-broker")
    patch = yaml.safe_load((out / "mcp" / "agents" / "broker-patch.yaml").read_text())
    merged = copy.deepcopy(broker)
    spec = merged["spec"]["template"]["spec"]
    by_name = {v["name"]: v for v in spec["volumes"]}
    by_name.update({v["name"]: v for v in patch["spec"]["template"]["spec"]["volumes"]})
    spec["volumes"] = list(by_name.values())
    container = next(c for c in spec["containers"] if c["name"] == patch["spec"]["template"]["spec"]["containers"][0]["name"])
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    mounts.update({m["name"]: m for m in patch["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]})
    container["volumeMounts"] = list(mounts.values())
    assert_valid([merged])
    assert {m["name"] for m in container["volumeMounts"]} <= {v["name"] for v in spec["volumes"]}
    assert len({m["mountPath"] for m in container["volumeMounts"]}) == len(container["volumeMounts"])

    # Statuses fit the status schemas of our CRDs.
    ours = crds()
    for s in yaml.load((out / "statuses.yaml").read_text(), Loader=NoTimestamps):
        schema = ours[(s["apiVersion"], s["kind"])]["properties"]["status"]
        errors = [e.message for e in OAS30Validator(strict(schema)).iter_errors(s["status"])]
        assert not errors, (s["kind"], s["metadata"], errors)


def structural_errors(schema: dict, path: str = "") -> list[str]:
    """The API server's structural-schema rules that a generator can break: every node has a
    type (unless it keeps unknown fields or is int-or-string), no $ref, no properties and
    additionalProperties together, nothing but what the rules allow inside anyOf/oneOf/allOf/not."""
    errors = []
    if "$ref" in schema:
        errors.append(f"{path}: $ref")
    if "type" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("x-kubernetes-int-or-string"):
        errors.append(f"{path}: no type")
    if "properties" in schema and "additionalProperties" in schema:
        errors.append(f"{path}: properties and additionalProperties")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            bad = {"type", "default", "nullable", "description", "additionalProperties", "x-kubernetes-preserve-unknown-fields"} & set(sub)
            if bad:
                errors.append(f"{path}/{key}/{i}: {sorted(bad)} not allowed inside {key}")
    for name, sub in schema.get("properties", {}).items():
        errors += structural_errors(sub, f"{path}/{name}")
    if isinstance(schema.get("items"), dict):
        errors += structural_errors(schema["items"], f"{path}/items")
    if isinstance(schema.get("additionalProperties"), dict):
        errors += structural_errors(schema["additionalProperties"], f"{path}/additionalProperties")
    return errors


def test_the_crds_are_structural() -> None:
    for (api_version, kind), schema in crds().items():
        assert structural_errors(schema) == [], (api_version, kind)
    assert structural_errors({"properties": {"a": {"$ref": "#/x"}}}) == [": no type", "/a: $ref", "/a: no type"]
